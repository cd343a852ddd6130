"""Reads for files, magic links, the docs access policy and the docs access log."""

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from files import constants as fc
from files.models import DocsAccessLog, DocsAccessPolicy, File, MagicLink
from gharart.errors import ApplicationError


def _with_link_counts(queryset):
    now = timezone.now()
    return queryset.annotate(
        active_magic_links=Count(
            "magic_links",
            filter=Q(magic_links__revoked_at__isnull=True, magic_links__expires_at__gt=now),
        )
    )


def file_list(*, handle, access=None, expired=None):
    """The handle's files, newest first, with ``active_magic_links`` counted."""
    qs = File.objects.filter(handle=handle).select_related("created_by")
    if access:
        qs = qs.filter(access=access)
    now = timezone.now()
    if expired is True:
        qs = qs.filter(expires_at__lte=now)
    elif expired is False:
        qs = qs.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    return _with_link_counts(qs).order_by("-created_at", "-pk")


def file_get(*, handle, file_id):
    """One file of the handle (with ``active_magic_links``) or 404 ``file_not_found``."""
    file = _with_link_counts(File.objects.filter(handle=handle, pk=file_id).select_related("created_by", "handle")).first()
    if file is None:
        raise ApplicationError(fc.FILE_NOT_FOUND, "No such file on this handle.", status=404)
    return file


def magic_link_list(*, file):
    return MagicLink.objects.filter(file=file).select_related("created_by").order_by("-created_at", "-pk")


def docs_policy_get(*, handle):
    """The handle's policy; an unsaved members-only default (version 0) when none was set."""
    policy = DocsAccessPolicy.objects.select_related("updated_by").filter(handle=handle).first()
    return policy or DocsAccessPolicy(handle=handle)


def docs_access_log(*, handle, limit=100):
    return DocsAccessLog.objects.filter(handle=handle).select_related("user").order_by("-created_at", "-pk")[:limit]


def files_expiring_soon(*, handle, days=fc.EXPIRING_SOON_DAYS):
    now = timezone.now()
    return File.objects.filter(handle=handle, expires_at__gt=now, expires_at__lte=now + timedelta(days=days)).exclude(access=fc.ACCESS_PRIVATE)


def overview_panel(*, handle, membership):
    """Counts of files by access, files expiring soon, and docs policy warnings."""
    from files.docs import policy_warnings

    counts = {a: 0 for a in fc.ACCESS_VALUES}
    for row in File.objects.filter(handle=handle).values("access").annotate(n=Count("pk")):
        counts[row["access"]] = row["n"]
    now = timezone.now()
    expired = File.objects.filter(handle=handle, expires_at__lte=now).exclude(access=fc.ACCESS_PRIVATE).count()
    policy = docs_policy_get(handle=handle)
    return {
        "template": "files/_overview_panel.html",
        "context": {
            "handle": handle,
            "counts": counts,
            "total": sum(counts.values()),
            "expiring": list(files_expiring_soon(handle=handle).order_by("expires_at")[:5]),
            "expired": expired,
            "policy": policy,
            "warnings": policy_warnings(handle=handle, policy=policy),
        },
    }
