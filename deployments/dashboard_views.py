"""The Deployments, Releases and Site dashboard pages (HTMX). Every action calls the API's service.

A plain request gets the whole page and every form works without JavaScript (post, then
redirect, or the page re-rendered with its errors). An HTMX request gets the partial it
swaps; refusals and form errors come back as that partial with a 4xx status, which
``app.js`` swaps in and focuses.
"""

import json
import re

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve, reverse
from django.utils import dateparse
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from deployments import constants as dc
from deployments import dashboard_queries, uploads
from deployments.dashboard_queries import human, lock_context
from deployments.selectors.deployments import (
    deployment_files_by_type,
    deployment_get,
    deployment_list,
    deployment_site_rules_summary,
)
from deployments.selectors.ingest import upload_refusal_list
from deployments.selectors.live import deployment_path_explain, live_deployment_ids
from deployments.selectors.releases import (
    deployment_gate_checks,
    deployment_gate_open,
    deployment_releases,
    release_list,
    scheduled_release_list,
)
from deployments.selectors.site import (
    binding_get,
    binding_list,
    binding_status,
    site_status,
    submission_list,
)
from deployments.services import releases as releases_services
from deployments.services import site as site_services
from deployments.services.ingest import deployment_create_from_archive
from deployments.services.releases import deployment_preview_report
from deployments.services.site import handle_links_update, site_mode_set
from files.uploads import StreamingUploadHandler
from gharart import constants as c
from gharart import throttles
from gharart.dashboard import can, form_errors, handle_page, swap_status
from gharart.errors import ApplicationError
from gharart.humanize import relative_words
from gharart.templatetags.gharart_humanize import readable_time

PAGE_SIZE = 50
DEPLOYMENTS_QUOTA = c.QUOTA_DEPLOYMENTS
SUBMISSIONS_SHOWN = 10
MODE_HELP = {
    c.SITE_MODE_LINKS: "A generated page with your display name, bio and links.",
    c.SITE_MODE_DEPLOYMENT: "The live site deployment, with its function bindings.",
    c.SITE_MODE_MAINTENANCE: "A “back soon” page with status 503 and Retry-After.",
}
SERVING_TEXT = {
    dc.SERVING_LINKS_PAGE: "the links page",
    dc.SERVING_DEPLOYMENT: "the live site deployment",
    dc.SERVING_MAINTENANCE_PAGE: "the maintenance page (503)",
    dc.SERVING_NO_SITE: "a 404 “no site published” page",
}


# --- Small helpers -----------------------------------------------------------------------

def _when(moment):
    """A time in a confirmation dialog (plain text, so in UTC words): "1 Dec 2026, 19:00 UTC (3 hours ago)"."""
    return f"{readable_time(moment)} ({relative_words(moment)})"


def _status_for(request, exc):
    return swap_status(request, exc.status)


def _page_or_partial(request, page, partial, context, status=200):
    return render(request, partial if request.htmx else page, context, status=status)


def _errors(exc):
    """Field errors of a validation error; any other refusal is one message for the whole form."""
    if exc.code == c.VALIDATION_ERROR:
        return form_errors(exc)
    return {"form": [exc.message]}


def _deployment_or_404(request, deployment_id):
    try:
        return deployment_get(handle=request.handle, deployment_id=deployment_id)
    except ApplicationError:
        raise Http404("No such deployment.")


def _role_note(request, verb):
    return f"Your role ({request.membership.get_role_display()}) can see this page but not {verb}."


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


def _upload_cap():
    return uploads.archive_upload_cap()


# --- Deployments: history and upload ------------------------------------------------------

def _filter_links(base, current, name, choices, keep):
    links = []
    for value, label in [("", "All" if name == "target" else "Any state"), *choices]:
        params = {k: v for k, v in keep.items() if v}
        params[name] = value
        query = urlencode({k: v for k, v in params.items() if v})
        links.append({"label": label, "url": f"{base}?{query}" if query else base, "current": (current or "") == value})
    return links


