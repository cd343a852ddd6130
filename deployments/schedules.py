"""Writes for scheduled releases (the publishing lock they obey: ``deployments.publishing_locks``).

Guarantees:

- A scheduled release runs ``deployment_promote`` itself at its time, so every
  check (state, integrity, preview gate, publishing lock, the scheduler's role) is made
  then. A refusal ends it ``failed`` with the error, audited and emailed to the scheduler.
- It runs once: it is claimed by a conditional UPDATE inside the same transaction that
  records the release, so a crash rolls both back and a second claimer finds it taken.
- It is due by the database's clock (``gharart.clock``), never a node's own clock.
- Releases of one handle that are due together run one at a time (under the handle's row
  lock) in (at, created_at) order, so the release history records them in that order.
- A missed release (no worker at the time, beat down) runs as soon as a worker sweeps: at
  worker start, every minute from beat, and from its own eta job.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from deployments import constants as dc
from deployments.models import ScheduledRelease
from deployments.publishing_locks import publishing_lock_state, publishing_locked_error
from deployments.services.common import acting_user, validation_error
from deployments.services.releases import deployment_promote
from gharart import constants as c
from gharart.clock import Now, db_now, parse_time
from gharart.errors import ApplicationError
from gharart.jobs import dispatch_on_commit
from gharart.models import Handle, Membership
from gharart.services import audit_record

logger = logging.getLogger(__name__)
# How far ahead a release may be planned.
MAX_SCHEDULE_AHEAD = timedelta(days=366)


def _parse_at(value, field):
    errors = {}
    when = parse_time(value, field=field, errors=errors)
    if errors:
        raise ApplicationError(c.VALIDATION_ERROR, "The time is not valid.", details=errors)
    return when


# --- Scheduled releases ------------------------------------------------------------------

def scheduled_release_create(*, deployment, at, actor, role, reason="", force=False) -> ScheduledRelease:
    """Plan a promote of ``deployment`` at ``at`` (a time in the future by the database's clock).

    400 ``validation_error`` on ``at`` (missing, not a time, not in the future, over a year
    ahead); a forced one needs an owner/admin (403) and a reason (400); 409
    ``publishing_locked`` when the lock holds at ``at``. The checks of promote itself run at ``at``.
    """
    reason = (reason or "").strip()[:500]
    if at in (None, ""):
        raise validation_error("The release could not be scheduled.", at="The time to release at.")
    when = _parse_at(at, "at")
    now = db_now()
    if when <= now:
        raise validation_error("The release could not be scheduled.", at="The time must be in the future. To release now, promote without a time.")
    if when > now + MAX_SCHEDULE_AHEAD:
        raise validation_error("The release could not be scheduled.", at="At most a year ahead.")
    if force:
        if role not in c.ADMIN_ROLES:
            raise ApplicationError(c.FORBIDDEN, "Only owners and admins may force a promote.", status=403, details={"role": role})
        if not reason:
            raise validation_error("A forced promote needs a reason.", reason="Say why the preview gate is skipped.")
    handle = deployment.handle
    state = publishing_lock_state(handle=handle, now=now)
    if state["locked"] and (state["until"] is None or state["until"] > when) and not (force and role in c.ADMIN_ROLES):
        raise publishing_locked_error(state)
    with transaction.atomic():
        sched = ScheduledRelease.objects.create(
            handle=handle,
            deployment=deployment,
            deployment_ref=deployment.id,
            target=deployment.target,
            at=when,
            reason=reason,
            force=bool(force),
            created_by=acting_user(actor),
        )
        audit_record(
            action=c.AUDIT_SCHEDULED_RELEASE_CREATE,
            actor=actor,
            handle=handle,
            target=sched.id,
            after={"deployment_id": deployment.id, "version": deployment.version, "at": when.isoformat(), "force": bool(force)},
        )
        # The eta job is the fast path; the sweeps (worker start, beat) catch what it misses.
        dispatch_on_commit(
            "deployments.scheduled_release_run",
            sched.id,
            options={"eta": when},
            undo=lambda: ScheduledRelease.objects.filter(pk=sched.pk).delete(),
        )
    return sched


def scheduled_release_cancel(*, scheduled, actor=None) -> ScheduledRelease:
    """Cancel a release still ``scheduled``; 409 ``scheduled_release_finished`` otherwise."""
    with transaction.atomic():
        updated = ScheduledRelease.objects.filter(pk=scheduled.pk, state=dc.SCHEDULE_SCHEDULED).update(
            state=dc.SCHEDULE_CANCELLED, finished_at=timezone.now(), cancelled_by=acting_user(actor)
        )
        sched = ScheduledRelease.objects.get(pk=scheduled.pk)
        if not updated:
            raise ApplicationError(
                dc.SCHEDULED_RELEASE_FINISHED,
                f"This release is {sched.state} already, so it cannot be cancelled.",
                status=409,
                details={"state": sched.state, "release_id": sched.release_id},
            )
        audit_record(action=c.AUDIT_SCHEDULED_RELEASE_CANCEL, actor=actor, handle=sched.handle, target=sched.id, before={"at": sched.at.isoformat()})
    return sched


def _scheduler_role(sched):
    if sched.created_by_id is None:
        return None
    return Membership.objects.filter(handle_id=sched.handle_id, user_id=sched.created_by_id).values_list("role", flat=True).first()


def _promote_now(sched):
    """Run the promote for a claimed schedule; raises the promote's ApplicationError."""
    if sched.deployment_id is None:
        raise ApplicationError(dc.DEPLOYMENT_NOT_FOUND, "The deployment was deleted before its scheduled release.", status=404, details={"deployment_id": sched.deployment_ref})
    role = _scheduler_role(sched)
    if role not in c.SITE_ROLES:
        raise ApplicationError(c.FORBIDDEN, "Whoever scheduled this release may no longer promote on this handle.", status=403, details={"role": role})
    deployment = sched.deployment
    reason = sched.reason or f"Scheduled release {sched.id}"
    with transaction.atomic():  # a refusal rolls back only the promote, not the claim
        return deployment_promote(deployment=deployment, actor=sched.created_by, role=role, reason=reason, force=sched.force)


def _run_claimed(sched):
    try:
        result = _promote_now(sched)
    except ApplicationError as exc:
        sched.state = dc.SCHEDULE_FAILED
        sched.error = {"code": exc.code, "message": exc.message, "details": exc.details}
        sched.finished_at = timezone.now()
        sched.save(update_fields=["state", "error", "finished_at"])
        audit_record(
            action=c.AUDIT_SCHEDULED_RELEASE_FAILED,
            actor=sched.created_by,
            handle=sched.handle,
            target=sched.id,
            after={"deployment_id": sched.deployment_ref, "error": sched.error},
        )
        sched_id = sched.id
        transaction.on_commit(lambda: _email_failure(sched_id))
        return sched
    sched.state = dc.SCHEDULE_DONE
    sched.release = result.release
    sched.finished_at = timezone.now()
    sched.save(update_fields=["state", "release", "finished_at"])
    return sched


def scheduled_release_run_due(*, handle_id=None) -> list:
    """Run every release due by the database's clock, once each; returns the IDs it ran."""
    ran = []
    while True:
        due = ScheduledRelease.objects.filter(state=dc.SCHEDULE_SCHEDULED, at__lte=Now())
        if handle_id is not None:
            due = due.filter(handle_id=handle_id)
        handle_ids = list(due.order_by().values_list("handle_id", flat=True).distinct()[:100])
        progressed = False
        for hid in handle_ids:
            with transaction.atomic():
                # One handle's due releases run one at a time, earliest first.
                if Handle.objects.select_for_update().filter(pk=hid).first() is None:
                    continue
                sched = (
                    ScheduledRelease.objects.select_related("deployment", "deployment__handle", "created_by", "handle")
                    .filter(handle_id=hid, state=dc.SCHEDULE_SCHEDULED, at__lte=Now())
                    .order_by("at", "created_at", "id")
                    .first()
                )
                if sched is None:
                    continue
                # The idempotent claim: only one caller turns it from scheduled, and only if
                # this transaction commits.
                if not ScheduledRelease.objects.filter(pk=sched.pk, state=dc.SCHEDULE_SCHEDULED).update(state=dc.SCHEDULE_RUNNING):
                    continue
                _run_claimed(sched)
                ran.append(sched.id)
                progressed = True
        if not progressed:
            return ran


def scheduled_release_seconds_until_due(*, scheduled_id):
    """Seconds until a still-scheduled release is due by the database's clock (<= 0: due; None: not scheduled)."""
    at = ScheduledRelease.objects.filter(pk=scheduled_id, state=dc.SCHEDULE_SCHEDULED).values_list("at", flat=True).first()
    if at is None:
        return None
    return (at - db_now()).total_seconds()


def _email_failure(sched_id):
    from django.core.mail import send_mail

    sched = ScheduledRelease.objects.select_related("created_by", "handle", "deployment").filter(pk=sched_id).first()
    if sched is None or sched.created_by_id is None or not sched.created_by.email:
        return
    error = sched.error or {}
    version = f"v{sched.deployment.version}" if sched.deployment_id else sched.deployment_ref
    url = f"{settings.GHARART_PUBLIC_URL.rstrip('/')}/h/{sched.handle.slug}/deployments/{sched.deployment_ref}/"
    body = (
        f"The release of {version} on {sched.handle.slug}, scheduled for {sched.at:%Y-%m-%d %H:%M} UTC, did not go live.\n\n"
        f"Why: {error.get('message', '')} ({error.get('code', '')})\n\n"
        f"Nothing changed on the live site. Open the deployment to fix it and promote or schedule again:\n{url}\n"
    )
    try:
        send_mail(
            subject=f"Scheduled release of {version} on {sched.handle.slug} failed",
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[sched.created_by.email],
        )
    except Exception:
        logger.exception("Could not email the failure of scheduled release %s", sched_id)
