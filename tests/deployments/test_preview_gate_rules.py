"""Who opens the preview gate, and docs previews behind the docs access policy."""

import pytest

from deployments import previews
from deployments.models import Deployment
from deployments.services.ingest import deployment_create_from_archive
from files import docs as files_docs
from files import services as files_services
from gharart import constants as c
from tests.conftest import assert_error
from tests.deployments.conftest import make_zip, upload

BASE = "/v2/handles/acme/site-deployments"
DOCS = {
    "index.html": b"<html><body>draft handbook</body></html>",
    "finance/plan.html": b"<html><body>draft budget</body></html>",
    "404.html": b"<html><body>no such draft</body></html>",
}


def body(r):
    return b"".join(r.streaming_content) if r.streaming else r.content


def ready(handle, files=None, target="site"):
    return deployment_create_from_archive(
        handle=handle, upload=upload(make_zip(files or {"index.html": b"<h1>new</h1>"})), target=target
    )


@pytest.mark.parametrize("who", ["viewer", "partnerships", "pat without sites:promote"])
def test_reading_the_preview_report_opens_the_gate_only_for_members_who_may_promote(api, pat, users, handle, who):
    dep = ready(handle)
    if who == "pat without sites:promote":
        client = api(token=pat(users["web_manager"], [c.SCOPE_SITES_READ]))
    else:
        client = api(users[who])
    assert client.get(f"{BASE}/{dep.id}/preview").status_code == 200
    assert Deployment.objects.get(pk=dep.pk).preview_opened_at is None
    err = assert_error(api(users["web_manager"]).post(f"{BASE}/{dep.id}/promote", {"reason": "go"}, format="json"), 409, "preview_gate_pending")
    assert err["details"]["preview_opened"] is False


@pytest.mark.parametrize("who", ["web_manager", "owner", "pat with sites:promote"])
def test_a_member_who_may_promote_opens_the_gate(api, pat, users, handle, who):
    dep = ready(handle)
    if who == "pat with sites:promote":
        client = api(token=pat(users["web_manager"], [c.SCOPE_SITES_READ, c.SCOPE_SITES_PROMOTE]))
    else:
        client = api(users[who])
    assert client.get(f"{BASE}/{dep.id}/preview").status_code == 200
    assert Deployment.objects.get(pk=dep.pk).preview_opened_at is not None


def test_the_dashboard_preview_counts_the_same_way(client, users, handle):
    dep = ready(handle)
    client.force_login(users["viewer"])
    page = client.get(f"/h/acme/deployments/{dep.id}/preview/")
    assert page.status_code == 200 and b"your look does not count" in page.content
    assert Deployment.objects.get(pk=dep.pk).preview_opened_at is None
    client.force_login(users["web_manager"])
    client.get(f"/h/acme/deployments/{dep.id}/preview/")
    assert Deployment.objects.get(pk=dep.pk).preview_opened_at is not None


# --- Docs previews -----------------------------------------------------------------------


def docs_preview(handle):
    dep = ready(handle, DOCS, target="docs")
    url, _ = previews.preview_url(dep)
    return dep, url.replace("http://testserver", "")


def test_a_docs_preview_is_served_under_the_edge_docs_and_members_read_it(client, users, handle):
    dep, path = docs_preview(handle)
    assert path.startswith("/_edge/docs/acme/_preview/")
    client.force_login(users["viewer"])
    r = client.get(path)
    assert r.status_code == 200 and body(r) == DOCS["index.html"]
    assert r["Cache-Control"].startswith("private") and "noindex" in r["X-Robots-Tag"]
    assert body(client.get(path + "finance/plan")) == DOCS["finance/plan.html"]


def test_a_docs_preview_link_shows_strangers_nothing_under_a_members_policy(api, client, handle):
    dep, path = docs_preview(handle)
    assert_error(api().get(path), 401, c.AUTHENTICATION_REQUIRED)
    r = client.get(path, HTTP_ACCEPT="text/html")
    assert r.status_code == 302 and "/_edge/docs/acme/_access" in r["Location"]
    assert b"draft handbook" not in body(r)
    # The generic preview route does not serve it either: it sends the browser to the edge.
    token = path.split("/_preview/")[1].rstrip("/")
    r = api().get(f"/previews/{token}/")
    assert r.status_code == 302 and r["Location"] == path
    assert b"draft" not in body(r)


def test_a_docs_preview_applies_confidential_paths_and_partner_sign_in(api, users, handle):
    dep, path = docs_preview(handle)
    files_services.docs_policy_update(
        handle=handle, actor=users["owner"], data={"visibility": "partners", "partner_domains": ["agency.example"], "confidential_paths": ["/finance/*"]}
    )
    from django.test import Client

    from gharart.models import Handle

    policy = Handle.objects.get(pk=handle.pk).docs_policy
    partner = Client()
    token = files_docs.signin_token(slug="acme", email="ana@agency.example", version=policy.version, next_path="/")
    assert partner.get(f"/_edge/docs/acme/_access?token={token}").status_code == 302
    assert body(partner.get(path)) == DOCS["index.html"]
    r = partner.get(path + "finance/plan", HTTP_ACCEPT="application/json")
    assert_error(r, 403, "docs_members_only")


def test_a_site_preview_token_does_not_open_docs_and_docs_of_another_handle_stay_shut(api, users, handle, other_handle):
    site = ready(handle)
    token = previews.preview_token(site.id)
    assert_error(api().get(f"/_edge/docs/acme/_preview/{token}/", HTTP_ACCEPT="application/json"), 404, "preview_not_found")
    dep, path = docs_preview(handle)
    other = path.replace("/_edge/docs/acme/", "/_edge/docs/other/")
    assert_error(api().get(other, HTTP_ACCEPT="application/json"), 404, "preview_not_found")
