"""``/_edge/docs/{handle}/...``: the live internal docs, behind the handle's access policy.

The bytes go through the one deployments serving function (same path rules, ETag, Range,
HEAD, CSP and 404 page as profile routes); this module only decides who may see which
page (rules in ``files.docs``) and logs every page it serves.
"""

import hashlib
import logging
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework import exceptions as drf_exceptions

from deployments import constants as dc
from deployments import previews
from deployments.content_pages import content_error, wants_html
from deployments.models import Deployment
from deployments.serving import decide, serve_deployment_path
from files import constants as fc
from files import docs, links, selectors
from files.models import DocsAccessLog
from gharart import constants as c
from gharart import throttles
from gharart.access import role_allows
from gharart.auth import BearerAuthentication
from gharart.degraded import CACHE_ERRORS, cache_guard, cache_unavailable
from gharart.errors import ApplicationError
from gharart.jobs import dispatch
from gharart.models import Handle, PersonalAccessToken
from gharart.request_id import request_id_for
from gharart.selectors import membership_get

logger = logging.getLogger("gharart.files.edge")

EDGE_HEADERS = {
    # Access depends on who asks: never from a shared cache, always revalidated.
    "Cache-Control": "private, no-cache",
    "Vary": "Cookie, Authorization",
}


class Viewer:
    """Who is asking: a member (session or bearer), a signed-in partner, or nobody."""

    def __init__(self, *, user=None, member=False, email="", credentials=False):
        self.user = user
        self.member = member
        self.email = email
        self.credentials = credentials


