"""Dashboard views of release planning: the publishing lock (on every deployments page) and
the scheduled releases of a deployment. They call the same services as the API.

Time fields are ``datetime-local`` inputs in the browser's time zone; ``app.js`` writes
their UTC value into a hidden field of the same name without ``_local``. Without
JavaScript the local field is read as UTC (the form says so).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from deployments import dashboard_views, publishing_locks, schedules
from deployments.dashboard_queries import human, lock_context
from deployments.selectors.releases import scheduled_release_get
from gharart import constants as c
from gharart.dashboard import form_errors, handle_page, posted_time
from gharart.errors import ApplicationError


def _safe_next(request):
    target = request.POST.get("next") or ""
    prefix = f"/h/{request.handle.slug}/"
    if target.startswith(prefix) and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return prefix + "deployments/"


@require_POST
@handle_page(c.ADMIN_ROLES)
def publishing_lock(request, handle):
    locked = request.POST.get("locked") in ("1", "true", "on")
    form = {"reason": request.POST.get("reason", ""), "until_local": request.POST.get("until_local", "")}
    try:
        state = publishing_locks.publishing_lock_set(
            handle=request.handle,
            locked=locked,
            reason=form["reason"],
            until=posted_time(request.POST, "until"),
            actor=request.user,
        )
    except ApplicationError as exc:
        context = dashboard_views._history_context(request, **lock_context(request, lock_errors=form_errors(exc), lock_form=form))
        return dashboard_views._page_or_partial(request, "deployments/deployments_page.html", "deployments/deployments_page.html", context, status=400)
    if state["locked"]:
        until = f" until {human(state['until'])}" if state["until"] else " until it is lifted"
        messages.warning(request, f"Publishing is locked{until}.")
    else:
        messages.success(request, "Publishing lock lifted: promotes and rollbacks work again.")
    return redirect(_safe_next(request))


def _detail_or_404(request, deployment_id):
    return dashboard_views._deployment_or_404(request, deployment_id)


@require_POST
@handle_page(c.SITE_ROLES)
def deployment_schedule(request, handle, deployment_id):
    dep = _detail_or_404(request, deployment_id)
    form = {"at_local": request.POST.get("at_local", ""), "reason": request.POST.get("reason", "")}
    try:
        sched = schedules.scheduled_release_create(
            deployment=dep,
            at=posted_time(request.POST, "at"),
            actor=request.user,
            role=request.membership.role,
            reason=form["reason"],
        )
    except ApplicationError as exc:
        if exc.code == c.FORBIDDEN:
            raise PermissionDenied(exc.message)
        errors = form_errors(exc)
        status = 400 if exc.code == c.VALIDATION_ERROR else exc.status
        return dashboard_views._detail_response(request, dep, status=status, schedule_errors=errors, schedule_form=form)
    messages.success(request, f"v{dep.version} is scheduled to go live on {human(sched.at)}.")
    return redirect("deployment-detail", handle=handle, deployment_id=dep.id)


@require_POST
@handle_page(c.SITE_ROLES)
def deployment_schedule_cancel(request, handle, deployment_id, scheduled_id):
    dep = _detail_or_404(request, deployment_id)
    try:
        sched = scheduled_release_get(handle=request.handle, scheduled_id=scheduled_id)
        schedules.scheduled_release_cancel(scheduled=sched, actor=request.user)
    except ApplicationError as exc:
        return dashboard_views._detail_response(request, dep, status=exc.status, schedule_errors={"form": [exc.message]})
    messages.success(request, f"The release of v{dep.version} planned for {human(sched.at)} is cancelled.")
    return redirect("deployment-detail", handle=handle, deployment_id=dep.id)
