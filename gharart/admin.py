from django.contrib import admin

from gharart.models import (
    AuditEvent,
    Handle,
    IdempotencyRecord,
    Membership,
    PersonalAccessToken,
    RequestLog,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that are facts: viewable and searchable, never added or edited."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Handle)
class HandleAdmin(admin.ModelAdmin):
    list_display = ["slug", "display_name", "site_mode", "created_at"]
    search_fields = ["slug", "display_name"]
    inlines = [MembershipInline]


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "user", "prefix", "handle", "expires_at", "revoked_at", "last_used_at"]
    search_fields = ["id", "name", "user__username", "prefix"]
    exclude = ["token_hash"]


@admin.register(RequestLog)
class RequestLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "request_id", "method", "path", "status_code", "error_code", "user", "handle", "duration_ms"]
    list_filter = ["status_code", "method"]
    search_fields = ["request_id", "path", "user__username", "handle", "error_code"]
    date_hierarchy = "created_at"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "handle", "actor", "action", "target", "request_id"]
    list_filter = ["action"]
    search_fields = ["handle__slug", "actor__username", "target", "request_id"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "caller", "key", "method", "path", "completed", "status_code"]
    search_fields = ["key", "caller", "path"]
