"""The fast path for live site hosts: static files answered before Django, as WhiteNoise does.

``SiteFastPath`` wraps the Django WSGI application (``gharart.wsgi``). A ``GET``/``HEAD``
to a live host ``{handle}.{GHARART_SITES_DOMAIN}`` whose answer is a file of the live
``site`` deployment is sent from an in-process index without building a Django request
or passing any middleware; everything else goes to Django unchanged. The answer is the
slow path's exactly: the same path decision (``siterules.decide``: static-host rules and
the site's ``_redirects`` rewrites), the same representation (``serving.representation``:
brotli/gzip forms), the same conditionals, ranges and hand-off (``blobs.http``), the
same ``_headers`` merge (``serving.site_header_updates``), ``X-Request-ID`` and
``X-Content-Type-Options``.

Django answers, so nothing changes for them: other methods, preview hosts (the grant),
custom domains (a database look-up), the dashboard, a handle not in the links or
maintenance mode or without a live site, a path a function binding answers, a
``_redirects`` redirect, any 404 (the site's page or the plain one), 412 and 416 (counted
in the request log), missing bytes, a NUL in the request, a cache that is down, and any
error of the fast path itself.

**Freshness.** The index of a handle is keyed by its live-state generation
(``deployments.selectors.live``: bumped in Redis on every promote, rollback, site-mode and
binding change). The fast path reads it from the shared cache at most every
``GHARART_SITE_FAST_PATH_RECHECK_MS`` (default 200 ms) per handle, so a change is seen on
every node within that time; 0 reads it on every request. A warm request makes no
database query and, within the recheck interval, no cache round trip.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections

from blobs import http
from deployments import constants as deployment_constants
from deployments import serving, siterules, storage
from deployments.selectors.live import (
    live_generation,
    live_state,
    manifest_lookup_for,
    site_rules_for,
)
from domains import constants as dc
from domains import names
from gharart import constants as c
from gharart.degraded import CACHE_ERRORS
from gharart.request_id import HEADER as REQUEST_ID_HEADER
from gharart.request_id import request_id_from

logger = logging.getLogger(__name__)

STATUS_LINES = {200: "200 OK", 206: "206 Partial Content", 304: "304 Not Modified"}
MAX_DECISIONS = 4096  # path decisions remembered per live deployment
MAX_SITES = 1000


class SiteIndex:
    """What the fast path knows of one handle's live state (one generation: never changes)."""

    __slots__ = ("deployment", "rules", "state", "base", "decisions", "lookup", "paths", "lines")

    def __init__(self, state, deployment):
        self.state = state
        self.deployment = deployment
        self.rules = site_rules_for(deployment)
        self.lookup = manifest_lookup_for(deployment)
        # serving._serve_deployment_path on the site's own origin, with the profile route's mode header.
        self.base = [
            (serving.DEPLOYMENT_HEADER, deployment.id),
            ("Cache-Control", serving.LIVE_CACHE_CONTROL),
            (serving.SITE_MODE_HEADER, state.site_mode),
        ]
        self.decisions = {}
        self.paths = {}  # sha256 -> local path or None (object storage)
        self.lines = {}  # (blob, status, site headers) -> response headers of a 200 or 304

    def local_path(self, sha256):
        found = self.paths.get(sha256, False)
        if found is False:
            found = storage.blob_path(sha256)
            if len(self.paths) >= MAX_DECISIONS:
                self.paths.clear()
            self.paths[sha256] = found
        return found

    def decide(self, path, query):
        key = (path, query)
        found = self.decisions.get(key)
        if found is None:
            try:
                decision = siterules.decide(path, self.lookup, self.rules, query=query)
            finally:
                close_old_connections()
            servable = decision.location is None and decision.entry is not None and decision.status == 200
            found = (decision.entry, tuple((name, value) for name, value in serving.site_headers_for(self.rules, path))) if servable else (None, ())
            if len(self.decisions) >= MAX_DECISIONS:
                self.decisions.clear()
            self.decisions[key] = found
        return found


class _Sites:
    """Per process: handle slug -> (generation, checked_at, SiteIndex or None)."""

    def __init__(self):
        self.entries = {}
        self.lock = threading.Lock()

    def index(self, slug, recheck):
        now = time.monotonic()
        entry = self.entries.get(slug)
        if entry is not None and now - entry[1] < recheck:
            return entry[2]
        generation = live_generation(slug)
        if generation is None:
            return None  # not a handle, or not known to the cache yet: Django answers
        if entry is not None and entry[0] == generation:
            index = entry[2]
        else:
            index = _build(slug)
        with self.lock:
            if len(self.entries) >= MAX_SITES:
                self.entries.clear()
            self.entries[slug] = (generation, now, index)
        return index

    def clear(self):
        with self.lock:
            self.entries.clear()


sites = _Sites()
_hosts: dict = {}  # Host header -> (sites domain, names.SiteHost or None)


