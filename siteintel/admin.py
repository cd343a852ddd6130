from django.contrib import admin

from gharart.admin import ReadOnlyAdmin
from siteintel import services
from siteintel.models import CrawledPage, CrawlRun, Hostname, ReplayDiff, ReplayRun


@admin.register(Hostname)
class HostnameAdmin(admin.ModelAdmin):
    list_display = ["hostname", "handle", "scheme", "created_at", "created_by"]
    search_fields = ["hostname", "handle__slug"]
    list_filter = ["scheme"]
    autocomplete_fields = ["handle"]
    readonly_fields = ["created_at", "created_by"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # New hostnames go through the same checks as the API (format, private addresses).
        row = services.hostname_register(handle=obj.handle, hostname=f"{obj.scheme}://{obj.hostname}", actor=request.user)
        obj.pk, obj.hostname, obj.created_at, obj.created_by = row.pk, row.hostname, row.created_at, row.created_by
        obj._state.adding = False

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "handle", "hostname", "scheme"] if obj else self.readonly_fields


class CrawledPageInline(admin.TabularInline):
    model = CrawledPage
    extra = 0
    fields = ["url", "status", "title", "error", "depth", "response_ms"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True
    max_num = 0


@admin.register(CrawlRun)
class CrawlRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "handle", "hostname", "state", "pages_done", "pages_found", "created_at", "finished_at"]
    list_filter = ["state"]
    search_fields = ["id", "hostname", "handle__slug"]


@admin.register(CrawledPage)
class CrawledPageAdmin(ReadOnlyAdmin):
    list_display = ["url", "status", "title", "error", "crawl_run"]
    list_filter = ["status"]
    search_fields = ["url", "title", "crawl_run__id"]


class ReplayDiffInline(admin.TabularInline):
    model = ReplayDiff
    extra = 0
    readonly_fields = ["path", "kind", "regression", "before", "after", "linked_from"]
    can_delete = False
    max_num = 0


@admin.register(ReplayRun)
class ReplayRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "handle", "hostname", "deployment_id", "state", "gate_status", "created_at"]
    list_filter = ["state", "gate_status"]
    search_fields = ["id", "deployment_id", "handle__slug"]
    inlines = [ReplayDiffInline]
