"""Function bindings: the API, execution on the profile site, throttling and staleness."""

import pytest

from deployments import constants as dc
from deployments.models import FormSubmission, FunctionBinding
from gharart import constants as c
from tests.conftest import assert_error
from tests.deployments.conftest import SITE, publish

pytestmark = pytest.mark.django_db
URL = "/v2/handles/acme/function-bindings"


@pytest.fixture
def live(handle, users, site_mode_deployment):
    return publish(handle, actor=users["owner"])


@pytest.fixture
def manager(api, users):
    return api(users["web_manager"])


def create(client, django_capture_on_commit_callbacks=None, **body):
    payload = {"route": "/api/contact", "methods": ["POST"], "function": "form-capture", "config": {"success_path": "/thanks.html"}, **body}
    return client.post(URL, payload, format="json")


def test_create_list_get_and_delete(manager, live, api, users, django_capture_on_commit_callbacks):
    r = create(manager)
    assert r.status_code == 201, r.content
    b = r.json()
    assert b["id"].startswith("fb_")
    assert b["route"] == "/api/contact" and b["methods"] == ["POST"] and b["function"] == "form-capture"
    assert b["config"] == {"success_path": "/thanks.html", "max_bytes": 65536}
    assert b["deployment_id"] is None and b["follows_live"] is True and b["status"] == "active"
    assert "created_at" in b
    listed = api(users["viewer"]).get(URL).json()["results"]
    assert [x["id"] for x in listed] == [b["id"]]
    assert api(users["viewer"]).get(f"{URL}/{b['id']}").json()["status"] == "active"
    assert manager.delete(f"{URL}/{b['id']}").status_code == 204
    assert_error(manager.delete(f"{URL}/{b['id']}"), 404, dc.BINDING_NOT_FOUND)
    assert_error(api(users["viewer"]).get(f"{URL}/fb_nope/submissions"), 404, dc.BINDING_NOT_FOUND)


def test_overlapping_bindings_conflict(manager, live):
    assert create(manager).status_code == 201
    err = assert_error(create(manager, methods=["POST", "GET"], function="json", config={"body": {}}), 409, dc.BINDING_CONFLICT)
    assert err["details"]["methods"] == ["POST"]
    assert_error(create(manager, route="/api/contact/"), 409, dc.BINDING_CONFLICT)
    # Same route, another method: fine.
    assert create(manager, methods=["GET"], function="json", config={"body": {"ok": True}}).status_code == 201


@pytest.mark.parametrize(
    "body,field",
    [
        ({"route": "api/contact"}, "route"),
        ({"route": "/a/../b"}, "route"),
        ({"route": "/a b"}, "route"),
        ({"methods": []}, "methods"),
        ({"methods": ["BREW"]}, "methods"),
        ({"methods": ["GET"]}, "methods"),
        ({"function": "shell"}, "function"),
        ({"function": "redirect", "methods": ["GET"], "config": {"location": "/x", "status": 200}}, "config"),
        ({"function": "redirect", "methods": ["GET"], "config": {"status": 301}}, "config"),
        ({"function": "redirect", "methods": ["GET"], "config": {"location": "javascript:alert(1)"}}, "config"),
        ({"function": "json", "methods": ["GET"], "config": {"status": 200}}, "config"),
        ({"function": "json", "methods": ["GET"], "config": {"body": 1, "status": 99}}, "config"),
        ({"config": {"success_path": "thanks"}}, "config"),
        ({"config": {"max_bytes": 0}}, "config"),
        ({"config": {"max_bytes": 10_000_000}}, "config"),
        ({"config": {"surprise": 1}}, "config"),
        ({"deployment_id": "dep_nope"}, "deployment_id"),
    ],
)
def test_validation_per_function(manager, live, body, field):
    err = assert_error(create(manager, **body), 400, c.VALIDATION_ERROR)
    assert field in err["details"], err


