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

**Prepared answers.** The first request for a (method, path, query, ``Accept-Encoding``)
of a live deployment decides it the long way (above) and keeps the result: the blob, its
ETag and the whole header list of its 200 and its 304. Later requests are a dictionary
look-up, an ETag comparison and, for a body up to ``GHARART_SITE_FAST_PATH_BODY_MAX_BYTES``
(64 KiB), bytes held in memory (blobs are content-addressed: bytes never change under a
name), at most ``GHARART_SITE_FAST_PATH_MEMORY_BYTES`` (16 MiB) per process; larger ones
are opened and sent with ``wsgi.file_wrapper``. A ``Range``, ``If-Match`` or an
``If-None-Match`` that is not the plain ETag takes the long way.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.signals import setting_changed
from django.db import close_old_connections
from django.dispatch import receiver

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
MAX_ANSWERS = 8192  # prepared answers per live deployment
_MISSING = object()


class SiteIndex:
    """What the fast path knows of one handle's live state (one generation: never changes)."""

    __slots__ = ("deployment", "rules", "state", "base", "decisions", "lookup", "paths", "lines", "answers")

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
        self.answers = {}  # (method, raw path, query, Accept-Encoding) -> Prepared or None (Django's)

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
_hosts: dict = {}  # Host header -> names.SiteHost or None


def _classify(host):
    found = _hosts.get(host, _MISSING)
    if found is _MISSING:
        if len(_hosts) >= MAX_SITES:
            _hosts.clear()
        found = _hosts[host] = names.classify(host)  # forgotten when a setting changes
    return found


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


class Config:
    """The settings the fast path reads on every request, read once (again after a change)."""

    __slots__ = ("on", "recheck", "accel", "body_max", "memory")

    def __init__(self):
        self.on = settings.GHARART_SITE_FAST_PATH
        self.recheck = settings.GHARART_SITE_FAST_PATH_RECHECK_MS / 1000
        self.accel = settings.GHARART_ACCEL_REDIRECT
        self.memory = settings.GHARART_SITE_FAST_PATH_MEMORY_BYTES
        self.body_max = min(settings.GHARART_SITE_FAST_PATH_BODY_MAX_BYTES, self.memory)


_config = [None]


def config() -> Config:
    found = _config[0]
    if found is None:
        found = _config[0] = Config()
    return found


@receiver(setting_changed)
def _settings_changed(*, setting, **kwargs):
    # Any setting may change an answer (the sites domain, storage, the hand-off): start over.
    _config[0] = None
    _hosts.clear()
    sites.clear()
    bodies.clear()


class Bodies:
    """Per process: sha256 -> the bytes of a small blob, at most ``limit`` bytes in all."""

    def __init__(self):
        self.data = {}
        self.total = 0
        self.lock = threading.Lock()

    def get(self, sha256, read, limit):
        found = self.data.get(sha256)
        if found is None:
            found = read()
            with self.lock:
                if self.total + len(found) > limit:
                    self.data.clear()
                    self.total = 0
                if sha256 not in self.data:
                    self.data[sha256] = found
                    self.total += len(found)
        return found

    def clear(self):
        with self.lock:
            self.data.clear()
            self.total = 0


bodies = Bodies()


class Prepared:
    """One answer of a live deployment, ready to send: the 200 and the 304 (but X-Request-ID)."""

    __slots__ = ("etag", "ok", "not_modified", "sha256", "read", "path", "size", "empty")

    def __init__(self, *, etag, ok, not_modified, sha256="", read=None, path=None, size=0, empty=False):
        self.etag = etag
        self.ok = ok
        self.not_modified = not_modified
        self.sha256 = sha256
        # ``read``: the body is held in ``bodies`` (read again after an eviction); else ``path``
        # is opened per request. The answer itself never holds the bytes, so ``bodies`` bounds them.
        self.read = read
        self.path = path
        self.size = size
        self.empty = empty  # HEAD, or a hand-off (nginx sends the bytes)


LONG = "long"  # an answer the fast path gives, but decided per request (see _long)


class NotNow(Exception):
    """The answer could not be prepared this time (bytes unreadable): Django answers, nothing kept."""


