"""GET/PUT /v2/handles/{handle}/internal-docs/access: validation, version, audit, warnings."""

from files import constants as fc
from gharart import constants as c
from gharart.models import AuditEvent
from tests.conftest import assert_error
from tests.files.conftest import DOCS_PAGES, make_docs

URL = "/v2/handles/acme/internal-docs/access"


def test_the_default_policy_is_members_only_version_0(api, users):
    body = api(users["viewer"]).get(URL).json()
    assert body == {
        "visibility": "members", "partner_emails": [], "partner_domains": [], "starts_at": None, "ends_at": None,
        "confidential_paths": [], "version": 0, "updated_at": None, "updated_by": None, "warnings": [], "campaign_id": None,
    }


def test_put_replaces_the_policy_bumps_the_version_and_audits(api, users):
    client = api(users["partnerships"])
    body = {
        "visibility": "partners", "partner_emails": ["Pat@Partner.example"], "partner_domains": ["@Agency.example"],
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z", "confidential_paths": ["/finance/*"],
    }
    response = client.put(URL, body, format="json")
    assert response.status_code == 200, response.content
    out = response.json()
    assert out["partner_emails"] == ["pat@partner.example"] and out["partner_domains"] == ["agency.example"]
    assert out["version"] == 1 and out["updated_by"] == "acme-partnerships" and out["updated_at"]
    assert out["starts_at"] == "2026-01-01T00:00:00Z"
    assert client.put(URL, {**body, "visibility": "members"}, format="json").json()["version"] == 2
    events = AuditEvent.objects.filter(action=c.AUDIT_DOCS_POLICY).order_by("created_at")
    assert events.count() == 2
    assert events[0].before["version"] == 0 and events[0].after["visibility"] == "partners"
    assert events[1].before["visibility"] == "partners" and events[1].after["visibility"] == "members"


def test_partners_needs_an_email_or_domain(api, users):
    err = assert_error(api(users["owner"]).put(URL, {"visibility": "partners"}, format="json"), 400, c.VALIDATION_ERROR)
    assert "partner_emails" in err["details"]


def test_invalid_fields_are_400_with_details(api, users):
    body = {"visibility": "everyone", "partner_emails": ["nope"], "partner_domains": ["not a domain"], "starts_at": "2027-01-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z", "confidential_paths": ["finance"]}
    err = assert_error(api(users["owner"]).put(URL, body, format="json"), 400, c.VALIDATION_ERROR)
    assert set(err["details"]) == {"visibility", "partner_emails", "partner_domains", "ends_at", "confidential_paths"}
    assert_error(api(users["owner"]).put(URL, [1], format="json"), 400, c.VALIDATION_ERROR)


def test_each_list_is_cleaned_entry_by_entry_kept_once_and_its_bad_entries_named(api, users):
    client = api(users["owner"])
    body = {
        "visibility": "partners", "partner_emails": ["Pat@Partner.example", "pat@partner.example"],
        "partner_domains": ["@Agency.example", "agency.example"], "confidential_paths": [" /finance/* ", "/finance/*"],
    }
    out = client.put(URL, body, format="json").json()
    assert out["partner_emails"] == ["pat@partner.example"] and out["partner_domains"] == ["agency.example"]
    assert out["confidential_paths"] == ["/finance/*"]
    body = {"visibility": "members", "partner_emails": ["a@b.example", "nope"], "partner_domains": ["x", "@ok.example"], "confidential_paths": ["/" + "p" * 300]}
    details = assert_error(client.put(URL, body, format="json"), 400, c.VALIDATION_ERROR)["details"]
    assert details["partner_emails"] == ["'nope' is not an email address."]
    assert details["partner_domains"] == ["'x' is not a domain (like agency.example)."]
    assert details["confidential_paths"] == [f"'/{'p' * 99}' must start with '/' (a path such as /finance/*)."]


def test_roles_and_scopes(api, users, pat):
    assert_error(api(users["web_manager"]).put(URL, {"visibility": "members"}, format="json"), 403, c.FORBIDDEN)
    assert api(users["web_manager"]).get(URL).status_code == 200
    assert_error(api(token=pat(users["owner"], [c.SCOPE_DOCS_READ])).put(URL, {"visibility": "members"}, format="json"), 403, c.INSUFFICIENT_SCOPE)
    assert api(token=pat(users["owner"], [c.SCOPE_DOCS_WRITE])).put(URL, {"visibility": "members"}, format="json").status_code == 200


def test_warnings_for_public_visibility_and_public_mail_domains_with_confidential_docs(api, users, handle):
    make_docs(handle, users["owner"], DOCS_PAGES)
    client = api(users["owner"])
    body = client.put(URL, {"visibility": "public", "confidential_paths": ["/finance/*", "/board.html"]}, format="json").json()
    assert [w["code"] for w in body["warnings"]] == [fc.WARNING_POLICY_TOO_PERMISSIVE]
    body = client.put(URL, {"visibility": "partners", "partner_domains": ["gmail.com", "agency.example"], "confidential_paths": ["/finance/*"]}, format="json").json()
    codes = {w["code"]: w for w in body["warnings"]}
    assert codes[fc.WARNING_POLICY_TOO_PERMISSIVE]["domains"] == ["gmail.com"]
    # board.html declares itself confidential but no path covers it.
    assert codes[fc.WARNING_CONFIDENTIAL_NOT_COVERED]["paths"] == ["/board.html"]
    body = client.put(URL, {"visibility": "partners", "partner_domains": ["agency.example"], "confidential_paths": ["/finance/*", "/board.html"]}, format="json").json()
    assert body["warnings"] == []
    assert client.get(URL).json()["warnings"] == []


def test_no_permissive_warning_without_confidential_documents(api, users, handle):
    make_docs(handle, users["owner"], {"index.html": b"<p>hello</p>"})
    body = api(users["owner"]).put(URL, {"visibility": "public"}, format="json").json()
    assert body["warnings"] == []
