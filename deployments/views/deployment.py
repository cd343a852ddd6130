"""One deployment's page: its facts, site rules, preview and gate, and the forms to promote,
roll back and schedule it (handled in ``views.releases``)."""

from django.conf import settings
from django.urls import Resolver404, resolve, reverse
from django.utils import dateparse
from django.views.decorators.http import require_GET

from deployments import constants as dc
from deployments.forms import PromoteForm, ScheduleForm
from deployments.selectors.deployments import (
    deployment_files_by_type,
    deployment_site_rules_summary,
)
from deployments.selectors.live import deployment_path_explain
from deployments.selectors.releases import (
    deployment_gate_checks,
    deployment_gate_open,
    deployment_releases,
    release_live,
    scheduled_release_list,
)
from deployments.selectors.site import site_attention
from deployments.services.releases import deployment_preview_report
from deployments.views.pages import deployment_or_404, human, lock_context, role_note, when
from gharart import constants as c
from gharart.dashboard import can, handle_page, render_page
from gharart.errors import ApplicationError

PAGE = "deployments/deployment_page.html"
RULES_TEST_MAX_CHARS = 1000


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
    return f"Promote v{dep.version} to live? It replaces v{live.deployment.version}, live since {when(live.created_at)}."


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


def rollback_confirm(dep, live):
    if live is None:
        return f"Roll back to v{dep.version}? Nothing is live on the {dep.get_target_display().lower()} now."
    return f"Roll back to v{dep.version}? It replaces v{live.deployment.version}, live since {when(live.created_at)}."


def refusal(exc, dep):
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
        moment = f"until {human(dateparse.parse_datetime(until))}" if until else "until an owner or admin lifts it"
        text["title"] = f"Publishing is locked {moment}: {d.get('reason', '')}"
        text["help"] = "Nothing went live. Wait for the lock to end, ask an owner or admin to lift it, or (owners and admins) force the promote with a reason."
    return text


def attention(handle, warnings):
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


def detail_context(request, dep, *, form=None, schedule_form=None, **extra):
    handle = request.handle
    live = release_live(handle=handle, target=dep.target)
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
        "rollback_confirm": rollback_confirm(dep, live),
        "replay_panel_url": _replay_panel_url(handle, dep),
        "can_act": can(request, c.SITE_ROLES),
        "can_force": can(request, c.ADMIN_ROLES),
        "role_note": role_note(request, "preview-gate, promote or roll back deployments"),
        "polling": dep.state not in dc.FINAL_STATES,
        "preview_ttl_hours": int(settings.PREVIEW_URL_TTL.total_seconds() // 3600),
        "report": None,
        "refusal": None,
        "release_result": None,
        "form": form or PromoteForm(),
        "attention": [],
        "schedules": list(scheduled_release_list(handle=handle, deployment=dep)[:20]),
        "schedule_form": schedule_form or ScheduleForm(),
        **lock_context(request),
    }
    context.update(extra)
    context["promote_blocked"] = _promote_blocked(dep, context["gate_checks"], context["can_force"])
    if context["release_result"] is not None:
        context["attention"] = attention(handle, context["release_result"].warning_details)
    elif is_live and dep.target == dc.TARGET_SITE:
        context["attention"] = attention(handle, site_attention(handle=handle, live_site_id=dep.id))
    return context


def detail_response(request, dep, status=200, **extra):
    return render_page(request, PAGE, detail_context(request, dep, **extra), fragment="deployment-main", status=status)


@require_GET
@handle_page(c.READ_ROLES)
def deployment_detail(request, handle, deployment_id):
    return detail_response(request, deployment_or_404(request, deployment_id))


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
    dep = deployment_or_404(request, deployment_id)
    result = _rules_test(dep, request.GET.get("path"))
    status = 400 if result.get("error") else 200
    if request.htmx:
        return render_page(request, PAGE, {"rules_test": result}, fragment="rules-test-result", status=status)
    return detail_response(request, dep, status=status, rules_test=result)


@require_GET
@handle_page(c.READ_ROLES)
def deployment_preview(request, handle, deployment_id):
    """Open the preview report (the API's GET .../preview): checks storage and records the gate."""
    dep = deployment_or_404(request, deployment_id)
    try:
        report = deployment_preview_report(deployment=dep, actor=request.user, opens_gate=can(request, c.SITE_ROLES))
    except ApplicationError as exc:
        return detail_response(request, dep, status=exc.status, refusal=refusal(exc, dep))
    return detail_response(request, dep, report=report)
