"""Releases: the Releases page, promote and rollback, scheduled releases of a deployment and
the publishing lock shown on every deployments page. They call the API's services.

Time fields are ``datetime-local`` inputs in the browser's time zone; ``app.js`` writes
their UTC value into a hidden field of the same name without ``_local``. Without
JavaScript the local field is read as UTC (the form says so).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Value, When
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from deployments import constants as dc
from deployments.forms import PromoteForm, PublishingLockForm, RollbackForm, ScheduleForm
from deployments.publishing_locks import publishing_lock_set
from deployments.schedules import scheduled_release_cancel, scheduled_release_create
from deployments.selectors.releases import release_list, release_live, scheduled_release_get
from deployments.services.releases import deployment_promote as promote
from deployments.services.releases import deployment_rollback as rollback
from deployments.views.deployment import attention, detail_response, refusal, rollback_confirm
from deployments.views.history import history_context
from deployments.views.pages import (
    PAGE_SIZE,
    deployment_or_404,
    filter_links,
    human,
    lock_context,
    role_note,
)
from gharart import constants as c
from gharart.dashboard import apply_error, can, handle_page, render_page
from gharart.errors import ApplicationError

PAGE = "deployments/releases_page.html"
RELEASE_GROUP_LABELS = ((dc.TARGET_SITE, "Profile site"), (dc.TARGET_DOCS, "Internal docs"))


def _releases_context(request, *, refusal=None, release_result=None):
    handle = request.handle
    target = request.GET.get("target") if request.GET.get("target") in dc.TARGETS else None
    releases = release_list(handle=handle, target=target).select_related("previous_deployment")
    if target is None:
        # Site and docs versions are numbered apart: grouped by target (site first), as the
        # deployments history is, never interleaved in one list.
        releases = releases.order_by(Case(When(target=dc.TARGET_SITE, then=Value(0)), default=Value(1)), "target", "-created_at", "-pk")
    page = Paginator(releases, PAGE_SIZE).get_page(request.GET.get("page"))
    live = {t: release_live(handle=handle, target=t) for t in dc.TARGETS}
    labels = dict(RELEASE_GROUP_LABELS)
    groups = []
    for rel in page:
        current = live.get(rel.target)
        rel.is_live_now = current is not None and current.deployment_id == rel.deployment_id
        rel.can_roll_back = not rel.is_live_now and rel.deployment.state == dc.READY
        rel.rollback_confirm = rollback_confirm(rel.deployment, current)
        if not groups or groups[-1]["target"] != rel.target:
            groups.append({"target": rel.target, "label": labels[rel.target], "id": f"releases-{rel.target}", "releases": []})
        groups[-1]["releases"].append(rel)
    base = reverse("releases-page", kwargs={"handle": handle.slug})
    return {
        "page": page,
        "releases": page.object_list,
        "release_groups": groups,
        "live": [{"label": labels[t], "release": live[t]} for t in dc.TARGETS],
        "filter_target": target,
        "filter_query": urlencode({"target": target}) if target else "",
        "target_links": filter_links(base, target, "target", dc.TARGET_CHOICES, {}),
        "can_act": can(request, c.SITE_ROLES),
        "role_note": role_note(request, "roll back"),
        "refusal": refusal,
        "release_result": release_result,
        "attention": attention(handle, release_result.warning_details) if release_result is not None else [],
        **lock_context(request),
    }


def _releases_response(request, status=200, **extra):
    return render_page(request, PAGE, _releases_context(request, **extra), fragment="releases", status=status)


def _posted(request, deployment_id, form_class):
    """The deployment of the URL and its posted form, cleaned: every field is a switch or
    free text, and the service checks them in the API's words."""
    form = form_class(request.POST)
    form.is_valid()
    return deployment_or_404(request, deployment_id), form


@require_GET
@handle_page(c.READ_ROLES)
def releases_page(request, handle):
    return _releases_response(request)


