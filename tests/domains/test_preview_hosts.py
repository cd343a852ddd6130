"""Preview hosts {id}--{handle}.{domain}: the preview grant (token -> host-only cookie ->
clean URL), 401 without it, and preview_host_url in the API."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from freezegun import freeze_time

from deployments import previews
from domains import constants as dc
from gharart import constants as gc
from tests.conftest import assert_error
from tests.domains.conftest import ROOT_SITE, SITES, host_client, publish

pytestmark = pytest.mark.django_db


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def preview_host(dep):
    return f"{dep.id.removeprefix('dep_')}--{dep.handle.slug}.{SITES}"


@pytest.fixture
def candidate(handle, live_site):
    """A ready site deployment that is not live (the live one is ROOT_SITE)."""
    return publish(handle, {**ROOT_SITE, "index.html": b"<!doctype html><title>Candidate</title>"}, promote=False)


def test_the_preview_report_and_the_deployment_carry_preview_host_url(api, users, candidate):
    report = api(users[gc.VIEWER]).get(f"/v2/handles/acme/site-deployments/{candidate.id}/preview").json()
    url = urlsplit(report["preview_host_url"])
    assert url.scheme == "http" and url.netloc == preview_host(candidate) and url.path == "/"
    assert url.query.startswith("preview_token=")
    assert "/previews/" in report["preview_url"]  # unchanged for existing clients
    detail = api(users[gc.VIEWER]).get(f"/v2/handles/acme/site-deployments/{candidate.id}").json()
    assert urlsplit(detail["preview_host_url"]).netloc == preview_host(candidate)
    listed = api(users[gc.VIEWER]).get("/v2/handles/acme/site-deployments").json()["results"]
    assert all(urlsplit(d["preview_host_url"]).netloc == preview_host_of(d) for d in listed)


def preview_host_of(item):
    return f"{item['id'].removeprefix('dep_')}--{item['handle']}.{SITES}"


def test_docs_deployments_have_no_preview_host(api, users, handle):
    dep = publish(handle, ROOT_SITE, target="docs", promote=False)
    assert api(users[gc.VIEWER]).get(f"/v2/handles/acme/site-deployments/{dep.id}").json()["preview_host_url"] is None


def test_the_https_scheme_is_used_when_configured(settings, candidate):
    settings.GHARART_SITES_SCHEME = "https"
    assert previews.preview_host_url(candidate).startswith(f"https://{preview_host(candidate)}/?preview_token=")


def test_the_token_sets_a_host_only_cookie_and_redirects_to_the_clean_url(candidate):
    client = host_client(preview_host(candidate))
    token = previews.preview_token(candidate.id)
    r = client.get(f"/about.html?x=1&preview_token={token}&y=2")
    assert r.status_code == 302 and r["Location"] == "/about.html?x=1&y=2"
    cookie = r.cookies[dc.PREVIEW_COOKIE]
    assert cookie.value == token
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["domain"] == "" and cookie["path"] == "/"
    ttl = int(timedelta(hours=24).total_seconds())
    assert ttl - 60 <= int(cookie["max-age"]) <= ttl
    # The browser follows with the cookie: the candidate (not what is live) at the root.
    page = client.get("/")
    assert page.status_code == 200 and b"Candidate" in body(page)
    assert page["X-Gharart-Deployment"] == candidate.id and page["Cache-Control"].startswith("private")
    assert page["X-Robots-Tag"] == "noindex, nofollow" and "Content-Security-Policy" not in page
    assert b"We make things" in body(client.get("/about.html"))


def test_the_clean_url_never_leaves_the_host(candidate):
    client = host_client(preview_host(candidate))
    token = previews.preview_token(candidate.id)
    # The test client would read "//evil.example/x" as a host: set the raw path directly.
    assert client.get(f"/?preview_token={token}", PATH_INFO="//evil.example/x")["Location"] == "/evil.example/x"
    assert client.get(f"/caf%C3%A9%20menu/100%25.html?preview_token={token}")["Location"] == "/caf%C3%A9%20menu/100%25.html"


def test_without_a_grant_it_is_401_preview_token_required(candidate):
    client = host_client(preview_host(candidate))
    assert_error(client.get("/", HTTP_ACCEPT="application/json"), 401, dc.PREVIEW_TOKEN_REQUIRED)
    page = client.get("/", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert page.status_code == 401 and page["Content-Type"].startswith("text/html")
    assert b"This preview needs its link" in page.content and page["X-Request-ID"]


def test_a_token_or_cookie_for_another_deployment_is_refused(handle, candidate):
    other = publish(handle, ROOT_SITE, promote=False)
    client = host_client(preview_host(candidate))
    assert_error(client.get(f"/?preview_token={previews.preview_token(other.id)}", HTTP_ACCEPT="application/json"), 401, dc.PREVIEW_TOKEN_REQUIRED)
    client.cookies[dc.PREVIEW_COOKIE] = previews.preview_token(other.id)
    assert_error(client.get("/", HTTP_ACCEPT="application/json"), 401, dc.PREVIEW_TOKEN_REQUIRED)
    client.cookies[dc.PREVIEW_COOKIE] = "forged:token:value"
    assert_error(client.get("/", HTTP_ACCEPT="application/json"), 401, dc.PREVIEW_TOKEN_REQUIRED)


def test_the_grant_ends_with_the_token(candidate):
    client = host_client(preview_host(candidate))
    with freeze_time("2026-11-01 12:00:00"):
        token = previews.preview_token(candidate.id)
        assert client.get(f"/?preview_token={token}").status_code == 302
        assert client.get("/").status_code == 200
    with freeze_time("2026-11-02 11:59:00"):
        assert client.get("/").status_code == 200
    with freeze_time("2026-11-02 12:00:01"):
        assert_error(client.get("/", HTTP_ACCEPT="application/json"), 401, dc.PREVIEW_TOKEN_REQUIRED)
        assert_error(client.get(f"/?preview_token={token}", HTTP_ACCEPT="application/json"), 401, dc.PREVIEW_TOKEN_REQUIRED)


def test_unknown_or_unready_deployments_and_wrong_handles_are_404(handle, other_handle, candidate):
    token = previews.preview_token(candidate.id)
    key = candidate.id.removeprefix("dep_")
    for host in (f"{key}--other.{SITES}", f"zzzz--acme.{SITES}"):
        r = host_client(host).get(f"/?preview_token={token}", HTTP_ACCEPT="application/json")
        assert r.status_code == 404, host
    candidate.state = "processing"
    candidate.save(update_fields=["state"])
    assert host_client(preview_host(candidate)).get(f"/?preview_token={token}").status_code == 404


def test_the_previews_route_keeps_working(client, candidate):
    url = urlsplit(previews.preview_url(candidate)[0])
    r = client.get(url.path)
    assert r.status_code == 200 and b"Candidate" in body(r)
    assert r["Content-Security-Policy"].startswith("sandbox")
