"""Request IDs: kept from a well-formed inbound ``X-Request-ID``, else generated.

The ID is on every response, in every error body and in every log line of the request.
"""

import contextvars
import logging
import re

from gharart.ids import new_req_id

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_current = contextvars.ContextVar("gharart_request_id", default="-")


def current_request_id() -> str:
    return _current.get()


def request_id_for(request) -> str:
    return getattr(request, "request_id", None) or current_request_id()


def request_id_from(inbound: str) -> str:
    """The inbound ``X-Request-ID`` when it is well-formed, else a new one."""
    return inbound if _VALID.match(inbound) else new_req_id()


class RequestIDMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(HEADER, ""))
        request.request_id = request_id
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


class RequestIDLogFilter(logging.Filter):
    def filter(self, record):
        record.request_id = current_request_id()
        return True
