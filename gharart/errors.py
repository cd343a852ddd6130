"""One error envelope for every /v2 route.

``{"error": {"code", "message", "request_id", "details"}}``. Services raise
``ApplicationError`` (the code lives on the exception); DRF's own exceptions, Django's
``Http404``/``PermissionDenied``/``ValidationError`` are mapped here once.
"""

import errno
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from gharart import constants as c
from gharart.object_storage import is_unreachable
from gharart.request_id import current_request_id, request_id_for

logger = logging.getLogger("gharart.errors")


class ApplicationError(Exception):
    """A domain error with a stable machine code, an HTTP status and optional details."""

    status = 400
    code = "bad_request"

    def __init__(self, code=None, message="", *, status=None, details=None, headers=None):
        self.code = code or self.code
        self.message = message or self.code.replace("_", " ").capitalize() + "."
        self.status = status or self.status
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(self.message)


def too_large(code, message, *, max_bytes):
    """413 ``code``: a body or a file over ``max_bytes`` (also in ``details.max_bytes``)."""
    return ApplicationError(code, message, status=413, details={"max_bytes": max_bytes})


def envelope(code, message, *, request_id=None, details=None):
    return {
        "error": {
            "code": code,
            "message": message,
            "request_id": request_id or current_request_id(),
            "details": details or {},
        }
    }


def error_response(code, message, status, *, request=None, details=None, headers=None):
    """A plain Django JSON error response in the envelope (for non-DRF routes)."""
    rid = request_id_for(request) if request is not None else current_request_id()
    response = JsonResponse(envelope(code, message, request_id=rid, details=details), status=status)
    for k, v in (headers or {}).items():
        response[k] = v
    return response


def _validation_details(detail):
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def _flatten(value):
    if isinstance(value, list):
        out = []
        for v in value:
            if isinstance(v, dict):
                out.append({k: _flatten(x) for k, x in v.items()})
            else:
                out.append(str(v))
        return out
    if isinstance(value, dict):
        return [{k: _flatten(x) for k, x in value.items()}]
    return [str(value)]


def api_exception_handler(exc, context):
    request = context.get("request")
    rid = request_id_for(request) if request is not None else current_request_id()
    headers = {}
    if isinstance(exc, ApplicationError):
        code, message, status, details = exc.code, exc.message, exc.status, exc.details
        headers.update(exc.headers)
    elif isinstance(exc, DjangoValidationError):
        code, message, status = c.VALIDATION_ERROR, "The request is not valid.", 400
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    elif isinstance(exc, RequestDataTooBig):
        # A body over DATA_UPLOAD_MAX_MEMORY_SIZE (JSON bodies stop earlier, at GHARART_MAX_JSON_BYTES).
        code, message, status, details = c.PAYLOAD_TOO_LARGE, "The request body is too large.", 413, {}
    elif isinstance(exc, drf_exceptions.ValidationError):
        code, message, status = c.VALIDATION_ERROR, "The request is not valid.", 400
        details = _validation_details(exc.detail)
    elif isinstance(exc, drf_exceptions.ParseError):
        code, message, status, details = c.MALFORMED_JSON, f"The request body could not be parsed: {exc.detail}", 400, {}
    elif isinstance(exc, drf_exceptions.NotAuthenticated):
        code, message, status, details = c.AUTHENTICATION_REQUIRED, "Authentication credentials were not provided.", 401, {}
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, drf_exceptions.AuthenticationFailed):
        code, message, status, details = c.INVALID_TOKEN, str(exc.detail), 401, {}
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    elif isinstance(exc, drf_exceptions.PermissionDenied | DjangoPermissionDenied):
        code, message, status, details = c.FORBIDDEN, "You do not have permission to perform this action.", 403, {}
    elif isinstance(exc, drf_exceptions.NotFound | Http404):
        code, message, status, details = c.NOT_FOUND, "Not found.", 404, {}
    elif isinstance(exc, drf_exceptions.MethodNotAllowed):
        code, message, status, details = c.METHOD_NOT_ALLOWED, str(exc.detail), 405, {}
    elif isinstance(exc, drf_exceptions.UnsupportedMediaType):
        code, message, status, details = c.UNSUPPORTED_MEDIA_TYPE, str(exc.detail), 415, {}
    elif isinstance(exc, drf_exceptions.NotAcceptable):
        code, message, status, details = "not_acceptable", str(exc.detail), 406, {}
    elif isinstance(exc, drf_exceptions.Throttled):
        code, message, status, details = c.RATE_LIMITED, "Too many requests.", 429, {}
        if exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    elif isinstance(exc, drf_exceptions.APIException):
        code = getattr(exc, "default_code", "error")
        message, status, details = str(exc.detail), exc.status_code, {}
    elif isinstance(exc, OperationalError | InterfaceError):
        # The database is unreachable (restarting, failing over): retry, not a bug.
        logger.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        code, message, status, details = c.SERVICE_UNAVAILABLE, "The database is unavailable for a moment. Try again in a few seconds.", 503, {}
        headers["Retry-After"] = "5"
    elif is_unreachable(exc):  # StorageUnavailable is an ApplicationError, answered above
        logger.warning("object storage unavailable: %s: %s", type(exc).__name__, exc)
        code, message, status, details = c.SERVICE_UNAVAILABLE, "File storage is unavailable for a moment. Try again in a few seconds.", 503, {}
        headers["Retry-After"] = "5"
    elif isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        logger.error("disk full while serving the API: %s", exc)
        code, message, status, details = "insufficient_storage", "The server is out of storage space; nothing was kept. Try again later.", 507, {}
        headers["Retry-After"] = "60"
    elif isinstance(exc, DataError) and "NUL" in str(exc):
        # PostgreSQL refuses NUL in text; gharart/request_guard.py stops most before this.
        message = "The request contains a NUL character, which is never valid here."
        code, status, details = c.VALIDATION_ERROR, 400, {"non_field_errors": [message]}
    else:
        logger.exception("Unhandled error while serving the API")
        code, message, status, details = c.INTERNAL_ERROR, "Something went wrong on our side. Quote the request ID to support.", 500, {}
    if request is not None and status == 401 and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = "Bearer"
    response = Response(envelope(code, message, request_id=rid, details=details), status=status, headers=headers)
    response.exception = True
    return response