def _history_context(request, **extra):
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
    base = reverse("deployments-page", kwargs={"handle": request.handle.slug})
    keep = {"target": target or "", "state": state or ""}
    context = {
        "page": page,
        "deployments": page.object_list,
        "filter_target": target,
        "filter_state": state,
        "filter_query": urlencode({k: v for k, v in keep.items() if v}),
        "target_links": _filter_links(base, target, "target", dc.TARGET_CHOICES, keep),
        "state_links": _filter_links(base, state, "state", dc.STATE_CHOICES, keep),
        "target_choices": dc.TARGET_CHOICES,
        "can_act": can(request, c.SITE_ROLES),
        "role_note": _role_note(request, "upload deployments"),
        "upload_form": {"target": dc.TARGET_SITE, "message": ""},
        "upload_errors": {},
        "max_total_bytes": settings.DEPLOY_MAX_TOTAL_BYTES,
        "created": None,
        **lock_context(request),
        "refusals": list(upload_refusal_list(handle=request.handle, target=target)[:10]) if page.number == 1 else [],
    }
    context.update(extra)
    if context["created"] is not None:
        context["created"].is_live = live_ids.get(context["created"].target) == context["created"].id
    return context


@require_GET
@handle_page(c.READ_ROLES)
def deployments_page(request, handle):
    created = None
    if request.GET.get("created"):
        created = deployment_list(handle=request.handle).filter(pk=request.GET["created"]).first()
    context = _history_context(request, created=created)
    return _page_or_partial(request, "deployments/deployments_page.html", "deployments/_history.html", context)


def _upload_failed(request, exc, form):
    if exc.code == dc.INVALID_ARTIFACT:
        errors = {"artifact": [artifact_problem(exc)], "artifact_detail": exc.message}
    elif exc.status == 413:  # the upload itself passed the size cap while streaming
        errors = {"artifact": [f"The archive is larger than the upload limit of {filesizeformat(_upload_cap())}."]}
    else:
        errors = _errors(exc)
    context = _history_context(request, upload_errors=errors, upload_form=form)
    return _page_or_partial(request, "deployments/deployments_page.html", "deployments/_deployments_section.html", context, status=_status_for(request, exc))


def _upload(request, handle):
    form = {"target": request.POST.get("target", dc.TARGET_SITE), "message": request.POST.get("message", "")}
    slug = request.handle.slug
    try:
        # The handle's daily deployments quota counts dashboard uploads like API ones.
        with throttles.quota_charged(DEPLOYMENTS_QUOTA, slug):
            dep = deployment_create_from_archive(
                handle=request.handle,
                upload=request.FILES.get("artifact"),
                target=form["target"],
                message=form["message"],
                actor=request.user,
            )
    except ApplicationError as exc:
        return _upload_failed(request, exc, form)
    if request.htmx:
        return render(request, "deployments/_deployments_section.html", _history_context(request, created=dep))
    return redirect(reverse("deployments-page", kwargs={"handle": handle}) + f"?created={dep.id}")


@csrf_exempt
@require_POST
@handle_page(c.SITE_ROLES)
def deployment_upload(request, handle):
    # Before the body is read (the CSRF check reads it): the archive streams in as it
    # arrives (a bounded spool, or blob storage), stopped at the size cap.
    handler = StreamingUploadHandler(request, field="artifact", receiver=uploads.ArchiveReceiver, max_bytes=_upload_cap())
    request.upload_handlers = [handler]
    try:
        return csrf_protect(_upload)(request, handle)
    except ApplicationError as exc:  # raised by the upload handler while streaming
        return _upload_failed(request, exc, {"target": dc.TARGET_SITE, "message": ""})
    finally:
        handler.abort()


@require_GET
@handle_page(c.READ_ROLES)
def deployment_row(request, handle, deployment_id):
    """One history row; rows of deployments still uploading or processing poll this."""
    dep = _deployment_or_404(request, deployment_id)
    if not request.htmx:
        return redirect("deployment-detail", handle=handle, deployment_id=dep.id)
    dep.is_live = live_deployment_ids(handle=request.handle).get(dep.target) == dep.id
    if request.GET.get("part") == "summary":
        # The upload banner's line follows the row: never "processing" once the row says Ready.
        return render(request, "deployments/_created_summary.html", {"created": dep})
    return render(request, "deployments/_deployment_row.html", {"dep": dep})


# --- One deployment: facts, preview, gate, promote, rollback --------------------------------

