"""The Files and Docs access dashboard pages (HTMX). They call the same services as the API.

A plain request gets the whole page (forms work without JavaScript: post, then redirect);
an HTMX request gets the partial it swaps. Form errors come back as the re-rendered
partial with status 400 so HTMX swaps them in.
"""

import math

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from files import constants as fc
from files import docs, links, selectors, services
from files.models import MagicLink
from files.uploads import StreamingUploadHandler, content_length_too_large, too_large
from gharart import constants as c
from gharart.dashboard import can, form_errors, handle_page, posted_time
from gharart.errors import ApplicationError
from gharart.humanize import relative_words


def _decorate(file, now=None):
    """Adds what the list shows: days left, badge kind and the shareable URL."""
    now = now or timezone.now()
    file.days_left = None
    expires_at = file.effective_expires_at
    if expires_at is not None and expires_at > now:
        file.days_left = math.ceil((expires_at - now).total_seconds() / 86400)
    file.not_yet_available = file.available_at is not None and file.available_at > now
    file.expires_words = relative_words(expires_at, now) if file.days_left is not None else ""
    file.expiring_soon = file.days_left is not None and file.days_left <= fc.EXPIRING_SOON_DAYS
    file.recipients_text = "\n".join(file.recipients)
    file.share_url = None if file.access == fc.ACCESS_PRIVATE else links.public_file_url(file.id)
    return file


def _files_context(request, file_errors=None, **extra):
    file_errors = file_errors or {}
    now = timezone.now()
    access = request.GET.get("access") or None
    if access not in fc.ACCESS_VALUES:
        access = None
    rows = selectors.file_list(handle=request.handle, access=access).prefetch_related(
        Prefetch("magic_links", queryset=MagicLink.objects.select_related("created_by").order_by("-created_at", "-pk"))
    )[:200]
    files = []
    for f in rows:
        _decorate(f, now)
        f.link_rows = list(f.magic_links.all())
        f.errors = file_errors.get(f.id, {})
        f.form_values = {}
        files.append(f)
    campaigns = list(selectors.campaign_list(handle=request.handle).order_by("starts_at", "name"))
    context = {
        "files": files,
        "file_groups": _grouped(files, campaigns),
        "campaigns": campaigns,
        "access_choices": fc.ACCESS_CHOICES,
        "filter_access": access,
        "max_upload_bytes": settings.FILES_MAX_UPLOAD_BYTES,
        "upload_errors": {},
        "upload_form": {},
        "open_file": None,
        "can_edit": can(request, c.FILES_ROLES),
    }
    context.update(extra)
    return context


def _grouped(files, campaigns):
    """Files by the campaign they follow (campaigns by start), then the files in none."""
    by_campaign = {c.id: [] for c in campaigns}
    loose = []
    for f in files:
        (by_campaign[f.campaign_id] if f.campaign_id in by_campaign else loose).append(f)
    groups = [{"campaign": c, "files": by_campaign[c.id]} for c in campaigns if by_campaign[c.id]]
    if loose:
        groups.append({"campaign": None, "files": loose})
    return groups


def _file_context(request, file_id, errors=None, form=None, **extra):
    file = _decorate(selectors.file_get(handle=request.handle, file_id=file_id))
    file.link_rows = list(selectors.magic_link_list(file=file)[:100])
    file.errors = errors or {}
    file.form_values = form or {}
    campaigns = list(selectors.campaign_list(handle=request.handle).order_by("starts_at", "name"))
    context = {"f": file, "access_choices": fc.ACCESS_CHOICES, "minted": None, "open": True, "can_edit": can(request, c.FILES_ROLES), "campaigns": campaigns}
    context.update(extra)
    return context


def _file_or_404(request, file_id):
    try:
        return selectors.file_get(handle=request.handle, file_id=file_id)
    except ApplicationError:
        raise Http404("No such file.")


@handle_page(c.READ_ROLES)
def files_page(request, handle):
    # Every member reads the page; the forms on it are for partnerships+ (``can_edit``).
    return render(request, "files/files_page.html", _files_context(request))


