"""The Support page: file a report (prefilled from error pages' links) and follow your reports."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from gharart import constants as c
from gharart.dashboard import form_errors
from gharart.errors import ApplicationError
from support import constants as sc
from support import selectors, services

# Form field names are the API's, so a link like /support/?requestId=...&handle=... and a
# POST body read the same way everywhere.
FORM_FIELDS = ("summary", "details", "handle", "requestId", "reproArtifact")
REPORTS_SHOWN = 50


def _errors_and_status(exc: ApplicationError):
    if exc.code == c.HANDLE_NOT_FOUND:
        return {"handle": ["Pick one of your handles."]}, 400
    if exc.code == c.VALIDATION_ERROR:
        return form_errors(exc), 400
    return form_errors(exc), exc.status


def _context(request, *, form, errors=None, created=None):
    return {
        "form": form,
        "errors": errors or {},
        "created": created,
        "quoted_request": selectors.request_log_get_for_user(user=request.user, request_id=form.get("requestId", "")),
        "recent_requests": selectors.request_log_recent_for_user(user=request.user),
        "reports": selectors.support_report_list(user=request.user)[:REPORTS_SHOWN],
        "limits": {"summary": sc.SUMMARY_MAX, "details": sc.DETAILS_MAX, "requestId": sc.REQUEST_ID_MAX, "reproArtifact": sc.REPRO_ARTIFACT_MAX},
    }


def _render(request, context, status=200, headers=None):
    # HTMX swaps just the section; a plain request gets the whole page.
    template = "support/_support_section.html" if request.htmx else "support/support.html"
    response = render(request, template, context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@login_required
@require_http_methods(["GET", "POST"])
def support_page(request):
    if request.method == "GET":
        form = {name: request.GET.get(name, "").strip()[:sc.DETAILS_MAX] for name in FORM_FIELDS}
        return _render(request, _context(request, form=form))

    form = {name: request.POST.get(name, "") for name in FORM_FIELDS}
    try:
        report = services.support_report_create(
            user=request.user,
            summary=form["summary"],
            details=form["details"],
            handle_slug=form["handle"],
            request_id=form["requestId"],
            repro_artifact=form["reproArtifact"],
        )
    except ApplicationError as exc:
        errors, status = _errors_and_status(exc)
        headers = {k: v for k, v in exc.headers.items() if k == "Retry-After"}
        return _render(request, _context(request, form=form, errors=errors), status=status, headers=headers)
    if request.htmx:
        return _render(request, _context(request, form={}, created=report))
    messages.success(request, f"Report {report.id} sent. Quote this ID if you contact us about it.")
    return redirect("support")