def _replay_panel_url(handle, deployment):
    """The site-intel replay panel's URL when that page exists in this installation."""
    path = f"/h/{handle.slug}/site-intel/replay/{deployment.id}/"
    try:
        resolve(path)
    except Resolver404:
        return None
    return path


def _promote_confirm(dep, live):
    if live is None:
        return f"Promote v{dep.version} to live? Nothing is live on the {dep.get_target_display().lower()} yet."
    return f"Promote v{dep.version} to live? It replaces v{live.deployment.version}, live since {_when(live.created_at)}."


def _promote_blocked(dep, gate_checks, can_force):
    """Why a normal promote is not available now, in words (None when the gate is open)."""
    if deployment_gate_open(deployment=dep):
        return None
    replay = gate_checks.get("replay") or {}
    if dep.gate_status == dc.GATE_FAILED:
        regressions = (replay.get("summary") or {}).get("regressions")
        found = f"found {regressions} regression{'s' if regressions != 1 else ''}" if regressions else "found regressions"
        text = f"Promote is not available: the latest replay against v{dep.version} {found}. Fix the site and upload it again, or run a new replay."
    else:
        text = f"Promote is not available yet: nobody has opened the preview of v{dep.version}. Open the preview, check the site, then promote."
    if can_force:
        text += " As an owner or admin you can force it with a reason."
    return text


def _rollback_confirm(dep, live):
    if live is None:
        return f"Roll back to v{dep.version}? Nothing is live on the {dep.get_target_display().lower()} now."
    return f"Roll back to v{dep.version}? It replaces v{live.deployment.version}, live since {_when(live.created_at)}."


def _refusal(exc, dep):
    """A refused preview, promote or rollback in words, with what to do next."""
    d = exc.details or {}
    text = {"code": exc.code, "title": exc.message, "help": "", "missing_files": []}
    if exc.code == dc.PREVIEW_GATE_PENDING:
        if d.get("gate_status") == dc.GATE_FAILED:
            text["title"] = f"v{dep.version} cannot be promoted: the latest replay against it found regressions."
            text["help"] = "Fix the site and upload it again, run a new replay, or ask an owner or admin to force the promote with a reason."
        else:
            text["title"] = f"v{dep.version} cannot be promoted yet: nobody has opened its preview."
            text["help"] = "Open the preview below, check the site, then promote."
    elif exc.code == dc.DEPLOYMENT_NOT_READY:
        text["title"] = f"v{dep.version} is {d.get('state', dep.state)}: only ready deployments can be previewed or promoted."
        text["help"] = "Wait until it is ready, or upload the site again if it failed."
    elif exc.code == dc.DEPLOYMENT_ARTIFACT_MISSING:
        text["missing_files"] = d.get("missing_files", [])
        text["title"] = f"{len(text['missing_files'])} file(s) of v{dep.version} are missing from storage, so its preview cannot render and it cannot go live."
        text["help"] = "The deployment lists these files, but their bytes are no longer in the blob store. Upload the site again to create a complete deployment."
    elif exc.code == dc.NOT_A_PREVIOUS_RELEASE:
        text["help"] = "Roll back only to a deployment that was live before. To publish a new one, promote it."
    elif exc.code == dc.PUBLISHING_LOCKED:
        until = d.get("until")
        when = f"until {human(dateparse.parse_datetime(until))}" if until else "until an owner or admin lifts it"
        text["title"] = f"Publishing is locked {when}: {d.get('reason', '')}"
        text["help"] = "Nothing went live. Wait for the lock to end, ask an owner or admin to lift it, or (owners and admins) force the promote with a reason."
    return text


