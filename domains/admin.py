from django.contrib import admin

from domains.models import CustomDomain


@admin.register(CustomDomain)
class CustomDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "handle", "status", "verified_at", "last_checked_at", "failing_since"]
    list_filter = ["status"]
    search_fields = ["domain", "handle__slug"]
    readonly_fields = ["verification_token", "created_at", "verified_at", "last_checked_at", "failing_since", "last_error"]
