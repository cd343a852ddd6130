"""Cursor pagination: newest first, ``?limit=`` 1-200 (default 50), ``?cursor=``."""

from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from gharart import constants as c
from gharart.errors import ApplicationError


class NewestFirstCursorPagination(CursorPagination):
    ordering = ("-created_at", "-pk")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not 1 <= value <= self.max_page_size:
            raise ApplicationError(c.VALIDATION_ERROR, "The limit is not valid.", details={"limit": ["Must be a whole number from 1 to 200."]})
        return value

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except Exception:
            raise ApplicationError(c.VALIDATION_ERROR, "The cursor is not valid.", details={"cursor": ["Use the 'next' URL of a previous page."]})

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "format": "uri", "nullable": True},
            },
        }
