from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from siteintel import constants as c
from siteintel.models import CrawledPage, CrawlRun, ReplayDiff, ReplayRun


@extend_schema_field({"type": "string", "nullable": True, "description": "The creator's username, or null."})
class UsernameField(serializers.Field):
    def to_representation(self, value):
        return value.username if value is not None else None


class HostnameInput(serializers.Serializer):
    hostname = serializers.CharField(max_length=300, help_text="shop.example.com, https://shop.example.com or http://host:8080")


class HostnameOutput(serializers.Serializer):
    hostname = serializers.CharField()
    scheme = serializers.CharField()
    internal = serializers.BooleanField(help_text="The handle's own profile site, fetched in-process.")
    start_url = serializers.CharField()


class HostnameListOutput(serializers.Serializer):
    """Every hostname at once (a handle has few), in the list shape of the other routes."""

    results = HostnameOutput(many=True)
    next = serializers.CharField(allow_null=True, help_text="Always null: one page holds them all.")


class CrawlRunCreateInput(serializers.Serializer):
    max_pages = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=c.MAX_PAGES_LIMIT)
    max_depth = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=c.MAX_DEPTH_LIMIT)


class CrawlRunOutput(serializers.ModelSerializer):
    created_by = UsernameField(read_only=True)

    class Meta:
        model = CrawlRun
        fields = [
            "id", "hostname", "state", "pages_done", "pages_found", "started_at", "finished_at", "error",
            "max_pages", "max_depth", "stop_reason", "stats", "created_at", "created_by",
        ]


class CrawledPageOutput(serializers.ModelSerializer):
    class Meta:
        model = CrawledPage
        fields = [
            "url", "path", "depth", "status", "content_type", "bytes", "sha256", "title", "links",
            "references", "anchors", "fragment_links", "redirect_chain", "final_url", "response_ms", "error",
        ]


class ReferenceOutput(serializers.Serializer):
    page = serializers.CharField(help_text="The page the reference was found on.")
    kind = serializers.CharField(help_text="a, area, link, img, srcset, script, iframe, source, video, audio, object, embed, "
                                 "meta_refresh, svg_use, style_element, style_attribute, css_import, css_url, ...")


class BrokenLinkOutput(serializers.Serializer):
    url = serializers.CharField()
    status = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    linked_from = serializers.ListField(child=serializers.CharField())
    kinds = serializers.ListField(child=serializers.CharField(), help_text="How the pages refer to it.")
    references = ReferenceOutput(many=True)


class BrokenFragmentOutput(serializers.Serializer):
    url = serializers.CharField()
    fragment = serializers.CharField()
    linked_from = serializers.ListField(child=serializers.CharField())


class SnapshotOutput(serializers.Serializer):
    hostname = serializers.CharField()
    crawl_run_id = serializers.CharField()
    taken_at = serializers.DateTimeField()
    page_count = serializers.IntegerField()
    status_counts = serializers.DictField(child=serializers.IntegerField())
    broken_links = BrokenLinkOutput(many=True)
    broken_fragments = BrokenFragmentOutput(many=True)
    pages = CrawledPageOutput(many=True)


class ReplayRunCreateInput(serializers.Serializer):
    crawl_run_id = serializers.CharField(required=False, allow_null=True, default=None)
    deployment_id = serializers.CharField()
    visual = serializers.BooleanField(required=False, default=False, help_text="Also compare screenshots in headless Chromium.")
    visual_max_pages = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=c.VISUAL_MAX_PAGES_LIMIT,
        help_text=f"How many of the most linked pages to render (default {c.VISUAL_MAX_PAGES_DEFAULT}).",
    )
    visual_threshold = serializers.FloatField(
        required=False, allow_null=True, min_value=0, max_value=1,
        help_text=f"Share of changed pixels above which a page is visual_changed (default {c.VISUAL_THRESHOLD_DEFAULT}).",
    )
    visual_gate = serializers.BooleanField(required=False, default=False, help_text="Make visual_changed pages regressions.")


@extend_schema_field({
    "type": "object", "nullable": True,
    "description": "For visual_changed: {changed_ratio, before, after, diff} (URLs of the PNGs, members only), or {changed_ratio: null, error}.",
})
class VisualField(serializers.Field):
    def to_representation(self, value):
        return value

    def get_attribute(self, instance):
        return instance.visual_output()


class ReplayDiffOutput(serializers.ModelSerializer):
    visual = VisualField(read_only=True)

    class Meta:
        model = ReplayDiff
        fields = ["path", "kind", "before", "after", "regression", "linked_from", "fragment", "visual"]


class ReplayRunOutput(serializers.ModelSerializer):
    crawl_run_id = serializers.CharField(read_only=True)
    created_by = UsernameField(read_only=True)
    diffs = ReplayDiffOutput(many=True, read_only=True)

    class Meta:
        model = ReplayRun
        fields = [
            "id", "hostname", "state", "crawl_run_id", "deployment_id", "pages_done", "pages_found",
            "started_at", "finished_at", "error", "summary", "gate_status", "visual", "visual_max_pages",
            "visual_threshold", "visual_gate", "created_at", "created_by", "diffs",
        ]
