"""Host routing: a request to a site's own host never reaches the dashboard.

``SiteHostMiddleware`` sits right after the request-ID, NUL-guard and dependency-error
middleware and before everything dashboard-specific (security headers, sessions, CSRF,
authentication, messages, the dashboard's ``ALLOWED_HOSTS`` check, which only runs when
something calls ``request.get_host()``). It reads the raw ``Host`` and, for

- ``{handle}.{GHARART_SITES_DOMAIN}`` (live host) and a verified custom domain: answers
  with the profile route's own function (``deployments.serving.profile_serve``) at the root
  of the host: site modes, path rules, bindings, ETag/Range/304 and the site rules;
- ``{id}--{handle}.{GHARART_SITES_DOMAIN}`` (preview host): the deployment through the one
  serving function, behind the preview grant (``?preview_token=`` -> cookie -> clean URL);
- any other name under the sites domain, and a custom domain added but not verified: 404.

Every path of such a host belongs to the site: ``/admin/``, ``/v2/``, ``/accounts/login/``
are the site's paths (usually 404), never the dashboard's. Requests marked this way are
served without the sandbox CSP (``serving.on_site_origin``).

``site_host_response`` runs the same dispatch in-process (site intel crawls and replays).
"""

import logging
from urllib.parse import parse_qsl, urlencode

from django.db import DatabaseError
from django.http import HttpResponse
from django.utils import timezone
from django.utils.encoding import escape_uri_path

from deployments import constants as deployment_constants
from deployments import previews, serving
from deployments.models import Deployment
from domains import constants as domc
from domains import names, selectors
from gharart import constants as c
from gharart import request_log
from gharart.errors import ApplicationError
from gharart.in_process import in_process_request

logger = logging.getLogger(__name__)


def request_host(request) -> str:
    """The raw host the client asked for (``request.get_host()`` would apply ALLOWED_HOSTS)."""
    return request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")


def site_for_host(host: str) -> names.SiteHost | None:
    """What ``host`` serves: a site host, a verified custom domain, or None (the dashboard)."""
    found = names.classify(host)
    if found is not None:
        return found
    name = names.host_name(host)
    if names.may_be_custom(name):
        found = selectors.domain_on_host(name)
        if found is not None:
            slug, status = found
            if status in domc.SERVING_STATUSES:
                return names.SiteHost(kind=domc.HOST_CUSTOM, host=name, handle_slug=slug)
            # Added but not (or no longer) verified: a customer's name never shows the dashboard.
            return names.SiteHost(kind=domc.HOST_UNVERIFIED, host=name)
    return None


class SiteHostMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        site = site_for_host(request_host(request))
        if site is None:
            return self.get_response(request)
        return site_response(request, site)


def site_response(request, site: names.SiteHost) -> HttpResponse:
    """Answer ``request`` for ``site`` (a never-raising wrapper around ``_dispatch``)."""
    request.gharart_site_host = site
    if site.handle_slug:
        request.gharart_handle = site.handle_slug
    try:
        response = _dispatch(request, site)
    except DatabaseError:
        raise  # gharart.degraded answers 503 for an unreachable database
    except Exception:
        logger.exception("Serving %s%s failed", site.host, request.path_info)
        response = serving.content_error(request, 500, c.INTERNAL_ERROR, "Something went wrong on our side while serving this site.")
    # The dashboard's SecurityMiddleware does not run for site hosts; keep its nosniff.
    response.setdefault("X-Content-Type-Options", "nosniff")
    if not getattr(request, "gharart_in_process", False):
        request_log.note_anonymous(request, response)  # counted like other public routes, never a row
    return response


