"""Reads for files, magic links, the docs access policy and the docs access log."""

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from files import constants as fc
from files.docs import policy_warnings
from files.models import Campaign, DocsAccessLog, DocsAccessPolicy, File, MagicLink
from gharart.errors import ApplicationError


def _with_link_counts(queryset):
    now = timezone.now()
    return queryset.annotate(
        active_magic_links=Count(
            "magic_links",
            filter=Q(magic_links__revoked_at__isnull=True, magic_links__expires_at__gt=now),
        )
    )


def expired_q(now):
    """Files past their effective expiry (their campaign's end, or their own ``expires_at``)."""
    return Q(campaign__isnull=True, expires_at__lte=now) | Q(campaign__ends_at__lte=now)


def expiring_between_q(start, end):
    return Q(campaign__isnull=True, expires_at__gt=start, expires_at__lte=end) | Q(campaign__ends_at__gt=start, campaign__ends_at__lte=end)


def file_list(*, handle, access=None, expired=None, campaign=None):
    """The handle's files, newest first, with ``active_magic_links`` counted."""
    qs = File.objects.filter(handle=handle).select_related("created_by", "campaign")
    if access:
        qs = qs.filter(access=access)
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    now = timezone.now()
    if expired is True:
        qs = qs.filter(expired_q(now))
    elif expired is False:
        qs = qs.exclude(expired_q(now))
    return _with_link_counts(qs).order_by("-created_at", "-pk")


def file_get(*, handle, file_id):
    """One file of the handle (with ``active_magic_links``) or 404 ``file_not_found``."""
    file = _with_link_counts(File.objects.filter(handle=handle, pk=file_id).select_related("created_by", "handle", "campaign")).first()
    if file is None:
        raise ApplicationError(fc.FILE_NOT_FOUND, "No such file on this handle.", status=404)
    return file


def magic_link_list(*, file):
    return MagicLink.objects.filter(file=file).select_related("created_by").order_by("-created_at", "-pk")


def docs_policy_get(*, handle):
    """The handle's policy; an unsaved members-only default (version 0) when none was set."""
    policy = DocsAccessPolicy.objects.select_related("updated_by", "campaign").filter(handle=handle).first()
    return policy or DocsAccessPolicy(handle=handle)


def docs_access_log(*, handle, limit=100):
    return DocsAccessLog.objects.filter(handle=handle).select_related("user").order_by("-created_at", "-pk")[:limit]


def files_expiring_soon(*, handle, days=fc.EXPIRING_SOON_DAYS):
    now = timezone.now()
    return File.objects.filter(expiring_between_q(now, now + timedelta(days=days)), handle=handle).select_related("campaign").exclude(access=fc.ACCESS_PRIVATE)


def campaign_list(*, handle):
    """The handle's campaigns, newest first, with ``file_count``."""
    return Campaign.objects.filter(handle=handle).select_related("created_by").annotate(file_count=Count("files")).order_by("-created_at", "-pk")


def campaign_get(*, handle, campaign_id):
    """One campaign of the handle (with ``file_count``) or 404 ``campaign_not_found``."""
    campaign = campaign_list(handle=handle).filter(pk=campaign_id).first()
    if campaign is None:
        raise ApplicationError(fc.CAMPAIGN_NOT_FOUND, "No such campaign on this handle.", status=404)
    return campaign


def campaigns_ending_soon(*, handle, days=fc.EXPIRING_SOON_DAYS):
    """Campaigns ending within ``days`` whose shared (non-private) files stop working then, soonest first."""
    now = timezone.now()
    return (
        Campaign.objects.filter(handle=handle, ends_at__gt=now, ends_at__lte=now + timedelta(days=days))
        .annotate(shared_files=Count("files", filter=~Q(files__access=fc.ACCESS_PRIVATE)))
        .filter(shared_files__gt=0)
        .order_by("ends_at")
    )


def overview_panel(*, handle, membership):
    """Counts of files by access, files expiring soon, and docs policy warnings."""
    counts = {a: 0 for a in fc.ACCESS_VALUES}
    for row in File.objects.filter(handle=handle).values("access").annotate(n=Count("pk")):
        counts[row["access"]] = row["n"]
    now = timezone.now()
    expired = File.objects.filter(expired_q(now), handle=handle).exclude(access=fc.ACCESS_PRIVATE).count()
    policy = docs_policy_get(handle=handle)
    return {
        "template": "files/_overview_panel.html",
        "context": {
            "handle": handle,
            "counts": counts,
            "total": sum(counts.values()),
            "expiring": sorted(files_expiring_soon(handle=handle), key=lambda f: f.effective_expires_at)[:5],
            "campaigns_ending": list(campaigns_ending_soon(handle=handle)),
            "expired": expired,
            "policy": policy,
            "warnings": policy_warnings(handle=handle, policy=policy),
        },
    }