def test_redirect_and_json_bindings_answer_on_the_profile_site(manager, live, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        create(manager, route="/old-shop", methods=["GET"], function="redirect", config={"location": "/products/", "status": 301})
        create(manager, route="/go", methods=["GET"], function="redirect", config={"location": "https://shop.example/", "status": 307})
        create(manager, route="/api/status", methods=["GET"], function="json", config={"body": {"open": True}, "status": 200})
    r = client.get("/profiles/acme/old-shop")
    assert r.status_code == 301 and r["Location"] == "/profiles/acme/products/"
    assert r["X-Gharart-Site-Mode"] == "deployment" and r["X-Gharart-Deployment"] == live.id
    r = client.get("/profiles/acme/go")
    assert r.status_code == 307 and r["Location"] == "https://shop.example/"
    r = client.get("/profiles/acme/api/status")
    assert r.status_code == 200 and r.json() == {"open": True}
    assert client.head("/profiles/acme/api/status").content == b""
    # Files still answer other paths.
    assert client.get("/profiles/acme/about").status_code == 200


def test_form_capture_stores_submissions(manager, live, client, api, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        binding = create(manager).json()
    r = client.post("/profiles/acme/api/contact", {"name": "Asha", "email": "asha@example.com"})
    assert r.status_code == 303 and r["Location"] == "/profiles/acme/thanks.html"
    r = client.post("/profiles/acme/api/contact", {"name": "Ravi"}, content_type="application/json")
    assert r.status_code == 201 and r.json()["id"].startswith("sub_")
    r = client.post("/profiles/acme/api/contact", "name=Lee&topic=a&topic=b", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 303
    subs = api(users["viewer"]).get(f"{URL}/{binding['id']}/submissions").json()["results"]
    assert [s["data"] for s in subs] == [{"name": "Lee", "topic": ["a", "b"]}, {"name": "Ravi"}, {"name": "Asha", "email": "asha@example.com"}]
    assert subs[0]["binding_id"] == binding["id"]
    # GET on a POST-only binding falls through to the files (a 404 page here).
    assert client.get("/profiles/acme/api/contact").status_code == 404


def test_form_capture_limits_the_body(manager, live, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        create(manager, config={"success_path": "/thanks.html", "max_bytes": 50})
    r = client.post("/profiles/acme/api/contact", {"note": "x" * 100})
    assert r.status_code == 413 and r.json()["error"]["code"] == dc.PAYLOAD_TOO_LARGE
    assert client.post("/profiles/acme/api/contact", "{bad", content_type="application/json").status_code == 400
    assert FormSubmission.objects.count() == 0


def test_binding_calls_are_throttled_per_ip(manager, live, client, settings, django_capture_on_commit_callbacks):
    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "function_binding": "2/hour"}
    with django_capture_on_commit_callbacks(execute=True):
        create(manager, route="/api/status", methods=["GET"], function="json", config={"body": 1})
    assert client.get("/profiles/acme/api/status").status_code == 200
    assert client.get("/profiles/acme/api/status").status_code == 200
    r = client.get("/profiles/acme/api/status")
    assert r.status_code == 429 and r.json()["error"]["code"] == c.RATE_LIMITED and int(r["Retry-After"]) > 0
    assert client.get("/profiles/acme/api/status", REMOTE_ADDR="10.0.0.9").status_code == 200


def test_a_binding_pinned_to_a_replaced_deployment_is_stale_and_silent(manager, live, client, handle, users, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pinned = create(manager, route="/api/status", methods=["GET"], function="json", config={"body": "v1"}, deployment_id=live.id).json()
    assert pinned["status"] == "active" and pinned["follows_live"] is False and pinned["deployment_id"] == live.id
    assert client.get("/profiles/acme/api/status").json() == "v1"
    # A new release does not carry the pinned binding: promote warns, the binding goes stale.
    nxt = publish(handle, {**SITE, "index.html": b"v2"}, promote=False)
    with django_capture_on_commit_callbacks(execute=True):
        r = manager.post(f"/v2/handles/acme/site-deployments/{nxt.id}/promote", {"reason": "v2"}, format="json")
    assert r.status_code == 200
    assert r.json()["warnings"] == [dc.WARNING_STALE_FUNCTION_BINDINGS]
    assert r.json()["warning_details"][0]["details"]["binding_ids"] == [pinned["id"]]
    assert api(users["viewer"]).get(f"{URL}/{pinned['id']}").json()["status"] == "stale"
    assert client.get("/profiles/acme/api/status").status_code == 404
    # Rolling back makes it active again.
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(f"/v2/handles/acme/site-deployments/{live.id}/rollback", {}, format="json")
    assert client.get("/profiles/acme/api/status").json() == "v1"
    assert FunctionBinding.objects.get(pk=pinned["id"]).deployment_id == live.id