def _attention(handle, warnings):
    """Warnings after a release, each with the link that fixes it (in words)."""
    site = reverse("site-page", kwargs={"handle": handle.slug})
    fixes = {
        dc.WARNING_SITE_MODE_NOT_DEPLOYMENT: (f"{site}#site-mode", "Fix it: switch the site mode"),
        dc.WARNING_SITE_MODE_MISMATCH: (f"{site}#site-mode", "Fix it: switch the site mode"),
        dc.WARNING_STALE_FUNCTION_BINDINGS: (f"{site}#bindings", "Fix it: review the function bindings"),
        dc.WARNING_MISSING_ARTIFACT_FILES: (reverse("deployments-page", kwargs={"handle": handle.slug}), "Fix it: upload the site again"),
    }
    out = []
    for w in warnings or []:
        url, text = fixes.get(w.get("code"), (None, ""))
        routes = (w.get("details") or {}).get("routes")
        if w.get("code") == dc.WARNING_STALE_FUNCTION_BINDINGS and routes:
            text += f" ({', '.join(routes)})"
        message = w.get("message", "")
        if w.get("code") == dc.WARNING_SITE_MODE_NOT_DEPLOYMENT:
            # The API's message names the mode by its code; the page names it as the form does.
            mode = dict(c.SITE_MODE_CHOICES).get((w.get("details") or {}).get("mode"), "another mode")
            message = f"The site mode is “{mode}”, so /profiles/{handle.slug}/ does not serve this deployment. Switch the site mode to “Deployed site”."
        out.append({**w, "message": message, "fix_url": url, "fix_text": text})
    return out