def _upload(request, handle):
    data = request.POST
    form = {k: data.get(k, "") for k in ("access", "expires_at", "recipients", "title", "max_downloads", "campaign_id")}
    # The expiry is typed in the reader's time zone; app.js sends its UTC value (posted_time).
    form["expires_at"] = posted_time(data, "expires_at") or ""
    form["expires_at_local"] = data.get("expires_at_local", "")
    try:
        if content_length_too_large(request, settings.FILES_MAX_UPLOAD_BYTES):
            raise too_large(settings.FILES_MAX_UPLOAD_BYTES)
        file = services.file_upload(
            handle=request.handle,
            actor=request.user,
            upload=request.FILES.get("file"),
            access=form["access"] or None,
            expires_at=form["expires_at"] or None,
            recipients=form["recipients"],
            title=form["title"],
            max_downloads=form["max_downloads"] or None,
            campaign_id=form["campaign_id"] or None,
        )
    except ApplicationError as exc:
        errors = form_errors(exc)
        if exc.code == fc.FILE_TOO_LARGE:
            errors = {"file": [exc.message]}
        elif exc.code == c.DAILY_WRITE_LIMIT_EXCEEDED:
            errors = {"form": [exc.message]}
        context = _files_context(request, upload_errors=errors, upload_form=form)
        template = "files/_files_section.html" if request.htmx else "files/files_page.html"
        # The quota refusal keeps its 429 and Retry-After (app.js swaps 429 bodies too).
        status = exc.status if exc.code == c.DAILY_WRITE_LIMIT_EXCEEDED else 400 if request.htmx else exc.status
        response = render(request, template, context, status=status)
        if exc.code == c.DAILY_WRITE_LIMIT_EXCEEDED:
            response["Retry-After"] = exc.headers.get("Retry-After", "")
        return response
    if request.htmx:
        return render(request, "files/_files_section.html", _files_context(request, uploaded=file, open_file=file.id))
    messages.success(request, f"Uploaded {file.name}.")
    return redirect("files-page", handle=handle)


@csrf_exempt
@require_POST
@handle_page(c.FILES_ROLES)
def file_upload(request, handle):
    # Before the body is read (CSRF reads it): the file streams into blob storage as it
    # arrives and stops at the size cap; whatever is not kept is dropped at the end.
    handler = StreamingUploadHandler(request, field="file", receiver=services.file_upload_receiver, max_bytes=settings.FILES_MAX_UPLOAD_BYTES)
    request.upload_handlers = [handler]
    try:
        return csrf_protect(_upload)(request, handle)
    except ApplicationError as exc:  # raised by the upload handler while streaming
        context = _files_context(request, upload_errors={"file": [exc.message]})
        template = "files/_files_section.html" if request.htmx else "files/files_page.html"
        return render(request, template, context, status=400 if request.htmx else exc.status)
    finally:
        handler.abort()


def _file_response(request, handle, file_id, **extra):
    if request.htmx:
        status = 400 if extra.get("errors") else 200
        return render(request, "files/_file.html", _file_context(request, file_id, **extra), status=status)
    if extra.get("errors"):
        ctx = _files_context(request, open_file=file_id, file_errors={file_id: extra["errors"]})
        return render(request, "files/files_page.html", ctx, status=400)
    if extra.get("minted"):
        return render(request, "files/files_page.html", _files_context(request, open_file=file_id, minted=extra["minted"]))
    return redirect(f"/h/{handle}/files/#file-{file_id}")


