"""POST /v2/public/files/{id}/magic-link: anonymous requests, member-minted links, emails."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from files import constants as fc
from files.models import File, MagicLink
from gharart import constants as c
from tests.conftest import assert_error
from tests.files.conftest import PDF, url

_capture = None


@pytest.fixture(autouse=True)
def _deliver_after_commit(django_capture_on_commit_callbacks):
    """Run the email jobs queued with on_commit, as a real commit would, when each request ends."""
    global _capture
    _capture = django_capture_on_commit_callbacks
    yield


def request_link(client, file, email, **extra):
    with _capture(execute=True):
        return client.post(f"/v2/public/files/{file.id}/magic-link", {"email": email, **extra}, format="json")


def link_in(message):
    found = re.search(r"http://testserver/v2/public/files/(file_\w+)\?token=([\w\-]+)", message.body)
    assert found, message.body
    return found.group(0), found.group(1), found.group(2)


def test_a_recipient_gets_an_email_with_a_working_link(api, link_file):
    response = request_link(api(), link_file, "Ana@Agency.example")
    assert response.status_code == 202 and response.json() == {"status": "accepted"}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Ana@agency.example"]
    assert "Media kit 2026" in message.subject
    full_url, file_id, token = link_in(message)
    assert file_id == link_file.id
    html, kind = message.alternatives[0]
    assert kind == "text/html" and full_url.replace("&", "&amp;") in html or full_url in html
    response = api().get(full_url.replace("http://testserver", ""))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    link = MagicLink.objects.get()
    assert link.email == "Ana@agency.example" and link.created_by is None and link.last_used_at is not None
    assert link.access_at_issue == fc.ACCESS_LINK
    assert token not in link.token_hash and len(link.token_hash) == 64


def test_no_enumeration_a_stranger_gets_the_same_answer_and_no_email(api, link_file):
    recipient = request_link(api(), link_file, "ana@agency.example")
    stranger = request_link(api(), link_file, "eve@evil.example")
    nonexistent = api().post("/v2/public/files/file_doesnotexist/magic-link", {"email": "ana@agency.example"}, format="json")
    assert recipient.status_code == stranger.status_code == nonexistent.status_code == 202
    assert recipient.content == stranger.content == nonexistent.content
    assert set(recipient.headers) == set(stranger.headers)
    assert [m.to for m in mail.outbox] == [["ana@agency.example"]]


def test_nothing_is_sent_for_private_public_or_expired_files(api, users, link_file):
    for change in ({"access": "private"}, {"access": "public"}):
        File.objects.filter(pk=link_file.pk).update(**change)
        assert request_link(api(), link_file, "ana@agency.example").status_code == 202
    File.objects.filter(pk=link_file.pk).update(access="link", expires_at=timezone.now() - timedelta(days=1))
    assert request_link(api(), link_file, "ana@agency.example").status_code == 202
    assert mail.outbox == []


def test_an_invalid_email_is_a_validation_error(api, link_file):
    err = assert_error(request_link(api(), link_file, "not an email"), 400, c.VALIDATION_ERROR)
    assert "email" in err["details"]


def test_requests_are_throttled_per_file_and_email(api, link_file):
    for _ in range(3):
        assert request_link(api(), link_file, "ana@agency.example").status_code == 202
    response = request_link(api(), link_file, "ANA@agency.example")
    assert_error(response, 429, c.RATE_LIMITED)
    assert int(response["Retry-After"]) > 0
    assert request_link(api(), link_file, "bo@agency.example").status_code == 202


def test_requests_are_throttled_per_ip(api, link_file):
    for i in range(10):
        assert request_link(api(), link_file, f"p{i}@agency.example").status_code == 202
    assert_error(request_link(api(), link_file, "p11@agency.example"), 429, c.RATE_LIMITED)


def test_a_member_mints_a_link_and_gets_the_url(api, users, link_file):
    response = request_link(api(users["partnerships"]), link_file, "someone@anywhere.example")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"url", "expires_at", "email"}
    assert body["email"] == "someone@anywhere.example"
    assert mail.outbox == []
    assert api().get(body["url"].replace("http://testserver", "")).status_code == 200
    # Regenerating gives a new link; the first stays valid.
    second = request_link(api(users["partnerships"]), link_file, "someone@anywhere.example").json()
    assert second["url"] != body["url"]
    assert api().get(body["url"].replace("http://testserver", "")).status_code == 200


def test_a_member_link_expires_after_the_ttl(api, users, link_file, settings):
    settings.MAGIC_LINK_TTL = timedelta(days=2)
    before = timezone.now()
    body = request_link(api(users["owner"]), link_file, "x@y.example").json()
    link = MagicLink.objects.get()
    assert before + timedelta(days=2) - timedelta(seconds=5) < link.expires_at <= timezone.now() + timedelta(days=2)
    assert body["expires_at"] == link.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_member_can_send_the_minted_link(api, users, link_file):
    body = request_link(api(users["partnerships"]), link_file, "pat@partner.example", send=True).json()
    assert len(mail.outbox) == 1
    full_url, _, _ = link_in(mail.outbox[0])
    assert full_url == body["url"]


def test_members_cannot_mint_for_a_file_not_in_link_mode(api, users, public_file):
    err = assert_error(request_link(api(users["partnerships"]), public_file, "x@y.example"), 400, c.VALIDATION_ERROR)
    assert "access" in err["details"]


def test_callers_without_the_right_get_the_anonymous_answer(api, users, pat, link_file, outsider):
    clients = (api(users["viewer"]), api(users["web_manager"]), api(outsider), api(token=pat(users["owner"], [c.SCOPE_FILES_READ])))
    for i, client in enumerate(clients):
        response = request_link(client, link_file, f"stranger{i}@else.example")
        assert response.status_code == 202 and response.json() == {"status": "accepted"}
    assert MagicLink.objects.count() == 0
    assert request_link(api(token=pat(users["owner"], [c.SCOPE_FILES_WRITE])), link_file, "a@b.example").status_code == 201


def test_a_browser_form_post_gets_a_page(client, link_file):
    with _capture(execute=True):
        response = client.post(f"/v2/public/files/{link_file.id}/magic-link", {"email": "ana@agency.example"}, HTTP_ACCEPT="text/html")
    assert response.status_code == 202
    assert "Check your inbox" in response.content.decode()
    assert len(mail.outbox) == 1


def test_idempotent_retries_send_one_email(api, link_file):
    client = api()
    with _capture(execute=True):
        first = client.post(f"/v2/public/files/{link_file.id}/magic-link", {"email": "ana@agency.example"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
        again = client.post(f"/v2/public/files/{link_file.id}/magic-link", {"email": "ana@agency.example"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert len(mail.outbox) == 1


def test_the_link_follows_the_files_current_expiry(api, users, link_file):
    request_link(api(), link_file, "ana@agency.example")
    _, _, token = link_in(mail.outbox[0])
    File.objects.filter(pk=link_file.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(api().get(url(link_file, token)), 410, fc.FILE_EXPIRED)
    response = api(users["partnerships"]).patch(f"/v2/handles/acme/files/{link_file.id}", {"expires_at": (timezone.now() + timedelta(days=3)).isoformat()}, format="json")
    assert response.status_code == 200
    assert api().get(url(link_file, token)).status_code == 200
