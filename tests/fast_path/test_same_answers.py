"""The live-host fast path (domains.fast_path) answers exactly as Django would, or not at all.

Each request goes once through ``gharart.wsgi.application`` (fast path in front) and once
straight to Django; status, headers and body must be identical. The cases the fast path
must answer itself are checked to be answered by it (else the comparison proves nothing),
the others to be left to Django.
"""

import hashlib
import io
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deployments.services.site import binding_create, site_mode_set
from domains import fast_path
from gharart import constants as c
from tests.deployments.conftest import publish

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.blobs]
HOST = "acme.sites.gharart.com"
BIG_CSS = b"body { color: #222; }\n" + b".item { margin: 0 auto; padding: 1rem; }\n" * 200
SITE = {
    "index.html": b"<!doctype html><title>Acme home</title><h1>Acme</h1>",
    "about.html": b"<!doctype html><title>About Acme</title><p>We make things.</p>" + b"<p>more</p>" * 100,
    "404.html": b"<!doctype html><title>Not here</title><p>Lost?</p>",
    "css/site.css": BIG_CSS,
    "img/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    "docs/index.html": b"<!doctype html><title>Docs</title>",
    "_redirects": b"/old /about 301\n/spa/* /index.html 200\n",
    "_headers": b"/about.html\n  X-Site: about\n  Vary: Cookie\n",
}


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.GHARART_SITE_FAST_PATH_RECHECK_MS = 0
    fast_path.sites.clear()
    yield
    fast_path.sites.clear()


@pytest.fixture
def apps():
    from gharart import wsgi

    return wsgi.application, wsgi.django_application


@pytest.fixture
def live(handle, users):
    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    return publish(handle, SITE, actor=users["owner"])


