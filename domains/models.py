import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from domains import constants as domc


def new_verification_token() -> str:
    return secrets.token_urlsafe(24)


class CustomDomain(models.Model):
    """A host name a handle serves its live site on, once a DNS TXT record proves it.

    ``domain`` is unique across handles (``domain_taken``). Deleting the row stops serving
    at once: the host router reads this table on every request to a custom domain.
    """

    domain = models.CharField(max_length=253, unique=True)
    handle = models.ForeignKey("gharart.Handle", on_delete=models.CASCADE, related_name="custom_domains")
    status = models.CharField(max_length=10, choices=domc.STATUS_CHOICES, default=domc.PENDING, db_index=True)
    verification_token = models.CharField(max_length=64, default=new_verification_token, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # When a scheduled check first missed the record of a verified domain (grace period start).
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.domain

    @property
    def record_name(self):
        return f"{domc.CHALLENGE_LABEL}.{self.domain}"

    @property
    def record_value(self):
        return f"{domc.VALUE_PREFIX}{self.verification_token}"

    @property
    def is_verified(self):
        return self.status == domc.VERIFIED

    @property
    def is_failing(self):
        return self.status == domc.FAILING

    @property
    def is_serving(self):
        return self.status in domc.SERVING_STATUSES
