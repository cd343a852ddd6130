"""The Files and Docs access dashboard pages (HTMX). They call the same services as the API.

A plain request gets the whole page (forms work without JavaScript: post, then redirect);
an HTMX request gets the fragment of the page it swaps (``render_page``). Form errors come
back as that fragment with a status app.js swaps.
"""

import math

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from files import constants as fc
from files import docs, links, selectors, services
from files.forms import CampaignForm, DocsPolicyForm, FileEditForm, FileUploadForm, MagicLinkForm
from files.models import MagicLink
from files.uploads import StreamingUploadHandler, content_length_too_large, too_large
from gharart import constants as c
from gharart.dashboard import apply_error, can, found_or_404, handle_page, render_page
from gharart.errors import ApplicationError
from gharart.humanize import relative_words

FILES_PAGE = "files/files_page.html"
DOCS_PAGE = "files/docs_access_page.html"


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


def _files_context(request, *, cards=None, **extra):
    """The Files page; ``cards`` maps a file id to what its card shows besides the file
    (its refused ``edit_form`` or ``link_form``)."""
    cards = cards or {}
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
        for name, value in cards.get(f.id, {}).items():
            setattr(f, name, value)
        files.append(f)
    campaigns = _campaigns_by_start(request)
    context = {
        "files": files,
        "file_groups": _grouped(files, campaigns),
        "campaigns": campaigns,
        "access_choices": fc.ACCESS_CHOICES,
        "filter_access": access,
        "max_upload_bytes": settings.FILES_MAX_UPLOAD_BYTES,
        "upload_form": FileUploadForm(),
        "open_file": None,
        "can_edit": can(request, c.FILES_ROLES),
    }
    context.update(extra)
    return context


def _campaigns_by_start(request):
    return list(selectors.campaign_list(handle=request.handle).order_by("starts_at", "name"))


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


def _file_or_404(request, file_id):
    return found_or_404(selectors.file_get, "No such file.", handle=request.handle, file_id=file_id)


def _files_page(request, *, status=200, **extra):
    return render_page(request, FILES_PAGE, _files_context(request, **extra), fragment="files-section", status=status)


@handle_page(c.READ_ROLES)
def files_page(request, handle):
    # Every member reads the page; the forms on it are for partnerships+ (``can_edit``).
    return _files_page(request)


def _upload(request, handle):
    form = FileUploadForm(request.POST, request.FILES)
    try:
        if content_length_too_large(request, settings.FILES_MAX_UPLOAD_BYTES):
            raise too_large(settings.FILES_MAX_UPLOAD_BYTES)
        if not form.is_valid():
            return _files_page(request, status=400, upload_form=form)
        file = services.file_upload(handle=request.handle, actor=request.user, **form.upload_kwargs())
    except ApplicationError as exc:
        form.is_valid()
        apply_error(form, exc, field="file" if exc.code == fc.FILE_TOO_LARGE else None)
        # The quota refusal keeps its 429 and Retry-After (app.js swaps 429 bodies too).
        response = _files_page(request, status=exc.status, upload_form=form)
        if exc.code == c.DAILY_WRITE_LIMIT_EXCEEDED:
            response["Retry-After"] = exc.headers.get("Retry-After", "")
        return response
    if request.htmx:
        return _files_page(request, uploaded=file, open_file=file.id)
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
        form = FileUploadForm({})
        form.is_valid()
        form.add_error("file", exc.message)
        return _files_page(request, status=exc.status, upload_form=form)
    finally:
        handler.abort()


def _file_response(request, handle, file_id, *, refused=None, **extra):
    """The answer to a change of one file: its card to HTMX, else the Files page (open at
    the file) or back to it. ``refused`` holds the card's refused form (``edit_form=``/``link_form=``)."""
    status = 400 if refused else 200
    if request.htmx:
        file = _decorate(selectors.file_get(handle=request.handle, file_id=file_id))
        file.link_rows = list(selectors.magic_link_list(file=file)[:100])
        for name, value in (refused or {}).items():
            setattr(file, name, value)
        context = {"f": file, "access_choices": fc.ACCESS_CHOICES, "minted": None, "open": True, "can_edit": can(request, c.FILES_ROLES), "campaigns": _campaigns_by_start(request), **extra}
        return render_page(request, FILES_PAGE, context, fragment="file-card", status=status)
    if refused or extra.get("minted"):
        return _files_page(request, status=status, open_file=file_id, cards={file_id: refused or {}}, minted=extra.get("minted"))
    return redirect(f"/h/{handle}/files/#file-{file_id}")


