"""The Deployments page: the history of a handle's deployments and the upload form."""

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Case, Value, When
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from deployments import constants as dc
from deployments import uploads
from deployments.forms import DeploymentUploadForm
from deployments.selectors.deployments import deployment_list
from deployments.selectors.ingest import upload_refusal_list
from deployments.selectors.live import live_deployment_ids
from deployments.services.ingest import deployment_create_from_archive
from deployments.views.pages import (
    PAGE_SIZE,
    deployment_or_404,
    filter_links,
    lock_context,
    role_note,
)
from files.uploads import StreamingUploadHandler
from gharart import constants as c
from gharart import throttles
from gharart.dashboard import apply_error, can, handle_page, render_page
from gharart.errors import ApplicationError

PAGE = "deployments/deployments_page.html"
DEPLOYMENTS_QUOTA = c.QUOTA_DEPLOYMENTS


def artifact_problem(exc) -> str:
    """An ``invalid_artifact`` refusal in words a person can act on."""
    d = exc.details or {}
    path = d.get("path") or ""
    reason = d.get("reason")
    if reason == dc.REASON_UNSAFE_PATH:
        return f"The archive contains a path that escapes the site folder: {path}"
    if reason == dc.REASON_SYMLINK:
        return f"The archive contains a symbolic link, which could point outside the site: {path}"
    if reason == dc.REASON_TOO_MANY_FILES:
        return f"The archive holds more than {d.get('max_files', settings.DEPLOY_MAX_FILES):,} files, the limit for one deployment."
    if reason == dc.REASON_FILE_TOO_LARGE:
        return f"{path or 'A file'} is larger than the limit of {filesizeformat(d.get('max_bytes', settings.DEPLOY_MAX_FILE_BYTES))} per file."
    if reason == dc.REASON_ARCHIVE_TOO_LARGE:
        return f"The site is larger than the limit of {filesizeformat(d.get('max_bytes', settings.DEPLOY_MAX_TOTAL_BYTES))} per deployment."
    if reason == dc.REASON_COMPRESSION_RATIO:
        what = path or "the archive"
        return f"The archive looks like a zip bomb: {what} unpacks to more than {d.get('max_ratio', settings.DEPLOY_MAX_COMPRESSION_RATIO)} times its compressed size."
    if reason == dc.REASON_EMPTY:
        return "The archive holds no files."
    return "The file is not a .zip or .tar.gz archive that can be read."


def history_context(request, *, form=None, created=None, lock_form=None, artifact_detail=""):
    target = request.GET.get("target") if request.GET.get("target") in dc.TARGETS else None
    state = request.GET.get("state") if request.GET.get("state") in dict(dc.STATE_CHOICES) else None
    rows = deployment_list(handle=request.handle, target=target, state=state)
    if target is None:
        # Site and docs versions are numbered apart: grouped by target (site first), not interleaved.
        rows = rows.order_by(Case(When(target=dc.TARGET_SITE, then=Value(0)), default=Value(1)), "target", "-created_at", "-pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    live_ids = live_deployment_ids(handle=request.handle)
    for dep in page:
        dep.is_live = live_ids.get(dep.target) == dep.id
    if created is not None:
        created.is_live = live_ids.get(created.target) == created.id
    base = reverse("deployments-page", kwargs={"handle": request.handle.slug})
    keep = {"target": target or "", "state": state or ""}
    return {
        "page": page,
        "deployments": page.object_list,
        "filter_target": target,
        "filter_state": state,
        "filter_query": urlencode({k: v for k, v in keep.items() if v}),
        "target_links": filter_links(base, target, "target", dc.TARGET_CHOICES, keep),
        "state_links": filter_links(base, state, "state", dc.STATE_CHOICES, keep),
        "target_choices": dc.TARGET_CHOICES,
        "can_act": can(request, c.SITE_ROLES),
        "role_note": role_note(request, "upload deployments"),
        "form": form or DeploymentUploadForm(),
        "artifact_detail": artifact_detail,
        "max_total_bytes": settings.DEPLOY_MAX_TOTAL_BYTES,
        "created": created,
        **lock_context(request, lock_form),
        "refusals": list(upload_refusal_list(handle=request.handle, target=target)[:10]) if page.number == 1 else [],
    }


@require_GET
@handle_page(c.READ_ROLES)
def deployments_page(request, handle):
    created = None
    if request.GET.get("created"):
        created = deployment_list(handle=request.handle).filter(pk=request.GET["created"]).first()
    return render_page(request, PAGE, history_context(request, created=created), fragment="history")


def _upload_failed(request, exc, form):
    detail = ""
    if exc.code == dc.INVALID_ARTIFACT:
        form.add_error("artifact", artifact_problem(exc))
        detail = exc.message
    elif exc.status == 413:  # the upload itself passed the size cap while streaming
        form.add_error("artifact", f"The archive is larger than the upload limit of {filesizeformat(uploads.archive_upload_cap())}.")
    else:
        apply_error(form, exc)
    context = history_context(request, form=form, artifact_detail=detail)
    return render_page(request, PAGE, context, fragment="deployments-section", status=exc.status)


def _upload(request, handle):
    form = DeploymentUploadForm(request.POST, request.FILES)
    form.is_valid()  # every field is optional text: the service checks them
    try:
        # The handle's daily deployments quota counts dashboard uploads like API ones.
        with throttles.quota_charged(DEPLOYMENTS_QUOTA, request.handle.slug):
            dep = deployment_create_from_archive(handle=request.handle, actor=request.user, **form.service_values())
    except ApplicationError as exc:
        return _upload_failed(request, exc, form)
    if request.htmx:
        return render_page(request, PAGE, history_context(request, created=dep), fragment="deployments-section")
    return redirect(reverse("deployments-page", kwargs={"handle": handle}) + f"?created={dep.id}")


@csrf_exempt
@require_POST
@handle_page(c.SITE_ROLES)
def deployment_upload(request, handle):
    # Before the body is read (the CSRF check reads it): the archive streams in as it
    # arrives (a bounded spool, or blob storage), stopped at the size cap.
    handler = StreamingUploadHandler(request, field="artifact", receiver=uploads.ArchiveReceiver, max_bytes=uploads.archive_upload_cap())
    request.upload_handlers = [handler]
    try:
        return csrf_protect(_upload)(request, handle)
    except ApplicationError as exc:  # raised by the upload handler while streaming
        form = DeploymentUploadForm({"target": dc.TARGET_SITE})
        form.is_valid()
        return _upload_failed(request, exc, form)
    finally:
        handler.abort()


@require_GET
@handle_page(c.READ_ROLES)
def deployment_row(request, handle, deployment_id):
    """One history row; rows of deployments still uploading or processing poll this."""
    dep = deployment_or_404(request, deployment_id)
    if not request.htmx:
        return redirect("deployment-detail", handle=handle, deployment_id=dep.id)
    dep.is_live = live_deployment_ids(handle=request.handle).get(dep.target) == dep.id
    if request.GET.get("part") == "summary":
        # The upload banner's line follows the row: never "processing" once the row says Ready.
        return render_page(request, PAGE, {"created": dep}, fragment="created-summary")
    return render_page(request, PAGE, {"dep": dep}, fragment="deployment-row")
