"""Writes of releases: the preview report and gate, promote and rollback.

Promote and rollback are pointer swaps under ``select_for_update`` of the live pointer:
they take the same time for 10 or 20,000 files, serialize per handle and target, and the
live pointer always equals the last recorded release. Each bumps the cached live state
after commit. Scheduled releases (``deployments.schedules``) run ``deployment_promote``.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from deployments import constants as dc
from deployments import previews, publishing_locks
from deployments.models import (
    Deployment,
    Release,
)
from deployments.selectors.deployments import deployment_missing_files
from deployments.selectors.live import live_state_invalidate
from deployments.selectors.releases import deployment_gate_checks, deployment_gate_open
from deployments.selectors.site import binding_stale_warning, warning
from deployments.services.common import acting_user, live_pointer_lock, validation_error
from gharart import constants as c
from gharart.errors import ApplicationError
from gharart.models import Handle
from gharart.services import audit_record

logger = logging.getLogger(__name__)

# --- Preview and the gate ----------------------------------------------------------------

def deployment_preview_report(*, deployment, actor=None, opens_gate=True) -> dict:
    """Check that every file is in storage, record a preview validation, return the report.

    The preview validation opens the gate only when ``opens_gate``: views pass whether the
    caller is a member who may promote (a viewer reading the report does not count). 409
    ``deployment_not_ready`` unless ready; 409 ``deployment_artifact_missing`` with
    ``details.missing_files`` when storage lacks any file (the result is recorded either way).
    """
    if deployment.state != dc.READY:
        raise ApplicationError(dc.DEPLOYMENT_NOT_READY, f"The deployment is {deployment.state}; only ready deployments can be previewed.", status=409, details={"state": deployment.state})
    missing = deployment_missing_files(deployment=deployment)
    now = timezone.now()
    deployment.integrity_checked_at = now
    deployment.missing_files = missing
    fields = ["integrity_checked_at", "missing_files"]
    if not missing and opens_gate:
        deployment.preview_opened_at = now
        deployment.preview_opened_by = acting_user(actor)
        fields += ["preview_opened_at", "preview_opened_by"]
    deployment.save(update_fields=fields)
    if missing:
        raise ApplicationError(
            dc.DEPLOYMENT_ARTIFACT_MISSING,
            f"{len(missing)} file(s) of this deployment are missing from storage: {', '.join(missing[:5])}{'…' if len(missing) > 5 else ''}. Upload the deployment again.",
            status=409,
            details={"missing_files": missing},
        )
    url, expires_at = previews.preview_url(deployment)
    return {
        "deployment_id": deployment.id,
        "state": deployment.state,
        "preview_url": url,
        "preview_host_url": previews.preview_host_url(deployment),
        "expires_at": expires_at,
        "integrity": {"ok": True, "missing_files": []},
        "gate": {"status": deployment.gate_status, "checks": deployment_gate_checks(deployment=deployment)},
    }


def deployment_gate_set(*, deployment, status, replay_run_id=None, summary=None) -> Deployment:
    """Record a replay's verdict on the deployment's preview gate (``passed``/``failed``)."""
    if status not in (dc.GATE_PENDING, dc.GATE_PASSED, dc.GATE_FAILED):
        raise ValueError(f"unknown gate status {status!r}")
    updated = Deployment.objects.filter(pk=deployment.pk).update(
        gate_status=status,
        gate_replay_run_id=replay_run_id or "",
        gate_summary=summary,
        gate_updated_at=timezone.now(),
    )
    if updated:
        deployment.refresh_from_db(fields=["gate_status", "gate_replay_run_id", "gate_summary", "gate_updated_at"])
    return deployment


# --- Promote and rollback ----------------------------------------------------------------

@dataclass
class ReleaseResult:
    release: Release
    deployment: Deployment
    warnings: list = field(default_factory=list)  # codes
    warning_details: list = field(default_factory=list)


def _release_warnings(handle, deployment):
    if deployment.target != dc.TARGET_SITE:
        return []
    details = []
    mode = Handle.objects.filter(pk=handle.pk).values_list("site_mode", flat=True).first()
    if mode != c.SITE_MODE_DEPLOYMENT:
        details.append(
            warning(
                dc.WARNING_SITE_MODE_NOT_DEPLOYMENT,
                f"The site mode is '{mode}', so /profiles/{handle.slug}/ does not serve this deployment. Switch the site mode to 'deployment'.",
                mode=mode,
            )
        )
    stale = binding_stale_warning(handle=handle, live_site_id=deployment.id, after_release=True)
    return details + [stale] if stale else details


def _swap(*, pointer, deployment, kind, reason, actor) -> Release:
    previous_id = pointer.deployment_id
    release = Release.objects.create(
        handle_id=deployment.handle_id,
        target=deployment.target,
        deployment=deployment,
        previous_deployment_id=previous_id,
        kind=kind,
        reason=reason,
        actor=acting_user(actor),
        created_at=timezone.now(),
    )
    pointer.deployment = deployment
    pointer.release = release
    pointer.updated_at = release.created_at
    pointer.save(update_fields=["deployment", "release", "updated_at"])
    return release


def _go_live(*, handle, pointer, deployment, kind, action, reason, actor) -> ReleaseResult:
    """How promote and rollback end, under the pointer's row lock: swap, record, audit, uncache."""
    previous_id = pointer.deployment_id
    release = _swap(pointer=pointer, deployment=deployment, kind=kind, reason=reason, actor=actor)
    audit_record(
        action=action,
        actor=actor,
        handle=handle,
        target=deployment.id,
        before={"live_deployment_id": previous_id},
        after={"live_deployment_id": deployment.id, "release_id": release.id, "version": deployment.version, "reason": reason},
    )
    details = _release_warnings(handle, deployment)
    live_state_invalidate(handle.slug)
    return ReleaseResult(release=release, deployment=deployment, warnings=[w["code"] for w in details], warning_details=details)


