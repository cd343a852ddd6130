"""Reads of the site: what ``/profiles/{handle}/`` serves and what needs attention, function
bindings and their submissions, and the handle overview panel."""


from django.utils import timezone

from deployments import constants as dc
from deployments.models import (
    Deployment,
    FormSubmission,
    FunctionBinding,
    LivePointer,
)
from deployments.selectors.live import live_deployment_ids
from gharart import constants as c
from gharart.errors import ApplicationError

# --- Site mode ---------------------------------------------------------------------------

def warning(code, message, **details):
    return {"code": code, "message": message, "details": details}


def site_status(*, handle) -> dict:
    """What the profile route serves and whether the mode matches what is live."""
    live_id = LivePointer.objects.filter(handle=handle, target=dc.TARGET_SITE).values_list("deployment_id", flat=True).first()
    mode = handle.site_mode
    if mode == c.SITE_MODE_LINKS:
        serving = dc.SERVING_LINKS_PAGE
    elif mode == c.SITE_MODE_MAINTENANCE:
        serving = dc.SERVING_MAINTENANCE_PAGE
    else:
        serving = dc.SERVING_DEPLOYMENT if live_id else dc.SERVING_NO_SITE
    details = []
    if live_id and mode != c.SITE_MODE_DEPLOYMENT:
        details.append(
            warning(
                dc.WARNING_SITE_MODE_MISMATCH,
                f"A site deployment is live, but the site mode is “{dict(c.SITE_MODE_CHOICES).get(mode, mode)}”, so /profiles/{handle.slug}/ serves the {serving.replace('_', ' ')} instead of it.",
                mode=mode,
                live_deployment_id=live_id,
            )
        )
    elif not live_id and mode == c.SITE_MODE_DEPLOYMENT:
        details.append(
            warning(
                dc.WARNING_SITE_MODE_MISMATCH,
                "The site mode is “Deployed site” but no site deployment is live, so the profile route answers 404 “no site published”.",
                mode=mode,
                live_deployment_id=None,
            )
        )
    return {
        "mode": mode,
        "live_deployment_id": live_id,
        "serving": serving,
        "warnings": [w["code"] for w in details],
        "warning_details": details,
    }


# --- Function bindings -------------------------------------------------------------------

def binding_list(*, handle):
    return FunctionBinding.objects.filter(handle=handle).order_by("-created_at", "-pk")


def binding_get(*, handle, binding_id) -> FunctionBinding:
    binding = FunctionBinding.objects.filter(handle=handle, pk=binding_id).first()
    if binding is None:
        raise ApplicationError(dc.BINDING_NOT_FOUND, "No such function binding on this handle.", status=404)
    return binding


def binding_status(binding, live_site_id) -> str:
    if binding.deployment_id is None or binding.deployment_id == live_site_id:
        return dc.BINDING_ACTIVE
    return dc.BINDING_STALE


def binding_stale_list(*, handle, live_site_id=None):
    """Bindings pinned to a deployment that is not the live site deployment."""
    if live_site_id is None:
        live_site_id = live_deployment_ids(handle=handle).get(dc.TARGET_SITE)
    return list(FunctionBinding.objects.filter(handle=handle, deployment__isnull=False).exclude(deployment_id=live_site_id).order_by("route"))


def submission_list(*, binding):
    return FormSubmission.objects.filter(binding=binding).order_by("-created_at", "-pk")


# --- Overview panel ----------------------------------------------------------------------

def overview_panel(*, handle, membership):
    """What is live, the site mode and what needs attention, for the handle overview."""
    live = {}
    for pointer in LivePointer.objects.filter(handle=handle, deployment__isnull=False).select_related("deployment", "release", "release__actor"):
        live[pointer.target] = {"deployment": pointer.deployment, "release": pointer.release}
    status = site_status(handle=handle)
    site_live = live.get(dc.TARGET_SITE)
    warnings = site_attention(handle=handle, live_site_id=site_live["deployment"].id if site_live else None, status=status)
    for target, item in live.items():
        dep = item["deployment"]
        if dep.missing_files:
            warnings.append(
                warning(
                    dc.WARNING_MISSING_ARTIFACT_FILES,
                    f"The live {target} deployment v{dep.version} is missing files in storage: " + ", ".join(dep.missing_files[:10]),
                    deployment_id=dep.id,
                    missing_files=dep.missing_files,
                )
            )
    in_flight = Deployment.objects.filter(handle=handle, state__in=(dc.UPLOADING, dc.PROCESSING)).count()
    return {
        "template": "deployments/_overview_panel.html",
        "context": {
            "handle": handle,
            "live_site": site_live,
            "live_docs": live.get(dc.TARGET_DOCS),
            "site_status": status,
            "serving_label": status["serving"].replace("_", " "),
            "warnings": warnings,
            "in_flight": in_flight,
            "now": timezone.now(),
        },
    }




def binding_stale_warning(*, handle, live_site_id, after_release=False) -> dict | None:
    """The warning about bindings pinned to a deployment that is not ``live_site_id`` (None
    when there are none); ``after_release`` words it for the release that just went live."""
    stale = binding_stale_list(handle=handle, live_site_id=live_site_id)
    if not stale:
        return None
    what = "stay pinned to an earlier deployment and stop answering" if after_release else "are pinned to a deployment that is not live and do not answer"
    routes = [b.route for b in stale]
    return warning(
        dc.WARNING_STALE_FUNCTION_BINDINGS,
        f"{len(stale)} function binding(s) {what}: " + ", ".join(routes),
        binding_ids=[b.id for b in stale],
        routes=routes,
    )


def site_attention(*, handle, live_site_id=None, status=None) -> list:
    """What is wrong with what ``/profiles/{handle}/`` serves: site-mode mismatch and stale bindings.

    Each item is ``{"code", "message", "details"}`` like the API's ``warning_details``.
    """
    if live_site_id is None:
        live_site_id = live_deployment_ids(handle=handle).get(dc.TARGET_SITE)
    items = list((status or site_status(handle=handle))["warning_details"])
    stale = binding_stale_warning(handle=handle, live_site_id=live_site_id)
    return items + [stale] if stale else items