@require_POST
@handle_page(c.SITE_ROLES)
def deployment_promote(request, handle, deployment_id):
    dep, form = _posted(request, deployment_id, PromoteForm)
    try:
        result = promote(deployment=dep, actor=request.user, role=request.membership.role, **form.cleaned_data)
    except ApplicationError as exc:
        if exc.code == c.FORBIDDEN:
            raise PermissionDenied(exc.message)
        dep.refresh_from_db()
        if exc.code == c.VALIDATION_ERROR:
            return detail_response(request, dep, status=400, form=apply_error(form, exc))
        return detail_response(request, dep, status=exc.status, refusal=refusal(exc, dep), form=form)
    if request.htmx:
        return detail_response(request, result.deployment, release_result=result)
    messages.success(request, f"v{result.deployment.version} is live ({result.release.get_kind_display().lower()}).")
    return redirect("deployment-detail", handle=handle, deployment_id=dep.id)


@require_POST
@handle_page(c.SITE_ROLES)
def deployment_rollback(request, handle, deployment_id):
    dep, form = _posted(request, deployment_id, RollbackForm)
    from_releases = request.POST.get("from") == "releases"
    try:
        result = rollback(deployment=dep, actor=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        if from_releases:
            return _releases_response(request, status=exc.status, refusal=refusal(exc, dep))
        return detail_response(request, dep, status=exc.status, refusal=refusal(exc, dep))
    if request.htmx:
        if from_releases:
            return _releases_response(request, release_result=result)
        return detail_response(request, result.deployment, release_result=result)
    messages.success(request, f"Rolled back: v{result.deployment.version} is live again.")
    if from_releases:
        return redirect("releases-page", handle=handle)
    return redirect("deployment-detail", handle=handle, deployment_id=dep.id)


@require_POST
@handle_page(c.SITE_ROLES)
def deployment_schedule(request, handle, deployment_id):
    dep, form = _posted(request, deployment_id, ScheduleForm)
    try:
        sched = scheduled_release_create(deployment=dep, actor=request.user, role=request.membership.role, **form.service_values())
    except ApplicationError as exc:
        if exc.code == c.FORBIDDEN:
            raise PermissionDenied(exc.message)
        status = 400 if exc.code == c.VALIDATION_ERROR else exc.status
        return detail_response(request, dep, status=status, schedule_form=apply_error(form, exc))
    messages.success(request, f"v{dep.version} is scheduled to go live on {human(sched.at)}.")
    return redirect("deployment-detail", handle=handle, deployment_id=dep.id)


@require_POST
@handle_page(c.SITE_ROLES)
def deployment_schedule_cancel(request, handle, deployment_id, scheduled_id):
    dep = deployment_or_404(request, deployment_id)
    try:
        sched = scheduled_release_get(handle=request.handle, scheduled_id=scheduled_id)
        scheduled_release_cancel(scheduled=sched, actor=request.user)
    except ApplicationError as exc:
        form = ScheduleForm({})
        form.is_valid()
        form.add_error(None, exc.message)
        return detail_response(request, dep, status=exc.status, schedule_form=form)
    messages.success(request, f"The release of v{dep.version} planned for {human(sched.at)} is cancelled.")
    return redirect("deployment-detail", handle=handle, deployment_id=dep.id)


def _safe_next(request):
    target = request.POST.get("next") or ""
    prefix = f"/h/{request.handle.slug}/"
    if target.startswith(prefix) and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return prefix + "deployments/"


@require_POST
@handle_page(c.ADMIN_ROLES)
def publishing_lock(request, handle):
    form = PublishingLockForm(request.POST)
    form.is_valid()
    try:
        state = publishing_lock_set(handle=request.handle, actor=request.user, **form.service_values())
    except ApplicationError as exc:
        # The lock sits on every deployments page; its refusal shows on the Deployments page.
        return render_page(request, "deployments/deployments_page.html", history_context(request, lock_form=apply_error(form, exc)), status=400)
    if state["locked"]:
        until = f" until {human(state['until'])}" if state["until"] else " until it is lifted"
        messages.warning(request, f"Publishing is locked{until}.")
    else:
        messages.success(request, "Publishing lock lifted: promotes and rollbacks work again.")
    return redirect(_safe_next(request))
