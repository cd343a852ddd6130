"""Serving deployed files: ONE function for live profile sites, previews, edge docs and replays.

``serve_deployment_path(request, deployment, path)`` decides what answers ``path`` with
the static-host rules (``resolver``) and the deployment's own ``_redirects``
(``siterules.decide``: redirects, rewrites, 404 rules, the trailing-slash redirect), then answers with a strong ``ETag`` (the content's
sha256), ``If-None-Match`` -> 304, a single ``Range`` -> 206 (416 when unsatisfiable),
``HEAD`` without a body, the file's ``Content-Type``, ``Cache-Control``, the sandbox CSP
(unless the request came to a site's own host, see ``on_site_origin``, or a separate
``GHARART_CONTENT_ORIGIN`` serves content) and
``X-Gharart-Deployment``, the site's ``_headers`` (never weakening those), and for text
types a brotli or gzip form as ``Accept-Encoding`` allows (``compression``; ``Vary`` and
an ETag per encoding; Range is answered from the identity bytes). Unknown paths get the deployment's own ``/404.html`` (status
404) or a plain 404.

Bytes leave one of two ways. With ``GHARART_ACCEL_REDIRECT`` on (production, behind
nginx) the response carries ``X-Accel-Redirect: <prefix><blob name>`` and nginx sends the
file from disk. Otherwise they are streamed from storage in chunks (constant memory).
In-process callers (the site-intel crawler and replays) always get the bytes.

The profile route (``profile_serve``) adds the site mode: the links page, the maintenance
page (503 + ``Retry-After``), or the live ``site`` deployment with its function bindings.
Every profile response carries ``X-Gharart-Site-Mode``.
"""

import logging
import re
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils.encoding import iri_to_uri
from django.utils.http import parse_etags

from deployments import compression, selectors, siterules, storage
from deployments import constants as dc
from gharart import constants as c
from gharart.errors import error_response
from gharart.in_process import in_process_request
from gharart.models import Handle
from gharart.request_id import request_id_for

logger = logging.getLogger(__name__)

SANDBOX_CSP = "sandbox allow-scripts allow-forms allow-popups allow-downloads"
# Our own generated pages (links, maintenance, errors): inline styles only, nothing else.
OWN_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
LIVE_CACHE_CONTROL = "public, max-age=0, must-revalidate"
PREVIEW_CACHE_CONTROL = "private, max-age=0, must-revalidate"
STREAM_CHUNK = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
SITE_MODE_HEADER = "X-Gharart-Site-Mode"
DEPLOYMENT_HEADER = "X-Gharart-Deployment"
UNKNOWN_HANDLE_MODE = "none"


# --- Small helpers -------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


def is_handle_slug(value: str) -> bool:
    return bool(_SLUG.match(value or ""))


