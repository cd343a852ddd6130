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
from django.http import HttpResponse
from django.utils.encoding import iri_to_uri

from blobs.http import Blob
from blobs.responses import HANDOFF_LOCAL, blob_response
from deployments import compression, siterules
from deployments import constants as dc
from deployments.content_pages import OWN_PAGE_CSP, content_error, head_only, own_page, wants_html  # noqa: F401 - callers name them here
from deployments.selectors.live import (
    deployment_path_decide,
    live_state,
    manifest_lookup_for,
    site_rules_for,
)
from gharart import constants as c
from gharart.in_process import in_process_request
from gharart.models import Handle

logger = logging.getLogger(__name__)

SANDBOX_CSP = "sandbox allow-scripts allow-forms allow-popups allow-downloads"
LIVE_CACHE_CONTROL = "public, max-age=0, must-revalidate"
PREVIEW_CACHE_CONTROL = "private, max-age=0, must-revalidate"
SITE_MODE_HEADER = "X-Gharart-Site-Mode"
DEPLOYMENT_HEADER = "X-Gharart-Deployment"
UNKNOWN_HANDLE_MODE = "none"


# --- Small helpers -------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


def is_handle_slug(value: str) -> bool:
    return bool(_SLUG.match(value or ""))


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
    """What answers ``path`` of ``deployment``: ``deployment_path_decide``."""
    return deployment_path_decide(deployment, path, query=query)


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
    rules = site_rules_for(deployment)
    decision = siterules.decide(path, manifest_lookup_for(deployment), rules, query=request.META.get("QUERY_STRING", ""))
    if decision.location is not None:
        prefix = site_prefix if site_prefix is not None else _site_prefix(request, path)
        response = HttpResponse(status=decision.status)
        response["Location"] = _location(prefix, decision.location)
        return head_only(request, _with(response, base))
    if decision.entry is None:
        headers = {**base, "Cache-Control": "no-cache"}
        return content_error(request, 404, c.NOT_FOUND, "There is no such page on this site.", headers=headers)
    entry, status = decision.entry, decision.status
    site_headers = site_headers_for(rules, path)
    locked = {k.lower() for k in extra}
    ranged = status == 200 and request.method == "GET" and "HTTP_RANGE" in request.META
    blob, rep, compressible = representation(entry, ranged=ranged, accept_encoding=request.META.get("HTTP_ACCEPT_ENCODING", ""))
    headers = dict(base)
    if compressible:
        headers["Vary"] = "Accept-Encoding"
    if rep:
        headers["Content-Encoding"] = rep.encoding
    if status == 404:
        headers["Cache-Control"] = "no-cache"
    # nginx passes only the upstream headers its location names on, so a response with the
    # site's own _headers is sent by Django.
    handoff = HANDOFF_LOCAL if status == 200 and not site_headers else None
    try:
        response = blob_response(request, blob, headers=list(headers.items()), status=status, ranges=status == 200, handoff=handoff)
    except (FileNotFoundError, OSError):
        if rep is not None:
            # The compressed form went missing: the original still answers.
            logger.warning("Compressed form %s of blob %s is missing; sending the original", rep.sha256, entry.sha256)
            return _serve_deployment_path(_identity_request(request), deployment, path, extra_headers=extra_headers, site_prefix=site_prefix)
        logger.error("Blob %s of %s (%s) is missing from storage", entry.sha256, deployment.id, entry.path)
        return content_error(request, 404, dc.DEPLOYMENT_ARTIFACT_MISSING, f"{entry.path} of this deployment is missing from storage.", headers={**base, "Cache-Control": "no-store"})
    return _with(response, {}, site_headers, locked)


def representation(entry, *, ranged, accept_encoding):
    """``(blob, variant or None, compressible)``: the bytes that answer for ``entry``.

    Range requests are answered from the identity bytes; everything else may be
    compressed as ``Accept-Encoding`` allows (``compression``).
    """
    compressible = compression.is_compressible(entry.content_type)
    rep = None
    if compressible and not ranged:
        encoding = compression.negotiate(accept_encoding)
        if encoding is not None:
            rep = compression.variant(entry.sha256, entry.size, encoding)
    return entry_blob(entry, rep), rep, compressible


