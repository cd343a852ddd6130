"""The demo storefront, the overview panel and the admin pages of deployments."""

import io

import pytest
from django.core.management import call_command

from deployments import constants as dc
from deployments.models import Deployment, FunctionBinding
from deployments.selectors.site import overview_panel
from deployments.services.releases import deployment_preview_report
from deployments.services.site import binding_create
from gharart import constants as c
from gharart.errors import ApplicationError
from gharart.models import Handle
from tests.conftest import admin_url
from tests.deployments.conftest import SITE, publish, remove_blob_bytes

pytestmark = pytest.mark.django_db


def test_demo_seed_publishes_a_live_storefront_and_is_idempotent(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_seed", stdout=io.StringIO())
        call_command("demo_seed", stdout=io.StringIO())
    handle = Handle.objects.get(slug="gharart")
    assert handle.site_mode == c.SITE_MODE_DEPLOYMENT
    # A demo operator who may open /admin/, and is nobody's member.
    from django.contrib.auth import get_user_model

    from support.operators import is_operator

    operator = get_user_model().objects.get(username="support")
    assert is_operator(operator) and not operator.memberships.exists()
    assert Deployment.objects.filter(handle=handle, target="site").count() == 1
    assert FunctionBinding.objects.filter(handle=handle).count() == 1
    home = client.get("/profiles/gharart/")
    assert home.status_code == 200 and b"Handmade homeware" in b"".join(home.streaming_content)
    for path in ["about", "products/", "products/jute-rug", "css/site.css", "img/logo.png", "contact.html"]:
        assert client.get(f"/profiles/gharart/{path}").status_code == 200, path
    logo = client.get("/profiles/gharart/img/logo.png")
    assert logo["Content-Type"] == "image/png" and b"".join(logo.streaming_content).startswith(b"\x89PNG")
    assert client.get("/profiles/gharart/nope").status_code == 404
    r = client.post("/profiles/gharart/api/contact", {"name": "Asha", "email": "a@example.com"})
    assert r.status_code == 303 and r["Location"] == "/profiles/gharart/thanks.html"


def test_overview_panel_shows_what_is_live_and_the_known_breakages(handle, users):
    panel = overview_panel(handle=handle, membership=None)
    assert panel["template"] == "deployments/_overview_panel.html"
    assert panel["context"]["live_site"] is None
    files = {**SITE, "index.html": b"panel test"}
    dep = publish(handle, files, actor=users["owner"], message="Spring")
    binding_create(handle=handle, route="/api/x", methods=["GET"], function=dc.FUNCTION_JSON, config={"body": 1}, deployment_id=dep.id)
    publish(handle, {**SITE, "index.html": b"panel test 2"}, actor=users["owner"])
    live = Deployment.objects.filter(handle=handle).order_by("-version").first()
    import hashlib

    remove_blob_bytes(hashlib.sha256(b"panel test 2").hexdigest())
    with pytest.raises(ApplicationError, match="missing"):
        deployment_preview_report(deployment=live)
    ctx = overview_panel(handle=handle, membership=None)["context"]
    assert ctx["live_site"]["deployment"].id == live.id
    codes = {w["code"] for w in ctx["warnings"]}
    assert codes == {dc.WARNING_SITE_MODE_MISMATCH, dc.WARNING_STALE_FUNCTION_BINDINGS, dc.WARNING_MISSING_ARTIFACT_FILES}


def test_the_overview_page_renders_the_panel(client, handle, users):
    publish(handle, actor=users["owner"], message="Spring launch")
    client.force_login(users["viewer"])
    r = client.get("/h/acme/")
    assert r.status_code == 200
    assert b"Spring launch" in r.content and b"site_mode_mismatch" in r.content


def test_admin_lists_deployments_read_only(client, handle, users, django_user_model):
    dep = publish(handle, actor=users["owner"])
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    for url in ["/admin/deployments/deployment/", admin_url(dep), "/admin/deployments/release/", "/admin/deployments/livepointer/", "/admin/deployments/functionbinding/", "/admin/deployments/formsubmission/", "/admin/deployments/blob/"]:
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/deployments/deployment/add/").status_code == 403
    assert client.post(admin_url(dep, "delete"), {"post": "yes"}).status_code == 403
