"""The Site intel dashboard (HTMX): hostnames, crawls with live progress, the snapshot,
history, and the replay panel embedded on a deployment's page.

Each action calls the same service as the API. HTMX requests get the partial that changed;
plain requests get the whole page (or a redirect after a POST), so it all works without JS.
"""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from gharart import constants as gc
from gharart.dashboard import can, form_errors, handle_page
from gharart.errors import ApplicationError
from siteintel import constants as c
from siteintel import selectors, services, visual
from siteintel.hostnames import sites_hostname

PAGE_ROWS = 100


def _page_url(handle_slug, hostname=None):
    url = reverse("siteintel-page", kwargs={"handle": handle_slug})
    return f"{url}?hostname={hostname}" if hostname else url


def _selected_target(request):
    wanted = request.GET.get("hostname") or request.POST.get("hostname") or sites_hostname(request.handle)
    try:
        return selectors.hostname_get(handle=request.handle, hostname=wanted)
    except ApplicationError:
        return selectors.hostname_get(handle=request.handle, hostname=sites_hostname(request.handle))


def _snapshot_context(request, target):
    try:
        snapshot = selectors.snapshot_get(handle=request.handle, hostname=target.hostname)
    except ApplicationError:
        return {"snapshot": None}
    query = request.GET.get("q", "")
    status = request.GET.get("status", "")
    pages = selectors.snapshot_pages_search(crawl_run=snapshot["run"], query=query, status=status)
    return {
        "snapshot": snapshot,
        "pages": pages[:PAGE_ROWS],
        "pages_total": pages.count(),
        "page_rows": PAGE_ROWS,
        "q": query,
        "status_filter": status,
    }


def _jobs_context(request):
    return {"active_runs": list(selectors.crawl_run_list(handle=request.handle).filter(state__in=c.ACTIVE_STATES))}


def _base_context(request, target):
    return {
        "target": target,
        "targets": selectors.hostname_list(handle=request.handle),
        "can_crawl": can(request, gc.SITE_ROLES),
        "can_register": can(request, gc.ADMIN_ROLES),
        "history": selectors.crawl_run_list(handle=request.handle, hostname=target.hostname)[:20],
        "replays": selectors.replay_run_list(handle=request.handle, hostname=target.hostname)[:10],
        "errors": {},
        "form": {},
    }


@handle_page()
def site_intel(request, handle):
    target = _selected_target(request)
    context = {**_base_context(request, target), **_jobs_context(request), **_snapshot_context(request, target)}
    return render(request, "siteintel/site_intel.html", context)


@handle_page()
def snapshot_section(request, handle):
    """The snapshot section (refreshed when a crawl finishes)."""
    target = _selected_target(request)
    return render(request, "siteintel/_snapshot.html", {"target": target, **_snapshot_context(request, target)})


@handle_page()
def pages_table(request, handle):
    """The pages table, filtered server-side by the search box."""
    target = _selected_target(request)
    return render(request, "siteintel/_pages_table.html", {"target": target, **_snapshot_context(request, target)})


@handle_page()
def history_section(request, handle):
    target = _selected_target(request)
    return render(request, "siteintel/_history.html", _base_context(request, target))


@handle_page(gc.ADMIN_ROLES)
@require_POST
def hostname_add(request, handle):
    raw = request.POST.get("hostname", "")
    errors = {}
    try:
        row = services.hostname_register(handle=request.handle, hostname=raw, actor=request.user)
    except ApplicationError as exc:
        errors = form_errors(exc)
        if exc.code != gc.VALIDATION_ERROR:
            errors.setdefault("hostname", []).append(exc.message)
            errors["form"] = [m for m in errors.get("form", []) if m != exc.message]
    target = _selected_target(request)
    if not request.htmx:
        if errors:
            context = {**_base_context(request, target), **_jobs_context(request), **_snapshot_context(request, target)}
            context.update(errors=errors, form={"hostname": raw})
            return render(request, "siteintel/site_intel.html", context, status=400)
        return redirect(_page_url(handle, row.hostname))
    context = {**_base_context(request, target), "errors": errors, "form": {"hostname": raw} if errors else {}}
    if not errors:
        context["added"] = row.hostname
    return render(request, "siteintel/_hostnames.html", context, status=400 if errors else 200)


@handle_page(gc.ADMIN_ROLES)
@require_POST
def hostname_remove(request, handle):
    try:
        services.hostname_remove(handle=request.handle, hostname=request.POST.get("hostname", ""), actor=request.user)
    except ApplicationError:
        pass
    if not request.htmx:
        return redirect(_page_url(handle))
    target = selectors.hostname_get(handle=request.handle, hostname=sites_hostname(request.handle))
    return render(request, "siteintel/_hostnames.html", _base_context(request, target))