@require_POST
@handle_page(c.FILES_ROLES)
def file_edit(request, handle, file_id):
    file = _file_or_404(request, file_id)
    data = request.POST
    changes = {k: data.get(k) for k in ("access", "expires_at", "title", "max_downloads", "campaign_id") if k in data}
    if "expires_at" in data or "expires_at_local" in data:
        changes["expires_at"] = posted_time(data, "expires_at") or ""
    if "recipients" in data:
        changes["recipients"] = data.get("recipients", "")
    if changes.get("campaign_id"):
        # The form's expiry field does not apply to a file that follows a campaign.
        changes.pop("expires_at", None)
    if data.get("password_clear"):
        changes["password"] = ""
    elif data.get("password"):
        changes["password"] = data["password"]  # an empty field keeps the current password
    try:
        before = file.access
        services.file_update(file=file, actor=request.user, **changes)
        if changes.get("access") and changes["access"] != before and not request.htmx:
            messages.warning(request, "Access changed: every magic link of the file was revoked.")
    except ApplicationError as exc:
        return _file_response(request, handle, file_id, errors=form_errors(exc), form=changes)
    return _file_response(request, handle, file_id, saved=True)


@require_POST
@handle_page(c.FILES_ROLES)
def file_delete(request, handle, file_id):
    file = _file_or_404(request, file_id)
    services.file_delete(file=file, actor=request.user)
    if request.htmx:
        return render(request, "files/_files_section.html", _files_context(request, deleted=file.name))
    messages.success(request, f"Deleted {file.name}.")
    return redirect("files-page", handle=handle)


@require_POST
@handle_page(services.MAGIC_LINK_MINT_ACCESS.roles)
def link_mint(request, handle, file_id):
    file = _file_or_404(request, file_id)
    send = request.POST.get("send") in ("1", "on", "true")
    try:
        link, token = services.magic_link_mint(file=file, email=request.POST.get("email"), actor=request.user, send=send)
    except ApplicationError as exc:
        return _file_response(request, handle, file_id, errors=form_errors(exc), form={"email": request.POST.get("email", "")})
    minted = {"link": link, "url": links.public_file_url(file.id, token), "sent": send, "file_id": file.id}
    return _file_response(request, handle, file_id, minted=minted)


@require_POST
@handle_page(c.FILES_ROLES)
def link_revoke(request, handle, file_id, link_id):
    file = _file_or_404(request, file_id)
    try:
        services.magic_link_revoke(file=file, link_id=link_id, actor=request.user)
    except ApplicationError as exc:
        return _file_response(request, handle, file_id, errors=form_errors(exc))
    return _file_response(request, handle, file_id)


# --- Docs access --------------------------------------------------------------------------


def _policy_form(policy):
    def dt(value):
        return value.strftime("%Y-%m-%dT%H:%M") if value else ""

    def utc(value):
        return value.isoformat() if value else ""

    return {
        "visibility": policy.visibility,
        "partner_emails": "\n".join(policy.partner_emails),
        "partner_domains": "\n".join(policy.partner_domains),
        "starts_at": dt(policy.starts_at),
        "ends_at": dt(policy.ends_at),
        "starts_at_utc": utc(policy.starts_at),
        "ends_at_utc": utc(policy.ends_at),
        "confidential_paths": "\n".join(policy.confidential_paths),
        "campaign_id": policy.campaign_id or "",
    }


def _titled(warnings):
    """Warnings with a title in words for the page (the API keeps only the code)."""
    return [
        {
            **w,
            "title": fc.WARNING_TITLES.get(w["code"], "Check this"),
            "paths_label": "Paths" if w["code"] == fc.WARNING_CONFIDENTIAL_PATH_UNUSED else "Pages",
        }
        for w in warnings
    ]


def _docs_context(request, policy, **extra):
    deployment = docs.live_docs_deployment(handle=request.handle)
    pages = docs.docs_pages(deployment=deployment)
    context = {
        "policy": policy,
        "form": _policy_form(policy),
        "errors": {},
        "warnings": _titled(docs.policy_warnings(handle=request.handle, policy=policy, pages=pages)),
        "preview": docs.who_can_read(policy=policy, pages=pages),
        "deployment": deployment,
        "window_open": docs.window_open(policy),
        "log": selectors.docs_access_log(handle=request.handle),
        "visibility_choices": fc.VISIBILITY_CHOICES,
        "can_edit": can(request, c.FILES_ROLES),
        "edge_url": docs.cookie_path(request.handle.slug),
        "campaigns": list(selectors.campaign_list(handle=request.handle).order_by("starts_at", "name")) if can(request, c.FILES_ROLES) else [],
    }
    context.update(extra)
    return context


