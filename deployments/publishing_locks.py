"""The publishing lock of a handle: while it holds, promote, rollback and scheduled releases
are refused with 409 ``publishing_locked`` (an owner's or admin's forced promote passes,
audited). It ends by itself at ``until``, by the database's clock."""

from django.db import transaction
from django.utils import timezone

from deployments import constants as dc
from deployments.models import PublishingLock
from deployments.services.common import acting_user, validation_error
from gharart import constants as c
from gharart.clock import Now, db_now, parse_time
from gharart.errors import ApplicationError
from gharart.models import Handle
from gharart.services import audit_record


def publishing_lock_state(*, handle, now=None) -> dict:
    """``{"locked", "reason", "until", "updated_at", "updated_by"}``; ``locked`` is false once ``until`` passed."""
    lock = PublishingLock.objects.select_related("updated_by").filter(handle=handle).first()
    if lock is None:
        return {"locked": False, "reason": "", "until": None, "updated_at": None, "updated_by": None}
    holds = lock.holds(now or db_now())
    return {
        "locked": holds,
        "reason": lock.reason if holds else "",
        "until": lock.until if holds else None,
        "updated_at": lock.updated_at,
        "updated_by": lock.updated_by.username if lock.updated_by_id else None,
    }


def publishing_locked_error(state) -> ApplicationError:
    until = state["until"]
    when = f" until {until:%Y-%m-%d %H:%M} UTC" if until else " until an owner or admin lifts it"
    return ApplicationError(
        dc.PUBLISHING_LOCKED,
        f"Publishing is locked{when}: {state['reason']}",
        status=409,
        details={"reason": state["reason"], "until": until.strftime("%Y-%m-%dT%H:%M:%SZ") if until else None},
    )


def publishing_lock_check(*, handle, actor=None, role=None, force=False, deployment=None) -> bool:
    """Refuse with 409 ``publishing_locked`` while the handle's lock holds.

    An owner/admin's forced promote passes; that override is audited. Returns whether the
    lock was overridden. Called by promote and rollback under the live pointer's lock.
    """
    state = publishing_lock_state(handle=handle)
    if not state["locked"]:
        return False
    if force and role in c.ADMIN_ROLES:
        audit_record(
            action=c.AUDIT_LOCK_OVERRIDE,
            actor=actor,
            handle=handle,
            target=getattr(deployment, "id", ""),
            before={"locked": True, "reason": state["reason"], "until": state["until"].isoformat() if state["until"] else None},
        )
        return True
    raise publishing_locked_error(state)


@transaction.atomic
def publishing_lock_set(*, handle, locked, reason="", until=None, actor=None) -> dict:
    """Lock or unlock publishing (owners/admins; the view checks the role); audited.

    400 ``validation_error``: a lock needs a reason; ``until`` must be in the future.
    """
    if not isinstance(locked, bool):
        raise validation_error("The publishing lock could not be changed.", locked="true or false.")
    reason = (reason or "").strip() if isinstance(reason, str) else reason
    errors = {}
    if not isinstance(reason, str):
        errors["reason"] = ["A text."]
        reason = ""
    elif len(reason) > 500:
        errors["reason"] = ["At most 500 characters."]
    until_at = None
    if locked:
        if not reason and "reason" not in errors:
            errors["reason"] = ["Say why publishing is locked (people who are refused see it)."]
        if until not in (None, ""):
            parse_errors = {}
            until_at = parse_time(until, field="until", errors=parse_errors)
            errors.update(parse_errors)
            if until_at is not None and until_at <= db_now():
                errors["until"] = ["The lock must end in the future, or leave it empty to lock until lifted."]
    if errors:
        raise ApplicationError(c.VALIDATION_ERROR, "The publishing lock could not be changed.", details=errors)
    Handle.objects.select_for_update().filter(pk=handle.pk).first()
    lock, _ = PublishingLock.objects.get_or_create(handle=handle)
    before = publishing_lock_state(handle=handle)
    lock.locked = locked
    lock.reason = reason if locked else ""
    lock.until = until_at if locked else None
    lock.updated_at = timezone.now()
    lock.updated_by = acting_user(actor)
    lock.save()
    audit_record(
        action=c.AUDIT_PUBLISHING_LOCK,
        actor=actor,
        handle=handle,
        target=handle.slug,
        before={"locked": before["locked"], "reason": before["reason"]},
        after={"locked": locked, "reason": lock.reason, "until": until_at.isoformat() if until_at else None},
    )
    return publishing_lock_state(handle=handle)


def publishing_lock_sweep() -> int:
    """Turn locks whose ``until`` passed into unlocked rows (they already stopped holding)."""
    return PublishingLock.objects.filter(locked=True, until__lte=Now()).update(locked=False, updated_at=timezone.now())
