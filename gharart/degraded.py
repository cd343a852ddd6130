"""Running with the cache (Redis) unreachable: degrade, never fail the request.

The cache holds counters (throttles, quotas) and copies of database facts (the live state
and manifests of profile sites). When it cannot be reached, callers fall back to the
database or let the request through, and log a warning here: at most one line per kind of
operation every ``WARN_EVERY`` seconds per process, so an outage does not flood the logs.

After a failure the process skips the cache for ``SKIP_SECONDS`` (``cache_guard`` raises at
once), so a cache that hangs instead of refusing costs one timeout, not one per call.
"""

import logging
import threading
import time

from redis.exceptions import RedisError

logger = logging.getLogger("gharart.degraded")

class CacheSkipped(RedisError):
    """Raised by ``cache_guard`` while the cache is being skipped after a failure."""


# What a cache backend raises when its server is down, refuses or times out.
CACHE_ERRORS = (RedisError, ConnectionError, TimeoutError, OSError)
WARN_EVERY = 10.0
SKIP_SECONDS = 5.0

_last_warned = {}
_skip_until = 0.0
_lock = threading.Lock()


def cache_guard():
    """Call before using the cache: raises ``CacheSkipped`` while it is known to be down."""
    if _skip_until and time.monotonic() < _skip_until:
        raise CacheSkipped("skipped after a recent failure")


def cache_unavailable(what: str, exc: BaseException):
    """Note that ``what`` ran without the cache because of ``exc``: skip it for a while, warn."""
    global _skip_until
    now = time.monotonic()
    with _lock:
        if not isinstance(exc, CacheSkipped):
            _skip_until = now + SKIP_SECONDS
        if now - _last_warned.get(what, -WARN_EVERY) < WARN_EVERY:
            return
        _last_warned[what] = now
    logger.warning("cache unavailable, %s: %s: %s", what, type(exc).__name__, exc)
