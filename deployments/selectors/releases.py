"""Reads of releases: the preview gate, the release history, what is live since when, and
scheduled releases."""


from django.db.models import Q

from deployments import constants as dc
from deployments.models import (
    Release,
    ScheduledRelease,
)
from deployments.selectors.live import live_deployment_ids
from gharart.errors import ApplicationError


def deployment_releases(*, deployment):
    """Releases this deployment took part in (made live, or was replaced)."""
    return Release.objects.filter(Q(deployment=deployment) | Q(previous_deployment=deployment)).select_related("actor", "deployment").order_by("-created_at")


def deployment_gate_checks(*, deployment) -> list:
    """The preview gate checklist shown by the preview report and the dashboard."""
    return [
        {
            "name": "preview_opened",
            "ok": deployment.preview_opened_at is not None,
            "at": deployment.preview_opened_at,
        },
        {
            "name": "integrity",
            "ok": deployment.integrity_checked_at is not None and not deployment.missing_files,
            "at": deployment.integrity_checked_at,
            "missing_files": list(deployment.missing_files or []),
        },
        {
            "name": "replay",
            "ok": deployment.gate_status != dc.GATE_FAILED,
            "status": deployment.gate_status,
            "replay_run_id": deployment.gate_replay_run_id or None,
            "summary": deployment.gate_summary,
            "at": deployment.gate_updated_at,
        },
    ]


def deployment_gate_open(*, deployment) -> bool:
    """True when a normal (not forced) promote may proceed past the preview gate."""
    return deployment.preview_opened_at is not None and deployment.gate_status != dc.GATE_FAILED


# --- Releases ----------------------------------------------------------------------------

def release_list(*, handle, target=None):
    qs = Release.objects.filter(handle=handle).select_related("actor", "deployment")
    if target:
        qs = qs.filter(target=target)
    return qs.order_by("-created_at", "-pk")


def release_latest(*, handle, target):
    return Release.objects.filter(handle=handle, target=target).order_by("-created_at").first()



def release_live(*, handle, target):
    """The release that made the current live deployment live (None when nothing is live).

    Promote and rollback move the live pointer and record the release under one lock, so
    the latest release always names what is live and since when.
    """
    release = release_latest(handle=handle, target=target)
    if release is None or live_deployment_ids(handle=handle).get(target) != release.deployment_id:
        return None
    return release



# --- Scheduled releases ------------------------------------------------------------------

def scheduled_release_list(*, handle, state=None, deployment=None):
    """The handle's scheduled releases, newest first (``?state=``, or one deployment's)."""
    qs = ScheduledRelease.objects.filter(handle=handle).select_related("deployment", "created_by")
    if state:
        qs = qs.filter(state=state)
    if deployment is not None:
        qs = qs.filter(deployment_ref=deployment.id)
    return qs.order_by("-created_at", "-pk")


def scheduled_release_get(*, handle, scheduled_id):
    sched = ScheduledRelease.objects.select_related("deployment", "created_by").filter(handle=handle, pk=scheduled_id).first()
    if sched is None:
        raise ApplicationError(dc.SCHEDULED_RELEASE_NOT_FOUND, "No such scheduled release on this handle.", status=404)
    return sched


