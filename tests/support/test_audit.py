"""The audit trail page (/h/{handle}/audit/) and the token entries it shows."""

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from gharart import constants as c
from gharart import services
from gharart.models import AuditEvent


def audit_page(client, user, query=None, **extra):
    client.force_login(user)
    return client.get("/h/acme/audit/", query or {}, **extra)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [c.OWNER, c.ADMIN, c.WEB_MANAGER, c.PARTNERSHIPS, c.VIEWER])
def test_every_member_reads_the_audit_log(client, users, role):
    # API.md roles: a viewer makes every GET of its handle; the page is read-only.
    assert audit_page(client, users[role]).status_code == 200


@pytest.mark.django_db
def test_non_members_get_not_found_and_anonymous_visitors_log_in(client, outsider, handle):
    assert audit_page(client, outsider).status_code == 404
    client.logout()
    response = client.get("/h/acme/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_creating_and_revoking_a_token_records_actor_before_after_and_request_id(api, users, handle):
    client = api(users["owner"])
    created = client.post("/v2/me/tokens", {"name": "ci", "scopes": ["sites:read", "sites:write"], "handle": "acme"}, format="json")
    assert created.status_code == 201
    token_id = created.json()["id"]
    event = AuditEvent.objects.get(action=c.AUDIT_TOKEN_CREATE)
    assert event.actor == users["owner"]
    assert event.handle == handle
    assert event.target == token_id
    assert event.before is None
    assert event.after == {"name": "ci", "scopes": ["sites:read", "sites:write"]}
    assert event.request_id == created["X-Request-ID"]

    revoked = client.delete(f"/v2/me/tokens/{token_id}")
    assert revoked.status_code == 204
    event = AuditEvent.objects.get(action=c.AUDIT_TOKEN_REVOKE)
    assert event.actor == users["owner"] and event.handle == handle and event.target == token_id
    assert event.before == {"name": "ci"}
    assert event.request_id == revoked["X-Request-ID"]
    # Revoking again changes nothing and records nothing.
    client.delete(f"/v2/me/tokens/{token_id}")
    assert AuditEvent.objects.filter(action=c.AUDIT_TOKEN_REVOKE).count() == 1


@pytest.mark.django_db
def test_a_token_created_in_the_dashboard_is_audited_with_its_request_id(client, users, handle):
    client.force_login(users["admin"])
    response = client.post("/settings/tokens/", {"name": "deploy", "scopes": ["sites:write"], "handle": "acme"})
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=c.AUDIT_TOKEN_CREATE)
    assert event.actor == users["admin"] and event.request_id == response["X-Request-ID"]


@pytest.mark.django_db
def test_the_page_shows_who_did_what_with_before_after_and_request_id(client, api, users, handle):
    created = api(users["owner"]).post("/v2/me/tokens", {"name": "ci", "scopes": ["sites:read"], "handle": "acme"}, format="json")
    row = HTMLParser(audit_page(client, users["admin"]).content.decode()).css_first("#audit-table tbody tr")
    cells = [td.text().strip() for td in row.css("td")]
    assert cells[1] == "acme-owner"
    assert cells[2] == "Created a token" and row.css("td")[2].attributes["data-action"] == c.AUDIT_TOKEN_CREATE
    assert cells[3] == created.json()["id"]
    changes = [li.text().strip() for li in row.css("td")[4].css("li")]
    assert changes == ["name: ci", "scopes: sites:read"]  # a readable change, not raw JSON
    assert cells[5] == created["X-Request-ID"]


def test_a_change_reads_field_by_field_in_words():
    from gharart.views import audit_changes

    rows = audit_changes(
        {"access": "private", "expires_at": None, "recipients": ["a@x.example"], "title": "Kit"},
        {"access": "link", "expires_at": "2026-12-02T14:00:00Z", "recipients": ["a@x.example", "@brand.example"], "title": "Kit"},
    )
    assert rows == [
        {"field": "access", "before": "private", "after": "link"},
        {"field": "expires at", "before": "none", "after": "2 Dec 2026, 14:00 UTC"},
        {"field": "recipients", "before": "a@x.example", "after": "a@x.example, @brand.example"},
    ]
    assert audit_changes(None, None) == []


@pytest.mark.django_db
def test_the_log_filters_by_action_and_pages(client, users, handle, other_handle):
    for i in range(55):
        services.audit_record(action=c.AUDIT_PROMOTE, actor=users["owner"], handle=handle, target=f"dep_{i}")
    services.audit_record(action=c.AUDIT_ROLLBACK, actor=users["owner"], handle=handle, target="dep_back")
    services.audit_record(action=c.AUDIT_ROLLBACK, handle=other_handle, target="dep_elsewhere")

    doc = HTMLParser(audit_page(client, users["owner"]).content.decode())
    assert len(doc.css("#audit-table tbody tr")) == 50
    assert doc.css_first('a[rel="next"]').attributes["href"] == "?page=2"
    options = [o.attributes["value"] for o in doc.css("#audit-action option")]
    assert options == ["", c.AUDIT_PROMOTE, c.AUDIT_ROLLBACK]

    second = HTMLParser(client.get("/h/acme/audit/", {"page": 2}).content.decode())
    assert len(second.css("#audit-table tbody tr")) == 6

    only = client.get("/h/acme/audit/", {"action": c.AUDIT_ROLLBACK}, HTTP_HX_REQUEST="true")
    assert "<html" not in only.content.decode()
    rows = HTMLParser(only.content.decode()).css("#audit-table tbody tr")
    assert [r.css("td")[3].text() for r in rows] == ["dep_back"]  # never another handle's events

    unknown = HTMLParser(client.get("/h/acme/audit/", {"action": "nonsense", "page": "x"}).content.decode())
    assert len(unknown.css("#audit-table tbody tr")) == 50
