import secrets

from django.db import models
from django.utils import timezone

from domains import constants as domc
from gharart.fields import field_in, field_is, optional_user


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
    created_by = optional_user()
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

    is_verified = field_is("status", domc.VERIFIED)
    is_failing = field_is("status", domc.FAILING)
    is_serving = field_in("status", domc.SERVING_STATUSES)
