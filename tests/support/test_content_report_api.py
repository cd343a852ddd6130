"""POST /v2/public/content-report: anonymous abuse reports about platform URLs."""

import pytest
from model_bakery import baker

from gharart import constants as c
from support import constants as sc
from support.models import ContentReport
from tests.conftest import assert_error

URL = "/v2/public/content-report"


def send(client, url="http://testserver/profiles/acme/", **body):
    payload = {"url": url, "reason": "spam", "details": "Fake giveaway.", "reporter_email": "someone@example.com"}
    payload.update(body)
    return client.post(URL, payload, format="json")


@pytest.mark.django_db
def test_anyone_may_report_and_gets_only_an_id(api):
    response = send(api())
    assert response.status_code == 202, response.content
    assert list(response.json()) == ["id"]
    assert response.json()["id"].startswith("cr_")
    saved = ContentReport.objects.get()
    assert saved.status == sc.CONTENT_NEW
    assert saved.handle_slug == "acme"
    assert saved.reason == "spam" and saved.reporter_email == "someone@example.com"
    assert saved.ip == "127.0.0.1"


@pytest.mark.django_db
def test_credentials_are_ignored_even_when_invalid(api, users, pat):
    assert send(api(users["owner"])).status_code == 202
    assert send(api(token="ghp_not-a-real-token")).status_code == 202
    assert send(api(token=pat(users["viewer"], [c.SCOPE_SITES_READ]))).status_code == 202


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url,slug",
    [
        ("http://testserver/profiles/acme/", "acme"),
        ("https://testserver/profiles/acme", "acme"),
        ("http://testserver/profiles/acme/shop/item.html?x=1#top", "acme"),
        ("http://testserver/previews/some-token/index.html", ""),
        ("http://testserver/_edge/docs/acme/handbook/", "acme"),
        ("http://testserver/v2/public/files/file_abcdefghij", ""),
        ("https://acme.sites.gharart.com/", "acme"),
        ("https://acme.sites.gharart.com/about", "acme"),
    ],
)
def test_urls_on_the_platforms_content_routes_are_accepted(api, url, slug):
    assert send(api(), url=url).status_code == 202
    assert ContentReport.objects.get().handle_slug == slug


@pytest.mark.django_db
def test_a_public_file_url_is_attributed_to_its_handle(api, handle):
    shared = baker.make("files.File", handle=handle)
    assert send(api(), url=f"http://testserver/v2/public/files/{shared.pk}").status_code == 202
    assert ContentReport.objects.get().handle_slug == "acme"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/profiles/acme/",
        "http://testserver.evil.example/profiles/acme/",
        "http://testserver/admin/",
        "http://testserver/",
        "http://testserver/v2/support/report",
        "http://testserver/h/acme/",
        "http://testserver/profiles/",
        "http://testserver/profiles/../admin/",
        "http://testserver/profiles/%2e%2e/admin/",
        "ftp://testserver/profiles/acme/",
        "javascript:alert(1)",
        "not a url",
        "/profiles/acme/",
        "http://user:pw@testserver/profiles/acme/",
        "http://a.b.sites.gharart.com/",
        "https://sites.gharart.com/",
        "http://testserver:notaport/profiles/acme/",
    ],
)
def test_urls_outside_the_platforms_content_routes_are_refused(api, url):
    error = assert_error(send(api(), url=url), 400, c.VALIDATION_ERROR)
    assert list(error["details"]) == ["url"]
    assert not ContentReport.objects.exists()


@pytest.mark.django_db
def test_the_content_origin_host_is_part_of_the_platform(api, settings):
    settings.GHARART_CONTENT_ORIGIN = "https://usercontent.gharart.example"
    assert send(api(), url="https://usercontent.gharart.example/profiles/acme/").status_code == 202


@pytest.mark.django_db
def test_fields_are_validated(api):
    client = api()
    error = assert_error(client.post(URL, {}, format="json"), 400, c.VALIDATION_ERROR)
    assert set(error["details"]) == {"url", "reason"}
    error = assert_error(send(client, reason="boring"), 400, c.VALIDATION_ERROR)
    assert list(error["details"]) == ["reason"]
    error = assert_error(send(client, reporter_email="not-an-email"), 400, c.VALIDATION_ERROR)
    assert list(error["details"]) == ["reporter_email"]
    error = assert_error(send(client, details="x" * (sc.CONTENT_DETAILS_MAX + 1)), 400, c.VALIDATION_ERROR)
    assert list(error["details"]) == ["details"]
    # Details and email are optional.
    assert send(client, reason="other", details="", reporter_email="").status_code == 202
    for reason, _ in sc.REASON_CHOICES:
        assert send(client, reason=reason).status_code == 202


@pytest.mark.django_db
def test_reports_are_throttled_per_ip(api, settings):
    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "content_report": "2/hour"}
    client = api()
    assert send(client).status_code == 202
    assert send(client).status_code == 202
    refused = send(client)
    assert_error(refused, 429, c.RATE_LIMITED)
    assert int(refused["Retry-After"]) >= 1
    assert ContentReport.objects.count() == 2
    # Another address has its own budget.
    other = client.post(URL, {"url": "http://testserver/profiles/acme/", "reason": "spam"}, format="json", REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 202
