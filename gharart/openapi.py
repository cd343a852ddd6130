"""What the OpenAPI document (``/v2/schema``) says beyond each view's own ``extend_schema``.

- How callers authenticate: a bearer token (JWT or ``ghp_`` PAT) or the dashboard session.
- The error responses every operation can give. They come from the shared layers
  (``gharart.api``, ``gharart.errors``), not from the views, so they are added here once:
  the error envelope for validation, authentication, access, idempotency, throttles,
  upload limits, server faults and an unavailable dependency. A view's own declaration of
  a status wins.

Loaded by ``GharartConfig.ready`` (extensions register themselves on import) and by
``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``.
"""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_ENVELOPE = {
    "type": "object",
    "description": "Every error: a stable machine code, a message, the request ID (also in X-Request-ID) and details.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable machine code, e.g. validation_error, handle_not_found."},
                "message": {"type": "string"},
                "request_id": {"type": "string", "description": "Equals the X-Request-ID response header."},
                # Free-form on purpose: field -> messages for validation_error, other keys per code.
                "details": {"type": "object", "additionalProperties": {}},
            },
            "required": ["code", "message", "request_id", "details"],
        },
    },
    "required": ["error"],
}

_DESCRIPTIONS = {
    "400": "validation_error (details: field -> messages), malformed_json, or a bad Idempotency-Key, limit or cursor.",
    "401": "authentication_required or invalid_token (WWW-Authenticate: Bearer).",
    "403": "forbidden (role) or insufficient_scope (details.required_scope).",
    "404": "handle_not_found, not_found, or the resource's own *_not_found code.",
    "409": "idempotency_request_in_progress (Retry-After), or a conflict of this resource.",
    "413": "file_too_large (an upload over the size limit) or payload_too_large (a JSON body over GHARART_MAX_JSON_BYTES).",
    "415": "unsupported_media_type.",
    "422": "idempotency_key_reused, or the resource's own unprocessable-request code.",
    "429": "rate_limited or daily_write_limit_exceeded (Retry-After, RateLimit-* headers).",
    "500": "internal_error: quote the request ID to support (no stack trace).",
    "503": "service_unavailable: a dependency (database, broker) is down; retry after Retry-After.",
}
_BODY_METHODS = {"post", "put", "patch"}


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "gharart.auth.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A JWT access token from POST /v2/auth/token, or a personal access token (ghp_...).",
        }


class SessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "gharart.auth.CsrfSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The dashboard session; unsafe methods also need the CSRF token (X-CSRFToken).",
        }


def _takes_upload(content, schemas):
    """True when a request body carries bytes (raw, or a binary multipart field)."""
    for media_type, spec in content.items():
        if media_type == "application/octet-stream":
            return True
        if media_type == "multipart/form-data":
            schema = spec.get("schema", {})
            if "$ref" in schema:
                schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
            if any(prop.get("format") == "binary" for prop in schema.get("properties", {}).values()):
                return True
    return False


def _error_statuses(method, operation, schemas):
    """The statuses the shared layers can answer for this operation."""
    security = operation.get("security") or [{}]
    authenticated = any(requirement for requirement in security)
    has_path_params = any(p.get("in") == "path" for p in operation.get("parameters", []))
    content = (operation.get("requestBody") or {}).get("content", {})
    statuses = {"400", "429", "500", "503"}
    if authenticated:
        statuses |= {"401", "403"}
    if has_path_params:
        statuses.add("404")
    if method in _BODY_METHODS and content:
        statuses.add("415")
        if _takes_upload(content, schemas) or "application/json" in content:
            statuses.add("413")
    if method == "post":
        statuses |= {"409", "422"}  # Idempotency-Key in progress / reused
    return statuses


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: the error envelope and the shared error statuses on every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorEnvelope"] = ERROR_ENVELOPE
    ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in _error_statuses(method, operation, schemas):
                responses.setdefault(status, {"description": _DESCRIPTIONS[status]})
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    # Errors are always the JSON envelope, whatever the success type is.
                    response["content"] = {"application/json": {"schema": ref}}
                    response.setdefault("description", _DESCRIPTIONS.get(status, "Error envelope."))
    return result
