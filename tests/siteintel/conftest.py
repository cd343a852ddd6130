"""Fixtures for site intel: a real HTTP site on 127.0.0.1, and the private-network switch."""

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections

from siteintel import services


class Site:
    """A tiny website: ``routes`` maps a path to ``(status, headers, body)`` or a callable
    ``(handler) -> (status, headers, body)``. Every request is logged in ``hits``."""

    def __init__(self):
        self.routes = {}
        self.hits = []
        self.host_headers = []
        self.delay = 0.0
        self.server = None

    @property
    def port(self):
        return self.server.server_port

    @property
    def netloc(self):
        return f"127.0.0.1:{self.port}"

    @property
    def origin(self):
        return f"http://{self.netloc}"

    def url(self, path):
        return self.origin + path

    def page(self, path, title, links=(), extra=""):
        anchors = "".join(f'<a href="{href}">{href}</a>' for href in links)
        body = f"<!doctype html><html><head><title>{title}</title></head><body>{anchors}{extra}</body></html>"
        self.routes[path] = (200, {"Content-Type": "text/html; charset=utf-8"}, body.encode())

    def redirect(self, path, location, status=302):
        self.routes[path] = (status, {"Location": location}, b"")

    def paths_hit(self):
        return [p for p in self.hits if p != "/robots.txt"]


def _handler(site):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            site.hits.append(self.path)
            site.host_headers.append(self.headers.get("Host"))
            if site.delay:
                time.sleep(site.delay)
            route = site.routes.get(self.path)
            if callable(route):
                route = route(self)
            if route is None:
                route = (404, {"Content-Type": "text/html"}, b"<title>Not found</title>")
            status, headers, body = route
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """``with run_jobs(): ...`` runs the jobs dispatched on commit inside the block, in-process.

    In-process fetches close their responses, which sends ``request_finished``; inside a
    test's transaction that would close the test's connection, so the receiver is detached
    while the jobs run, as Django's test client does while it handles a request. (A worker,
    outside any transaction, only closes connections that are broken or past their age.)
    """

    @contextlib.contextmanager
    def runner():
        with django_capture_on_commit_callbacks() as callbacks:
            yield callbacks
        request_finished.disconnect(close_old_connections)
        try:
            while callbacks:
                with django_capture_on_commit_callbacks() as more:
                    callbacks.pop(0)()
                callbacks.extend(more)
        finally:
            request_finished.connect(close_old_connections)

    return runner


@pytest.fixture
def site():
    s = Site()
    s.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    s.server.daemon_threads = True
    thread = threading.Thread(target=s.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield s
    s.server.shutdown()
    s.server.server_close()


@pytest.fixture
def private_ok(settings, monkeypatch):
    """Crawling 127.0.0.1 is allowed (also for a worker subprocess started after this)."""
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = True
    monkeypatch.setenv("SITEINTEL_ALLOW_PRIVATE_NETWORKS", "1")


@pytest.fixture
def registered(handle, site, private_ok):
    """The test site registered as a hostname of ``acme`` (returns its netloc)."""
    services.hostname_register(handle=handle, hostname=site.origin)
    return site.netloc


def small_site(site):
    """/ -> /a, /b, /missing; /a -> /a/deep, /gone; /b -> external; robots blocks /private."""
    site.routes["/robots.txt"] = (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /private\n")
    site.page("/", "Home", ["/a", "/b", "/missing", "/private/secret", "mailto:x@example.com", "#top"])
    site.page("/a", "Page A", ["/a/deep", "/gone", "/"])
    site.page("/b", "Page B", ["https://elsewhere.example/", "/"])
    site.page("/a/deep", "Deep", ["/a/deeper"])
    site.page("/a/deeper", "Deeper", [])
    site.routes["/gone"] = (410, {"Content-Type": "text/html"}, b"<title>Gone</title>")
    return site
