"""Reads for support: a user's reports and the requests they can quote."""

from datetime import timedelta

from django.utils import timezone

from gharart.models import RequestLog
from support.models import SupportReport

# How far back the support page offers a user's own requests to quote.
RECENT_REQUESTS_WINDOW = timedelta(days=7)


def request_log_get_for_user(*, user, request_id):
    """The user's own logged request with this ID (newest if the ID was reused), or None.

    Request IDs can be chosen by the client (``X-Request-ID``), so a match is only
    trusted when the log row belongs to the same user.
    """
    if not request_id or user is None or not user.is_authenticated:
        return None
    return RequestLog.objects.filter(request_id=request_id, user=user).order_by("-created_at", "-pk").first()


def request_log_recent_for_user(*, user, failed_limit=10, other_limit=5):
    """The user's recent logged requests: failed ones (4xx/5xx) first, newest first."""
    since = timezone.now() - RECENT_REQUESTS_WINDOW
    mine = RequestLog.objects.filter(user=user, created_at__gte=since).order_by("-created_at", "-pk")
    failed = list(mine.filter(status_code__gte=400)[:failed_limit])
    others = list(mine.filter(status_code__lt=400)[:other_limit])
    return failed + others


def support_report_list(*, user):
    return SupportReport.objects.filter(user=user).select_related("handle").order_by("-created_at", "-pk")
