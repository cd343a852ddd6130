"""The site rules of the serving layer (_redirects, _headers, trailing slash, compression)
apply on the live host and on custom domains, with Locations at the host's root."""

import gzip

import pytest

from gharart import constants as gc
from tests.domains.conftest import SITES, host_client, publish

pytestmark = pytest.mark.django_db
LIVE = f"acme.{SITES}"
BIG = b"<!doctype html><title>Big</title>" + b"<p>Very compressible words. </p>" * 300

FILES = {
    "index.html": BIG,
    "about.html": b"<!doctype html><title>About</title>",
    "docs/index.html": b"<!doctype html><title>Docs</title>",
    "_redirects": b"/old /about 301\n/spa/* /index.html 200\n",
    "_headers": b"/*\n  X-Site: everywhere\n  Content-Security-Policy: img-src 'self'\n",
}


@pytest.fixture
def ruled(handle):
    handle.site_mode = gc.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    return publish(handle, FILES)


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_redirects_and_trailing_slash_point_at_the_hosts_root(ruled):
    client = host_client(LIVE)
    old = client.get("/old?x=1")
    assert old.status_code == 301 and old["Location"] == "/about?x=1"
    folder = client.get("/docs")
    assert folder.status_code == 301 and folder["Location"] == "/docs/"
    assert body(client.get("/spa/deep/link")).startswith(b"<!doctype html><title>Big")
    assert client.get("/_redirects").status_code == 404


def test_headers_apply_and_there_is_no_platform_sandbox_to_merge(ruled, client):
    r = host_client(LIVE).get("/about.html")
    assert r["X-Site"] == "everywhere" and r["Content-Security-Policy"] == "img-src 'self'"
    # On /profiles/ the site's policy only adds to the sandbox.
    profile = client.get("/profiles/acme/about.html")
    assert profile["Content-Security-Policy"].startswith("sandbox") and "img-src 'self'" in profile["Content-Security-Policy"]


def test_text_is_compressed_on_the_live_host(ruled):
    r = host_client(LIVE).get("/", HTTP_ACCEPT_ENCODING="gzip")
    assert r["Content-Encoding"] == "gzip" and gzip.decompress(body(r)) == BIG


def test_a_verified_custom_domain_gets_the_same_rules(ruled, handle):
    from domains import services

    row = services.domain_add(handle=handle, domain="www.brand.example")
    row.status = "verified"
    row.save()
    client = host_client("www.brand.example")
    assert client.get("/old")["Location"] == "/about"
    assert client.get("/about.html")["X-Site"] == "everywhere"