@handle_page(gc.SITE_ROLES)
@require_POST
def crawl_start(request, handle):
    """'Crawl now': the same service as POST /v2/.../crawl-runs."""
    errors = {}
    status = 200
    run = None
    hostname = request.POST.get("hostname", "")
    try:
        run = services.crawl_run_start(
            handle=request.handle,
            hostname=hostname,
            max_pages=request.POST.get("max_pages") or None,
            max_depth=request.POST.get("max_depth") or None,
            actor=request.user,
        )
    except ApplicationError as exc:
        errors = form_errors(exc)
        status = exc.status if exc.status in (400, 409, 422) else 400
    if not request.htmx:
        if errors:
            target = _selected_target(request)
            context = {**_base_context(request, target), **_jobs_context(request), **_snapshot_context(request, target)}
            context["crawl_errors"] = errors
            return render(request, "siteintel/site_intel.html", context, status=status)
        return redirect(_page_url(handle, hostname))
    context = {**_jobs_context(request), "crawl_errors": errors, "can_crawl": True}
    response = render(request, "siteintel/_jobs.html", context, status=status)
    if run is not None:
        run.refresh_from_db()
        if not run.is_active:
            # Already done (a worker was that quick, or jobs run inline): show its result and
            # let the snapshot and history refresh.
            context["active_runs"] = [run, *context["active_runs"]]
            response = render(request, "siteintel/_jobs.html", context, status=status)
            response["HX-Trigger"] = "siteintel-crawl-finished"
    return response


@handle_page()
def crawl_progress(request, handle, run_id):
    """One run's progress: polled every second while active, then it stops polling."""
    run = selectors.crawl_run_list(handle=request.handle).filter(pk=run_id).first()
    if run is None:
        return render(request, "siteintel/_progress_gone.html", {"run_id": run_id}, status=404)
    response = render(request, "siteintel/_progress.html", {"run": run, "can_crawl": can(request, gc.SITE_ROLES)})
    if not run.is_active:
        # Tell the page to refresh the snapshot and history sections (no full reload).
        response["HX-Trigger"] = "siteintel-crawl-finished"
    return response


@handle_page(gc.SITE_ROLES)
@require_POST
def crawl_cancel(request, handle, run_id):
    run = selectors.crawl_run_list(handle=request.handle).filter(pk=run_id).first()
    if run is not None:
        try:
            run = services.crawl_run_cancel(run=run)
        except ApplicationError:
            run.refresh_from_db()
    if not request.htmx:
        return redirect(_page_url(handle, run.hostname if run else None))
    if run is None:
        return render(request, "siteintel/_progress_gone.html", {"run_id": run_id}, status=404)
    response = render(request, "siteintel/_progress.html", {"run": run, "can_crawl": True})
    response["HX-Trigger"] = "siteintel-crawl-finished"
    return response


# --- Replay panel (embedded on /h/{handle}/deployments/{id}/) ------------------------------

def _replay_options(request):
    return {
        "visual": request.POST.get("visual") == "on",
        "visual_gate": request.POST.get("visual_gate") == "on",
    }


def _replay_context(request, deployment_id, errors=None):
    targets = selectors.hostname_list(handle=request.handle)
    runs = list(selectors.replay_run_list(handle=request.handle, deployment_id=deployment_id)[:5])
    latest = runs[0] if runs else None
    hostnames_with_snapshot = [t for t in targets if selectors.crawl_run_latest_succeeded(handle=request.handle, hostname=t.hostname)]
    return {
        "deployment_id": deployment_id,
        "latest": latest,
        "older": runs[1:],
        "targets": hostnames_with_snapshot,
        "selected_hostname": request.POST.get("hostname") or (latest.hostname if latest else sites_hostname(request.handle)),
        "can_replay": can(request, gc.SITE_ROLES),
        "errors": errors or {},
        "form": _replay_options(request) if errors else {},
        "visual_unavailable": visual.unavailable_reason(),
        "visual_max_pages": c.VISUAL_MAX_PAGES_DEFAULT,
        "panel_url": reverse("siteintel-replay-panel", kwargs={"handle": request.handle.slug, "deployment_id": deployment_id}),
        "site_intel_url": reverse("siteintel-page", kwargs={"handle": request.handle.slug}),
    }


@handle_page()
@require_http_methods(["GET", "POST"])
def replay_panel(request, handle, deployment_id):
    """GET: the panel (latest replay against the deployment, its diffs and gate result).
    POST (web managers+): start a replay — the same service as POST .../replay-runs."""
    errors = {}
    status = 200
    if request.method == "POST":
        if not can(request, gc.SITE_ROLES):
            errors = {"form": ["Your role on this handle does not allow replays."]}
            status = 403
        else:
            try:
                services.replay_run_start(
                    handle=request.handle,
                    hostname=request.POST.get("hostname") or sites_hostname(request.handle),
                    deployment_id=deployment_id,
                    crawl_run_id=request.POST.get("crawl_run_id") or None,
                    actor=request.user,
                    options=_replay_options(request),
                )
            except ApplicationError as exc:
                errors = form_errors(exc)
                status = exc.status if exc.status in (400, 404, 409, 422) else 400
        if not request.htmx and not errors:
            return redirect(request.path)
    context = _replay_context(request, deployment_id, errors)
    template = "siteintel/_replay_panel.html" if request.htmx else "siteintel/replay.html"
    response = render(request, template, context, status=status)
    latest = context["latest"]
    if request.htmx and request.htmx.trigger == f"replay-panel-{deployment_id}" and latest is not None and not latest.is_active:
        # The panel was polling and the replay is done: the deployment page may refresh
        # its gate (listen for this event with hx-trigger="siteintel-replay-finished from:body").
        response["HX-Trigger"] = "siteintel-replay-finished"
    return response