@require_POST
@handle_page(c.FILES_ROLES)
def file_edit(request, handle, file_id):
    file = _file_or_404(request, file_id)
    form = FileEditForm(request.POST)
    if not form.is_valid():
        return _file_response(request, handle, file_id, refused={"edit_form": form})
    changes = form.changes()
    try:
        before = file.access
        services.file_update(file=file, actor=request.user, **changes)
        if changes.get("access") and changes["access"] != before and not request.htmx:
            messages.warning(request, "Access changed: every magic link of the file was revoked.")
    except ApplicationError as exc:
        return _file_response(request, handle, file_id, refused={"edit_form": apply_error(form, exc)})
    return _file_response(request, handle, file_id, saved=True)


@require_POST
@handle_page(c.FILES_ROLES)
def file_delete(request, handle, file_id):
    file = _file_or_404(request, file_id)
    services.file_delete(file=file, actor=request.user)
    if request.htmx:
        return _files_page(request, deleted=file.name)
    messages.success(request, f"Deleted {file.name}.")
    return redirect("files-page", handle=handle)


@require_POST
@handle_page(services.MAGIC_LINK_MINT_ACCESS.roles)
def link_mint(request, handle, file_id):
    file = _file_or_404(request, file_id)
    form = MagicLinkForm(request.POST)
    form.is_valid()
    try:
        link, token = services.magic_link_mint(file=file, actor=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        return _file_response(request, handle, file_id, refused={"link_form": apply_error(form, exc)})
    minted = {"link": link, "url": links.public_file_url(file.id, token), "sent": form.cleaned_data["send"], "file_id": file.id}
    return _file_response(request, handle, file_id, minted=minted)


@require_POST
@handle_page(c.FILES_ROLES)
def link_revoke(request, handle, file_id, link_id):
    file = _file_or_404(request, file_id)
    try:
        services.magic_link_revoke(file=file, link_id=link_id, actor=request.user)
    except ApplicationError as exc:
        form = MagicLinkForm({})
        form.is_valid()
        return _file_response(request, handle, file_id, refused={"link_form": apply_error(form, exc)})
    return _file_response(request, handle, file_id)


# --- Docs access --------------------------------------------------------------------------


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


def _docs_context(request, policy, *, form=None, **extra):
    deployment = docs.live_docs_deployment(handle=request.handle)
    pages = docs.docs_pages(deployment=deployment)
    context = {
        "policy": policy,
        "form": form or DocsPolicyForm.of(policy),
        "warnings": _titled(docs.policy_warnings(handle=request.handle, policy=policy, pages=pages)),
        "preview": docs.who_can_read(policy=policy, pages=pages),
        "deployment": deployment,
        "window_open": docs.window_open(policy),
        "log": selectors.docs_access_log(handle=request.handle),
        "visibility_choices": fc.VISIBILITY_CHOICES,
        "can_edit": can(request, c.FILES_ROLES),
        "edge_url": docs.cookie_path(request.handle.slug),
        "campaigns": _campaigns_by_start(request) if can(request, c.FILES_ROLES) else [],
    }
    context.update(extra)
    return context


CONFIRM_PUBLIC = (
    "Switching to “Anyone” lets everyone on the internet read the docs that are not confidential, "
    "and signs every partner out. Tick the confirmation below and save again to switch."
)


@require_POST
@handle_page(c.READ_ROLES)
def docs_access_warnings(request, handle):
    """The warnings the form's current values would get on save (HTMX, live; nothing saved)."""
    if not request.htmx:
        return redirect("docs-access-page", handle=handle)
    form = DocsPolicyForm(request.POST)
    context = {"warnings": [], "live": True, "preview_form": form}
    if form.is_valid():
        try:
            draft = services.docs_policy_preview(handle=request.handle, data=form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            pages = docs.docs_pages(deployment=docs.live_docs_deployment(handle=request.handle))
            context["warnings"] = _titled(docs.policy_warnings(handle=request.handle, policy=draft, pages=pages))
    return render_page(request, DOCS_PAGE, context, fragment="policy-warnings")


@require_http_methods(["GET", "POST"])
@handle_page(c.READ_ROLES)
def docs_access_page(request, handle):
    policy = selectors.docs_policy_get(handle=request.handle)
    if request.method == "GET":
        return render_page(request, DOCS_PAGE, _docs_context(request, policy), fragment="docs-access-section")
    if not can(request, c.FILES_ROLES):
        raise PermissionDenied("Your role cannot change the docs access policy.")
    form = DocsPolicyForm(request.POST)
    extra = {}
    if form.is_valid():
        data = form.cleaned_data
        if data["visibility"] == fc.VISIBILITY_PUBLIC and policy.visibility != fc.VISIBILITY_PUBLIC and not request.POST.get("confirm_public"):
            # "Anyone" signs every partner out and opens the docs to the world: ask first.
            form.add_error("visibility", CONFIRM_PUBLIC)
            extra["confirm_public"] = True
        else:
            try:
                policy = services.docs_policy_update(handle=request.handle, actor=request.user, data=data)
            except ApplicationError as exc:
                apply_error(form, exc)
            else:
                if not request.htmx:
                    messages.success(request, f"Saved. Policy version {policy.version}; partners signed in before must sign in again.")
                    return redirect("docs-access-page", handle=handle)
                return render_page(request, DOCS_PAGE, _docs_context(request, policy, saved=True), fragment="docs-access-section")
    return render_page(request, DOCS_PAGE, _docs_context(request, policy, form=form, **extra), fragment="docs-access-section", status=400)


# --- Campaigns ------------------------------------------------------------------------------


def _campaigns_context(request, **extra):
    campaigns = list(selectors.campaign_list(handle=request.handle).order_by("-ends_at", "name"))
    context = {"campaigns": campaigns, "form": CampaignForm.of(), "can_act": can(request, c.FILES_ROLES)}
    context.update(extra)
    return context


@require_http_methods(["GET", "POST"])
@handle_page(c.READ_ROLES)
def campaigns_page(request, handle):
    """The handle's campaigns and a form to create one (every member reads; partnerships+ act)."""
    if request.method == "POST":
        if not can(request, c.FILES_ROLES):
            raise PermissionDenied("Your role cannot change campaigns.")
        form = CampaignForm(request.POST)
        if form.is_valid():
            try:
                campaign = services.campaign_create(handle=request.handle, actor=request.user, data=form.cleaned_data)
            except ApplicationError as exc:
                apply_error(form, exc)
            else:
                messages.success(request, f"Campaign “{campaign.name}” created. Files you upload or edit can now follow it.")
                return redirect("campaigns-page", handle=handle)
        return render_page(request, "files/campaigns_page.html", _campaigns_context(request, form=form), status=400)
    return render_page(request, "files/campaigns_page.html", _campaigns_context(request))


def _campaign_or_404(request, campaign_id):
    return found_or_404(selectors.campaign_get, "No such campaign.", handle=request.handle, campaign_id=campaign_id)


def _campaign_page(request, campaign, *, status=200, **extra):
    files = [_decorate(f) for f in selectors.file_list(handle=request.handle, campaign=campaign)[:200]]
    context = {"campaign": campaign, "files": files, "form": CampaignForm.of(campaign), "delete_error": None, "can_act": can(request, c.FILES_ROLES)}
    context.update(extra)
    return render_page(request, "files/campaign_page.html", context, status=status)


@require_http_methods(["GET", "POST"])
@handle_page(c.READ_ROLES)
def campaign_page(request, handle, campaign_id):
    """One campaign: edit its name and window (its files follow at once), and its files."""
    campaign = _campaign_or_404(request, campaign_id)
    if request.method != "POST":
        return _campaign_page(request, campaign)
    if not can(request, c.FILES_ROLES):
        raise PermissionDenied("Your role cannot change campaigns.")
    form = CampaignForm(request.POST)
    if form.is_valid():
        try:
            services.campaign_update(campaign=campaign, actor=request.user, data=form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            campaign = _campaign_or_404(request, campaign_id)
            messages.success(request, f"Saved. The {campaign.file_count} file{'s' if campaign.file_count != 1 else ''} of “{campaign.name}” follow the new dates at once, magic links included.")
            return redirect("campaign-page", handle=handle, campaign_id=campaign.id)
    return _campaign_page(request, campaign, status=400, form=form)


@require_POST
@handle_page(c.FILES_ROLES)
def campaign_delete(request, handle, campaign_id):
    campaign = _campaign_or_404(request, campaign_id)
    try:
        services.campaign_delete(campaign=campaign, actor=request.user)
    except ApplicationError as exc:
        return _campaign_page(request, campaign, status=exc.status, delete_error=exc.message)
    messages.success(request, f"Campaign “{campaign.name}” deleted.")
    return redirect("campaigns-page", handle=handle)