def environ(method, path, headers=None, host=HOST):
    path, _, query = path.partition("?")
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "HTTP_X_REQUEST_ID": "req_fixed",  # the same id on both sides
        "REMOTE_ADDR": "203.0.113.9",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in (headers or {}).items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def call(app, env):
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, headers

    result = app(env, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    headers = sorted((k.lower(), v) for k, v in got["headers"])
    return int(got["status"].split()[0]), headers, body


def both(apps, method, path, headers=None):
    fast, slow = apps
    return call(fast, environ(method, path, headers)), call(slow, environ(method, path, headers))


ANSWERED = [
    ("GET", "/about.html", {}),
    ("GET", "/", {}),
    ("GET", "/docs/", {}),
    ("GET", "/css/site.css", {"Accept-Encoding": "br, gzip"}),
    ("GET", "/css/site.css", {"Accept-Encoding": "gzip"}),
    ("GET", "/img/logo.png", {}),
    ("HEAD", "/about.html", {}),
    ("HEAD", "/about.html", {"Range": "bytes=0-3"}),
    ("GET", "/about.html", {"Range": "bytes=0-9"}),
    ("GET", "/about.html", {"Range": "bytes=-5", "Accept-Encoding": "br"}),
    ("GET", "/about.html", {"Range": "bytes=9-5"}),
    ("GET", "/about.html", {"Range": "bytes=0-9", "If-Range": '"old"'}),
    ("GET", "/spa/deep/link", {}),  # a _redirects rewrite (200)
    ("GET", "/about.html?utm=1", {}),
]


@pytest.mark.parametrize("method,path,headers", ANSWERED)
def test_the_fast_path_answers_as_django_does(apps, live, method, path, headers):
    fast, slow = both(apps, method, path, headers)
    assert fast == slow
    assert fast[0] in (200, 206)
    # The second ask is answered from what the first prepared: still the same answer.
    assert call(apps[0], environ(method, path, headers)) == slow
    fast_path.sites.clear()
    assert fast_path.answer(environ(method, path, headers)) is not None, "the fast path must answer this itself"


def test_revalidation_is_answered_alike(apps, live):
    for path, headers in (("/about.html", {}), ("/css/site.css", {"Accept-Encoding": "br"})):
        etag = dict(call(apps[1], environ("GET", path, headers))[1])["etag"]
        fast, slow = both(apps, "GET", path, {**headers, "If-None-Match": etag})
        assert fast == slow and fast[0] == 304 and fast[2] == b""
        assert "content-length" not in dict(fast[1]) and "content-type" not in dict(fast[1])
        assert fast_path.answer(environ("GET", path, {**headers, "If-None-Match": etag})) is not None
        assert call(apps[0], environ("GET", path, {**headers, "If-None-Match": etag})) == slow


@pytest.mark.parametrize("if_none_match,status", [
    ('"other", {etag}', 304),  # a list that holds the tag
    ("W/{etag}", 304),  # If-None-Match compares weakly
    ("*", 304),
    ('"other"', 200),
    ("{etag}", 304),
])
def test_every_form_of_if_none_match_is_answered_alike_cold_and_warm(apps, live, if_none_match, status):
    etag = dict(call(apps[1], environ("GET", "/about.html"))[1])["etag"]
    headers = {"If-None-Match": if_none_match.format(etag=etag)}
    call(apps[0], environ("GET", "/about.html"))  # the plain answer is prepared first
    for _ in range(2):
        fast, slow = both(apps, "GET", "/about.html", headers)
        assert fast == slow and fast[0] == status
        assert fast_path.answer(environ("GET", "/about.html", headers)) is not None


def test_files_over_the_memory_limit_are_sent_from_storage_alike(apps, live, settings):
    settings.GHARART_SITE_FAST_PATH_BODY_MAX_BYTES = 64  # every file of the site but none is bigger
    for path, headers in (("/about.html", {}), ("/css/site.css", {"Accept-Encoding": "gzip"}), ("/img/logo.png", {})):
        slow = call(apps[1], environ("GET", path, headers))
        assert call(apps[0], environ("GET", path, headers)) == slow
        assert call(apps[0], environ("GET", path, headers)) == slow
    assert fast_path.bodies.total == 0


def test_bytes_held_in_memory_stay_within_the_limit(apps, live, settings):
    settings.GHARART_SITE_FAST_PATH_MEMORY_BYTES = len(SITE["about.html"]) + 100
    for path in ("/about.html", "/css/site.css", "/img/logo.png", "/", "/about.html", "/css/site.css"):
        slow = call(apps[1], environ("GET", path))
        assert call(apps[0], environ("GET", path)) == slow  # evicted bytes are read again
        held = sum(len(data) for data in fast_path.bodies.data.values())
        assert held == fast_path.bodies.total <= settings.GHARART_SITE_FAST_PATH_MEMORY_BYTES
    # The prepared answers point at the bytes by digest and never keep them alive themselves.
    for index in (entry[2] for entry in fast_path.sites.entries.values() if entry[2] is not None):
        for prepared in index.answers.values():
            if isinstance(prepared, fast_path.Prepared):
                assert not any(isinstance(getattr(prepared, name), bytes) for name in prepared.__slots__)


def test_a_blob_gone_before_its_first_answer_is_left_to_django_and_nothing_is_kept(apps, live, monkeypatch):
    def unreadable(sha256):
        raise FileNotFoundError(sha256)

    monkeypatch.setattr(fast_path.storage, "blob_open", unreadable)
    monkeypatch.setattr(fast_path.SiteIndex, "local_path", lambda self, sha256: "/nonexistent/blob")
    assert fast_path.answer(environ("GET", "/about.html")) is None
    monkeypatch.undo()
    assert fast_path.answer(environ("GET", "/about.html")) is not None  # readable again: answered


def test_the_sites_headers_apply(apps, live):
    fast, _ = both(apps, "GET", "/about.html")
    headers = dict(fast[1])
    assert headers["x-site"] == "about" and headers["x-request-id"] == "req_fixed"
    assert headers["x-gharart-site-mode"] == c.SITE_MODE_DEPLOYMENT and headers["x-content-type-options"] == "nosniff"


LEFT_TO_DJANGO = [
    ("GET", "/old", {}),  # _redirects redirect
    ("GET", "/docs", {}),  # trailing-slash redirect
    ("GET", "/nope.html", {}),  # the site's 404 page
    ("GET", "/about.html", {"Range": "bytes=100000-"}),  # 416
    ("GET", "/about.html", {"If-Match": '"other"'}),  # 412
    ("POST", "/about.html", {}),
    ("GET", "/_redirects", {}),
]


@pytest.mark.parametrize("method,path,headers", LEFT_TO_DJANGO)
def test_what_the_fast_path_leaves_to_django_is_unchanged(apps, live, method, path, headers):
    assert fast_path.answer(environ(method, path, headers)) is None
    fast, slow = both(apps, method, path, headers)
    assert fast == slow


def test_maintenance_and_links_modes_are_djangos(apps, live, handle, users):
    for mode in (c.SITE_MODE_MAINTENANCE, c.SITE_MODE_LINKS):
        site_mode_set(handle=handle, mode=mode, actor=users["owner"])
        assert fast_path.answer(environ("GET", "/about.html")) is None
        fast, slow = both(apps, "GET", "/about.html")
        assert fast == slow and fast[0] in (404, 503)


def test_a_binding_route_is_djangos(apps, live, handle, users):
    binding_create(handle=handle, route="/about.html", methods=["GET"], function="json", config={"body": {"ok": True}}, actor=users["owner"])
    assert fast_path.answer(environ("GET", "/about.html")) is None
    fast, slow = both(apps, "GET", "/about.html")
    assert fast == slow and fast[0] == 200 and dict(fast[1])["content-type"].startswith("application/json")
    # Other paths still take the fast path.
    assert fast_path.answer(environ("GET", "/index.html")) is not None


def test_unknown_hosts_previews_and_the_dashboard_are_djangos(live):
    for host in ("nobody.sites.gharart.com", f"{live.id.removeprefix('dep_')}--acme.sites.gharart.com", "testserver", "a.b.sites.gharart.com"):
        assert fast_path.answer(environ("GET", "/about.html", host=host)) is None, host


def test_a_promote_is_seen_on_the_next_request(apps, live, handle, users):
    changed = {**SITE, "about.html": b"<!doctype html><title>About v2</title>"}
    assert call(apps[0], environ("GET", "/about.html"))[2] == SITE["about.html"]
    publish(handle, changed, actor=users["owner"])
    status, headers, body = call(apps[0], environ("GET", "/about.html"))
    assert body == changed["about.html"] and dict(headers)["etag"] == f'"{hashlib.sha256(body).hexdigest()}"'


def test_a_warm_request_makes_no_database_query(apps, live):
    for headers in ({}, {"Accept-Encoding": "br"}):
        call(apps[0], environ("GET", "/about.html", headers))  # cold: the index, the compressed form
    with CaptureQueriesContext(connection) as queries:
        found = fast_path.answer(environ("GET", "/about.html", {"Accept-Encoding": "br"}))
        found = fast_path.answer(environ("GET", "/about.html"))
        assert found is not None and b"".join(found[2]) == SITE["about.html"]
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_the_fast_path_can_be_turned_off(live, settings):
    settings.GHARART_SITE_FAST_PATH = False
    from gharart import wsgi

    status, headers, body = call(wsgi.application, environ("GET", "/about.html"))
    assert status == 200 and body == SITE["about.html"]