def wants_html(request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept or "application/xhtml+xml" in accept


def content_error(request, status, code, message, *, headers=None, details=None):
    """An error on a content route: a small page for browsers, the JSON envelope otherwise."""
    if wants_html(request):
        body = render_to_string(
            "deployments/content_error.html",
            {"status": status, "code": code, "message": message, "request_id": request_id_for(request)},
        )
        response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = OWN_PAGE_CSP
        for k, v in (headers or {}).items():
            response[k] = v
    else:
        response = error_response(code, message, status, request=request, details=details, headers=headers)
    response["Cache-Control"] = "no-store"
    return _head(request, response)


def _head(request, response):
    """HEAD: same status and headers, no body (Content-Length still says the size)."""
    if request.method == "HEAD" and not response.streaming:
        length = len(response.content)
        response.content = b""
        response["Content-Length"] = str(length)
    return response


def _own_page(request, template, context, *, status=200, headers=None):
    body = render_to_string(template, {**context, "request_id": request_id_for(request)})
    response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = OWN_PAGE_CSP
    for k, v in (headers or {}).items():
        response[k] = v
    return _head(request, response)


def parse_range(header: str, size: int):
    """``(start, end)`` inclusive for one satisfiable range, ``"unsatisfiable"``, or None (ignore)."""
    match = _RANGE.match(header.strip())
    if not match:
        return None  # malformed or several ranges: answer 200 with the whole body
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size - 1
    start = int(first)
    if start >= size:
        return "unsatisfiable"
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return None
    return start, end


def _etag_matches(header, etag):
    tags = parse_etags(header)
    if "*" in tags:
        return True
    bare = etag.strip('"')
    return any(t.removeprefix("W/").strip('"') == bare for t in tags)


def _range_iter(fh, start, length):
    try:
        fh.seek(start)
        left = length
        while left > 0:
            chunk = fh.read(min(STREAM_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        fh.close()


def on_site_origin(request) -> bool:
    """True when the request came to a site's own host (live, preview or custom domain).

    The host router (``domains.routing``) marks such requests before any dashboard
    middleware runs; the origin is the site's own, so its HTML is served unsandboxed.
    """
    return getattr(request, "gharart_site_host", None) is not None


def on_content_origin(request) -> bool:
    """True when this request arrived on the separate content host (``GHARART_CONTENT_ORIGIN``)."""
    origin = settings.GHARART_CONTENT_ORIGIN
    if not origin or getattr(request, "gharart_in_process", False) or on_site_origin(request):
        return False
    return request.get_host().lower() == urlsplit(origin).netloc.lower()


def _use_accel(request):
    return settings.GHARART_ACCEL_REDIRECT and not getattr(request, "gharart_in_process", False)


# --- The one serving function ------------------------------------------------------------

def serve_deployment_path(request, deployment, path, *, extra_headers=None, site_prefix=None) -> HttpResponse:
    """Serve ``path`` of ``deployment`` with the static-host and site rules (see module docstring).

    ``extra_headers`` are set on every response (e.g. ``X-Gharart-Site-Mode``, a private
    ``Cache-Control`` for previews); a site's ``_headers`` cannot change them.
    ``site_prefix`` is the public path of the site's root (``/profiles/acme``; ``""`` on
    a host of its own), for the ``Location`` of redirects; by default it is what
    ``request.path`` holds before ``path``.
    """
    response = _serve_deployment_path(request, deployment, path, extra_headers=extra_headers, site_prefix=site_prefix)
    if on_content_origin(request):
        # Content lives on its own origin; the dashboard (another origin) frames previews,
        # which X-Frame-Options cannot allow. frame-ancestors in the CSP says who may.
        response.xframe_options_exempt = True
    return response


def decide(deployment, path, *, query=""):
    """What answers ``path`` of ``deployment``: ``selectors.deployment_path_decide``."""
    return selectors.deployment_path_decide(deployment, path, query=query)


def _site_prefix(request, path):
    full = request.path
    if not path:
        return full.rstrip("/")
    if full.endswith(path):
        return full[: len(full) - len(path)].rstrip("/")
    return ""


def _location(site_prefix, location):
    if location.startswith(("http://", "https://")):
        return iri_to_uri(location)
    return iri_to_uri(site_prefix + location)


def _serve_deployment_path(request, deployment, path, *, extra_headers=None, site_prefix=None) -> HttpResponse:
    extra = dict(extra_headers or {})
    base = {DEPLOYMENT_HEADER: deployment.id, "Cache-Control": LIVE_CACHE_CONTROL}
    if on_site_origin(request):
        pass  # the site's own origin: no sandbox (dashboard cookies never reach it)
    elif on_content_origin(request):
        base["Content-Security-Policy"] = f"frame-ancestors 'self' {settings.GHARART_PUBLIC_URL}"
    else:
        # Any other host (the dashboard's own, too) gets customer HTML only sandboxed.
        base["Content-Security-Policy"] = SANDBOX_CSP
    base.update(extra)
    if request.method not in ("GET", "HEAD"):
        return content_error(request, 405, c.METHOD_NOT_ALLOWED, "Deployed files answer GET and HEAD only.", headers={**base, "Allow": "GET, HEAD"})
    rules = selectors.site_rules_for(deployment)
    decision = siterules.decide(path, selectors.manifest_lookup_for(deployment), rules, query=request.META.get("QUERY_STRING", ""))
    if decision.location is not None:
        prefix = site_prefix if site_prefix is not None else _site_prefix(request, path)
        response = HttpResponse(status=decision.status)
        response["Location"] = _location(prefix, decision.location)
        return _head(request, _with(response, base))
    if decision.entry is None:
        headers = {**base, "Cache-Control": "no-cache"}
        return content_error(request, 404, c.NOT_FOUND, "There is no such page on this site.", headers=headers)
    entry, status = decision.entry, decision.status
    site_headers = rules.headers_for(_header_path(path)) if rules.header_blocks else ()
    locked = {k.lower() for k in extra}
    finish = lambda response, headers: _with(response, headers, site_headers, locked)  # noqa: E731
    range_header = request.headers.get("Range") if status == 200 else None
    # Range requests are answered from the identity bytes; everything else may be compressed.
    compressible = compression.is_compressible(entry.content_type)
    rep = None
    if compressible and not range_header:
        encoding = compression.negotiate(request.headers.get("Accept-Encoding", ""))
        if encoding is not None:
            rep = compression.variant(entry.sha256, entry.size, encoding)
    etag = compression.etag_for(entry.sha256, rep.encoding if rep else None)
    rep_sha, rep_size = (rep.sha256, rep.size) if rep else (entry.sha256, entry.size)
    headers = {**base, "ETag": etag, "Accept-Ranges": "bytes"}
    if compressible:
        headers["Vary"] = "Accept-Encoding"
    if rep:
        headers["Content-Encoding"] = rep.encoding
    if status == 404:
        headers["Cache-Control"] = "no-cache"
        headers.pop("Accept-Ranges")
    if status == 200:
        inm = request.headers.get("If-None-Match")
        if inm and _etag_matches(inm, etag):
            headers.pop("Content-Encoding", None)
            return finish(HttpResponse(status=304), headers)
    byte_range = None
    if range_header:
        if_range = request.headers.get("If-Range")
        if not if_range or if_range.strip() == etag:
            byte_range = parse_range(range_header, entry.size)
    if byte_range == "unsatisfiable":
        response = HttpResponse(status=416, content_type=entry.content_type)
        response["Content-Range"] = f"bytes */{entry.size}"
        return finish(response, headers)
    if request.method == "HEAD":
        response = HttpResponse(status=206 if byte_range else status, content_type=entry.content_type)
        if byte_range:
            start, end = byte_range
            response["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
            response["Content-Length"] = str(end - start + 1)
        else:
            response["Content-Length"] = str(rep_size)
        return finish(response, headers)
    # nginx passes only the upstream headers its location names on, so a response with the
    # site's own _headers is sent by Django.
    if status == 200 and not site_headers and _use_accel(request) and storage.blob_path(rep_sha) is not None:
        # nginx sends the bytes (and handles Range itself) from an internal location.
        response = HttpResponse(status=200, content_type=entry.content_type)
        response["X-Accel-Redirect"] = iri_to_uri(settings.GHARART_ACCEL_REDIRECT_PREFIX + storage.blob_name(rep_sha))
        headers.pop("Accept-Ranges", None)  # nginx adds its own
        return finish(response, headers)
    try:
        fh = storage.blob_open(rep_sha)
    except (FileNotFoundError, OSError):
        if rep is not None:
            # The compressed form went missing: the original still answers.
            logger.warning("Compressed form %s of blob %s is missing; sending the original", rep_sha, entry.sha256)
            return _serve_deployment_path(_identity_request(request), deployment, path, extra_headers=extra_headers, site_prefix=site_prefix)
        logger.error("Blob %s of %s (%s) is missing from storage", entry.sha256, deployment.id, entry.path)
        return content_error(request, 404, dc.DEPLOYMENT_ARTIFACT_MISSING, f"{entry.path} of this deployment is missing from storage.", headers={**base, "Cache-Control": "no-store"})
    if byte_range:
        start, end = byte_range
        response = StreamingHttpResponse(_range_iter(fh, start, end - start + 1), status=206, content_type=entry.content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
        response["Content-Length"] = str(end - start + 1)
        return finish(response, headers)
    response = FileResponse(fh, status=status, content_type=entry.content_type)
    if response.has_header("Content-Disposition"):
        del response["Content-Disposition"]
    response["Content-Length"] = str(rep_size)
    return finish(response, headers)


def _identity_request(request):
    request.META.pop("HTTP_ACCEPT_ENCODING", None)
    request.__dict__.pop("headers", None)  # a cached_property built from META
    return request


def _header_path(path):
    """The request path as ``_headers`` patterns see it: ``/a/b``, ``/dir/`` (slashes collapsed)."""
    segments = [s for s in (path or "").split("/") if s]
    out = "/" + "/".join(segments)
    return out + "/" if segments and path.endswith("/") else out


def _with(response, headers, site_headers=(), locked=frozenset()):
    """Set the platform's ``headers``, then the site's own (``_headers``) where allowed.

    A site header never replaces a header the caller passed (``locked``); a site's
    ``Content-Security-Policy`` and ``Vary`` are added to the platform's, never instead
    of them (every policy in a CSP header is enforced, so a site can only narrow the
    sandbox). Names a site may not set at all were refused when the file was parsed.
    """
    for k, v in headers.items():
        response[k] = v
    if not site_headers:
        return response
    merged: dict = {}
    for name, value in site_headers:
        lower = name.lower()
        if lower in merged:
            merged[lower] = (merged[lower][0], merged[lower][1] + ", " + value)
        else:
            merged[lower] = (name, value)
    for lower, (name, value) in merged.items():
        if siterules.header_refusal(name):
            continue  # stored before a name was refused: never trust the stored copy alone
        if lower in siterules.MERGED_HEADERS and response.has_header(name):
            response[name] = response[name] + ", " + value
        elif lower in locked:
            continue
        else:
            response[name] = value
    return response


# --- The profile route -------------------------------------------------------------------

def profile_serve(request, slug, path, *, site_prefix=None) -> HttpResponse:
    """Answer ``/profiles/{slug}/{path}`` according to the handle's site mode."""
    site_prefix = site_prefix if site_prefix is not None else f"/profiles/{slug}"
    # A name no handle can have is unknown without asking the database.
    state = selectors.live_state(slug) if is_handle_slug(slug) else None
    if state is None:
        response = content_error(request, 404, c.NOT_FOUND, "There is no such site.")
        response[SITE_MODE_HEADER] = UNKNOWN_HANDLE_MODE
        return response
    mode = state.site_mode
    mode_header = {SITE_MODE_HEADER: mode}
    if mode == c.SITE_MODE_MAINTENANCE:
        handle = Handle.objects.filter(pk=state.handle_id).first()
        retry = str(dc.MAINTENANCE_RETRY_AFTER_SECONDS)
        return _own_page(request, "deployments/maintenance.html", {"handle": handle}, status=503, headers={**mode_header, "Retry-After": retry, "Cache-Control": "no-store"})
    if mode == c.SITE_MODE_LINKS:
        if path not in ("", "index.html"):
            response = content_error(request, 404, c.NOT_FOUND, "This site shows a links page only.")
            response[SITE_MODE_HEADER] = mode
            return response
        handle = Handle.objects.filter(pk=state.handle_id).first()
        return _own_page(request, "deployments/links_page.html", {"handle": handle}, headers={**mode_header, "Cache-Control": LIVE_CACHE_CONTROL})
    deployment = state.deployments.get(dc.TARGET_SITE)
    if deployment is not None:
        from deployments import bindings

        binding = bindings.match(state, path, request.method)
        if binding is not None:
            response = bindings.run(request, state, binding, site_prefix=site_prefix)
            response[SITE_MODE_HEADER] = mode
            response[DEPLOYMENT_HEADER] = deployment.id
            return response
    if deployment is None:
        handle = Handle.objects.filter(pk=state.handle_id).first()
        return _own_page(request, "deployments/no_site.html", {"handle": handle}, status=404, headers={**mode_header, "Cache-Control": "no-cache"})
    return serve_deployment_path(request, deployment, path, extra_headers=mode_header, site_prefix=site_prefix)


def _materialize(response):
    """A streaming response read into memory (in-process callers want ``.content``)."""
    if not response.streaming:
        return response
    try:
        body = b"".join(response.streaming_content)
    finally:
        # Not response.close(): that sends request_finished, which closes the caller's
        # database connection. Only the open blob files need closing.
        for closer in response._resource_closers:
            closer()
        response._resource_closers.clear()
    plain = HttpResponse(body, status=response.status_code)
    for k, v in response.items():
        plain[k] = v
    return plain


def _in_process_request(url, method, headers):
    return in_process_request(url, method=method, headers=headers)


def _split(path):
    raw = (path or "").split("#", 1)[0]
    raw_path, _, query = raw.partition("?")
    return unquote(raw_path.lstrip("/")), query


def profile_response(handle_slug, path, method="GET", headers=None) -> HttpResponse:
    """Run the profile route in-process (no network): what ``GET /profiles/{handle}/{path}`` answers.

    ``path`` is the URL path below the site root as it appears in a link (percent-encoded,
    may carry a query). The body is always in ``response.content``.
    """
    clean, query = _split(path)
    url = f"/profiles/{handle_slug}/{path.lstrip('/').split('#', 1)[0]}"
    request = _in_process_request(url, method, headers)
    return _materialize(profile_serve(request, handle_slug, clean))


def deployment_response(deployment, path, method="GET", headers=None) -> HttpResponse:
    """Serve ``path`` of any ready deployment in-process, exactly as its live site would (replays)."""
    clean, query = _split(path)
    request = _in_process_request("/" + path.lstrip("/").split("#", 1)[0], method, headers)
    return _materialize(serve_deployment_path(request, deployment, clean))