def _classify(host):
    found = _hosts.get(host)
    domain = settings.GHARART_SITES_DOMAIN
    if found is None or found[0] != domain:
        if len(_hosts) >= MAX_SITES:
            _hosts.clear()
        found = _hosts[host] = (domain, names.classify(host))
    return found[1]


def _build(slug):
    try:
        state = live_state(slug)
    finally:
        close_old_connections()
    if state is None or state.site_mode != c.SITE_MODE_DEPLOYMENT:
        return None
    deployment = state.deployments.get(deployment_constants.TARGET_SITE)
    if deployment is None:
        return None
    return SiteIndex(state, deployment)


def _path(environ):
    raw = environ.get("PATH_INFO", "/")
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None


def answer(environ):
    """``(status line, headers, body iterable)`` for a request the fast path can answer, else None."""
    method = environ.get("REQUEST_METHOD")
    if method not in ("GET", "HEAD") or environ.get("SCRIPT_NAME"):
        return None
    site = _classify(environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""))
    if site is None or site.kind != dc.HOST_LIVE:
        return None
    full = _path(environ)
    query = environ.get("QUERY_STRING", "")
    if full is None or not full.startswith("/") or "\x00" in full or "%00" in query or "\x00" in query:
        return None
    index = sites.index(site.handle_slug, settings.GHARART_SITE_FAST_PATH_RECHECK_MS / 1000)
    if index is None:
        return None
    path = full[1:]
    if index.state.bindings:
        from deployments import bindings

        if bindings.match(index.state, path, method) is not None:
            return None
    entry, site_headers = index.decide(path, query)
    if entry is None:
        return None
    ranged = method == "GET" and "HTTP_RANGE" in environ
    blob, rep, compressible = serving.representation(entry, ranged=ranged, accept_encoding=environ.get("HTTP_ACCEPT_ENCODING", ""))
    plan = http.plan(method, environ, blob)
    if plan.status not in STATUS_LINES:
        return None  # 412/416: Django answers (and counts them in the request log)
    key = (blob, plan.status, site_headers) if plan.status != 206 else None
    lines = index.lines.get(key) if key is not None else None
    if lines is None:
        lines = _lines(index, plan, blob, rep, compressible, site_headers)
        if key is not None:
            if len(index.lines) >= MAX_DECISIONS:
                index.lines.clear()
            index.lines[key] = lines
    accel = None
    if not site_headers and settings.GHARART_ACCEL_REDIRECT:
        accel = lambda sha: storage.blob_accel_redirect(sha, content_type=blob.content_type) if storage.blob_path(sha) is not None else None  # noqa: E731
    try:
        carried = http.body(plan, blob, method, open_blob=storage.blob_open, local_path=index.local_path, accel_target=accel)
    except OSError:
        return None  # missing bytes: Django answers (the compressed form's fallback, or the error page)
    status = plan.status
    if carried.accel:
        status = 200
        lines = [*http.accel_headers(lines), ("X-Accel-Redirect", carried.accel)]
        payload = [b""]
    elif carried.file is not None:
        wrapper = environ.get("wsgi.file_wrapper")
        payload = wrapper(carried.file, http.CHUNK) if wrapper else http.chunks(carried.file, 0, blob.size)
    elif carried.chunks is not None:
        payload = carried.chunks
    else:
        payload = [b""]
    return STATUS_LINES[status], [*lines, (REQUEST_ID_HEADER, request_id_from(environ.get("HTTP_X_REQUEST_ID", "")))], payload


def _lines(index, plan, blob, rep, compressible, site_headers):
    """The response headers but X-Request-ID (as Django sets them for this answer)."""
    headers = list(index.base)
    if compressible:
        headers.append(("Vary", "Accept-Encoding"))
    if rep:
        headers.append(("Content-Encoding", rep.encoding))
    lines = http.header_list(plan, blob, headers)
    if site_headers:
        current = {k.lower(): i for i, (k, _) in enumerate(lines)}
        for name, value in serving.site_header_updates({k.lower(): v for k, v in lines}, site_headers, {serving.SITE_MODE_HEADER.lower()}):
            at = current.get(name.lower())
            if at is None:
                current[name.lower()] = len(lines)
                lines.append((name, value))
            else:
                lines[at] = (name, value)
    if not any(k.lower() == "x-content-type-options" for k, _ in lines):
        lines.append(("X-Content-Type-Options", "nosniff"))  # site_response's default
    return lines


class SiteFastPath:
    """WSGI middleware: ``answer`` what it can, hand the rest to ``app`` (Django)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if settings.GHARART_SITE_FAST_PATH:
            try:
                found = answer(environ)
            except CACHE_ERRORS:
                found = None  # Django reads the database and reports the cache
            except Exception:
                logger.exception("The site fast path failed; Django answers")
                found = None
            if found is not None:
                status, headers, payload = found
                start_response(status, headers)
                return payload
        return self.app(environ, start_response)