def _identify(request, handle):
    """The viewer; raises ApplicationError 401 for a bad bearer token."""
    user = getattr(request, "user", None)
    if request.headers.get("Authorization"):
        try:
            result = BearerAuthentication().authenticate(request)
        except drf_exceptions.AuthenticationFailed as exc:
            raise ApplicationError(c.INVALID_TOKEN, str(exc.detail), status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if result is not None:
            user, auth = result
            membership = membership_get(user=user, slug=handle.slug)
            member = role_allows(membership, c.READ_ROLES)
            if isinstance(auth, PersonalAccessToken):
                # A token reads docs only with docs:read and only for its own handle.
                member = member and c.SCOPE_DOCS_READ in auth.scopes and auth.handle_id in (None, handle.id)
            return Viewer(user=user, member=member, credentials=True)
    if user is not None and user.is_authenticated:
        member = membership_get(user=user, slug=handle.slug) is not None
        return Viewer(user=user, member=member, credentials=True)
    return Viewer()


def _error(request, status, code, message, *, headers=None, details=None):
    return content_error(request, status, code, message, headers={**EDGE_HEADERS, **(headers or {})}, details=details)


def _to_access_page(request, slug, path):
    query = urlencode({"next": "/" + path.lstrip("/")})
    response = HttpResponseRedirect(f"{docs.cookie_path(slug)}_access?{query}")
    response["Cache-Control"] = "no-store"
    return response


def _not_allowed(request, slug, path, viewer, *, code=fc.DOCS_ACCESS_DENIED, message=None):
    """Browsers go to the sign-in page; API clients get 401 (no credentials) or 403."""
    if wants_html(request) and code == fc.DOCS_ACCESS_DENIED:
        return _to_access_page(request, slug, path)
    if not viewer.credentials and not viewer.email and code == fc.DOCS_ACCESS_DENIED:
        return _error(request, 401, c.AUTHENTICATION_REQUIRED, "Sign in to read these docs.", headers={"WWW-Authenticate": "Bearer"})
    return _error(request, 403, code, message or "You may not read these docs.")


def _log(request, handle, viewer, kind, path, status):
    if kind == fc.VIEWER_PUBLIC and not _first_public_read(request, handle, path, status):
        return
    try:
        DocsAccessLog.objects.create(
            handle=handle,
            user=viewer.user if viewer.user is not None and viewer.user.is_authenticated else None,
            email=viewer.email or (viewer.user.email if viewer.member and viewer.user is not None else ""),
            viewer_kind=kind,
            path=("/" + path.lstrip("/"))[:1000],
            status_code=status,
            ip=(lambda ip: ip if ip != "unknown" else None)(throttles.client_ip(request)),
        )
    except Exception:  # the log must never turn a page into an error
        logger.warning("docs access log write failed", exc_info=True)


def _first_public_read(request, handle, path, status):
    """Anonymous readers of public docs: one row per address, page and hour, none for a 404.

    Anyone may send these requests as fast as they like; a scan must not become one
    database row per request (their 404s are counted by the request log instead).
    """
    if status == 404:
        return False
    digest = hashlib.sha256(f"{throttles.client_ip(request)}|{path}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    key = f"docs-log:{handle.id}:{digest}:{int(time.time() // 3600)}"
    try:
        cache_guard()
        return bool(cache.add(key, 1, timeout=3600))
    except CACHE_ERRORS as exc:
        cache_unavailable("public docs reads logged without de-duplication", exc)
        return True


def edge_docs(request, handle, path=""):
    handle_obj = Handle.objects.filter(slug=handle).first()
    if handle_obj is None:
        return _error(request, 404, fc.DOCS_NOT_FOUND, "There are no such internal docs.")
    return _serve_docs(request, handle_obj, docs.live_docs_deployment(handle=handle_obj), path)


def edge_docs_preview(request, handle, token, path=""):
    """A signed preview of a ``docs`` deployment, behind the same access policy as the live docs."""
    handle_obj = Handle.objects.filter(slug=handle).first()
    if handle_obj is None:
        return _error(request, 404, fc.DOCS_NOT_FOUND, "There are no such internal docs.")
    try:
        deployment_id = previews.preview_deployment_id(token)
    except ApplicationError as exc:
        return _error(request, exc.status, exc.code, exc.message)
    deployment = Deployment.objects.filter(pk=deployment_id, handle=handle_obj, target=dc.TARGET_DOCS, state=dc.READY).first()
    if deployment is None:
        return _error(request, 404, dc.PREVIEW_NOT_FOUND, "No such preview.")
    return _serve_docs(
        request,
        handle_obj,
        deployment,
        path,
        prefix=f"_preview/{token}/",
        log_prefix=f"_preview/{deployment.id}/",  # the log names the deployment, never the token
        extra_headers={"X-Robots-Tag": "noindex, nofollow"},
    )


def _serve_docs(request, handle_obj, deployment, path, *, prefix="", log_prefix="", extra_headers=None):
    """Serve ``path`` of a docs ``deployment`` (live or previewed) to whoever the policy lets in."""
    handle = handle_obj.slug
    try:
        viewer = _identify(request, handle_obj)
    except ApplicationError as exc:
        return _error(request, exc.status, exc.code, exc.message, headers=exc.headers)
    policy = selectors.docs_policy_get(handle=handle_obj)
    if not viewer.member:
        viewer.email = docs.cookie_email(request=request, slug=handle, policy=policy) or ""
    if deployment is None:
        if viewer.member:
            return _error(request, 404, fc.DOCS_NOT_FOUND, "No internal docs are published yet.")
        return _not_allowed(request, handle, prefix + path, viewer)
    kind = fc.VIEWER_MEMBER
    if not viewer.member:
        # The rule applies to whatever body would be served: the page asked for, a
        # _redirects rewrite's target, or the docs' own 404.html. A path under a
        # confidential rule is members-only whether it exists or not (no telling which
        # confidential pages exist).
        found = decide(deployment, path)
        body_confidential = found.entry is not None and docs.page_confidential(policy, found.entry.path, found.entry.confidential)
        confidential = docs.path_matches(path, policy.confidential_paths) or (
            body_confidential and (found.status == 200 or found.rule is not None)
        )
        access = docs.access_decide(policy=policy, member=False, partner=bool(viewer.email), confidential=confidential)
        if access.code == fc.DOCS_ACCESS_WINDOW_CLOSED:
            return _error(
                request,
                403,
                fc.DOCS_ACCESS_WINDOW_CLOSED,
                "The internal docs are not open to partners at this time.",
                details={"starts_at": _iso(policy.window_starts_at), "ends_at": _iso(policy.window_ends_at)},
            )
        if access.code == fc.DOCS_MEMBERS_ONLY and (viewer.email or viewer.credentials):
            return _error(request, 403, fc.DOCS_MEMBERS_ONLY, "This page is confidential: members of the handle only.")
        if not access.allowed:
            return _not_allowed(request, handle, prefix + path, viewer)
        kind = access.kind
        if body_confidential:
            # A confidential 404.html: the plain not-found answer instead of its body.
            _log(request, handle_obj, viewer, kind, log_prefix + path, 404)
            return _error(request, 404, c.NOT_FOUND, "There is no such page in these docs.")
    response = serve_deployment_path(request, deployment, path, extra_headers={**EDGE_HEADERS, **(extra_headers or {})})
    if response.status_code < 400 or response.status_code == 404:
        _log(request, handle_obj, viewer, kind, log_prefix + path, response.status_code)
    return response


def _iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def edge_docs_root_redirect(request, handle):
    return HttpResponseRedirect(docs.cookie_path(handle))


def _safe_next(slug, raw):
    raw = raw or "/"
    if not raw.startswith("/") or raw.startswith("//") or not url_has_allowed_host_and_scheme(raw, allowed_hosts=None):
        return "/"
    return raw


def edge_docs_access(request, handle):
    """Partner sign-in: email form -> emailed link -> signed cookie for this handle's docs."""
    handle_obj = Handle.objects.filter(slug=handle).first()
    if handle_obj is None:
        return _error(request, 404, fc.DOCS_NOT_FOUND, "There are no such internal docs.")
    policy = selectors.docs_policy_get(handle=handle_obj)
    next_path = _safe_next(handle, request.GET.get("next") or request.POST.get("next"))
    context = {
        "handle": handle_obj,
        "next": next_path,
        "member_next": docs.cookie_path(handle) + next_path.lstrip("/"),
        "errors": {},
        "email": "",
        "request_id": request_id_for(request),
    }
    if request.method == "GET" and request.GET.get("token"):
        signed = docs.signin_token_use(token=request.GET["token"], slug=handle, policy=policy) if docs.window_open(policy) else None
        if signed is None:
            context["errors"] = {"token": ["This sign-in link is invalid, expired, already used, or from before the access rules changed. Ask for a new one below."]}
            return render(request, "files/docs_signin.html", context, status=403)
        email, target = signed
        response = HttpResponseRedirect(docs.cookie_path(handle) + target.lstrip("/"))
        response.set_cookie(
            fc.DOCS_COOKIE_NAME,
            docs.cookie_value(slug=handle, email=email, version=policy.version),
            max_age=fc.DOCS_COOKIE_MAX_AGE,
            path=docs.cookie_path(handle),
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
        response["Cache-Control"] = "no-store"
        return response
    if request.method == "POST":
        try:
            throttles.hit(c.THROTTLE_DOCS_ACCESS, f"docs-access:ip:{throttles.client_ip(request)}")
        except ApplicationError as exc:
            context["errors"] = {"form": [exc.message]}
            response = render(request, "files/docs_signin.html", context, status=429)
            response["Retry-After"] = exc.headers.get("Retry-After", "60")
            return response
        email = links.normalize_email(request.POST.get("email", ""))
        context["email"] = email
        if not links.is_email(email):
            context["errors"] = {"email": ["Enter a valid email address."]}
            return render(request, "files/docs_signin.html", context, status=400)
        # The job decides whether this address may sign in: the answer is the same for all.
        try:
            dispatch("files.docs_signin_send", handle_obj.id, email, next_path)
        except ApplicationError as exc:  # the broker is down: say so, and when to retry
            context["errors"] = {"form": [exc.message]}
            response = render(request, "files/docs_signin.html", context, status=exc.status)
            response["Retry-After"] = exc.headers.get("Retry-After", "30")
            return response
        context["sent"] = True
        return render(request, "files/docs_signin.html", context)
    if request.method not in ("GET", "HEAD"):
        return _error(request, 405, c.METHOD_NOT_ALLOWED, "Use GET or POST.", headers={"Allow": "GET, POST"})
    return render(request, "files/docs_signin.html", context)