def _detail_context(request, dep, **extra):
    handle = request.handle
    live = dashboard_queries.live_release(handle=handle, target=dep.target)
    is_live = live is not None and live.deployment_id == dep.id
    releases = list(deployment_releases(deployment=dep).select_related("previous_deployment")[:50])
    was_live = deployment_releases(deployment=dep).filter(deployment=dep).exists()
    context = {
        "dep": dep,
        "is_live": is_live,
        "live": live,
        "files_by_type": deployment_files_by_type(deployment=dep) if dep.state == dc.READY else {},
        "site_rules": deployment_site_rules_summary(deployment=dep) if dep.state == dc.READY else None,
        "rules_test": None,
        "gate_checks": {check["name"]: check for check in deployment_gate_checks(deployment=dep)},
        "gate_open": deployment_gate_open(deployment=dep),
        "releases": releases,
        "can_rollback_to": was_live and not is_live and dep.state == dc.READY,
        "promote_confirm": _promote_confirm(dep, live),
        "force_confirm": f"Force: {_promote_confirm(dep, live)} The preview gate is skipped and this is audited.",
        "rollback_confirm": _rollback_confirm(dep, live),
        "replay_panel_url": _replay_panel_url(handle, dep),
        "can_act": can(request, c.SITE_ROLES),
        "can_force": can(request, c.ADMIN_ROLES),
        "role_note": _role_note(request, "preview-gate, promote or roll back deployments"),
        "polling": dep.state not in dc.FINAL_STATES,
        "preview_ttl_hours": int(settings.PREVIEW_URL_TTL.total_seconds() // 3600),
        "report": None,
        "refusal": None,
        "release_result": None,
        "force_errors": {},
        "form": {},
        "attention": [],
        "schedules": list(scheduled_release_list(handle=handle, deployment=dep)[:20]),
        "schedule_errors": {},
        "schedule_form": {},
        **lock_context(request),
    }
    context.update(extra)
    context["promote_blocked"] = _promote_blocked(dep, context["gate_checks"], context["can_force"])
    if context["release_result"] is not None:
        context["attention"] = _attention(handle, context["release_result"].warning_details)
    elif is_live and dep.target == dc.TARGET_SITE:
        context["attention"] = _attention(handle, dashboard_queries.site_attention(handle=handle, live_site_id=dep.id))
    return context


def _detail_response(request, dep, status=200, **extra):
    context = _detail_context(request, dep, **extra)
    return _page_or_partial(request, "deployments/deployment_page.html", "deployments/_deployment_main.html", context, status=status)


@require_GET
@handle_page(c.READ_ROLES)
def deployment_detail(request, handle, deployment_id):
    return _detail_response(request, _deployment_or_404(request, deployment_id))


RULES_TEST_MAX_CHARS = 1000


def _rules_test(dep, raw):
    """The "test a path" box: ``{"path","text","decision"}`` or ``{"path","error"}``."""
    path = (raw or "").strip()
    if not path:
        return {"path": path, "error": "Enter a path of the site, such as /about or /blog/2024/."}
    if len(path) > RULES_TEST_MAX_CHARS:
        return {"path": path[:100], "error": f"A path is at most {RULES_TEST_MAX_CHARS} characters."}
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return {"path": "", "error": "The path holds a control character."}
    if path.startswith(("http://", "https://")):
        return {"path": path, "error": "Enter only the path, starting with / (for example /about), not a whole address."}
    if not path.startswith("/"):
        path = "/" + path
    if dep.state != dc.READY:
        return {"path": path, "error": "Only a ready deployment can be tested."}
    return deployment_path_explain(deployment=dep, path=path)


@require_GET
@handle_page(c.READ_ROLES)
def deployment_rules_test(request, handle, deployment_id):
    """Which rule or file of this deployment answers a path (the serving decision itself)."""
    dep = _deployment_or_404(request, deployment_id)
    result = _rules_test(dep, request.GET.get("path"))
    status = 400 if result.get("error") else 200
    if request.htmx:
        return render(request, "deployments/_rules_test_result.html", {"rules_test": result}, status=status)
    return _detail_response(request, dep, status=status, rules_test=result)


@require_GET
@handle_page(c.READ_ROLES)
def deployment_preview(request, handle, deployment_id):
    """Open the preview report (the API's GET .../preview): checks storage and records the gate."""
    dep = _deployment_or_404(request, deployment_id)
    try:
        report = deployment_preview_report(deployment=dep, actor=request.user, opens_gate=can(request, c.SITE_ROLES))
    except ApplicationError as exc:
        return _detail_response(request, dep, status=_status_for(request, exc), refusal=_refusal(exc, dep))
    return _detail_response(request, dep, report=report)


@require_POST
@handle_page(c.SITE_ROLES)
def deployment_promote(request, handle, deployment_id):
    dep = _deployment_or_404(request, deployment_id)
    force = request.POST.get("force") in ("1", "true", "on")
    reason = request.POST.get("reason", "")
    try:
        result = releases_services.deployment_promote(deployment=dep, actor=request.user, role=request.membership.role, reason=reason, force=force)
    except ApplicationError as exc:
        if exc.code == c.FORBIDDEN:
            raise PermissionDenied(exc.message)
        dep.refresh_from_db()
        if exc.code == c.VALIDATION_ERROR:
            return _detail_response(request, dep, status=400, force_errors=_errors(exc), form={"reason": reason, "force": force})
        return _detail_response(request, dep, status=_status_for(request, exc), refusal=_refusal(exc, dep), form={"reason": reason, "force": force})
    if request.htmx:
        return _detail_response(request, result.deployment, release_result=result)
    messages.success(request, f"v{result.deployment.version} is live ({result.release.get_kind_display().lower()}).")
    return redirect("deployment-detail", handle=handle, deployment_id=dep.id)


def _releases_response(request, status=200, **extra):
    context = _releases_context(request, **extra)
    return _page_or_partial(request, "deployments/releases_page.html", "deployments/_releases.html", context, status=status)


@require_POST
@handle_page(c.SITE_ROLES)
def deployment_rollback(request, handle, deployment_id):
    dep = _deployment_or_404(request, deployment_id)
    reason = request.POST.get("reason", "")
    from_releases = request.POST.get("from") == "releases"
    try:
        result = releases_services.deployment_rollback(deployment=dep, actor=request.user, reason=reason)
    except ApplicationError as exc:
        refusal = _refusal(exc, dep)
        if from_releases:
            return _releases_response(request, status=_status_for(request, exc), refusal=refusal)
        return _detail_response(request, dep, status=_status_for(request, exc), refusal=refusal)
    if request.htmx:
        if from_releases:
            return _releases_response(request, release_result=result)
        return _detail_response(request, result.deployment, release_result=result)
    messages.success(request, f"Rolled back: v{result.deployment.version} is live again.")
    if from_releases:
        return redirect("releases-page", handle=handle)
    return redirect("deployment-detail", handle=handle, deployment_id=dep.id)


# --- Releases ------------------------------------------------------------------------------

RELEASE_GROUP_LABELS = ((dc.TARGET_SITE, "Profile site"), (dc.TARGET_DOCS, "Internal docs"))


def _releases_context(request, **extra):
    handle = request.handle
    target = request.GET.get("target") if request.GET.get("target") in dc.TARGETS else None
    releases = release_list(handle=handle, target=target).select_related("previous_deployment")
    if target is None:
        # Site and docs versions are numbered apart: grouped by target (site first), as the
        # deployments history is, never interleaved in one list.
        releases = releases.order_by(Case(When(target=dc.TARGET_SITE, then=Value(0)), default=Value(1)), "target", "-created_at", "-pk")
    page = Paginator(releases, PAGE_SIZE).get_page(request.GET.get("page"))
    live = {t: dashboard_queries.live_release(handle=handle, target=t) for t in dc.TARGETS}
    labels = dict(RELEASE_GROUP_LABELS)
    groups = []
    for rel in page:
        current = live.get(rel.target)
        rel.is_live_now = current is not None and current.deployment_id == rel.deployment_id
        rel.can_roll_back = not rel.is_live_now and rel.deployment.state == dc.READY
        rel.rollback_confirm = _rollback_confirm(rel.deployment, current)
        if not groups or groups[-1]["target"] != rel.target:
            groups.append({"target": rel.target, "label": labels[rel.target], "id": f"releases-{rel.target}", "releases": []})
        groups[-1]["releases"].append(rel)
    base = reverse("releases-page", kwargs={"handle": handle.slug})
    context = {
        "page": page,
        "releases": page.object_list,
        "release_groups": groups,
        "live": [{"label": labels[t], "release": live[t]} for t in dc.TARGETS],
        "filter_target": target,
        "target_links": _filter_links(base, target, "target", dc.TARGET_CHOICES, {}),
        "can_act": can(request, c.SITE_ROLES),
        "role_note": _role_note(request, "roll back"),
        "refusal": None,
        "release_result": None,
        **lock_context(request),
    }
    context.update(extra)
    result = context["release_result"]
    context["attention"] = _attention(handle, result.warning_details) if result is not None else []
    return context


@require_GET
@handle_page(c.READ_ROLES)
def releases_page(request, handle):
    return _releases_response(request)


# --- Site: mode, links page, function bindings -------------------------------------------

_LINK_ERROR = re.compile(r"^Link (\d+) ")
_CONFIG_FIELDS = {
    (dc.FUNCTION_REDIRECT, "location"): "redirect_location",
    (dc.FUNCTION_REDIRECT, "status"): "redirect_status",
    (dc.FUNCTION_JSON, "body"): "json_body",
    (dc.FUNCTION_JSON, "status"): "json_status",
    (dc.FUNCTION_FORM_CAPTURE, "success_path"): "form_success_path",
    (dc.FUNCTION_FORM_CAPTURE, "max_bytes"): "form_max_bytes",
}
BINDING_FORM_DEFAULTS = {
    "route": "",
    "methods": ["POST"],
    "function": dc.FUNCTION_FORM_CAPTURE,
    "deployment_id": "",
    "redirect_location": "",
    "redirect_status": "302",
    "json_body": "",
    "json_status": "200",
    "form_success_path": "/",
    "form_max_bytes": "",
}


def _links_form(handle):
    rows = [{"label": link.get("label", ""), "url": link.get("url", "")} for link in handle.links or []]
    return {"display_name": handle.display_name, "bio": handle.bio, "rows": rows or [{"label": "", "url": ""}]}


def _mode_context(request, saved=False, errors=None):
    handle = request.handle
    status = site_status(handle=handle)
    live = dashboard_queries.live_release(handle=handle, target=dc.TARGET_SITE)
    # Maintenance is chosen on purpose: a live deployment it hides is the point, not a mismatch.
    on_purpose = status["mode"] == c.SITE_MODE_MAINTENANCE
    return {
        "status": status,
        "mismatch_warnings": [] if on_purpose else status["warning_details"],
        "maintenance_hides_live": on_purpose and live is not None,
        "serving_text": SERVING_TEXT.get(status["serving"], status["serving"]),
        "probe": dashboard_queries.profile_probe(handle=handle),
        "live_site": live,
        "modes": [{"value": v, "label": label, "help": MODE_HELP.get(v, "")} for v, label in c.SITE_MODE_CHOICES],
        "mode_saved": saved,
        "mode_errors": errors or {},
    }


def _bindings_context(request, form=None, errors=None, **extra):
    handle = request.handle
    live = dashboard_queries.live_release(handle=handle, target=dc.TARGET_SITE)
    live_id = live.deployment_id if live else None
    bindings = list(binding_list(handle=handle).select_related("deployment"))
    for b in bindings:
        b.status = binding_status(b, live_id)
        b.is_stale = b.status == dc.BINDING_STALE
        b.is_form_capture = b.function == dc.FUNCTION_FORM_CAPTURE
        if b.is_form_capture:
            subs = submission_list(binding=b)
            b.submission_count = subs.count()
            b.recent_submissions = [{"sub": s, "fields": json.dumps(s.data, ensure_ascii=False, sort_keys=True)} for s in subs[:SUBMISSIONS_SHOWN]]
        b.delete_confirm = f"Delete the binding {' '.join(b.methods)} {b.route}? The route stops answering with {b.get_function_display().lower()} at once."
        b.config_text = json.dumps(b.config, ensure_ascii=False, sort_keys=True)
    context = {
        "bindings": bindings,
        "live_site": live,
        "binding_form": {**BINDING_FORM_DEFAULTS, **(form or {})},
        "binding_errors": errors or {},
        "method_choices": dc.BINDING_METHODS,
        "function_choices": dc.FUNCTION_CHOICES,
        "redirect_statuses": dc.REDIRECT_STATUSES,
        "pin_choices": list(deployment_list(handle=handle, target=dc.TARGET_SITE, state=dc.READY)[:50]),
        "form_capture_limit": dc.FORM_CAPTURE_MAX_BYTES_LIMIT,
        "binding_created": None,
        "binding_deleted": None,
    }
    context.update(extra)
    return context


def _site_context(request, *, mode=None, bindings=None, **extra):
    handle = request.handle
    context = {
        "can_act": can(request, c.SITE_ROLES),
        "role_note": _role_note(request, "change the site"),
        "links_form": _links_form(handle),
        "links_errors": {},
        "links_saved": False,
        "links_note": "",
        **lock_context(request),
    }
    context.update(mode or _mode_context(request))
    context.update(bindings or _bindings_context(request))
    context.update(extra)
    return context


@require_GET
@handle_page(c.READ_ROLES)
def site_page(request, handle):
    # After a switch without htmx (PRG), the section says what it now serves, exactly as
    # the htmx swap does: one message whatever the path.
    saved = request.GET.get("mode_saved") == "1"
    return render(request, "deployments/site_page.html", _site_context(request, mode=_mode_context(request, saved=saved)))


@require_POST
@handle_page(c.SITE_ROLES)
def site_mode(request, handle):
    try:
        site_mode_set(handle=request.handle, mode=request.POST.get("mode", ""), actor=request.user)
    except ApplicationError as exc:
        context = _site_context(request, mode=_mode_context(request, errors=_errors(exc)))
        return _page_or_partial(request, "deployments/site_page.html", "deployments/_site_mode.html", context, status=400)
    if request.htmx:
        return render(request, "deployments/_site_mode.html", _site_context(request, mode=_mode_context(request, saved=True)))
    return redirect(reverse("site-page", kwargs={"handle": handle}) + "?mode_saved=1#site-mode")


def _links_rows(post):
    labels, urls = post.getlist("link_label"), post.getlist("link_url")
    return [{"label": label, "url": url} for label, url in zip(labels, urls, strict=False)]


@require_POST
@handle_page(c.SITE_ROLES)
def site_links(request, handle):
    """Save the links page; "Add a link" and "Remove" re-render the form without saving."""
    post = request.POST
    form = {"display_name": post.get("display_name", ""), "bio": post.get("bio", ""), "rows": _links_rows(post)}
    errors, saved, note, status = {}, False, "", 200
    if post.get("add_row"):
        form["rows"].append({"label": "", "url": ""})
        note = "Added an empty link row. Save to apply your changes."
    elif post.get("remove_row"):
        try:
            index = int(post["remove_row"]) - 1
            removed = form["rows"].pop(index)
            note = f"Removed “{removed['label'] or removed['url'] or 'an empty row'}”. Save to apply your changes."
        except (ValueError, IndexError):
            note = "That link row no longer exists."
        if not form["rows"]:
            form["rows"].append({"label": "", "url": ""})
    else:
        try:
            handle_links_update(handle=request.handle, display_name=form["display_name"], bio=form["bio"], links=form["rows"], actor=request.user)
        except ApplicationError as exc:
            errors = _errors(exc)
            status = 400
            bad = {int(m.group(1)) for m in (_LINK_ERROR.match(e) for e in errors.get("links", [])) if m}
            for number, row in enumerate(form["rows"], start=1):
                row["invalid"] = number in bad
        else:
            if not request.htmx:
                messages.success(request, "The links page is saved.")
                return redirect(reverse("site-page", kwargs={"handle": handle}) + "#links-editor")
            saved = True
            form = _links_form(request.handle)
    context = _site_context(request, links_form=form, links_errors=errors, links_saved=saved, links_note=note)
    return _page_or_partial(request, "deployments/site_page.html", "deployments/_links_editor.html", context, status=status)


def _number_or_text(value):
    """Whole numbers as int; other text as typed, so the service names what is wrong with it."""
    value = (value or "").strip()
    try:
        return int(value)
    except ValueError:
        return value


def _binding_config(function, form):
    """The config the API would receive, from the create form's fields for ``function``."""
    config, errors = {}, {}
    if function == dc.FUNCTION_REDIRECT:
        config["location"] = form["redirect_location"].strip()
        if form["redirect_status"].strip():
            config["status"] = _number_or_text(form["redirect_status"])
    elif function == dc.FUNCTION_JSON:
        if form["json_body"].strip():
            try:
                config["body"] = json.loads(form["json_body"])
            except ValueError as exc:
                errors["json_body"] = [f"This is not valid JSON ({exc})."]
        if form["json_status"].strip():
            config["status"] = _number_or_text(form["json_status"])
    elif function == dc.FUNCTION_FORM_CAPTURE:
        if form["form_success_path"].strip():
            config["success_path"] = form["form_success_path"].strip()
        if form["form_max_bytes"].strip():
            config["max_bytes"] = _number_or_text(form["form_max_bytes"])
    return config, errors


def _binding_errors(exc, function):
    errors = _errors(exc)
    for problem in errors.pop("config", []):
        key, _, text = problem.partition(": ")
        field = _CONFIG_FIELDS.get((function, key))
        if field and text:
            errors.setdefault(field, []).append(text)
        else:
            errors.setdefault("form", []).append(problem)
    if "deployment_id" in errors:
        errors["pin"] = errors.pop("deployment_id")
    return errors


@require_POST
@handle_page(c.SITE_ROLES)
def binding_create(request, handle):
    post = request.POST
    form = {k: post.get(k, "") for k in BINDING_FORM_DEFAULTS if k != "methods"}
    form["methods"] = post.getlist("methods")
    function = form["function"]
    config, errors = _binding_config(function, form)
    status = 400
    binding = None
    if not errors:
        try:
            binding = site_services.binding_create(
                handle=request.handle,
                route=form["route"],
                methods=form["methods"],
                function=function,
                config=config,
                deployment_id=form["deployment_id"] or None,
                actor=request.user,
            )
        except ApplicationError as exc:
            errors = _binding_errors(exc, function)
            status = _status_for(request, exc)
    if binding is not None:
        if not request.htmx:
            messages.success(request, f"Bound {' '.join(binding.methods)} {binding.route} to {binding.get_function_display().lower()}.")
            return redirect(reverse("site-page", kwargs={"handle": handle}) + "#bindings")
        return render(request, "deployments/_bindings.html", _site_context(request, bindings=_bindings_context(request, binding_created=binding)))
    context = _site_context(request, bindings=_bindings_context(request, form=form, errors=errors))
    return _page_or_partial(request, "deployments/site_page.html", "deployments/_bindings.html", context, status=status)


@require_POST
@handle_page(c.SITE_ROLES)
def binding_delete(request, handle, binding_id):
    try:
        binding = binding_get(handle=request.handle, binding_id=binding_id)
    except ApplicationError:
        raise Http404("No such function binding.")
    label = f"{' '.join(binding.methods)} {binding.route}"
    site_services.binding_delete(binding=binding, actor=request.user)
    if not request.htmx:
        messages.success(request, f"Deleted the binding {label}.")
        return redirect(reverse("site-page", kwargs={"handle": handle}) + "#bindings")
    return render(request, "deployments/_bindings.html", _site_context(request, bindings=_bindings_context(request, binding_deleted=label)))

