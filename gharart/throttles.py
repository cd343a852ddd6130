"""Rate limits and daily write quotas, counted in the cache (Redis in production).

Fixed windows with an atomic ``incr`` so counts hold across processes. Every limited
response carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``;
a refusal is 429 with ``Retry-After``.

When the cache cannot be reached the limits fail open: the request is let through
(uncounted) and a warning is logged, because refusing every request would turn a cache
outage into a full outage.
"""

import hashlib
import ipaddress
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions as drf_exceptions

from gharart import constants as c
from gharart.degraded import CACHE_ERRORS, cache_guard, cache_unavailable
from gharart.errors import ApplicationError

# Identifiers may come from request data: anything else is hashed into the key.
_SAFE_IDENT = re.compile(r"^[A-Za-z0-9_.:@/+=-]{1,200}$")

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str):
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


@dataclass
class Usage:
    limit: int
    remaining: int
    reset: int  # seconds until the window resets

    def headers(self):
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(0, self.remaining)),
            "RateLimit-Reset": str(self.reset),
        }


def _key_part(ident: str) -> str:
    return ident if _SAFE_IDENT.match(ident) else "h:" + hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()


def _count(key, window):
    """Atomically add one hit to ``key`` for ``window`` seconds and return the new count.

    None when the cache is unreachable (the caller lets the request through).
    """
    try:
        cache_guard()
        cache.add(key, 0, timeout=window + 1)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 0, timeout=window + 1)
            return cache.incr(key)
    except CACHE_ERRORS as exc:
        cache_unavailable("rate limits are not enforced", exc)
        return None


class RateLimited(ApplicationError, drf_exceptions.APIException):
    """429 ``rate_limited``; also an APIException, so DRF treats it like its own auth errors."""

    status_code = 429


def _window(scope, ident, rate):
    limit, window = parse_rate(rate or settings.GHARART_THROTTLES[scope])
    now = time.time()
    window_start = int(now // window) * window
    reset = max(1, int(window_start + window - now + 0.999))
    return limit, window, reset, f"rl:{scope}:{_key_part(ident)}:{window_start}"


def _refuse(scope, limit, usage):
    return RateLimited(
        c.RATE_LIMITED,
        f"Too many requests. Try again in {usage.reset} seconds.",
        status=429,
        details={"scope": scope, "limit": limit, "retry_after": usage.reset},
        headers={"Retry-After": str(usage.reset), **usage.headers()},
    )


def hit(scope: str, ident: str, *, rate: str | None = None) -> Usage:
    """Count one request of ``ident`` against ``scope``; raise 429 ``rate_limited`` if over."""
    limit, window, reset, key = _window(scope, ident, rate)
    count = _count(key, window)
    if count is None:
        return Usage(limit=limit, remaining=limit, reset=reset)
    usage = Usage(limit=limit, remaining=limit - count, reset=reset)
    if count > limit:
        raise _refuse(scope, limit, usage)
    return usage


def failures_gate(scope: str, ident: str):
    """Before a credential is checked: 429 while ``ident`` has used up its failures.

    Checked for every attempt, right or wrong, so a guesser over the limit learns nothing
    from the answers (a right guess is refused too until the window resets).
    """
    limit, _, reset, key = _window(scope, ident, None)
    try:
        cache_guard()
        count = cache.get(key, 0)
    except CACHE_ERRORS as exc:
        cache_unavailable("failed-credential limits are not enforced", exc)
        return
    if count >= limit:
        raise _refuse(scope, limit, Usage(limit=limit, remaining=0, reset=reset))


def failure_record(scope: str, ident: str):
    """Count one failed credential (wrong token); 429 once there are too many."""
    hit(scope, ident)


def _seconds_to_utc_midnight(now=None):
    now = now or datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds() + 0.999))


def quota_hit(quota: str, handle_slug: str) -> Usage:
    """Count one write against the handle's daily quota; raise 429 when it is used up."""
    limit = settings.GHARART_DAILY_QUOTAS[quota]
    today = datetime.now(UTC).strftime("%Y%m%d")
    reset = _seconds_to_utc_midnight()
    key = f"quota:{quota}:{handle_slug}:{today}"
    count = _count(key, 86400)
    if count is None:
        return Usage(limit=limit, remaining=limit, reset=reset)
    usage = Usage(limit=limit, remaining=limit - count, reset=reset)
    if count > limit:
        _decr(key)
        raise ApplicationError(
            c.DAILY_WRITE_LIMIT_EXCEEDED,
            f"The daily limit of {limit} {quota.replace('_', ' ')} for this handle is used up.",
            status=429,
            details={"quota": quota, "limit": limit, "retry_after": reset},
            headers={"Retry-After": str(reset), **usage.headers()},
        )
    return usage


def quota_refund(quota: str, handle_slug: str):
    """Give back a quota unit for a write that did not happen (it failed validation)."""
    today = datetime.now(UTC).strftime("%Y%m%d")
    _decr(f"quota:{quota}:{handle_slug}:{today}")


@contextmanager
def quota_charged(quota: str, handle_slug: str):
    """Charge one unit of the handle's daily ``quota`` for the write in the ``with`` block.

    429 ``daily_write_limit_exceeded`` before the block runs when the quota is used up;
    the unit is given back when the block raises (the write did not happen).
    """
    quota_hit(quota, handle_slug)
    try:
        yield
    except BaseException:
        quota_refund(quota, handle_slug)
        raise


def _decr(key):
    try:
        cache_guard()
        cache.decr(key)
    except ValueError:  # the window expired meanwhile
        pass
    except CACHE_ERRORS as exc:
        cache_unavailable("a quota refund was lost", exc)


def client_ip(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind trusted proxies the entry they added.

    With ``GHARART_TRUST_X_FORWARDED_FOR`` and ``GHARART_TRUSTED_PROXY_COUNT = n``, each of
    the n proxies appends the address it received from, so the client is the n-th entry from
    the right. Entries left of it are whatever the client sent and are never trusted. A
    header with fewer entries than proxies, or an entry that is not an address, falls back
    to ``REMOTE_ADDR``.
    """
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if getattr(settings, "GHARART_TRUST_X_FORWARDED_FOR", False):
        entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
        count = max(1, int(getattr(settings, "GHARART_TRUSTED_PROXY_COUNT", 1)))
        if len(entries) >= count:
            candidate = entries[-count]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                return remote
    return remote


# --- Sign-in (passwords): /accounts/login/, /admin/login/ and POST /v2/auth/token -------------

SIGNIN_IP_SCOPE = c.THROTTLE_AUTH_TOKEN
SIGNIN_USERNAME_SCOPE = c.THROTTLE_SIGNIN_USERNAME_FAILURES


def _username_ident(username) -> str:
    normalized = str(username or "").strip().lower()
    return "signin:user:" + hashlib.sha256(normalized.encode("utf-8", "surrogatepass")).hexdigest()


def signin_attempt(request, username):
    """Before a password is checked: count the attempt per IP; 429 over either limit.

    Every attempt counts against the address (``auth_token``, shared by the three sign-in
    routes); a username is refused while it has too many recent failures, whoever sends it.
    """
    usage = hit(SIGNIN_IP_SCOPE, f"signin:ip:{client_ip(request)}")
    failures_gate(SIGNIN_USERNAME_SCOPE, _username_ident(username))
    return usage


def signin_failed(username):
    """Count one wrong password for ``username`` (never raises: the answer stays "wrong password")."""
    limit, window, _, key = _window(SIGNIN_USERNAME_SCOPE, _username_ident(username), None)
    _count(key, window)
