"""Operators look at deployments here; what would break invariants is read-only.

Deployments, their files, releases and live pointers change only through the services
(promote, rollback, ingest), so the admin shows them without edit or delete.
"""

from django.contrib import admin

from deployments.models import (
    Blob,
    Deployment,
    DeploymentFile,
    FormSubmission,
    FunctionBinding,
    LivePointer,
    PublishingLock,
    Release,
    ScheduledRelease,
)
from gharart import admin as gharart_admin


class ReadOnlyAdmin(gharart_admin.ReadOnlyAdmin):
    """Nor deleted here: the services alone remove these rows."""

    def has_delete_permission(self, request, obj=None):
        return False


class DeploymentFileInline(admin.TabularInline):
    model = DeploymentFile
    fields = ["path", "sha256", "size", "content_type", "confidential"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("path")


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = ["id", "handle", "target", "version", "state", "file_count", "total_bytes", "gate_status", "created_at", "created_by"]
    list_filter = ["state", "target", "gate_status"]
    search_fields = ["id", "handle__slug", "message", "artifact_sha256"]
    list_select_related = ["handle", "created_by"]
    date_hierarchy = "created_at"
    inlines = [DeploymentFileInline]


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ["id", "handle", "target", "kind", "deployment", "previous_deployment", "actor", "created_at"]
    list_filter = ["kind", "target"]
    search_fields = ["id", "handle__slug", "deployment__id", "reason"]
    list_select_related = ["handle", "deployment", "previous_deployment", "actor"]


@admin.register(LivePointer)
class LivePointerAdmin(ReadOnlyAdmin):
    list_display = ["handle", "target", "deployment", "release", "next_version", "updated_at"]
    list_select_related = ["handle", "deployment", "release"]
    search_fields = ["handle__slug"]


@admin.register(Blob)
class BlobAdmin(ReadOnlyAdmin):
    list_display = ["sha256", "size", "created_at"]
    search_fields = ["sha256"]


@admin.register(FunctionBinding)
class FunctionBindingAdmin(admin.ModelAdmin):
    # Deleting a binding is safe (it stops answering); editing goes through the API's validation.
    list_display = ["id", "handle", "route", "function", "deployment", "created_at"]
    list_filter = ["function"]
    search_fields = ["id", "handle__slug", "route"]
    readonly_fields = ["id", "handle", "route", "methods", "function", "config", "deployment", "created_at", "created_by"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FormSubmission)
class FormSubmissionAdmin(ReadOnlyAdmin):
    list_display = ["id", "handle", "binding", "content_type", "created_at"]
    search_fields = ["id", "handle__slug", "binding__id"]
    list_select_related = ["handle", "binding"]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(ScheduledRelease)
class ScheduledReleaseAdmin(ReadOnlyAdmin):
    list_display = ["id", "handle", "deployment_ref", "at", "state", "created_by", "created_at", "finished_at"]
    list_filter = ["state"]
    search_fields = ["id", "handle__slug", "deployment_ref", "reason"]
    list_select_related = ["handle", "created_by"]


@admin.register(PublishingLock)
class PublishingLockAdmin(ReadOnlyAdmin):
    list_display = ["handle", "locked", "reason", "until", "updated_by", "updated_at"]
    list_filter = ["locked"]
    list_select_related = ["handle", "updated_by"]
