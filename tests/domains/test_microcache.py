"""The documented nginx (docs/deploy/nginx.conf) with its microcache in front of a live server.

The real nginx runs the file as written (only ports, paths, certificates and the sites
domain are put in for this machine): live pages come from the cache, a promote or
rollback is visible within one second, previews and function bindings are never kept,
and every response carries its own request's ID.
"""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from django.core.files.storage import storages

from deployments import compression, previews
from deployments import constants as dc
from deployments.services.releases import deployment_promote, deployment_rollback
from deployments.services.site import binding_create
from domains import constants as domc
from gharart import constants as gc
from tests.domains.conftest import ROOT_SITE, SITES, publish
from tests.domains.nginx_conf import documented_conf
from tests.reliability.servers import free_port, wait_for_port

pytestmark = pytest.mark.django_db(transaction=True)

CSS = b"".join(b".item-%d { color: #%06x; margin: %dpx; }\n" % (i, i * 997, i % 13) for i in range(200))
A = {**ROOT_SITE, "index.html": b"<!doctype html><title>Spring</title><h1>Spring collection</h1>", "css/site.css": CSS}
B = {**ROOT_SITE, "index.html": b"<!doctype html><title>Summer</title><h1>Summer collection</h1>"}


def _nginx():
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if binary is None or shutil.which("openssl") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("nginx or openssl is not installed (.ci/run installs them)")
        pytest.skip("nginx or openssl is not installed")
    return binary


