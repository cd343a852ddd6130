"""The Site intel dashboard (HTMX): hostnames, crawls with live progress, the snapshot,
history, and the replay panel embedded on a deployment's page.

Each action calls the same service as the API. A plain request gets the whole page (or a
redirect after a POST), so it all works without JS; an HTMX request gets the fragment of
the page that changed (``render_page``), refusals with their message and a swapped status.
"""

from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from gharart import constants as gc
from gharart.dashboard import SWAPPED_STATUSES, apply_error, can, handle_page, render_page
from gharart.errors import ApplicationError
from siteintel import constants as c
from siteintel import selectors, services, visual
from siteintel.forms import CrawlStartForm, HostnameForm, ReplayStartForm
from siteintel.hostnames import sites_hostname

PAGE_ROWS = 100
PAGE = "siteintel/site_intel.html"


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


def _active_runs(request):
    return list(selectors.crawl_run_list(handle=request.handle).filter(state__in=c.ACTIVE_STATES))


def _page(request, *, fragment=None, status=200, target=None, **extra):
    """The site intel page (or its ``fragment`` to HTMX) for ``target``, else the selected hostname."""
    target = target or _selected_target(request)
    context = {
        "target": target,
        "targets": selectors.hostname_list(handle=request.handle),
        "can_crawl": can(request, gc.SITE_ROLES),
        "can_register": can(request, gc.ADMIN_ROLES),
        "history": selectors.crawl_run_list(handle=request.handle, hostname=target.hostname)[:20],
        "replays": selectors.replay_run_list(handle=request.handle, hostname=target.hostname)[:10],
        "active_runs": _active_runs(request),
        "hostname_form": HostnameForm(),
        "crawl_form": None,
        **_snapshot_context(request, target),
    }
    context.update(extra)
    return render_page(request, PAGE, context, fragment=fragment, status=status)


@handle_page()
def site_intel(request, handle):
    return _page(request)


@handle_page()
def snapshot_section(request, handle):
    """The snapshot section (refreshed when a crawl finishes)."""
    return _page(request, fragment="snapshot")


@handle_page()
def pages_table(request, handle):
    """The pages table, filtered server-side by the search box."""
    return _page(request, fragment="pages-table")


@handle_page()
def history_section(request, handle):
    return _page(request, fragment="crawl-history")


