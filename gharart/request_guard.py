"""Refusing NUL characters in requests, once, before they reach a view or the database.

PostgreSQL cannot store or even compare text containing NUL (``\\x00``): a NUL in a URL,
a query parameter or a form or JSON field made any lookup fail with a server error (500).
A NUL is never part of a valid request here, so it is refused as 400 ``validation_error``:

- the middleware checks the path, the query string and url-encoded bodies (every view);
- the DRF parsers check JSON bodies and the text fields of multipart bodies (every /v2 view);
- whatever still slips through (a text field of a dashboard upload form) is turned from
  the database's error into the same 400 by ``process_exception`` and the API handler.

File contents and raw blob bodies are bytes and are never checked.

JSON bodies are also bounded here, for every /v2 route at once: over
``GHARART_MAX_JSON_BYTES`` is 413 ``payload_too_large`` (refused from ``Content-Length``
before reading, or after reading one byte past the limit); nesting deeper than
``MAX_JSON_DEPTH`` is 400 ``malformed_json``; a body that is valid JSON but not an object
(``1.5e+279``, ``[1,2]``, ``"str"``, ``null``) is 400 ``validation_error``, since every
write route takes an object. ``gharart.api`` parses the JSON body of every write before
the view runs, so the answer never depends on the route.
"""

import codecs
import json

from django.conf import settings
from django.db import DataError
from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.utils import json as drf_json

from gharart import constants as c
from gharart.errors import error_response, too_large
from gharart.views import bad_request

NUL = "\x00"
MAX_JSON_DEPTH = 100
NOT_AN_OBJECT = "Send a JSON object ({...}) as the request body."
MESSAGE = "The request contains a NUL character, which is never valid here."


def contains_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(v) for v in value)
    return False


def _form_has_nul(querydict) -> bool:
    return any(contains_nul(key) or contains_nul(values) for key, values in querydict.lists())


def is_nul_database_error(exc) -> bool:
    return isinstance(exc, DataError) and "NUL" in str(exc)


def nul_response(request):
    if request.path.startswith("/v2/"):
        return error_response(c.VALIDATION_ERROR, MESSAGE, 400, request=request, details={"non_field_errors": [MESSAGE]})

    return bad_request(request)


class NulCharacterMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip()
        if (
            NUL in request.path
            or _form_has_nul(request.GET)
            or (content_type == "application/x-www-form-urlencoded" and _form_has_nul(QueryDict(request.body)))
        ):
            return nul_response(request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_nul_database_error(exception):
            return nul_response(request)
        return None


def _refuse():
    raise ValidationError({"non_field_errors": [MESSAGE]})


def json_depth_exceeds(value, limit=MAX_JSON_DEPTH) -> bool:
    """True when containers nest deeper than ``limit`` (iterative: no recursion limit to hit)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def payload_too_large(limit):
    return too_large(c.PAYLOAD_TOO_LARGE, f"The JSON body is larger than {limit} bytes.", max_bytes=limit)


def is_json(request) -> bool:
    media = (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def check_json_length(request):
    """413 from the declared length, before anything reads the body."""
    limit = settings.GHARART_MAX_JSON_BYTES
    declared = request.META.get("CONTENT_LENGTH") or ""
    if is_json(request) and declared.isdigit() and int(declared) > limit:
        raise payload_too_large(limit)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        limit = settings.GHARART_MAX_JSON_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise payload_too_large(limit)
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=drf_json.strict_constant if self.strict else None)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        except ValueError as exc:  # also UnicodeDecodeError
            raise ParseError(f"JSON parse error - {exc}")
        if json_depth_exceeds(data):
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": [NOT_AN_OBJECT]})
        if contains_nul(data):
            _refuse()
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        if _form_has_nul(result.data):
            _refuse()
        return result


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if _form_has_nul(data):
            _refuse()
        return data
