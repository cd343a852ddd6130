"""The Support page: file a report (prefilled from error pages' links) and follow your reports."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from gharart import constants as c
from gharart.dashboard import apply_error, render_page
from gharart.errors import ApplicationError
from support import constants as sc
from support import selectors, services
from support.forms import SupportReportForm

REPORTS_SHOWN = 50


def _render(request, *, form, created=None, status=200, headers=None):
    context = {
        "form": form,
        "created": created,
        "quoted_request": selectors.request_log_get_for_user(user=request.user, request_id=form["requestId"].value() or ""),
        "recent_requests": selectors.request_log_recent_for_user(user=request.user),
        "reports": selectors.support_report_list(user=request.user)[:REPORTS_SHOWN],
        "limits": {"summary": sc.SUMMARY_MAX, "details": sc.DETAILS_MAX, "requestId": sc.REQUEST_ID_MAX, "reproArtifact": sc.REPRO_ARTIFACT_MAX},
    }
    response = render_page(request, "support/support.html", context, fragment="support-section", status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@login_required
@require_http_methods(["GET", "POST"])
def support_page(request):
    if request.method == "GET":
        return _render(request, form=SupportReportForm.prefilled(request.GET))

    form = SupportReportForm(request.POST)
    form.is_valid()  # every field is text; the service checks them
    try:
        report = services.support_report_create(user=request.user, **form.service_kwargs())
    except ApplicationError as exc:
        if exc.code == c.HANDLE_NOT_FOUND:
            # Not one of the user's handles: the select offers only theirs.
            form.add_error("handle", "Pick one of your handles.")
            status = 400
        else:
            apply_error(form, exc)
            status = exc.status
        headers = {k: v for k, v in exc.headers.items() if k == "Retry-After"}
        return _render(request, form=form, status=status, headers=headers)
    if request.htmx:
        return _render(request, form=SupportReportForm(), created=report)
    messages.success(request, f"Report {report.id} sent. Quote this ID if you contact us about it.")
    return redirect("support")