@handle_page(gc.ADMIN_ROLES)
@require_POST
def hostname_add(request, handle):
    form = HostnameForm(request.POST)
    if form.is_valid():
        try:
            row = services.hostname_register(handle=request.handle, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            # A refusal that is not about the text (already registered) reads under the input.
            apply_error(form, exc, field="hostname")
        else:
            if not request.htmx:
                return redirect(_page_url(handle, row.hostname))
            return _page(request, fragment="hostnames", added=row.hostname)
    return _page(request, fragment="hostnames", status=400, hostname_form=form)


@handle_page(gc.ADMIN_ROLES)
@require_POST
def hostname_remove(request, handle):
    own = selectors.hostname_get(handle=request.handle, hostname=sites_hostname(request.handle))
    form = HostnameForm(request.POST)
    form.is_valid()
    try:
        services.hostname_remove(handle=request.handle, actor=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        if request.htmx:
            return _page(request, fragment="hostnames", status=exc.status, target=own, remove_error=exc.message)
    if not request.htmx:
        return redirect(_page_url(handle))
    return _page(request, fragment="hostnames", target=own)


@handle_page(gc.SITE_ROLES)
@require_POST
def crawl_start(request, handle):
    """'Crawl now': the same service as POST /v2/.../crawl-runs."""
    form = CrawlStartForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            run = services.crawl_run_start(handle=request.handle, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
            # With or without JavaScript the page answers a status app.js swaps (a hostname
            # that is not registered, or a broker that is down, as 400).
            if exc.status in SWAPPED_STATUSES:
                status = exc.status
        else:
            if not request.htmx:
                return redirect(_page_url(handle, form.cleaned_data["hostname"]))
            run.refresh_from_db()
            if run.is_active:
                return _page(request, fragment="crawl-jobs")
            # Already done (a worker was that quick, or jobs run inline): show its result and
            # let the snapshot and history refresh.
            response = _page(request, fragment="crawl-jobs", active_runs=[run, *_active_runs(request)])
            response["HX-Trigger"] = "siteintel-crawl-finished"
            return response
    return _page(request, fragment="crawl-jobs", status=status, crawl_form=form)


@handle_page()
def crawl_progress(request, handle, run_id):
    """One run's progress: polled every second while active, then it stops polling."""
    run = selectors.crawl_run_list(handle=request.handle).filter(pk=run_id).first()
    if run is None:
        return _page(request, fragment="run-gone", status=404, run_id=run_id)
    response = _page(request, fragment="run-progress", run=run)
    if not run.is_active:
        # Tell the page to refresh the snapshot and history sections (no full reload).
        response["HX-Trigger"] = "siteintel-crawl-finished"
    return response


@handle_page(gc.SITE_ROLES)
@require_POST
def crawl_cancel(request, handle, run_id):
    run = selectors.crawl_run_list(handle=request.handle).filter(pk=run_id).first()
    refusal = None
    if run is not None:
        try:
            run = services.crawl_run_cancel(run=run)
        except ApplicationError as exc:
            refusal = exc
            run.refresh_from_db()
    if not request.htmx:
        return redirect(_page_url(handle, run.hostname if run else None))
    if run is None:
        return _page(request, fragment="run-gone", status=404, run_id=run_id)
    status, message = (refusal.status, refusal.message) if refusal else (200, None)
    response = _page(request, fragment="run-progress", status=status, run=run, cancel_error=message)
    response["HX-Trigger"] = "siteintel-crawl-finished"
    return response


# --- Replay panel (embedded on /h/{handle}/deployments/{id}/) ------------------------------

def _replay_context(request, deployment_id, form):
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
        "form": form,
        "visual_unavailable": visual.unavailable_reason(),
        "visual_max_pages": c.VISUAL_MAX_PAGES_DEFAULT,
        "panel_url": reverse("siteintel-replay-panel", kwargs={"handle": request.handle.slug, "deployment_id": deployment_id}),
        "site_intel_url": reverse("siteintel-page", kwargs={"handle": request.handle.slug}),
    }


def _replay_start(request, deployment_id):
    """Start a replay from the panel's form: ``(form, status)``, the form unbound when it started."""
    form = ReplayStartForm(request.POST)
    if not can(request, gc.SITE_ROLES):
        form.is_valid()
        form.add_error(None, "Your role on this handle does not allow replays.")
        return form, 403
    if not form.is_valid():
        return form, 400
    try:
        services.replay_run_start(
            handle=request.handle,
            hostname=form.cleaned_data["hostname"] or sites_hostname(request.handle),
            deployment_id=deployment_id,
            crawl_run_id=form.cleaned_data["crawl_run_id"] or None,
            actor=request.user,
            options=form.options(),
        )
    except ApplicationError as exc:
        return apply_error(form, exc), exc.status
    return ReplayStartForm(), 200


@handle_page()
@require_http_methods(["GET", "POST"])
def replay_panel(request, handle, deployment_id):
    """GET: the panel (latest replay against the deployment, its diffs and gate result).
    POST (web managers+): start a replay — the same service as POST .../replay-runs."""
    form, status = ReplayStartForm(), 200
    if request.method == "POST":
        form, status = _replay_start(request, deployment_id)
        if not request.htmx and status == 200:
            return redirect(request.path)
    context = _replay_context(request, deployment_id, form)
    response = render_page(request, "siteintel/replay.html", context, fragment="replay-panel", status=status)
    latest = context["latest"]
    if request.htmx and request.htmx.trigger == f"replay-panel-{deployment_id}" and latest is not None and not latest.is_active:
        # The panel was polling and the replay is done: the deployment page may refresh
        # its gate (listen for this event with hx-trigger="siteintel-replay-finished from:body").
        response["HX-Trigger"] = "siteintel-replay-finished"
    return response
