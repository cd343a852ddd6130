import functools
import json
from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from gharart import constants as c
from gharart import selectors, services, throttles
from gharart.dashboard import apply_error, can, handle_page, overview_panels, render_page
from gharart.errors import ApplicationError, error_response
from gharart.forms import AuditFilterForm, TokenCreateForm
from gharart.request_id import request_id_for


@login_required
def home(request):
    memberships = selectors.membership_list_for_user(user=request.user)
    return render(request, "gharart/home.html", {"memberships": memberships})


@handle_page()
def handle_overview(request, handle):
    panels = overview_panels(request.handle, request.membership)
    return render(request, "gharart/handle_overview.html", {"panels": panels, "is_admin": can(request, c.ADMIN_ROLES)})


AUDIT_PAGE_SIZE = 50


def _audit_value(value):
    """One audited value in words: times as dates, lists joined, nothing as "none"."""
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_audit_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in "T ":
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return date_format(when.astimezone(UTC), "j M Y, H:i") + " UTC"
    return str(value)


def audit_changes(before, after):
    """What an audit event changed, field by field: ``[{"field","before","after"}]``.

    Fields present on only one side read as "none" on the other; unchanged fields are left
    out, so a row says exactly what moved."""
    before = before if isinstance(before, dict) else ({} if before is None else {"value": before})
    after = after if isinstance(after, dict) else ({} if after is None else {"value": after})
    rows = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        rows.append({"field": key.replace("_", " "), "before": _audit_value(old), "after": _audit_value(new)})
    return rows


@handle_page(c.READ_ROLES)
def handle_audit(request, handle):
    actions = selectors.audit_actions(handle=request.handle)
    form = AuditFilterForm(request.GET, actions=actions)
    action = form.cleaned_data["action"] if form.is_valid() else ""
    page = Paginator(selectors.audit_list(handle=request.handle, action=action or None), AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page:
        event.changes = audit_changes(event.before, event.after)
    context = {"page": page, "events": page.object_list, "actions": actions, "action": action}
    # HTMX (the filter and the pager) swaps just the table; a plain request gets the page.
    return render_page(request, "gharart/audit.html", context, fragment="audit-table")


def _tokens_page(request, *, form, created=None, status=200):
    context = {"form": form, "created": created, "scopes": c.ALL_SCOPES, "tokens": selectors.token_list(user=request.user)}
    return render_page(request, "gharart/tokens.html", context, fragment="tokens-section", status=status)


@login_required
def tokens(request):
    if request.method != "POST":
        return _tokens_page(request, form=TokenCreateForm(user=request.user))
    form = TokenCreateForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            token, secret = services.token_create(user=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            return _tokens_page(request, form=TokenCreateForm(user=request.user), created={"token": token, "secret": secret})
    return _tokens_page(request, form=form, status=400)


@login_required
@require_POST
def token_revoke(request, token_id):
    try:
        services.token_revoke(user=request.user, token_id=token_id)
    except ApplicationError:
        pass
    if request.htmx:
        return _tokens_page(request, form=TokenCreateForm(user=request.user))
    return redirect("tokens")


@login_required
def password_change(request):
    """Django's PasswordChangeForm; the change ends every other session and every JWT issued
    before it (gharart/auth.py), and keeps this browser signed in."""
    form = PasswordChangeForm(request.user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = services.user_password_change(user=request.user, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(request, user)
        messages.success(request, "Your password was changed. Other browsers and API tokens signed in with the old one are signed out.")
        return redirect("password-change")
    return render(request, "gharart/password_change.html", {"form": form}, status=400 if form.errors else 200)


def signin_throttled(view):
    """Wrap a sign-in view (/accounts/login/, /admin/login/) with the sign-in throttle.

    A POST counts against the address and is refused (429 page, ``Retry-After``) while the
    address or the username is over its limit; a POST answered with the form again (200)
    was a wrong password and counts against the username.
    """

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        username = request.POST.get("username", "")
        try:
            throttles.signin_attempt(request, username)
        except throttles.RateLimited as exc:
            return too_many_attempts(request, exc)
        response = view(request, *args, **kwargs)
        if response.status_code == 200:
            throttles.signin_failed(username)
        return response

    return wrapped


def too_many_attempts(request, exc):
    retry = exc.headers.get("Retry-After", "60")
    message = f"Too many sign-in attempts. Wait {retry} seconds, then try again."
    response = render(request, "error.html", {"status": 429, "message": message}, status=429)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


# --- Error pages: JSON envelope under /v2, a page with the request ID elsewhere ----------

def _wants_json(request):
    return request.path.startswith("/v2/") or request.path == "/v2"


ERROR_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Page not found", 500: "Something went wrong"}


def _bare_error_page(request, status, message):
    """An error page that needs nothing: no database, no template, no static manifest."""
    from django.utils.html import escape

    title = ERROR_TITLES.get(status, "Error")
    body = (
        f"<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>{title}</title><h1>{title}</h1>"
        f"<p>{escape(message)}</p><p>Request ID: <code>{escape(request_id_for(request))}</code></p></html>"
    )
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def _support_link(request):
    """The error page's "Report this" link, carrying the request ID and the handle in view."""
    from urllib.parse import urlencode

    params = {"requestId": request_id_for(request)}
    parts = request.path.split("/")
    if len(parts) > 2 and parts[1] == "h" and parts[2]:
        params["handle"] = parts[2][:64]
    return "/support/?" + urlencode(params)


def _error(request, status, code, message, template):
    if _wants_json(request):
        return error_response(code, message, status, request=request)
    try:
        context = {"status": status, "message": message, "support_url": _support_link(request)}
        return render(request, template, context, status=status)
    except Exception:  # the page itself failed (database down, static manifest missing): a bare page
        return _bare_error_page(request, status, message)


def bad_request(request, exception=None):
    return _error(request, 400, c.VALIDATION_ERROR, "The request could not be understood.", "error.html")


def permission_denied(request, exception=None):
    return _error(request, 403, c.FORBIDDEN, "You do not have permission to do this.", "error.html")


NOT_FOUND_MESSAGE = (
    "There is no page at this address. The link may be mistyped or out of date, or the page "
    "may belong to a handle you are not a member of."
)


def page_not_found(request, exception=None):
    if _wants_json(request):
        return _error(request, 404, c.NOT_FOUND, "Not found.", "error.html")
    return _error(request, 404, c.NOT_FOUND, NOT_FOUND_MESSAGE, "error.html")


def server_error(request):
    message = "Something went wrong on our side. Quote the request ID to support."
    return _error(request, 500, c.INTERNAL_ERROR, message, "error.html")


FAVICON = settings.BASE_DIR / "static" / "gharart" / "favicon.svg"


def favicon(request):
    """``/favicon.ico``, which browsers ask for on pages that name no icon."""
    response = HttpResponse(FAVICON.read_bytes(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