def entry_blob(entry, rep=None) -> Blob:
    """The blob a manifest entry sends: its identity bytes, or the compressed ``rep``."""
    if rep is None:
        return Blob(entry.sha256, entry.size, entry.content_type, compression.etag_for(entry.sha256, None))
    return Blob(rep.sha256, rep.size, entry.content_type, compression.etag_for(entry.sha256, rep.encoding))


def _identity_request(request):
    request.META.pop("HTTP_ACCEPT_ENCODING", None)
    request.__dict__.pop("headers", None)  # a cached_property built from META
    return request


def site_headers_for(rules, path):
    """The site's ``_headers`` lines for ``path`` (empty without a ``_headers`` file)."""
    return rules.headers_for(_header_path(path)) if rules.header_blocks else ()


def _header_path(path):
    """The request path as ``_headers`` patterns see it: ``/a/b``, ``/dir/`` (slashes collapsed)."""
    segments = [s for s in (path or "").split("/") if s]
    out = "/" + "/".join(segments)
    return out + "/" if segments and path.endswith("/") else out


def _with(response, headers, site_headers=(), locked=frozenset()):
    """Set the platform's ``headers``, then the site's own (``_headers``, see ``site_header_updates``)."""
    for k, v in headers.items():
        response[k] = v
    if site_headers:
        current = {k.lower(): v for k, v in response.items()}
        for name, value in site_header_updates(current, site_headers, locked):
            response[name] = value
    return response


def site_header_updates(current, site_headers, locked=frozenset()):
    """``[(name, value)]`` to set for the site's ``_headers`` over the platform's ``current``
    headers (``{lowercase name: value}``).

    A site header never replaces a header the caller passed (``locked``); a site's
    ``Content-Security-Policy`` and ``Vary`` are added to the platform's, never instead
    of them (every policy in a CSP header is enforced, so a site can only narrow the
    sandbox). Names a site may not set at all were refused when the file was parsed.
    """
    merged: dict = {}
    for name, value in site_headers:
        lower = name.lower()
        if lower in merged:
            merged[lower] = (merged[lower][0], merged[lower][1] + ", " + value)
        else:
            merged[lower] = (name, value)
    updates = []
    for lower, (name, value) in merged.items():
        if siterules.header_refusal(name):
            continue  # stored before a name was refused: never trust the stored copy alone
        if lower in siterules.MERGED_HEADERS and lower in current:
            updates.append((name, current[lower] + ", " + value))
        elif lower in locked:
            continue
        else:
            updates.append((name, value))
    return updates


# --- The profile route -------------------------------------------------------------------

def profile_serve(request, slug, path, *, site_prefix=None) -> HttpResponse:
    """Answer ``/profiles/{slug}/{path}`` according to the handle's site mode."""
    site_prefix = site_prefix if site_prefix is not None else f"/profiles/{slug}"
    # A name no handle can have is unknown without asking the database.
    state = live_state(slug) if is_handle_slug(slug) else None
    if state is None:
        response = content_error(request, 404, c.NOT_FOUND, "There is no such site.")
        response[SITE_MODE_HEADER] = UNKNOWN_HANDLE_MODE
        return response
    mode = state.site_mode
    mode_header = {SITE_MODE_HEADER: mode}
    if mode == c.SITE_MODE_MAINTENANCE:
        handle = Handle.objects.filter(pk=state.handle_id).first()
        retry = str(dc.MAINTENANCE_RETRY_AFTER_SECONDS)
        return own_page(request, "deployments/maintenance.html", {"handle": handle}, status=503, headers={**mode_header, "Retry-After": retry, "Cache-Control": "no-store"})
    if mode == c.SITE_MODE_LINKS:
        if path not in ("", "index.html"):
            response = content_error(request, 404, c.NOT_FOUND, "This site shows a links page only.")
            response[SITE_MODE_HEADER] = mode
            return response
        handle = Handle.objects.filter(pk=state.handle_id).first()
        return own_page(request, "deployments/links_page.html", {"handle": handle}, headers={**mode_header, "Cache-Control": LIVE_CACHE_CONTROL})
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
        return own_page(request, "deployments/no_site.html", {"handle": handle}, status=404, headers={**mode_header, "Cache-Control": "no-cache"})
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
