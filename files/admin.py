from django.contrib import admin

from files.models import Campaign, DocsAccessLog, DocsAccessPolicy, File, MagicLink
from gharart.admin import ReadOnlyAdmin


class MagicLinkInline(admin.TabularInline):
    model = MagicLink
    extra = 0
    can_delete = False
    fields = ["id", "email", "access_at_issue", "created_at", "expires_at", "revoked_at", "revoked_reason", "last_used_at", "use_count"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # links are minted by the service so the token can be handed out once


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = ["id", "handle", "name", "access", "size", "expires_at", "download_count", "max_downloads", "created_at"]
    list_filter = ["access"]
    search_fields = ["id", "name", "title", "sha256", "handle__slug"]
    # The bytes, their hash and the counters are facts, not settings.
    readonly_fields = ["id", "handle", "name", "size", "content_type", "sha256", "download_count", "created_at", "updated_at", "created_by", "access"]
    fields = ["id", "handle", "name", "title", "size", "content_type", "sha256", "access", "expires_at", "recipients", "max_downloads", "download_count", "created_at", "updated_at", "created_by"]
    inlines = [MagicLinkInline]

    def has_add_permission(self, request):
        return False  # uploads go through the API or the dashboard (streamed, hashed)


@admin.register(MagicLink)
class MagicLinkAdmin(admin.ModelAdmin):
    list_display = ["id", "file", "email", "created_at", "expires_at", "revoked_at", "last_used_at", "use_count"]
    search_fields = ["id", "email", "file__id"]
    # Only the hash of a token is stored, and it is shown as such.
    readonly_fields = ["id", "file", "email", "token_hash", "access_at_issue", "created_at", "created_by", "expires_at", "revoked_at", "revoked_reason", "last_used_at", "use_count", "emailed_at"]

    def has_add_permission(self, request):
        return False


@admin.register(DocsAccessPolicy)
class DocsAccessPolicyAdmin(admin.ModelAdmin):
    list_display = ["handle", "visibility", "version", "starts_at", "ends_at", "updated_at", "updated_by"]
    # Changes go through the API or dashboard so the version bumps and the change is audited.
    readonly_fields = ["id", "handle", "visibility", "partner_emails", "partner_domains", "starts_at", "ends_at", "confidential_paths", "version", "updated_at", "updated_by"]

    def has_add_permission(self, request):
        return False


@admin.register(DocsAccessLog)
class DocsAccessLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "handle", "viewer_kind", "email", "user", "path", "status_code"]
    list_filter = ["viewer_kind"]
    search_fields = ["email", "path", "handle__slug"]
    readonly_fields = ["id", "handle", "user", "email", "viewer_kind", "path", "status_code", "ip", "created_at"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["id", "handle", "name", "starts_at", "ends_at", "created_at"]
    search_fields = ["id", "name", "handle__slug"]
    readonly_fields = ["id", "handle", "created_at", "updated_at", "created_by"]

    def has_add_permission(self, request):
        return False  # created through the API or the dashboard (validated, audited)

    def has_change_permission(self, request, obj=None):
        return False  # dates change through the service (validated, audited)

    def has_delete_permission(self, request, obj=None):
        return False  # deleting goes through the service (409 campaign_in_use while followed)
