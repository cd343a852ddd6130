"""Writes for custom domains: add, verify (DNS TXT), remove, and the scheduled re-check."""

import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from domains import constants as domc
from domains import dns, names
from domains.models import CustomDomain
from gharart import constants as c
from gharart.errors import ApplicationError
from gharart.services import audit_record

logger = logging.getLogger(__name__)


def _taken(domain):
    return ApplicationError(domc.DOMAIN_TAKEN, f"{domain} has already been added to a handle.", status=409, details={"domain": domain})


def domain_add(*, handle, domain, actor=None) -> CustomDomain:
    """Add ``domain`` to ``handle`` as pending, with its own TXT challenge value.

    400 ``validation_error`` for a name that can never be a custom domain; 409
    ``domain_taken`` when any handle (this one included) already has it.
    """
    try:
        name = names.normalize_domain(domain)
    except names.InvalidDomain as exc:
        raise ApplicationError(c.VALIDATION_ERROR, str(exc), status=400, details={"domain": [str(exc)]})
    if CustomDomain.objects.filter(domain=name).exists():
        raise _taken(name)
    try:
        with transaction.atomic():
            row = CustomDomain(domain=name, handle=handle, created_by=actor if getattr(actor, "is_authenticated", False) else None)
            row.full_clean(validate_unique=False)
            row.save()
    except IntegrityError:  # a concurrent add of the same name won
        raise _taken(name)
    audit_record(handle=handle, actor=actor, action=domc.AUDIT_ADD, target=name)
    return row


def _record_found(row) -> tuple[bool, str]:
    try:
        values = dns.txt_values(row.record_name)
    except dns.LookupFailed as exc:
        return False, str(exc)
    if row.record_value in [v.strip() for v in values]:
        return True, ""
    if values:
        return False, f"{row.record_name} has TXT records, but none holds the expected value"
    return False, f"{row.record_name} has no TXT record"


def domain_verify(*, row: CustomDomain, actor=None, now: datetime | None = None) -> CustomDomain:
    """Look up the TXT record now: ``verified`` when it holds the value, else 409
    ``domain_verification_failed`` with ``details.expected`` (the record to add)."""
    now = now or timezone.now()
    found, why = _record_found(row)
    row.last_checked_at = now
    if found:
        row.status = domc.VERIFIED
        row.verified_at = row.verified_at or now
        row.failing_since = None
        row.last_error = ""
        row.save(update_fields=["status", "verified_at", "failing_since", "last_checked_at", "last_error"])
        audit_record(handle=row.handle, actor=actor, action=domc.AUDIT_VERIFY, target=row.domain)
        return row
    row.last_error = why[:300]
    row.save(update_fields=["last_checked_at", "last_error"])
    raise ApplicationError(
        domc.DOMAIN_VERIFICATION_FAILED,
        f"The DNS record was not found: {why}. Add it, wait a few minutes, and verify again.",
        status=409,
        details={"expected": {"type": domc.RECORD_TYPE, "name": row.record_name, "value": row.record_value}, "reason": why},
    )


def domain_remove(*, row: CustomDomain, actor=None) -> None:
    """Delete the domain: it stops serving with the next request."""
    handle, name = row.handle, row.domain
    row.delete()
    audit_record(handle=handle, actor=actor, action=domc.AUDIT_REMOVE, target=name)


def domain_recheck(*, row: CustomDomain, now: datetime | None = None) -> CustomDomain:
    """The scheduled check of a serving domain.

    Record present: ``verified``. Record missing: ``failing`` (still served) from the first
    miss; once it has been missing for ``GHARART_DOMAIN_GRACE``, back to ``pending``,
    which stops serving until someone verifies it again.
    """
    now = now or timezone.now()
    found, why = _record_found(row)
    row.last_checked_at = now
    if found:
        row.status, row.failing_since, row.last_error = domc.VERIFIED, None, ""
    else:
        row.last_error = why[:300]
        if row.failing_since is None:
            row.failing_since = now
        if now - row.failing_since >= settings.GHARART_DOMAIN_GRACE:
            logger.warning("Custom domain %s lost its TXT record %s ago: no longer served", row.domain, now - row.failing_since)
            row.status, row.verified_at, row.failing_since = domc.PENDING, None, None
        else:
            row.status = domc.FAILING
    row.save(update_fields=["status", "verified_at", "failing_since", "last_checked_at", "last_error"])
    return row


def domain_recheck_all(*, now: datetime | None = None) -> int:
    """Re-check every serving domain (the Celery beat job); returns how many were checked."""
    count = 0
    for row in CustomDomain.objects.filter(status__in=domc.SERVING_STATUSES).select_related("handle").iterator():
        try:
            domain_recheck(row=row, now=now)
        except Exception:  # one bad row must not stop the others
            logger.exception("Re-checking custom domain %s failed", row.domain)
        count += 1
    return count