CONFIRM_PUBLIC = (
    "Switching to “Anyone” lets everyone on the internet read the docs that are not confidential, "
    "and signs every partner out. Tick the confirmation below and save again to switch."
)


def _policy_data(post):
    data = {k: post.get(k, "") for k in ("visibility", "partner_emails", "partner_domains", "confidential_paths")}
    # The window is typed in the reader's time zone; app.js sends its UTC value (posted_time).
    data["starts_at"] = posted_time(post, "starts_at") or ""
    data["ends_at"] = posted_time(post, "ends_at") or ""
    data["campaign_id"] = post.get("campaign_id", "") or None
    return data


def _policy_redisplay(post, data):
    """The posted form shown back: the window in the fields as typed (local time), with its UTC value."""
    return {
        **data,
        "starts_at": post.get("starts_at_local", data["starts_at"]),
        "ends_at": post.get("ends_at_local", data["ends_at"]),
        "starts_at_utc": data["starts_at"] if post.get("starts_at_local") else "",
        "ends_at_utc": data["ends_at"] if post.get("ends_at_local") else "",
    }


@require_POST
@handle_page(c.READ_ROLES)
def docs_access_warnings(request, handle):
    """The warnings the form's current values would get on save (HTMX, live; nothing saved)."""
    if not request.htmx:
        return redirect("docs-access-page", handle=handle)
    deployment = docs.live_docs_deployment(handle=request.handle)
    try:
        draft = services.docs_policy_preview(handle=request.handle, data=_policy_data(request.POST))
    except ApplicationError as exc:
        return render(request, "files/_policy_warnings.html", {"warnings": [], "preview_errors": form_errors(exc), "live": True})
    warnings = _titled(docs.policy_warnings(handle=request.handle, policy=draft, pages=docs.docs_pages(deployment=deployment)))
    return render(request, "files/_policy_warnings.html", {"warnings": warnings, "live": True})


@require_http_methods(["GET", "POST"])
@handle_page(c.READ_ROLES)
def docs_access_page(request, handle):
    policy = selectors.docs_policy_get(handle=request.handle)
    template = "files/_docs_access_section.html" if request.htmx else "files/docs_access_page.html"
    if request.method == "GET":
        return render(request, "files/docs_access_page.html", _docs_context(request, policy))
    if not can(request, c.FILES_ROLES):
        raise PermissionDenied("Your role cannot change the docs access policy.")
    data = _policy_data(request.POST)
    if data["visibility"] == fc.VISIBILITY_PUBLIC and policy.visibility != fc.VISIBILITY_PUBLIC and not request.POST.get("confirm_public"):
        # "Anyone" signs every partner out and opens the docs to the world: ask first.
        context = _docs_context(request, policy, confirm_public=True, errors={"visibility": [CONFIRM_PUBLIC]})
        context["form"] = _policy_redisplay(request.POST, data)
        return render(request, template, context, status=400)
    try:
        policy = services.docs_policy_update(handle=request.handle, actor=request.user, data=data)
    except ApplicationError as exc:
        context = _docs_context(request, policy, errors=form_errors(exc))
        context["form"] = _policy_redisplay(request.POST, data)
        return render(request, template, context, status=400)
    if not request.htmx:
        messages.success(request, f"Saved. Policy version {policy.version}; partners signed in before must sign in again.")
        return redirect("docs-access-page", handle=handle)
    return render(request, template, _docs_context(request, policy, saved=True))


# --- Campaigns ------------------------------------------------------------------------------


