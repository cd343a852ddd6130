"""The live host {handle}.{GHARART_SITES_DOMAIN}: the site at the root of its own origin,
through the profile route's serving function, before any dashboard middleware."""

import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deployments.selectors import live as live_selectors
from deployments.services.site import binding_create, site_mode_set
from domains import constants as dc
from domains import names
from gharart import constants as gc
from tests.conftest import assert_error
from tests.domains.conftest import ROOT_SITE, SITES, host_client

pytestmark = pytest.mark.django_db
LIVE = f"acme.{SITES}"
SANDBOX = "sandbox allow-scripts allow-forms allow-popups allow-downloads"


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- Naming ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "host,kind,slug,dep",
    [
        ("acme.sites.gharart.com", dc.HOST_LIVE, "acme", ""),
        ("ACME.Sites.Gharart.com.", dc.HOST_LIVE, "acme", ""),
        ("acme.sites.gharart.com:8443", dc.HOST_LIVE, "acme", ""),
        ("abc123--acme.sites.gharart.com", dc.HOST_PREVIEW, "acme", "dep_abc123"),
        ("a.b.sites.gharart.com", dc.HOST_UNKNOWN, "", ""),
        ("-x.sites.gharart.com", dc.HOST_UNKNOWN, "", ""),
        ("a_b--acme.sites.gharart.com", dc.HOST_UNKNOWN, "", ""),
    ],
)
def test_hosts_under_the_sites_domain_are_classified(host, kind, slug, dep):
    site = names.classify(host)
    assert (site.kind, site.handle_slug, site.deployment_id) == (kind, slug, dep)


@pytest.mark.parametrize("host", ["sites.gharart.com", "testserver", "localhost:8000", "acme.example", "evilsites.gharart.com"])
def test_other_hosts_are_not_site_hosts(host):
    assert names.classify(host) is None


def test_the_sites_domain_may_carry_a_port(settings):
    settings.GHARART_SITES_DOMAIN = "localhost:8123"
    assert names.live_host("acme") == "acme.localhost:8123"
    assert names.classify("acme.localhost:8123").handle_slug == "acme"
    assert names.classify("localhost:8123") is None  # the dashboard's own host in the embedded default


# --- Serving ---------------------------------------------------------------------------------

def test_the_live_host_serves_the_site_at_its_root_without_the_sandbox(live_site):
    client = host_client(LIVE)
    r = client.get("/")
    assert r.status_code == 200 and b"Acme home" in body(r)
    assert r["X-Gharart-Site-Mode"] == "deployment" and r["X-Gharart-Deployment"] == live_site.id
    assert "Content-Security-Policy" not in r
    assert r["X-Content-Type-Options"] == "nosniff" and r["X-Request-ID"].startswith("req_")
    # Root-relative links resolve at the host's root.
    css = client.get("/css/site.css")
    assert css.status_code == 200 and css["Content-Type"].startswith("text/css")
    assert b"We make things" in body(client.get("/about.html"))
    assert b"We make things" in body(client.get("/about"))
    assert b"Lamp" in body(client.get("/products/"))
    assert body(client.get("/data.json")) == ROOT_SITE["data.json"]


def test_the_profile_route_stays_sandboxed(client, live_site):
    r = client.get("/profiles/acme/")
    assert r.status_code == 200 and r["Content-Security-Policy"] == SANDBOX


def test_unknown_paths_get_the_sites_404_page(live_site):
    r = host_client(LIVE).get("/nope.html")
    assert r.status_code == 404 and b"Lost?" in body(r)
    assert "Content-Security-Policy" not in r