@pytest.fixture
def nginx(live_server, settings):
    binary = _nginx()
    settings.GHARART_ACCEL_REDIRECT = True  # as documented: nginx sends the blob bytes
    folder = tempfile.mkdtemp(prefix="gharart-microcache-")
    for name in ("app", "sites-wildcard"):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test",
             "-keyout", f"{folder}/{name}.key.pem", "-out", f"{folder}/{name}.fullchain.pem"],
            check=True, capture_output=True, timeout=60,
        )
    https_port, http_port, handoff_port = free_port(), free_port(), free_port()
    upstream = urlsplit(live_server.url)
    blobs = storages["blobs"].location.rstrip("/") + "/"
    conf = documented_conf(folder, upstream=f"127.0.0.1:{upstream.port}", https_port=https_port, http_port=http_port, handoff_port=handoff_port, blobs=blobs)
    Path(folder, "nginx.conf").write_text(conf)
    proc = subprocess.Popen([binary, "-p", folder, "-c", f"{folder}/nginx.conf"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(https_port)
        with httpx.Client(base_url=f"https://127.0.0.1:{https_port}", verify=False, timeout=30) as client:
            yield client
    finally:
        proc.terminate()
        proc.wait(10)
        log = Path(folder, "error.log")
        errors = log.read_text() if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        assert "[emerg]" not in errors and "[crit]" not in errors, errors


def get(client, host, path="/", **headers):
    return client.get(path, headers={"Host": host, **headers})


def until_hit(client, host, path="/", **headers):
    """Request until nginx answers from its cache (the first request of a second fills it)."""
    for _ in range(50):
        r = get(client, host, path, **headers)
        if r.headers.get("X-Gharart-Cache") == "HIT":
            return r
    raise AssertionError(f"{host}{path} was never answered from the cache: {r.status_code} {dict(r.headers)}")


@pytest.fixture
def live(handle):
    handle.site_mode = gc.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    return publish(handle, A)


LIVE = f"acme.{SITES}"


def test_a_live_page_comes_from_the_cache_with_its_own_request_id(nginx, live):
    first = get(nginx, LIVE)
    assert first.status_code == 200 and b"Spring collection" in first.content
    assert first.headers["X-Gharart-Deployment"] == live.id
    hit = until_hit(nginx, LIVE)
    assert hit.content == first.content and hit.headers["ETag"] == first.headers["ETag"]
    again = until_hit(nginx, LIVE)
    ids = {first.headers["X-Request-ID"], hit.headers["X-Request-ID"], again.headers["X-Request-ID"]}
    assert len(ids) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    # Revalidation and compression keep working on cached responses.
    assert until_hit(nginx, LIVE, **{"If-None-Match": first.headers["ETag"]}).status_code == 304
    compression.make_all(hashlib.sha256(CSS).hexdigest(), len(CSS))
    for accept, encoding in (("gzip, deflate, br", "br"), ("gzip", "gzip"), ("br;q=0, gzip;q=0.5", "gzip"), ("identity", None), ("br;q=0", None)):
        css = until_hit(nginx, LIVE, "/css/site.css", **{"Accept-Encoding": accept})
        assert css.headers.get("Content-Encoding") == encoding, accept
        assert css.content == CSS  # httpx decodes br and gzip
    # A range is answered from the file (past the cache), with nginx's 206.
    part = get(nginx, LIVE, "/css/site.css", Range="bytes=10-19")
    assert part.status_code == 206 and part.content == CSS[10:20] and part.headers["X-Gharart-Deployment"] == live.id


def test_a_promote_and_a_rollback_are_visible_within_one_second(nginx, live, handle):
    summer = publish(handle, B, promote=False)
    assert b"Spring" in until_hit(nginx, LIVE).content
    deployment_promote(deployment=summer, actor=None, role="owner", reason="test")
    promoted_at = time.time()
    time.sleep(max(0.0, promoted_at + 1.0 - time.time()))  # the promise under test: one second
    for _ in range(5):
        r = get(nginx, LIVE)
        assert b"Summer collection" in r.content and r.headers["X-Gharart-Deployment"] == summer.id
    assert b"Summer" in until_hit(nginx, LIVE).content
    deployment_rollback(deployment=live, actor=None, reason="test")
    rolled_back_at = time.time()
    time.sleep(max(0.0, rolled_back_at + 1.0 - time.time()))
    for _ in range(5):
        assert b"Spring collection" in get(nginx, LIVE).content


def test_a_preview_is_never_cached_across_grants(nginx, live, handle):
    candidate = publish(handle, B, promote=False)
    other = publish(handle, {**B, "index.html": b"<!doctype html><title>Other</title>"}, promote=False)
    host = f"{candidate.id.removeprefix('dep_')}--acme.{SITES}"
    granted = {"Cookie": f"{domc.PREVIEW_COOKIE}={previews.preview_token(candidate.id)}"}
    for _ in range(3):
        r = get(nginx, host, **granted)
        assert r.status_code == 200 and b"Summer collection" in r.content
        assert r.headers["X-Gharart-Cache"] == "BYPASS" and "private" in r.headers["Cache-Control"]
    for headers in ({}, {"Cookie": f"{domc.PREVIEW_COOKIE}={previews.preview_token(other.id)}"}, {"Cookie": f"{domc.PREVIEW_COOKIE}=forged"}):
        for _ in range(3):
            r = get(nginx, host, **{"Accept": "application/json", **headers})
            assert r.status_code == 401 and r.json()["error"]["code"] == domc.PREVIEW_TOKEN_REQUIRED, r.content
            assert b"Summer" not in r.content
    # The grant itself (a Set-Cookie on a redirect) is never stored either.
    token = previews.preview_token(candidate.id)
    for _ in range(3):
        r = get(nginx, host, f"/?preview_token={token}")
        assert r.status_code == 302 and domc.PREVIEW_COOKIE in r.headers["Set-Cookie"]


def test_function_bindings_are_never_cached_and_stay_throttled(nginx, live, handle, settings):
    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "function_binding": "3/hour"}
    binding_create(handle=handle, route="/api/status", methods=["GET"], function=dc.FUNCTION_JSON, config={"body": {"open": True}})
    statuses = []
    for _ in range(4):
        r = get(nginx, LIVE, "/api/status")
        statuses.append(r.status_code)
        assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Gharart-Cache"] != "HIT"
    assert statuses == [200, 200, 200, 429]
    # Files beside the binding are still cached.
    assert until_hit(nginx, LIVE, "/about.html").status_code == 200