def _campaign_form(campaign=None, data=None):
    if data is not None:
        return {k: data.get(k, "") for k in ("name", "starts_at_local", "ends_at_local")}
    if campaign is None:
        return {"name": "", "starts_at_local": "", "ends_at_local": ""}
    return {
        "name": campaign.name,
        "starts_at_local": timezone.localtime(campaign.starts_at).strftime("%Y-%m-%dT%H:%M"),
        "ends_at_local": timezone.localtime(campaign.ends_at).strftime("%Y-%m-%dT%H:%M"),
        "starts_at_utc": campaign.starts_at.isoformat(),
        "ends_at_utc": campaign.ends_at.isoformat(),
    }


def _campaign_data(post):
    return {"name": post.get("name", ""), "starts_at": posted_time(post, "starts_at"), "ends_at": posted_time(post, "ends_at")}


def _campaigns_context(request, **extra):
    campaigns = list(selectors.campaign_list(handle=request.handle).order_by("-ends_at", "name"))
    context = {
        "campaigns": campaigns,
        "form": _campaign_form(),
        "errors": {},
        "can_act": can(request, c.FILES_ROLES),
    }
    context.update(extra)
    return context


@require_http_methods(["GET", "POST"])
@handle_page(c.READ_ROLES)
def campaigns_page(request, handle):
    """The handle's campaigns and a form to create one (every member reads; partnerships+ act)."""
    if request.method == "POST":
        if not can(request, c.FILES_ROLES):
            raise PermissionDenied("Your role cannot change campaigns.")
        try:
            campaign = services.campaign_create(handle=request.handle, actor=request.user, data=_campaign_data(request.POST))
        except ApplicationError as exc:
            context = _campaigns_context(request, errors=form_errors(exc), form=_campaign_form(data=request.POST))
            return render(request, "files/campaigns_page.html", context, status=400)
        messages.success(request, f"Campaign “{campaign.name}” created. Files you upload or edit can now follow it.")
        return redirect("campaigns-page", handle=handle)
    return render(request, "files/campaigns_page.html", _campaigns_context(request))


def _campaign_or_404(request, campaign_id):
    try:
        return selectors.campaign_get(handle=request.handle, campaign_id=campaign_id)
    except ApplicationError:
        raise Http404("No such campaign.")


def _campaign_context(request, campaign, **extra):
    files = [_decorate(f) for f in selectors.file_list(handle=request.handle, campaign=campaign)[:200]]
    context = {"campaign": campaign, "files": files, "form": _campaign_form(campaign), "errors": {}, "delete_errors": {}, "can_act": can(request, c.FILES_ROLES)}
    context.update(extra)
    return context


@require_http_methods(["GET", "POST"])
@handle_page(c.READ_ROLES)
def campaign_page(request, handle, campaign_id):
    """One campaign: edit its name and window (its files follow at once), and its files."""
    campaign = _campaign_or_404(request, campaign_id)
    if request.method == "POST":
        if not can(request, c.FILES_ROLES):
            raise PermissionDenied("Your role cannot change campaigns.")
        try:
            services.campaign_update(campaign=campaign, actor=request.user, data=_campaign_data(request.POST))
        except ApplicationError as exc:
            context = _campaign_context(request, campaign, errors=form_errors(exc), form=_campaign_form(data=request.POST))
            return render(request, "files/campaign_page.html", context, status=400)
        campaign = _campaign_or_404(request, campaign_id)
        messages.success(request, f"Saved. The {campaign.file_count} file{'s' if campaign.file_count != 1 else ''} of “{campaign.name}” follow the new dates at once, magic links included.")
        return redirect("campaign-page", handle=handle, campaign_id=campaign.id)
    return render(request, "files/campaign_page.html", _campaign_context(request, campaign))


@require_POST
@handle_page(c.FILES_ROLES)
def campaign_delete(request, handle, campaign_id):
    campaign = _campaign_or_404(request, campaign_id)
    try:
        services.campaign_delete(campaign=campaign, actor=request.user)
    except ApplicationError as exc:
        return render(request, "files/campaign_page.html", _campaign_context(request, campaign, delete_errors={"form": [exc.message]}), status=exc.status)
    messages.success(request, f"Campaign “{campaign.name}” deleted.")
    return redirect("campaigns-page", handle=handle)
