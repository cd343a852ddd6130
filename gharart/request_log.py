"""The request log: /v2 writes and failed requests, by request ID.

Support finds a user's failed request from the ID they quote; end users' reports link to
it. Rows are pruned after ``GHARART_REQUEST_LOG_RETENTION_DAYS``.

What the public can do must not turn into database writes (a scanner sends thousands of
404s a minute), so rows are written for:

- a signed-in caller (session or bearer): every /v2 write and every 4xx/5xx;
- an anonymous caller of a /v2 API route (not ``/v2/public/``): its writes and 4xx/5xx,
  at most ``GHARART_REQUEST_LOG_ANONYMOUS_PER_MINUTE`` rows per address and minute.

Everything else anonymous (profile sites, previews, edge docs, public files, unknown
paths, sign-in pages) is only counted: one cache counter per hour and status, kept for
two days (``anonymous_counts``), and a log line with the request ID.
"""

import logging
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone

from gharart import constants as c
from gharart import idempotency, throttles
from gharart.degraded import CACHE_ERRORS, cache_guard, cache_unavailable
from gharart.models import RequestLog
from gharart.request_id import request_id_for
from gharart.throttles import client_ip

logger = logging.getLogger("gharart.requests")
_SAFE = {"GET", "HEAD", "OPTIONS"}
_SKIP_PREFIXES = ("/static/",)
_PUBLIC_API_PREFIX = "/v2/public/"
COUNT_TTL = 2 * 86400
COUNT_HOURS = 48


def should_log(path, method, status):
    if path.startswith(_SKIP_PREFIXES):
        return False
    return status >= 400 or (path.startswith("/v2/") and method not in _SAFE)


def _error_code(response):
    data = getattr(response, "data", None)
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("code", ""))[:64]
    return ""


def _count_key(hour, status):
    return f"reqlog:anon:{hour}:{int(status)}"


def _hour(now=None):
    return (now or datetime.now(UTC)).strftime("%Y%m%d%H")


def _count_anonymous(status):
    key = _count_key(_hour(), status)
    try:
        cache_guard()
        cache.add(key, 0, timeout=COUNT_TTL)
        cache.incr(key)
    except ValueError:
        pass  # expired between add and incr: one uncounted request
    except CACHE_ERRORS as exc:
        cache_unavailable("anonymous requests are not counted", exc)


def anonymous_counts(*, hours=24, now=None) -> dict:
    """``{status: count}`` of anonymous requests only counted (not logged) in the last ``hours``."""
    now = now or datetime.now(UTC)
    hours = max(1, min(hours, COUNT_HOURS))
    keys = {}
    for back in range(hours):
        hour = _hour(now - timedelta(hours=back))
        for status in range(100, 600):
            keys[_count_key(hour, status)] = status
    try:
        cache_guard()
        found = cache.get_many(list(keys))
    except CACHE_ERRORS as exc:
        cache_unavailable("anonymous request counts unavailable", exc)
        return {}
    totals = {}
    for key, value in found.items():
        totals[keys[key]] = totals.get(keys[key], 0) + int(value)
    return dict(sorted(totals.items()))


def _anonymous_row_allowed(request):
    """An anonymous /v2 row, within the per-address budget."""
    rate = f"{settings.GHARART_REQUEST_LOG_ANONYMOUS_PER_MINUTE}/min"
    try:
        throttles.hit(c.THROTTLE_REQUEST_LOG_ANONYMOUS, f"ip:{client_ip(request)}", rate=rate)
    except throttles.RateLimited:
        return False
    return True


def note_anonymous(request, response):
    """Count an anonymous request that gets no row (site hosts answer before this
    middleware runs and call this themselves)."""
    if should_log(request.path, request.method, response.status_code):
        _count_anonymous(response.status_code)
        logger.info("anonymous %s %s%s -> %s", request.method, request.META.get("HTTP_HOST", "")[:100], request.path[:200], response.status_code)


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        if should_log(request.path, request.method, response.status_code):
            user = getattr(request, "user", None)
            if not (user is not None and user.is_authenticated):
                api_route = request.path.startswith("/v2/") and not request.path.startswith(_PUBLIC_API_PREFIX)
                if not api_route or not _anonymous_row_allowed(request):
                    _count_anonymous(response.status_code)
                    logger.info("anonymous %s %s -> %s", request.method, request.path[:200], response.status_code)
                    return response
            match = getattr(request, "resolver_match", None)
            handle = getattr(request, "gharart_handle", "") or (match.kwargs.get("handle", "") if match else "")
            try:
                RequestLog.objects.create(
                    request_id=request_id_for(request),
                    user=user if user is not None and user.is_authenticated else None,
                    handle=str(handle)[:40],
                    method=request.method,
                    path=request.path[:1000],
                    route=(match.route if match else "")[:300],
                    status_code=response.status_code,
                    error_code=_error_code(response),
                    duration_ms=int((time.monotonic() - started) * 1000),
                    ip=client_ip(request) if client_ip(request) != "unknown" else None,
                )
            except DatabaseError:
                # The log must never turn a response into a failure (e.g. the database is down).
                logger.warning("request log write failed", exc_info=True)
        return response


def request_log_prune():
    """Delete request-log rows past retention and expired idempotency records (beat, every 6 h)."""
    cutoff = timezone.now() - timedelta(days=settings.GHARART_REQUEST_LOG_RETENTION_DAYS)
    deleted, _ = RequestLog.objects.filter(created_at__lt=cutoff).delete()
    return {"request_log": deleted, "idempotency": idempotency.prune()}
