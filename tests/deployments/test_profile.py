"""The profile route /profiles/{handle}/...: path rules, caching headers, ranges, modes, traversal."""

import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deployments import constants as dc
from deployments import serving
from deployments.models import Deployment
from deployments.selectors import live as live_selectors
from deployments.selectors.live import live_deployment
from deployments.services.releases import deployment_rollback
from deployments.services.site import site_mode_set
from gharart import constants as c
from tests.deployments.conftest import SITE, publish

# Each test runs on both blob backends: local files and S3 (SeaweedFS).
pytestmark = [pytest.mark.django_db, pytest.mark.blobs]
CSP = "sandbox allow-scripts allow-forms allow-popups allow-downloads"


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def live(handle, users, site_mode_deployment):
    return publish(handle, actor=users["owner"])


@pytest.mark.parametrize(
    "path,expected",
    [
        ("/profiles/acme/", "index.html"),
        ("/profiles/acme/index.html", "index.html"),
        ("/profiles/acme/about", "about.html"),
        ("/profiles/acme/about.html", "about.html"),
        ("/profiles/acme/products/", "products/index.html"),
        ("/profiles/acme/css/site.css", "css/site.css"),
        ("/profiles/acme//css//site.css", "css/site.css"),
    ],
)
def test_static_host_path_rules(client, live, path, expected):
    r = client.get(path)
    assert r.status_code == 200
    assert body(r) == SITE[expected]
    assert r["ETag"] == f'"{hashlib.sha256(SITE[expected]).hexdigest()}"'


def test_a_folder_named_without_its_slash_redirects_to_it(client, live):
    r = client.get("/profiles/acme/products?x=1")
    assert r.status_code == 301 and r["Location"] == "/profiles/acme/products/?x=1"
    assert r["X-Gharart-Deployment"] == live.id


def test_the_bare_profile_url_redirects_to_the_slash(client, live):
    r = client.get("/profiles/acme?x=1")
    assert r.status_code == 301 and r["Location"] == "/profiles/acme/?x=1"
    assert r["X-Gharart-Site-Mode"] == "deployment"


def test_unknown_paths_get_the_sites_404_page(client, live):
    r = client.get("/profiles/acme/nope.html")
    assert r.status_code == 404
    assert body(r) == SITE["404.html"]
    assert r["Content-Type"] == "text/html; charset=utf-8"
    assert r["X-Gharart-Deployment"] == live.id


