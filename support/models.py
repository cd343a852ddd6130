from django.conf import settings
from django.db import models
from django.utils import timezone

from gharart import ids
from gharart.fields import optional_user, prefixed_id
from support import constants as sc


class SupportReport(models.Model):
    """A problem an end user reported, optionally tied to one of their logged requests."""

    id = prefixed_id(ids.new_sup_id)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_reports")
    handle = models.ForeignKey("gharart.Handle", null=True, blank=True, on_delete=models.SET_NULL, related_name="support_reports")
    summary = models.CharField(max_length=sc.SUMMARY_MAX)
    details = models.TextField(max_length=sc.DETAILS_MAX)
    session_id = models.CharField(max_length=sc.SESSION_ID_MAX, blank=True)
    # The request ID as the user quoted it, kept even when it matches nothing we logged.
    request_id = models.CharField(max_length=sc.REQUEST_ID_MAX, blank=True, db_index=True)
    # The user's own logged request with that ID. The request log is pruned, so the facts
    # support needs are also copied into ``linked_request``.
    request_log = models.ForeignKey("gharart.RequestLog", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    linked_request = models.JSONField(null=True, blank=True)
    repro_artifact = models.CharField(max_length=sc.REPRO_ARTIFACT_MAX, blank=True)
    status = models.CharField(max_length=20, choices=sc.REPORT_STATUS_CHOICES, default=sc.REPORT_OPEN, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.id} {self.summary}"

    @property
    def status_badge(self):
        return sc.REPORT_STATUS_BADGES.get(self.status, "")


class Escalation(models.Model):
    """An operator hands a support report on, with a severity."""

    id = prefixed_id(ids.new_esc_id)
    support_report = models.ForeignKey(SupportReport, on_delete=models.CASCADE, related_name="escalations")
    severity = models.CharField(max_length=20, choices=sc.SEVERITY_CHOICES)
    notes = models.TextField(max_length=sc.NOTES_MAX)
    status = models.CharField(max_length=20, choices=sc.ESCALATION_STATUS_CHOICES, default=sc.ESCALATION_OPEN)
    created_by = optional_user()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.id} {self.severity} {self.support_report_id}"


class ContentReport(models.Model):
    """An anonymous abuse report about a URL served by the platform, for moderation."""

    id = prefixed_id(ids.new_cr_id)
    url = models.CharField(max_length=sc.URL_MAX)
    reason = models.CharField(max_length=20, choices=sc.REASON_CHOICES)
    details = models.TextField(max_length=sc.CONTENT_DETAILS_MAX, blank=True)
    reporter_email = models.EmailField(blank=True)
    # The handle the URL belongs to, when the URL names it (empty for previews).
    handle_slug = models.CharField(max_length=40, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=sc.CONTENT_STATUS_CHOICES, default=sc.CONTENT_NEW, db_index=True)
    moderator_notes = models.TextField(blank=True)
    reviewed_by = optional_user()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.id} {self.reason} {self.url}"
