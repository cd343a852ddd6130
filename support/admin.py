"""The Django admin for operators: support reports, escalations and content reports.

Support data (end users' reports, reporters' emails) is shown only to operators, i.e.
active staff in the ``operators`` group. Model permissions alone are not enough, not even
a superuser's: the group is the one switch (``manage.py operators_setup --add USER``).
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from gharart.errors import ApplicationError
from support import constants as sc
from support import services
from support.models import ContentReport, Escalation, SupportReport
from support.operators import is_operator


class OperatorOnlyMixin:
    """Every admin permission additionally requires the caller to be an operator."""

    def has_module_permission(self, request):
        return is_operator(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return is_operator(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return is_operator(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return is_operator(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_operator(request.user) and super().has_delete_permission(request, obj)


def _request_log_link(request_id):
    url = reverse("admin:gharart_requestlog_changelist") + "?" + urlencode({"q": request_id})
    return format_html('<a href="{}">Find {} in the request log</a>', url, request_id)


class EscalationInline(OperatorOnlyMixin, admin.TabularInline):
    model = Escalation
    extra = 0
    fields = ["id", "severity", "status", "notes", "created_by", "created_at"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SupportReport)
class SupportReportAdmin(OperatorOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "status", "user", "handle", "summary", "request_id", "linked"]
    list_filter = ["status", "created_at"]
    search_fields = ["id", "request_id", "user__username", "user__email", "handle__slug", "summary"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "handle"]
    # Only the status is worked on; what the user sent is evidence and stays as sent.
    fields = ["id", "status", "user", "handle", "summary", "details", "request_id", "request_log_link", "linked_request_summary", "session_id", "repro_artifact", "created_at", "updated_at"]
    readonly_fields = [f for f in fields if f != "status"]
    inlines = [EscalationInline]

    def has_add_permission(self, request):
        return False  # reports are filed by users, from the dashboard or the API

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Linked request")
    def linked(self, obj):
        r = obj.linked_request
        return f"{r['method']} {r['path']} → {r['status']}" if r else "—"

    @admin.display(description="Request log")
    def request_log_link(self, obj):
        return _request_log_link(obj.request_id) if obj.request_id else "—"

    @admin.display(description="Linked request (as logged)")
    def linked_request_summary(self, obj):
        r = obj.linked_request
        if not r:
            return "Not linked: no request with this ID was logged for this user."
        code = f" ({r['error_code']})" if r.get("error_code") else ""
        return f"{r['method']} {r['path']} → {r['status']}{code} at {r['created_at']}"


@admin.register(Escalation)
class EscalationAdmin(OperatorOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "severity", "status", "support_report", "created_by"]
    list_filter = ["severity", "status"]
    search_fields = ["id", "support_report__id", "support_report__request_id", "support_report__user__username", "notes"]
    autocomplete_fields = ["support_report"]
    list_select_related = ["support_report", "created_by"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["support_report", "severity", "notes"]
        return ["id", "support_report", "severity", "status", "notes", "created_by", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["id", "support_report", "created_by", "created_at"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # New escalations go through the same service as the API (it also marks the report).
        created = services.escalation_create(actor=request.user, support_report_id=obj.support_report_id, severity=obj.severity, notes=obj.notes)
        obj.pk, obj.status, obj.created_by, obj.created_at = created.pk, created.status, created.created_by, created.created_at
        obj._state.adding = False
        obj._state.db = created._state.db


def _set_status(status):
    @admin.action(description=f"Mark as {status}", permissions=["change"])
    def action(modeladmin, request, queryset):
        for report in queryset:
            services.content_report_set_status(report=report, status=status, actor=request.user)
        modeladmin.message_user(request, f"{queryset.count()} report(s) marked {status}.", messages.SUCCESS)

    action.__name__ = f"mark_{status}"
    return action


@admin.register(ContentReport)
class ContentReportAdmin(OperatorOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "status", "reason", "handle_slug", "url", "reporter_email", "reviewed_by"]
    list_filter = ["status", "reason"]
    search_fields = ["id", "url", "handle_slug", "reporter_email", "details"]
    date_hierarchy = "created_at"
    fields = ["id", "status", "moderator_notes", "url", "reason", "details", "reporter_email", "handle_slug", "ip", "reviewed_by", "reviewed_at", "created_at"]
    readonly_fields = [f for f in fields if f not in ("status", "moderator_notes")]
    actions = [_set_status(s) for s, _ in sc.CONTENT_STATUS_CHOICES if s != sc.CONTENT_NEW]

    def has_add_permission(self, request):
        return False  # reports arrive through POST /v2/public/content-report

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change and "status" in form.changed_data:
            try:
                services.content_report_set_status(report=obj, status=obj.status, actor=request.user, notes=obj.moderator_notes)
                return
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
        super().save_model(request, obj, form, change)
