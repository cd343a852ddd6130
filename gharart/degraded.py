"""Running with a dependency down: degrade where possible, fail cleanly where not.

Database unreachable (restarting, failing over): the request fails with 503
``service_unavailable`` and ``Retry-After`` (the envelope under /v2, a plain page
elsewhere), never a stack trace, and the next request reconnects
(``CONN_HEALTH_CHECKS``): no process restart is needed.

Disk full while a request writes (an upload spooled or stored): 507
``insufficient_storage`` with ``Retry-After``; the writers remove their partial files.

Object storage (S3) down, refusing or frozen: 503 ``service_unavailable`` with
``Retry-After`` as for the database. Every call to it is bounded (connect and read
timeouts, two attempts: ``gharart/object_storage.py``), nothing is acknowledged before
its bytes are stored, and the next request simply tries again.

Cache (Redis) unreachable: degrade, never fail the request.

The cache holds counters (throttles, quotas) and copies of database facts (the live state
and manifests of profile sites). When it cannot be reached, callers fall back to the
database or let the request through, and log a warning here: at most one line per kind of
operation every ``WARN_EVERY`` seconds per process, so an outage does not flood the logs.

After a failure the process skips the cache for ``SKIP_SECONDS`` (``cache_guard`` raises at
once), so a cache that hangs instead of refusing costs one timeout, not one per call.
"""

import errno
import logging
import threading
import time

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from redis.exceptions import RedisError

from gharart import constants as c
from gharart.errors import ApplicationError, error_response
from gharart.object_storage import is_unreachable
from gharart.request_id import request_id_for

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


# --- The database ---------------------------------------------------------------------

# Raised when the database cannot be reached or drops the connection mid-request.
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER = "5"
DATABASE_MESSAGE = "The database is unavailable for a moment. Try again in a few seconds."
# No template, no context processors: rendering must not need the database that is down.
_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Temporarily unavailable</title>"
    "<h1>Temporarily unavailable</h1><p>{message}</p><p>Request ID: <code>{request_id}</code></p></html>"
)


STORAGE_MESSAGE = "File storage is unavailable for a moment. Try again in a few seconds."
STORAGE_RETRY_AFTER = "5"


class StorageUnavailable(ApplicationError):
    """Object storage is down, refuses or timed out: retry later, nothing was kept."""

    status = 503
    code = c.SERVICE_UNAVAILABLE

    def __init__(self, message=STORAGE_MESSAGE, **kwargs):
        kwargs.setdefault("headers", {"Retry-After": STORAGE_RETRY_AFTER})
        super().__init__(message=message, **kwargs)


def is_object_storage_down(exc) -> bool:
    """``StorageUnavailable``, or a botocore error of storage that cannot be reached."""
    return isinstance(exc, StorageUnavailable) or is_unreachable(exc)


DISK_FULL_MESSAGE = "The server is out of storage space; nothing was kept. Try again later."
DISK_FULL_RETRY_AFTER = "60"


def is_disk_full(exc) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _unavailable_response(request, status, code, message, retry_after):
    headers = {"Retry-After": retry_after, "Cache-Control": "no-store"}
    if request.path.startswith("/v2/"):
        return error_response(code, message, status, request=request, headers=headers)
    response = HttpResponse(_PAGE.format(message=message, request_id=request_id_for(request)), status=status, content_type="text/html; charset=utf-8")
    for name, value in headers.items():
        response[name] = value
    return response


class DependencyErrorMiddleware:
    """A view's database or object-storage outage is 503, a full disk 507 (the API handler does the same)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            logger.warning("database unavailable: %s: %s", type(exception).__name__, exception)
            return _unavailable_response(request, 503, c.SERVICE_UNAVAILABLE, DATABASE_MESSAGE, DATABASE_RETRY_AFTER)
        if is_object_storage_down(exception):
            logger.warning("object storage unavailable: %s: %s", type(exception).__name__, exception)
            return _unavailable_response(request, 503, c.SERVICE_UNAVAILABLE, STORAGE_MESSAGE, STORAGE_RETRY_AFTER)
        if is_disk_full(exception):
            logger.error("disk full while serving %s: %s", request.path, exception)
            return _unavailable_response(request, 507, "insufficient_storage", DISK_FULL_MESSAGE, DISK_FULL_RETRY_AFTER)
        return None
