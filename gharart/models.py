import hashlib

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from gharart import constants as c
from gharart import ids
from gharart.fields import optional_user, prefixed_id

handle_slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$",
    "A handle is 1-40 lowercase letters, digits or dashes, not starting or ending with a dash.",
)


class Handle(models.Model):
    """A tenant: one brand's public profile site, files and internal docs."""

    slug = models.SlugField(max_length=40, unique=True, validators=[handle_slug_validator])
    display_name = models.CharField(max_length=120, blank=True)
    bio = models.TextField(blank=True, max_length=2000)
    # [{"label": "Shop", "url": "https://..."}], shown by the links page.
    links = models.JSONField(default=list, blank=True)
    site_mode = models.CharField(max_length=20, choices=c.SITE_MODE_CHOICES, default=c.SITE_MODE_LINKS)
    created_at = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="handles")

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug

    @property
    def serves_deployment(self):
        """The site mode serves the live deployment (not the links or maintenance page)."""
        return self.site_mode == c.SITE_MODE_DEPLOYMENT

    @property
    def sites_hostname(self):
        return f"{self.slug}.{settings.GHARART_SITES_DOMAIN}"

    @property
    def site_url(self):
        """The live site on its own origin (the live host's root)."""
        return f"{settings.GHARART_SITES_SCHEME}://{self.sites_hostname}/"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    handle = models.ForeignKey(Handle, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=c.ROLE_CHOICES)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "handle"], name="unique_membership")]

    def __str__(self):
        return f"{self.user} @ {self.handle} ({self.role})"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class PersonalAccessToken(models.Model):
    """A scoped API token. Only the sha256 of the secret is stored."""

    id = prefixed_id(ids.new_pat_id)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the secret, so a user can tell tokens apart.
    prefix = models.CharField(max_length=16, editable=False)
    scopes = models.JSONField(default=list)
    handle = models.ForeignKey(Handle, null=True, blank=True, on_delete=models.CASCADE, related_name="access_tokens")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self):
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class IdempotencyRecord(models.Model):
    """The first response to a POST with an ``Idempotency-Key``, kept for 24 hours."""

    caller = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64)
    completed = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="unique_idempotency_key")]

    def __str__(self):
        return f"{self.caller} {self.key}"


class RequestLog(models.Model):
    """API writes and every 4xx/5xx, findable by request ID. Pruned after 30 days."""

    request_id = models.CharField(max_length=128, db_index=True)
    user = optional_user()
    handle = models.CharField(max_length=40, blank=True, db_index=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=1000)
    route = models.CharField(max_length=300, blank=True)
    status_code = models.PositiveSmallIntegerField()
    error_code = models.CharField(max_length=64, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.request_id} {self.method} {self.path} {self.status_code}"


class AuditEvent(models.Model):
    """Who changed what on a handle: promotes, rollbacks, mode and policy changes, tokens."""

    id = prefixed_id(ids.new_aud_id)
    handle = models.ForeignKey(Handle, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events")
    actor = optional_user()
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.action} {self.target}"
