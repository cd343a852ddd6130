"""The request log: every /v2 write and every 4xx/5xx, by request ID.

Support finds a user's failed request from the ID they quote; end users' reports link to
it. Rows are pruned after ``GHARART_REQUEST_LOG_RETENTION_DAYS``.
"""

import logging
import time

from django.db import DatabaseError

from gharart.models import RequestLog
from gharart.request_id import request_id_for
from gharart.throttles import client_ip

logger = logging.getLogger("gharart.requests")
_SAFE = {"GET", "HEAD", "OPTIONS"}
_SKIP_PREFIXES = ("/static/",)


def should_log(path, method, status):
    if path.startswith(_SKIP_PREFIXES):
        return False
    return status >= 400 or (path.startswith("/v2/") and method not in _SAFE)


def _error_code(response):
    data = getattr(response, "data", None)
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("code", ""))[:64]
    return ""


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        if should_log(request.path, request.method, response.status_code):
            user = getattr(request, "user", None)
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
