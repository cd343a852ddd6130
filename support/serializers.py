"""Shapes of the support routes. Lengths and rules are checked by the services, so the API
and the dashboard give the same messages; these serializers only check JSON types."""

from rest_framework import serializers

from support import constants as sc
from support.models import ContentReport, Escalation, SupportReport


def _text(**kwargs):
    return serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False, **kwargs)


class SupportReportInput(serializers.Serializer):
    summary = _text(help_text=f"Required, at most {sc.SUMMARY_MAX} characters.")
    details = _text(help_text=f"Required, at most {sc.DETAILS_MAX:,} characters.")
    handle = _text(help_text="A handle you are a member of (optional).")
    sessionId = _text(help_text="Your client's session identifier (optional).")
    requestId = _text(help_text="The X-Request-ID of a request you made (optional); linked when it is yours.")
    reproArtifact = _text(help_text="A URL, an ID, or the ID of an uploaded file you can access (optional).")


class LinkedRequestOutput(serializers.Serializer):
    request_id = serializers.CharField()
    method = serializers.CharField()
    path = serializers.CharField()
    status = serializers.IntegerField()
    error_code = serializers.CharField(allow_blank=True)
    handle = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()


class SupportReportOutput(serializers.ModelSerializer):
    handle = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    linked_request = LinkedRequestOutput(allow_null=True, read_only=True)

    class Meta:
        model = SupportReport
        fields = ["id", "status", "created_at", "linked_request", "summary", "handle", "request_id"]


class EscalationInput(serializers.Serializer):
    support_report_id = _text()
    severity = _text(help_text=f"One of: {', '.join(v for v, _ in sc.SEVERITY_CHOICES)}.")
    notes = _text(help_text=f"Required, at most {sc.NOTES_MAX:,} characters.")


class EscalationOutput(serializers.ModelSerializer):
    support_report_id = serializers.CharField(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Escalation
        fields = ["id", "support_report_id", "severity", "notes", "status", "created_at", "created_by"]


class ContentReportInput(serializers.Serializer):
    url = _text(help_text="A URL served by this platform (profile site, preview, internal docs, public file).")
    reason = _text(help_text=f"One of: {', '.join(v for v, _ in sc.REASON_CHOICES)}.")
    details = _text()
    reporter_email = _text(help_text="Optional: where moderators may reach you.")


class ContentReportAccepted(serializers.ModelSerializer):
    class Meta:
        model = ContentReport
        fields = ["id"]