def test_etag_304_range_and_head(live_site):
    client = host_client(LIVE)
    etag = '"' + hashlib.sha256(ROOT_SITE["about.html"]).hexdigest() + '"'
    r = client.get("/about.html")
    assert r["ETag"] == etag and r["Cache-Control"].startswith("public")
    not_modified = client.get("/about.html", HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304 and not_modified["X-Gharart-Deployment"] == live_site.id
    assert not_modified["ETag"] == etag and not_modified["Cache-Control"] == r["Cache-Control"]
    # The contract: every response carries the site mode and the request ID.
    assert not_modified["X-Gharart-Site-Mode"] == "deployment" and not_modified["X-Request-ID"].startswith("req_")
    assert "Content-Type" not in not_modified and "Content-Length" not in not_modified
    part = client.get("/about.html", HTTP_RANGE="bytes=0-8")
    assert part.status_code == 206 and body(part) == ROOT_SITE["about.html"][:9]
    assert part["Content-Range"] == f"bytes 0-8/{len(ROOT_SITE['about.html'])}"
    head = client.head("/about.html")
    assert head.status_code == 200 and body(head) == b"" and head["Content-Length"] == str(len(ROOT_SITE["about.html"]))


def test_traversal_never_escapes_the_deployment(live_site):
    for path in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/css/..%2f..%2fsecret"):
        r = host_client(LIVE).get(path)
        assert r.status_code == 404, path


def test_site_modes_apply_on_the_live_host(handle, users, django_capture_on_commit_callbacks):
    client = host_client(LIVE)
    handle.display_name = "Acme Homeware"
    handle.save()
    r = client.get("/")
    assert r.status_code == 200 and r["X-Gharart-Site-Mode"] == "links" and b"Acme Homeware" in r.content
    with django_capture_on_commit_callbacks(execute=True):
        site_mode_set(handle=handle, mode=gc.SITE_MODE_MAINTENANCE, actor=users["owner"])
    r = client.get("/any/page")
    assert r.status_code == 503 and int(r["Retry-After"]) > 0 and r["X-Gharart-Site-Mode"] == "maintenance"
    with django_capture_on_commit_callbacks(execute=True):
        site_mode_set(handle=handle, mode=gc.SITE_MODE_DEPLOYMENT, actor=users["owner"])
    r = client.get("/")
    assert r.status_code == 404 and b"No site published" in r.content


def test_function_bindings_answer_on_the_live_host_with_root_relative_locations(live_site, handle):
    binding_create(handle=handle, route="/go", methods=["GET"], function="redirect", config={"location": "/about.html", "status": 302})
    binding_create(handle=handle, route="/api/contact", methods=["POST"], function="form-capture", config={"success_path": "/thanks.html"})
    client = host_client(LIVE)
    r = client.get("/go")
    assert r.status_code == 302 and r["Location"] == "/about.html" and r["X-Gharart-Deployment"] == live_site.id
    posted = client.post("/api/contact", {"email": "a@b.example"})
    assert posted.status_code == 303 and posted["Location"] == "/thanks.html"


def test_unknown_handles_and_names_are_404(db):
    for host in ("nobody.sites.gharart.com", "a.b.sites.gharart.com", "x--acme.sites.gharart.com"):
        r = host_client(host).get("/", HTTP_ACCEPT="application/json")
        assert r.status_code == 404, host
        assert r["X-Request-ID"]
    err = assert_error(host_client("nobody.sites.gharart.com").get("/"), 404, gc.NOT_FOUND)
    assert err["message"]


def test_a_site_host_never_serves_the_dashboard_admin_or_api(live_site, users):
    client = host_client(LIVE)
    client.force_login(users["owner"])
    for path in ("/admin/", "/admin/login/", "/v2/handles/acme/site-deployments", "/accounts/login/", "/h/acme/", "/v2/docs", "/settings/tokens/"):
        r = client.get(path)
        assert r["X-Gharart-Site-Mode"] == "deployment", path
        assert "csrftoken" not in r.cookies and "sessionid" not in r.cookies, path
        assert "Cookie" not in r.get("Vary", ""), path
    # The site's own /admin/ folder is the site's, not Django's.
    assert b"The site's own admin page" in body(client.get("/admin/"))
    assert client.get("/v2/handles/acme/site-deployments").status_code == 404


def test_site_hosts_are_served_whatever_the_dashboards_allowed_hosts(live_site, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    assert host_client(LIVE).get("/").status_code == 200
    # The dashboard itself still refuses a host it does not know.
    assert host_client("elsewhere.example").get("/accounts/login/").status_code == 400


def test_an_inbound_request_id_is_kept(live_site):
    r = host_client(LIVE).get("/", HTTP_X_REQUEST_ID="abc.123")
    assert r["X-Request-ID"] == "abc.123"


def test_dashboard_cookies_are_host_only(client, users, settings):
    assert settings.SESSION_COOKIE_DOMAIN is None and settings.CSRF_COOKIE_DOMAIN is None
    page = client.get("/accounts/login/")
    assert page.cookies["csrftoken"]["domain"] == ""
    r = client.post("/accounts/login/", {"username": "acme-owner", "password": "pw-owner", "csrfmiddlewaretoken": page.cookies["csrftoken"].value})
    assert r.status_code == 302
    assert r.cookies["sessionid"]["domain"] == ""


def test_a_warm_live_host_request_makes_no_database_query(live_site):
    client = host_client(LIVE)
    live_selectors._local_manifest.clear()
    client.get("/about.html")
    with CaptureQueriesContext(connection) as queries:
        r = client.get("/about.html")
    assert r.status_code == 200
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_a_fault_while_serving_is_a_500_envelope_with_the_request_id(live_site, monkeypatch):
    from deployments import serving

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(serving, "profile_serve", broken)
    r = host_client(LIVE).get("/", HTTP_ACCEPT="application/json")
    err = assert_error(r, 500, gc.INTERNAL_ERROR)
    assert "boom" not in err["message"]


def test_site_host_errors_are_counted_like_public_routes_never_logged(live_site):
    from gharart import request_log
    from gharart.models import RequestLog

    before = request_log.anonymous_counts().get(404, 0)
    host_client(LIVE).get("/missing-page.html")
    assert request_log.anonymous_counts().get(404, 0) == before + 1
    assert not RequestLog.objects.exists()