def answer(environ):
    """``(status line, headers, body iterable)`` for a request the fast path can answer, else None."""
    method = environ.get("REQUEST_METHOD")
    if (method != "GET" and method != "HEAD") or environ.get("SCRIPT_NAME"):
        return None
    site = _classify(environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""))
    if site is None or site.kind != dc.HOST_LIVE:
        return None
    cfg = config()
    index = sites.index(site.handle_slug, cfg.recheck)
    if index is None:
        return None
    key = (method, environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", ""), environ.get("HTTP_ACCEPT_ENCODING", ""))
    prepared = index.answers.get(key, _MISSING)
    if prepared is _MISSING:
        try:
            prepared = _prepare(index, environ, method, cfg)
        except NotNow:
            return None
        if len(index.answers) >= MAX_ANSWERS:
            index.answers.clear()
        index.answers[key] = prepared
    if prepared is None:
        return None
    if prepared is LONG or "HTTP_RANGE" in environ or "HTTP_IF_MATCH" in environ:
        return _long(index, environ, method, cfg)
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        if if_none_match != prepared.etag:
            return _long(index, environ, method, cfg)  # a list of tags, a weak one, "*"
        return STATUS_LINES[304], [*prepared.not_modified, (REQUEST_ID_HEADER, request_id_from(environ.get("HTTP_X_REQUEST_ID", "")))], [b""]
    if prepared.empty:
        payload = [b""]
    elif prepared.read is not None:
        data = bodies.data.get(prepared.sha256)
        if data is None:
            try:
                data = bodies.get(prepared.sha256, prepared.read, cfg.memory)
            except OSError:
                return None  # missing bytes: Django answers
        payload = [data]
    else:
        try:
            fh = open(prepared.path, "rb")  # noqa: SIM115 - closed by the server
        except OSError:
            return None  # missing bytes: Django answers
        wrapper = environ.get("wsgi.file_wrapper")
        payload = wrapper(fh, http.CHUNK) if wrapper else http.chunks(fh, 0, prepared.size)
    return STATUS_LINES[200], [*prepared.ok, (REQUEST_ID_HEADER, request_id_from(environ.get("HTTP_X_REQUEST_ID", "")))], payload


def _decided(index, environ, method):
    """``(entry, site headers)`` of the request's path, or None when Django answers it."""
    full = _path(environ)
    query = environ.get("QUERY_STRING", "")
    if full is None or not full.startswith("/") or "\x00" in full or "%00" in query or "\x00" in query:
        return None
    path = full[1:]
    if index.state.bindings:
        from deployments import bindings

        if bindings.match(index.state, path, method) is not None:
            return None
    entry, site_headers = index.decide(path, query)
    if entry is None:
        return None
    return entry, site_headers


def _prepare(index, environ, method, cfg):
    """The ``Prepared`` answer of a plain request (no Range, no precondition), ``LONG`` or None."""
    decided = _decided(index, environ, method)
    if decided is None:
        return None
    entry, site_headers = decided
    blob, rep, compressible = serving.representation(entry, ranged=False, accept_encoding=environ.get("HTTP_ACCEPT_ENCODING", ""))
    if blob.last_modified is not None:
        return LONG  # If-Modified-Since and If-Unmodified-Since apply: decided per request
    whole = http.Plan(200, 0, blob.size - 1)
    ok = _lines(index, whole, blob, rep, compressible, site_headers)
    not_modified = _lines(index, http.Plan(304), blob, rep, compressible, site_headers)
    if method == "HEAD":
        return Prepared(etag=blob.validator, ok=ok, not_modified=not_modified, empty=True)
    path = index.local_path(blob.sha256)
    if not site_headers and cfg.accel and path is not None:
        target = storage.blob_accel_redirect(blob.sha256, content_type=blob.content_type)
        return Prepared(etag=blob.validator, ok=[*http.accel_headers(ok), ("X-Accel-Redirect", target)], not_modified=not_modified, empty=True)
    if blob.size > cfg.body_max:
        if path is None:
            return LONG  # object storage: streamed per request
        return Prepared(etag=blob.validator, ok=ok, not_modified=not_modified, path=path, size=blob.size)

    read = _reader(blob, path)
    try:
        bodies.get(blob.sha256, read, cfg.memory)
    except OSError as exc:
        raise NotNow from exc  # missing bytes: Django answers (the compressed form's fallback, or the error page)
    return Prepared(etag=blob.validator, ok=ok, not_modified=not_modified, sha256=blob.sha256, read=read, size=blob.size)


def _reader(blob, path):
    """A function that reads the whole of a small ``blob`` (from ``path``, or object storage)."""

    def read():
        with open(path, "rb") if path is not None else storage.blob_open(blob.sha256) as fh:
            data = fh.read()
        if len(data) != blob.size:
            raise OSError(f"blob {blob.sha256} has {len(data)} bytes, not {blob.size}")
        return data

    return read


def _long(index, environ, method, cfg):
    """The answer decided per request: ranges, preconditions, tag lists; None when Django's."""
    decided = _decided(index, environ, method)
    if decided is None:
        return None
    entry, site_headers = decided
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
    if not site_headers and cfg.accel:
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
        if config().on:
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
