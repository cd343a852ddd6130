"""Function bindings answering on the profile site: redirect, json and form-capture.

Only active bindings answer (following what is live, or pinned to the live deployment);
a binding pinned to an earlier deployment is stale and silent. Calls are throttled per
client IP (``function_binding`` in ``GHARART_THROTTLES``). Every answer of a binding is
``Cache-Control: no-store``: a shared cache in front (the nginx microcache) must never keep
one, or a call would skip its throttle and a form post its submission.
"""

import json

from django.http import HttpResponse, JsonResponse, QueryDict

from deployments import constants as dc
from deployments.content_pages import content_error
from deployments.services.site import submission_create
from gharart import constants as c
from gharart import throttles
from gharart.errors import ApplicationError


def _route_of(path):
    segments = [s for s in (path or "").split("/") if s]
    return "/" + "/".join(segments)


def match(state, path, method):
    """The active binding answering ``method`` on ``path``, or None."""
    if not state.bindings:
        return None
    route = _route_of(path)
    for binding in state.active_bindings():
        if binding.route != route:
            continue
        if method in binding.methods or (method == "HEAD" and "GET" in binding.methods):
            return binding
    return None


def _site_url(site_prefix, location):
    if location.startswith("/"):
        return site_prefix.rstrip("/") + location
    return location


NOT_STORED = "no-store"


def run(request, state, binding, *, site_prefix):
    response = _run(request, state, binding, site_prefix=site_prefix)
    response["Cache-Control"] = NOT_STORED
    return response


def _run(request, state, binding, *, site_prefix):
    try:
        throttles.hit(c.THROTTLE_FUNCTION_BINDING, f"{state.slug}:{throttles.client_ip(request)}")
    except ApplicationError as exc:
        return content_error(request, exc.status, exc.code, exc.message, headers=exc.headers, details=exc.details)
    config = binding.config
    if binding.function == dc.FUNCTION_REDIRECT:
        response = HttpResponse(status=config.get("status", 302))
        response["Location"] = _site_url(site_prefix, config["location"])
        return response
    if binding.function == dc.FUNCTION_JSON:
        response = JsonResponse(config.get("body"), status=config.get("status", 200), safe=False)
        if request.method == "HEAD":
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response
    return _form_capture(request, state, binding, site_prefix=site_prefix)


def _form_capture(request, state, binding, *, site_prefix):
    max_bytes = binding.config.get("max_bytes", 64 * 1024)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > max_bytes:
        return content_error(request, 413, dc.PAYLOAD_TOO_LARGE, f"The form is larger than {max_bytes} bytes.", details={"max_bytes": max_bytes})
    body = request.read(max_bytes + 1)
    if len(body) > max_bytes:
        return content_error(request, 413, dc.PAYLOAD_TOO_LARGE, f"The form is larger than {max_bytes} bytes.", details={"max_bytes": max_bytes})
    content_type = (request.content_type or "").lower()
    is_json = content_type == "application/json"
    if is_json:
        try:
            data = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            return content_error(request, 400, "malformed_json", "The request body is not valid JSON.")
    elif content_type == "multipart/form-data":
        # Fields only: uploaded files are not kept (a form capture stores text).
        request._body = body
        request._read_started = False
        try:
            data = {k: v if len(v) > 1 else v[0] for k, v in request.POST.lists()}
            files = [{"field": k, "name": f.name, "size": f.size} for k, fl in request.FILES.lists() for f in fl]
        except Exception:
            return content_error(request, 400, "validation_error", "The form could not be read.")
        if files:
            data["_files"] = files
    else:
        try:
            query = QueryDict(body, encoding="utf-8")
        except Exception:
            return content_error(request, 400, "validation_error", "The form could not be read.")
        data = {k: v if len(v) > 1 else v[0] for k, v in query.lists()}
    submission = submission_create(
        binding_id=binding.id,
        handle_id=state.handle_id,
        data=data,
        content_type=content_type,
        ip=throttles.client_ip(request) if throttles.client_ip(request) != "unknown" else None,
        user_agent=request.headers.get("User-Agent", ""),
    )
    accept = request.headers.get("Accept", "")
    if is_json or ("application/json" in accept and "text/html" not in accept):
        return JsonResponse({"id": submission.id, "status": "received"}, status=201)
    response = HttpResponse(status=303)
    response["Location"] = _site_url(site_prefix, binding.config.get("success_path", "/"))
    return response