def _dispatch(request, site):
    path = request.path_info[1:]
    if site.kind in (domc.HOST_LIVE, domc.HOST_CUSTOM):
        return serving.profile_serve(request, site.handle_slug, path, site_prefix="")
    if site.kind == domc.HOST_PREVIEW:
        return _preview(request, site, path)
    if site.kind == domc.HOST_UNVERIFIED:
        response = serving.content_error(request, 404, c.NOT_FOUND, "This domain has not been verified yet, so it serves no site.")
        response[serving.SITE_MODE_HEADER] = serving.UNKNOWN_HANDLE_MODE
        return response
    response = serving.content_error(request, 404, c.NOT_FOUND, "There is no such site.")
    response[serving.SITE_MODE_HEADER] = serving.UNKNOWN_HANDLE_MODE
    return response


# --- Preview hosts ---------------------------------------------------------------------------

PREVIEW_HEADERS = {"Cache-Control": serving.PREVIEW_CACHE_CONTROL, "X-Robots-Tag": "noindex, nofollow"}


def _granted(token, deployment_id):
    """The grant's expiry when ``token`` is a valid preview token for ``deployment_id``, else None."""
    if not token:
        return None
    try:
        granted_id, expires_at = previews.preview_grant(token)
    except ApplicationError:
        return None
    return expires_at if granted_id == deployment_id else None


def _preview(request, site, path):
    deployment = (
        Deployment.objects.filter(pk=site.deployment_id, handle__slug=site.handle_slug, target=deployment_constants.TARGET_SITE, state=deployment_constants.READY)
        .select_related("handle")
        .first()
    )
    if deployment is None:
        return serving.content_error(request, 404, deployment_constants.PREVIEW_NOT_FOUND, "No such preview.", headers={"X-Robots-Tag": "noindex, nofollow"})
    token = request.GET.get(domc.PREVIEW_TOKEN_PARAM)
    if token is not None:
        expires_at = _granted(token, deployment.id)
        if expires_at is None:
            return _grant_required(request, "This preview link is not valid or has expired. Open the preview report again for a new one.")
        return _grant_and_redirect(request, token, expires_at)
    if _granted(request.COOKIES.get(domc.PREVIEW_COOKIE), deployment.id) is None:
        return _grant_required(request, "This preview needs a preview link. Open the deployment's preview report for one.")
    return serving.serve_deployment_path(request, deployment, path, extra_headers=PREVIEW_HEADERS)


def _grant_required(request, message):
    return serving.content_error(request, 401, domc.PREVIEW_TOKEN_REQUIRED, message, headers={"X-Robots-Tag": "noindex, nofollow"})


def _grant_and_redirect(request, token, expires_at):
    """Set the host-only grant cookie and send the browser to the URL without the token."""
    query = [(k, v) for k, v in parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True) if k != domc.PREVIEW_TOKEN_PARAM]
    # One leading slash: "//evil.example/" must stay a path on this host, not a new host.
    location = "/" + escape_uri_path(request.path).lstrip("/") + (f"?{urlencode(query)}" if query else "")
    response = HttpResponse(status=302)
    response["Location"] = location
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token is in this URL: never pass it on
    max_age = max(0, int((expires_at - timezone.now()).total_seconds()))
    response.set_cookie(
        domc.PREVIEW_COOKIE,
        token,
        max_age=max_age,
        path="/",
        domain=None,  # host-only: no other preview host or site ever receives it
        secure=request.is_secure() or names.sites_scheme() == "https",
        httponly=True,
        samesite="Lax",
    )
    return response


# --- In-process (site intel) -------------------------------------------------------------

def site_host_response(host, path, method="GET", headers=None) -> HttpResponse:
    """What a visitor of ``host`` gets for ``path`` (percent-encoded, may carry a query),
    run in-process through the same dispatch; the body is always in ``.content``."""
    url = "/" + (path or "").lstrip("/").split("#", 1)[0]
    request = in_process_request(url, method=method, headers=headers, host=host)
    site = site_for_host(host)
    if site is None:
        response = serving.content_error(request, 404, c.NOT_FOUND, "There is no such site.")
    else:
        response = site_response(request, site)
    return serving._materialize(response)