def deployment_promote(*, deployment, actor=None, role=None, reason="", force=False) -> ReleaseResult:
    """Make ``deployment`` live for its target.

    409 ``deployment_not_ready``; 409 ``deployment_artifact_missing`` (files found missing by
    the last integrity check, or by a full check on a forced promote); 409
    ``preview_gate_pending`` when the preview report was never opened or the latest replay
    failed; 409 ``publishing_locked`` while the handle's publishing lock holds. Owners/admins
    may ``force`` past the gate and the lock with a reason (audited).
    """
    reason = (reason or "").strip()[:500]
    if force:
        if role not in c.ADMIN_ROLES:
            raise ApplicationError(c.FORBIDDEN, "Only owners and admins may force a promote.", status=403, details={"role": role})
        if not reason:
            raise validation_error("A forced promote needs a reason.", reason="Say why the preview gate is skipped.")
        if deployment.state == dc.READY:
            # No preview may have checked storage: check it now (outside the lock).
            missing = deployment_missing_files(deployment=deployment)
            if missing != list(deployment.missing_files or []):
                Deployment.objects.filter(pk=deployment.pk).update(missing_files=missing, integrity_checked_at=timezone.now())
    handle = deployment.handle
    with transaction.atomic():
        pointer = live_pointer_lock(handle=handle, target=deployment.target)
        dep = Deployment.objects.get(pk=deployment.pk)
        if dep.state != dc.READY:
            raise ApplicationError(dc.DEPLOYMENT_NOT_READY, f"The deployment is {dep.state}; only ready deployments can be promoted.", status=409, details={"state": dep.state})
        if dep.missing_files:
            raise ApplicationError(
                dc.DEPLOYMENT_ARTIFACT_MISSING,
                f"{len(dep.missing_files)} file(s) of this deployment are missing from storage.",
                status=409,
                details={"missing_files": dep.missing_files},
            )
        if not force and not deployment_gate_open(deployment=dep):
            opened = dep.preview_opened_at is not None
            why = "the latest replay found regressions" if dep.gate_status == dc.GATE_FAILED else "its preview report was never opened"
            raise ApplicationError(
                dc.PREVIEW_GATE_PENDING,
                f"This deployment cannot be promoted yet: {why}.",
                status=409,
                details={"preview_opened": opened, "gate_status": dep.gate_status, "replay_run_id": dep.gate_replay_run_id or None},
            )
        publishing_locks.publishing_lock_check(handle=handle, actor=actor, role=role, force=force, deployment=dep)
        if force:
            return _go_live(handle=handle, pointer=pointer, deployment=dep, kind=dc.RELEASE_FORCED_PROMOTE, action=c.AUDIT_FORCED_PROMOTE, reason=reason, actor=actor)
        return _go_live(handle=handle, pointer=pointer, deployment=dep, kind=dc.RELEASE_PROMOTE, action=c.AUDIT_PROMOTE, reason=reason, actor=actor)


def deployment_rollback(*, deployment, actor=None, reason="") -> ReleaseResult:
    """Make a deployment that was live before live again (no preview gate).

    409 ``not_a_previous_release`` when it never was live for its target, or is live now;
    409 ``publishing_locked`` while the handle's publishing lock holds.
    """
    reason = (reason or "").strip()[:500]
    handle = deployment.handle
    with transaction.atomic():
        pointer = live_pointer_lock(handle=handle, target=deployment.target)
        dep = Deployment.objects.get(pk=deployment.pk)
        was_live = Release.objects.filter(handle=handle, target=dep.target, deployment=dep).exists()
        if not was_live or pointer.deployment_id == dep.id or dep.state != dc.READY:
            message = "This deployment is live now." if pointer.deployment_id == dep.id else "This deployment was never live, so there is nothing to roll back to."
            raise ApplicationError(dc.NOT_A_PREVIOUS_RELEASE, message, status=409, details={"live_deployment_id": pointer.deployment_id})
        publishing_locks.publishing_lock_check(handle=handle, actor=actor)
        return _go_live(handle=handle, pointer=pointer, deployment=dep, kind=dc.RELEASE_ROLLBACK, action=c.AUDIT_ROLLBACK, reason=reason, actor=actor)