def test_without_a_404_page_it_is_a_plain_404(client, handle, users, site_mode_deployment):
    publish(handle, {"index.html": b"home"}, actor=users["owner"])
    r = client.get("/profiles/acme/nope", HTTP_ACCEPT="text/html")
    assert r.status_code == 404 and b"Page not found" in r.content
    # A visitor reads words and a request ID to quote, never the error code itself.
    from tests.visible_text import problems_in_html

    html = r.content.decode()
    assert problems_in_html(html) == [] and "<title>Page not found" in html
    assert r["X-Request-ID"] in html and 'data-error-code="not_found"' in html
    assert r["X-Gharart-Site-Mode"] == "deployment"
    r = client.get("/profiles/acme/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == c.NOT_FOUND


def test_content_types_cache_control_and_headers(client, live):
    expectations = {
        "/profiles/acme/": "text/html; charset=utf-8",
        "/profiles/acme/css/site.css": "text/css; charset=utf-8",
        "/profiles/acme/img/logo.svg": "image/svg+xml; charset=utf-8",
        "/profiles/acme/data/feed.json": "application/json; charset=utf-8",
    }
    for path, ctype in expectations.items():
        r = client.get(path)
        assert r["Content-Type"] == ctype
        assert r["Cache-Control"] == "public, max-age=0, must-revalidate"
        assert r["Content-Security-Policy"] == CSP
        assert r["X-Gharart-Deployment"] == live.id
        assert r["X-Gharart-Site-Mode"] == "deployment"
        assert r["X-Content-Type-Options"] == "nosniff"
        assert r["Accept-Ranges"] == "bytes"
        assert "X-Request-ID" in r


def test_no_sandbox_csp_when_a_separate_content_origin_serves_it(client, live, settings):
    settings.GHARART_CONTENT_ORIGIN = "https://usercontent.example"
    r = client.get("/profiles/acme/", HTTP_HOST="usercontent.example")
    assert "sandbox" not in r["Content-Security-Policy"]
    # The dashboard, on its own origin, may frame the content (previews); nobody else may.
    assert r["Content-Security-Policy"] == f"frame-ancestors 'self' {settings.GHARART_PUBLIC_URL}"
    assert not r.has_header("X-Frame-Options")
    # The same route reached on the dashboard's own host stays sandboxed.
    assert client.get("/profiles/acme/")["Content-Security-Policy"] == "sandbox allow-scripts allow-forms allow-popups allow-downloads"


def test_same_origin_content_may_only_be_framed_by_the_same_origin(client, live):
    assert client.get("/profiles/acme/")["X-Frame-Options"] == "SAMEORIGIN"


def test_if_none_match_gives_304(client, live):
    etag = client.get("/profiles/acme/about").headers["ETag"]
    r = client.get("/profiles/acme/about", HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 304 and r.content == b""
    assert r["ETag"] == etag
    assert client.get("/profiles/acme/about", HTTP_IF_NONE_MATCH=f'W/{etag}, "other"').status_code == 304
    assert client.get("/profiles/acme/about", HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_range_requests_get_206(client, live):
    data = SITE["about.html"]
    r = client.get("/profiles/acme/about.html", HTTP_RANGE="bytes=0-9")
    assert r.status_code == 206 and body(r) == data[:10]
    assert r["Content-Range"] == f"bytes 0-9/{len(data)}" and r["Content-Length"] == "10"
    r = client.get("/profiles/acme/about.html", HTTP_RANGE="bytes=-5")
    assert r.status_code == 206 and body(r) == data[-5:]
    r = client.get("/profiles/acme/about.html", HTTP_RANGE="bytes=10-")
    assert r.status_code == 206 and body(r) == data[10:]
    r = client.get("/profiles/acme/about.html", HTTP_RANGE=f"bytes={len(data)}-")
    assert r.status_code == 416 and r["Content-Range"] == f"bytes */{len(data)}"
    # Several ranges, or a stale If-Range: the whole file.
    assert client.get("/profiles/acme/about.html", HTTP_RANGE="bytes=0-1,3-4").status_code == 200
    assert client.get("/profiles/acme/about.html", HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE='"old"').status_code == 200


def test_head_has_the_headers_and_no_body(client, live):
    r = client.head("/profiles/acme/about.html")
    assert r.status_code == 200 and r.content == b""
    assert r["Content-Length"] == str(len(SITE["about.html"]))
    assert r["Content-Type"] == "text/html; charset=utf-8"
    assert r["X-Gharart-Deployment"] == live.id
    assert client.head("/profiles/acme/nope").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/profiles/acme/../other/index.html",
        "/profiles/acme/css/../../x",
        "/profiles/acme/%2e%2e/%2e%2e/etc/passwd",
        "/profiles/acme/css/%2e%2e/%2e%2e/gharart/settings.py",
        "/profiles/acme/..%2f..%2fetc%2fpasswd",
        "/profiles/acme/%2E%2E%2Fsecret",
        "/profiles/acme/..\\..\\etc\\passwd",
        "/profiles/acme/css%5c..%5c..%5cx",
        "/profiles/acme/./index.html",
    ],
)
def test_traversal_never_escapes_the_deployment(client, live, path):
    r = client.get(path)
    assert r.status_code == 404
    assert body(r) == SITE["404.html"]


def test_a_nul_character_is_a_bad_request(client, live):
    # Refused before any lookup (gharart/request_guard.py): PostgreSQL cannot compare NUL.
    assert client.get("/profiles/acme/%00index.html").status_code == 400
    assert client.get("/profiles/a%00b/").status_code == 400


def test_only_get_and_head(client, live):
    r = client.post("/profiles/acme/about.html")
    assert r.status_code == 405 and r["Allow"] == "GET, HEAD"


def test_accel_redirect_hands_the_bytes_to_nginx(client, live, settings, blob_backend):
    settings.GHARART_ACCEL_REDIRECT = True
    settings.GHARART_ACCEL_REDIRECT_PREFIX = "/_blobs/"
    settings.GHARART_ACCEL_S3_PREFIX = "/_s3/"
    sha = hashlib.sha256(SITE["about.html"]).hexdigest()
    r = client.get("/profiles/acme/about")
    assert r.status_code == 200
    if blob_backend == "local":
        assert r.content == b""
        assert r["X-Accel-Redirect"] == f"/_blobs/{sha[:2]}/{sha[2:4]}/{sha}"
    else:  # on S3 Django streams, keeping its sandbox CSP (no proxied hand-off)
        assert "X-Accel-Redirect" not in r
        r = client.get("/profiles/acme/about")
        assert b"".join(r.streaming_content) == SITE["about.html"]
    assert r["ETag"] == f'"{sha}"' and r["Content-Type"] == "text/html; charset=utf-8"
    assert r["Content-Security-Policy"] == CSP
    # The 404 page keeps its status, so Python sends it; in-process callers always get bytes.
    assert "X-Accel-Redirect" not in client.get("/profiles/acme/nope")
    assert serving.profile_response("acme", "/about").content == SITE["about.html"]


# --- Site modes -------------------------------------------------------------------------

def test_links_mode_serves_the_links_page(client, handle):
    handle.display_name = "Acme Homeware"
    handle.bio = "Lamps & rugs"
    handle.links = [{"label": "Shop", "url": "https://acme.example/shop"}]
    handle.save()
    r = client.get("/profiles/acme/")
    assert r.status_code == 200 and r["X-Gharart-Site-Mode"] == "links"
    html = r.content.decode()
    assert "Acme Homeware" in html and "Lamps &amp; rugs" in html and 'href="https://acme.example/shop"' in html
    assert "X-Gharart-Deployment" not in r
    assert client.get("/profiles/acme/about").status_code == 404


def test_maintenance_mode_is_503_with_retry_after(client, handle, users):
    site_mode_set(handle=handle, mode=c.SITE_MODE_MAINTENANCE, actor=users["owner"])
    r = client.get("/profiles/acme/anything")
    assert r.status_code == 503 and int(r["Retry-After"]) > 0
    assert r["X-Gharart-Site-Mode"] == "maintenance"
    assert client.head("/profiles/acme/").status_code == 503


def test_deployment_mode_with_nothing_live_is_a_no_site_404(client, site_mode_deployment):
    r = client.get("/profiles/acme/")
    assert r.status_code == 404 and b"No site published" in r.content
    assert r["X-Gharart-Site-Mode"] == "deployment"


def test_unknown_handles_are_404(client, db):
    r = client.get("/profiles/nobody/")
    assert r.status_code == 404 and r["X-Gharart-Site-Mode"] == "none"


# --- The site-mode API and the mismatch diagnosis ----------------------------------------

def test_site_mode_api_and_the_mismatch_warning(api, users, handle, client, django_capture_on_commit_callbacks):
    dep = publish(handle, actor=users["owner"])
    viewer = api(users["viewer"])
    r = viewer.get("/v2/handles/acme/site-mode")
    assert r.json() == {
        "mode": "links",
        "live_deployment_id": dep.id,
        "serving": "links_page",
        "warnings": ["site_mode_mismatch"],
        "warning_details": r.json()["warning_details"],
    }
    # The profile route shows what is served: the links page, no deployment header.
    page = client.get("/profiles/acme/")
    assert page["X-Gharart-Site-Mode"] == "links" and "X-Gharart-Deployment" not in page
    with django_capture_on_commit_callbacks(execute=True):
        r = api(users["web_manager"]).put("/v2/handles/acme/site-mode", {"mode": "deployment"}, format="json")
    assert r.status_code == 200
    assert r.json()["serving"] == "deployment" and r.json()["warnings"] == []
    page = client.get("/profiles/acme/")
    assert page["X-Gharart-Site-Mode"] == "deployment" and page["X-Gharart-Deployment"] == dep.id
    assert_bad = api(users["web_manager"]).put("/v2/handles/acme/site-mode", {"mode": "party"}, format="json")
    assert assert_bad.status_code == 400 and assert_bad.json()["error"]["code"] == c.VALIDATION_ERROR
    from gharart.models import AuditEvent

    assert AuditEvent.objects.filter(action=c.AUDIT_SITE_MODE).count() == 1


def test_deployment_mode_without_a_live_site_warns(api, users, handle):
    r = api(users["web_manager"]).put("/v2/handles/acme/site-mode", {"mode": "deployment"}, format="json")
    assert r.json()["serving"] == "no_site_published" and r.json()["warnings"] == ["site_mode_mismatch"]


# --- Cache: invalidated on promote, rollback and mode change; warm requests skip the DB ---

def test_promote_rollback_and_mode_change_are_seen_at_once(client, handle, users, site_mode_deployment, django_capture_on_commit_callbacks):
    first_files = {**SITE, "index.html": b"first"}
    second_files = {**SITE, "index.html": b"second"}
    with django_capture_on_commit_callbacks(execute=True):
        first = publish(handle, first_files, actor=users["owner"])
    assert body(client.get("/profiles/acme/")) == b"first"
    with django_capture_on_commit_callbacks(execute=True):
        publish(handle, second_files, actor=users["owner"])
    assert body(client.get("/profiles/acme/")) == b"second"
    with django_capture_on_commit_callbacks(execute=True):
        deployment_rollback(deployment=Deployment.objects.get(pk=first.id), actor=users["owner"])
    assert body(client.get("/profiles/acme/")) == b"first"
    with django_capture_on_commit_callbacks(execute=True):
        site_mode_set(handle=handle, mode=c.SITE_MODE_MAINTENANCE, actor=users["owner"])
    assert client.get("/profiles/acme/").status_code == 503


def test_a_warm_profile_request_makes_no_database_query(client, live):
    live_selectors._local_manifest.clear()
    client.get("/profiles/acme/about")  # warms the cache
    client.get("/profiles/acme/missing-page")
    with CaptureQueriesContext(connection) as queries:
        r = client.get("/profiles/acme/about")
    assert r.status_code == 200
    assert len(queries) == 0, [q["sql"] for q in queries]
    assert live_deployment(handle="acme", target=dc.TARGET_SITE).id == live.id


def test_live_deployment_selector(handle, users):
    assert live_deployment(handle=handle, target="site") is None
    dep = publish(handle, actor=users["owner"])
    # Committed inside the test transaction: a fresh process would see it after invalidation.
    from django.core.cache import cache

    cache.clear()
    assert live_deployment(handle=handle, target="site").id == dep.id
    assert live_deployment(handle="acme", target="docs") is None


# --- In-process helpers --------------------------------------------------------------------

def test_profile_response_runs_the_route_in_process(live):
    r = serving.profile_response("acme", "/products/")
    assert r.status_code == 200 and r.content == SITE["products/index.html"]
    assert r["X-Gharart-Site-Mode"] == "deployment"
    assert serving.profile_response("acme", "about.html?utm=1").content == SITE["about.html"]
    assert serving.profile_response("acme", "/nope").status_code == 404
    assert serving.profile_response("acme", "/about", method="HEAD").content == b""


def test_deployment_response_serves_any_ready_deployment(handle):
    dep = publish(handle, {**SITE, "index.html": b"candidate"}, promote=False)
    r = serving.deployment_response(dep, "/")
    assert r.status_code == 200 and r.content == b"candidate" and r["X-Gharart-Deployment"] == dep.id
