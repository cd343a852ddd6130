"""Pages of the content routes that are not the customer's bytes: errors, links, maintenance.

Used by the serving function (``deployments.serving``), function bindings, edge docs and
the site-host router alike, so none of them imports another for its error pages.
"""

from django.http import HttpResponse
from django.template.loader import render_to_string

from gharart.errors import error_response
from gharart.request_id import request_id_for

# Our own generated pages (links, maintenance, errors): inline styles only, nothing else.
OWN_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"


def wants_html(request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept or "application/xhtml+xml" in accept


def head_only(request, response):
    """HEAD: same status and headers, no body (Content-Length still says the size)."""
    if request.method == "HEAD" and not response.streaming:
        length = len(response.content)
        response.content = b""
        response["Content-Length"] = str(length)
    return response


def content_error(request, status, code, message, *, headers=None, details=None):
    """An error on a content route: a small page for browsers, the JSON envelope otherwise."""
    if wants_html(request):
        body = render_to_string(
            "deployments/content_error.html",
            {"status": status, "code": code, "message": message, "request_id": request_id_for(request)},
        )
        response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = OWN_PAGE_CSP
        for k, v in (headers or {}).items():
            response[k] = v
    else:
        response = error_response(code, message, status, request=request, details=details, headers=headers)
    response["Cache-Control"] = "no-store"
    return head_only(request, response)


def own_page(request, template, context, *, status=200, headers=None):
    """One of the platform's own pages (links page, maintenance, no site) with its CSP."""
    body = render_to_string(template, {**context, "request_id": request_id_for(request)})
    response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = OWN_PAGE_CSP
    for k, v in (headers or {}).items():
        response[k] = v
    return head_only(request, response)
