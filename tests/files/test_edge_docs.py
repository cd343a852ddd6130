"""/_edge/docs/{handle}/...: members, partners, strangers, windows and confidential pages."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from files import constants as fc
from files import docs, services
from files.models import DocsAccessLog
from gharart import constants as c
from tests.conftest import assert_error
from tests.files.conftest import DOCS_PAGES, make_docs

BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml"}


@pytest.fixture
def live_docs(handle, users):
    return make_docs(handle, users["owner"], DOCS_PAGES)


def set_policy(handle, actor, **data):
    return services.docs_policy_update(handle=handle, actor=actor, data={"visibility": "members", **data})


def partner_client(handle, email="ana@agency.example"):
    """A browser that signed in as a partner through the emailed link."""
    client = Client()
    policy = handle.docs_policy
    token = docs.signin_token(slug=handle.slug, email=email, version=policy.version, next_path="/")
    response = client.get(f"/_edge/docs/{handle.slug}/_access?token={token}")
    assert response.status_code == 302, response.content
    return client


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_members_read_every_page_by_session_or_bearer(client, api, users, pat, live_docs):
    client.force_login(users["viewer"])
    response = client.get("/_edge/docs/acme/")
    assert response.status_code == 200 and b"welcome partners" in body(response)
    assert b"board minutes" in body(client.get("/_edge/docs/acme/board.html"))
    assert b"q3 numbers" in body(api(users["web_manager"]).get("/_edge/docs/acme/finance/q3"))
    assert api(token=pat(users["owner"], [c.SCOPE_DOCS_READ])).get("/_edge/docs/acme/guide/brand").status_code == 200
    # Same path rules and headers as profile routes.
    response = client.get("/_edge/docs/acme/nope")
    assert response.status_code == 404 and b"no such doc" in body(response)
    assert client.get("/_edge/docs/acme/", HTTP_RANGE="bytes=0-6").status_code == 206
    etag = client.get("/_edge/docs/acme/")["ETag"]
    assert client.get("/_edge/docs/acme/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert "private" in client.get("/_edge/docs/acme/")["Cache-Control"]


def test_members_pass_even_outside_the_window(client, users, handle, live_docs):
    set_policy(handle, users["owner"], visibility="public", ends_at=(timezone.now() - timedelta(days=1)).isoformat())
    client.force_login(users["viewer"])
    assert client.get("/_edge/docs/acme/").status_code == 200


def test_strangers_are_sent_to_the_access_page_or_get_401_403(api, client, users, outsider, pat, handle, live_docs):
    response = client.get("/_edge/docs/acme/guide/brand", **BROWSER)
    assert response.status_code == 302
    assert response["Location"] == "/_edge/docs/acme/_access?next=%2Fguide%2Fbrand"
    assert_error(api().get("/_edge/docs/acme/"), 401, c.AUTHENTICATION_REQUIRED)
    assert_error(api(outsider).get("/_edge/docs/acme/"), 403, fc.DOCS_ACCESS_DENIED)
    assert_error(api(token="ghp_bogus").get("/_edge/docs/acme/"), 401, c.INVALID_TOKEN)
    # A member's token without docs:read reads nothing.
    assert_error(api(token=pat(users["owner"], [c.SCOPE_FILES_READ])).get("/_edge/docs/acme/"), 403, fc.DOCS_ACCESS_DENIED)


def test_public_visibility_lets_anyone_read_all_but_confidential_pages(api, client, users, handle, live_docs):
    set_policy(handle, users["owner"], visibility="public", confidential_paths=["/finance/*"])
    assert b"brand guide" in body(api().get("/_edge/docs/acme/guide/brand"))
    # Confidential by path rule and by the page's own meta tag: members only.
    assert client.get("/_edge/docs/acme/finance/q3", **BROWSER).status_code == 302
    assert client.get("/_edge/docs/acme/board.html", **BROWSER).status_code == 302
    assert_error(api().get("/_edge/docs/acme/finance/q3.html"), 401, c.AUTHENTICATION_REQUIRED)
    assert_error(api().get("/_edge/docs/acme/board"), 401, c.AUTHENTICATION_REQUIRED)


def test_partners_sign_in_with_an_emailed_link_and_get_a_path_scoped_cookie(users, handle, live_docs, django_capture_on_commit_callbacks):
    set_policy(handle, users["owner"], visibility="partners", partner_domains=["agency.example"], confidential_paths=["/finance/*"])
    browser = Client()
    page = browser.get("/_edge/docs/acme/_access?next=/guide/brand")
    assert page.status_code == 200 and b"Email me a sign-in link" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/_edge/docs/acme/_access", {"email": "ana@agency.example", "next": "/guide/brand"})
    assert response.status_code == 200 and b"Check your inbox" in response.content
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    link = re.search(r"http://testserver(/_edge/docs/acme/_access\?token=\S+)", message.body).group(1)
    assert message.alternatives and message.alternatives[0][1] == "text/html"
    response = browser.get(link)
    assert response.status_code == 302 and response["Location"] == "/_edge/docs/acme/guide/brand"
    cookie = response.cookies[fc.DOCS_COOKIE_NAME]
    assert cookie["path"] == "/_edge/docs/acme/" and cookie["httponly"]
    assert b"brand guide" in body(browser.get("/_edge/docs/acme/guide/brand", **BROWSER))
    # Confidential pages stay members-only for partners.
    response = browser.get("/_edge/docs/acme/finance/q3", **BROWSER)
    assert response.status_code == 403
    response = browser.get("/_edge/docs/acme/board.html", HTTP_ACCEPT="application/json")
    assert_error(response, 403, fc.DOCS_MEMBERS_ONLY)
    entry = DocsAccessLog.objects.filter(viewer_kind=fc.VIEWER_PARTNER).get()
    assert entry.email == "ana@agency.example" and entry.path == "/guide/brand"


def test_no_enumeration_on_the_access_form(handle, users, live_docs, django_capture_on_commit_callbacks):
    set_policy(handle, users["owner"], visibility="partners", partner_emails=["pat@partner.example"])
    answers = []
    for email in ("pat@partner.example", "eve@evil.example"):
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post("/_edge/docs/acme/_access", {"email": email})
        answers.append((response.status_code, response.content.decode().replace(email, "EMAIL")))
    assert answers[0][0] == answers[1][0] == 200
    strip = lambda html: re.sub(r"req_\w+|csrfmiddlewaretoken\" value=\"\w+", "", html)  # noqa: E731
    assert strip(answers[0][1]) == strip(answers[1][1])
    assert [m.to for m in mail.outbox] == [["pat@partner.example"]]


def test_the_access_form_is_throttled_per_ip(handle, users, live_docs):
    set_policy(handle, users["owner"], visibility="partners", partner_emails=["pat@partner.example"])
    browser = Client()
    # One frozen instant: a minute boundary mid-test would start a new window.
    with freeze_time("2026-12-01 12:00:10"):
        for _ in range(10):
            assert browser.post("/_edge/docs/acme/_access", {"email": "x@y.example"}).status_code == 200
        response = browser.post("/_edge/docs/acme/_access", {"email": "x@y.example"})
    assert response.status_code == 429 and response["Retry-After"]


def test_a_policy_change_signs_partners_out(users, handle, live_docs):
    set_policy(handle, users["owner"], visibility="partners", partner_domains=["agency.example"])
    browser = partner_client(handle)
    assert browser.get("/_edge/docs/acme/", **BROWSER).status_code == 200
    set_policy(handle, users["owner"], visibility="partners", partner_domains=["agency.example", "other.example"])
    assert browser.get("/_edge/docs/acme/", **BROWSER).status_code == 302


def test_a_cookie_from_another_handle_or_a_forged_one_is_ignored(users, handle, other_handle, outsider, live_docs):
    set_policy(handle, users["owner"], visibility="partners", partner_domains=["agency.example"])
    services.docs_policy_update(handle=other_handle, actor=outsider, data={"visibility": "partners", "partner_domains": ["agency.example"]})
    other_browser = partner_client(other_handle)
    stolen = other_browser.cookies[fc.DOCS_COOKIE_NAME].value
    browser = Client()
    browser.cookies[fc.DOCS_COOKIE_NAME] = stolen
    assert browser.get("/_edge/docs/acme/", **BROWSER).status_code == 302
    browser.cookies[fc.DOCS_COOKIE_NAME] = stolen[:-2] + "xx"
    assert browser.get("/_edge/docs/acme/", **BROWSER).status_code == 302


def test_an_old_policy_version_cookie_is_ignored(users, handle, live_docs):
    set_policy(handle, users["owner"], visibility="partners", partner_domains=["agency.example"])
    old = docs.cookie_value(slug="acme", email="ana@agency.example", version=handle.docs_policy.version)
    set_policy(handle, users["owner"], visibility="partners", partner_domains=["agency.example"])
    browser = Client()
    browser.cookies[fc.DOCS_COOKIE_NAME] = old
    assert browser.get("/_edge/docs/acme/", **BROWSER).status_code == 302
    browser.cookies[fc.DOCS_COOKIE_NAME] = docs.cookie_value(slug="acme", email="ana@agency.example", version=2)
    assert browser.get("/_edge/docs/acme/", **BROWSER).status_code == 200


def test_a_partner_removed_from_the_policy_loses_access(users, handle, live_docs):
    set_policy(handle, users["owner"], visibility="partners", partner_emails=["ana@agency.example"])
    version = handle.docs_policy.version
    browser = Client()
    browser.cookies[fc.DOCS_COOKIE_NAME] = docs.cookie_value(slug="acme", email="bo@agency.example", version=version)
    assert browser.get("/_edge/docs/acme/", **BROWSER).status_code == 302


def test_outside_the_window_partners_and_public_get_403(api, users, handle, live_docs):
    set_policy(handle, users["owner"], visibility="partners", partner_domains=["agency.example"], starts_at=(timezone.now() + timedelta(days=2)).isoformat())
    browser = Client()
    browser.cookies[fc.DOCS_COOKIE_NAME] = docs.cookie_value(slug="acme", email="ana@agency.example", version=handle.docs_policy.version)
    response = browser.get("/_edge/docs/acme/", HTTP_ACCEPT="application/json")
    err = assert_error(response, 403, fc.DOCS_ACCESS_WINDOW_CLOSED)
    assert err["details"]["starts_at"]
    assert browser.get("/_edge/docs/acme/", **BROWSER).status_code == 403
    set_policy(handle, users["owner"], visibility="public", ends_at=(timezone.now() - timedelta(minutes=1)).isoformat())
    assert_error(api().get("/_edge/docs/acme/"), 403, fc.DOCS_ACCESS_WINDOW_CLOSED)


def test_an_expired_or_tampered_sign_in_link_is_refused(users, handle, live_docs):
    set_policy(handle, users["owner"], visibility="partners", partner_domains=["agency.example"])
    token = docs.signin_token(slug="acme", email="ana@agency.example", version=handle.docs_policy.version)
    response = Client().get(f"/_edge/docs/acme/_access?token={token[:-3]}abc")
    assert response.status_code == 403 and b"invalid, expired" in response.content
    set_policy(handle, users["owner"], visibility="partners", partner_domains=["agency.example"])
    assert Client().get(f"/_edge/docs/acme/_access?token={token}").status_code == 403


def test_every_served_page_is_logged_and_shown_on_the_docs_access_page(client, users, handle, live_docs):
    client.force_login(users["admin"])
    client.get("/_edge/docs/acme/guide/brand")
    entry = DocsAccessLog.objects.get()
    assert entry.user == users["admin"] and entry.viewer_kind == fc.VIEWER_MEMBER and entry.path == "/guide/brand"
    page = client.get("/h/acme/docs-access/").content.decode()
    assert "/guide/brand" in page and "acme-admin" in page
    assert "Members only" in page and "confidential (meta tag)" in page


def test_unknown_handles_and_missing_docs_are_404(client, users, handle):
    assert client.get("/_edge/docs/nobody/", HTTP_ACCEPT="application/json").status_code == 404
    client.force_login(users["viewer"])
    assert_error(client.get("/_edge/docs/acme/", HTTP_ACCEPT="application/json"), 404, fc.DOCS_NOT_FOUND)
    assert client.get("/_edge/docs/acme").status_code == 302
    assert urlparse(client.get("/_edge/docs/acme")["Location"]).path == "/_edge/docs/acme/"


def test_a_site_rule_cannot_expose_a_confidential_page(api, users, handle):
    pages = {
        **DOCS_PAGES,
        "_redirects": b"/open /board.html 200\n/open-q3 /finance/q3.html 200\n/missing-q3 /finance/q3.html 404\n/away /guide/brand 302\n",
    }
    make_docs(handle, users["owner"], pages)
    set_policy(handle, users["owner"], visibility="public", confidential_paths=["/finance/*"])
    # A rewrite to a page confidential by its meta tag or by a path rule stays members-only.
    assert_error(api().get("/_edge/docs/acme/open"), 401, c.AUTHENTICATION_REQUIRED)
    assert_error(api().get("/_edge/docs/acme/open-q3"), 401, c.AUTHENTICATION_REQUIRED)
    assert_error(api().get("/_edge/docs/acme/missing-q3"), 401, c.AUTHENTICATION_REQUIRED)
    assert b"board minutes" in body(api(users["viewer"]).get("/_edge/docs/acme/open"))
    # Redirects carry the edge prefix; the rule files are never served.
    response = api().get("/_edge/docs/acme/away")
    assert response.status_code == 302 and response["Location"] == "/_edge/docs/acme/guide/brand"
    assert api(users["viewer"]).get("/_edge/docs/acme/_redirects").status_code == 404


CONFIDENTIAL_404 = b'<html><head><meta name="gharart:classification" content="confidential"></head><body>staff escalation numbers</body></html>'


@pytest.mark.parametrize("how", ["meta tag", "path rule"])
def test_a_confidential_404_page_is_never_served_to_partners_or_the_public(api, client, users, handle, how):
    pages = {**DOCS_PAGES, "404.html": CONFIDENTIAL_404 if how == "meta tag" else b"<html><body>staff escalation numbers</body></html>"}
    make_docs(handle, users["owner"], pages)
    rules = ["/404.html"] if how == "path rule" else []
    set_policy(handle, users["owner"], visibility="public", confidential_paths=rules)
    for response in (api().get("/_edge/docs/acme/no-such-page"), client.get("/_edge/docs/acme/no-such-page", **BROWSER)):
        assert response.status_code == 404
        assert b"staff escalation numbers" not in body(response)
    # A signed-in partner does not get it either.
    set_policy(handle, users["owner"], visibility="partners", partner_domains=["agency.example"], confidential_paths=rules)
    response = partner_client(type(handle).objects.get(pk=handle.pk)).get("/_edge/docs/acme/missing/page", **BROWSER)
    assert response.status_code == 404 and b"staff escalation numbers" not in body(response)
    # Members still get the docs' own page.
    client.force_login(users["viewer"])
    response = client.get("/_edge/docs/acme/no-such-page")
    assert response.status_code == 404 and b"staff escalation numbers" in body(response)


def test_a_missing_page_under_a_confidential_rule_answers_like_an_existing_one(api, users, handle, live_docs):
    set_policy(handle, users["owner"], visibility="public", confidential_paths=["/finance/*"])
    exists = api().get("/_edge/docs/acme/finance/q3")
    missing = api().get("/_edge/docs/acme/finance/q4-not-yet")
    assert exists.status_code == missing.status_code == 401
    # The ordinary 404 page is still served elsewhere.
    response = api().get("/_edge/docs/acme/guide/missing")
    assert response.status_code == 404 and b"no such doc" in body(response)


def test_a_sign_in_link_works_once(users, handle, live_docs):
    set_policy(handle, users["owner"], visibility="partners", partner_domains=["agency.example"])
    token = docs.signin_token(slug="acme", email="ana@agency.example", version=handle.docs_policy.version)
    first = Client()
    assert first.get(f"/_edge/docs/acme/_access?token={token}").status_code == 302
    assert b"welcome partners" in body(first.get("/_edge/docs/acme/"))
    # Forwarded, leaked or replayed later: the same link signs nobody in again.
    again = Client()
    response = again.get(f"/_edge/docs/acme/_access?token={token}")
    assert response.status_code == 403 and b"already used" in response.content
    assert fc.DOCS_COOKIE_NAME not in response.cookies
    assert again.get("/_edge/docs/acme/", **BROWSER).status_code == 302
    # A new link for the same partner works.
    fresh = docs.signin_token(slug="acme", email="ana@agency.example", version=handle.docs_policy.version)
    assert Client().get(f"/_edge/docs/acme/_access?token={fresh}").status_code == 302


def test_anonymous_readers_of_public_docs_do_not_write_a_row_per_request(api, users, handle, live_docs):
    set_policy(handle, users["owner"], visibility="public")
    for _ in range(20):
        assert api().get("/_edge/docs/acme/guide/brand").status_code == 200
        assert api().get("/_edge/docs/acme/scan/wp-login.php").status_code == 404
    rows = DocsAccessLog.objects.filter(viewer_kind=fc.VIEWER_PUBLIC)
    assert list(rows.values_list("path", flat=True)) == ["/guide/brand"]
    # Named readers are still logged page by page.
    api(users["viewer"]).get("/_edge/docs/acme/guide/brand")
    api(users["viewer"]).get("/_edge/docs/acme/guide/brand")
    assert DocsAccessLog.objects.filter(viewer_kind=fc.VIEWER_MEMBER).count() == 2
