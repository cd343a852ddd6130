from django.db import models
from django.utils import timezone

from files import constants as fc
from gharart import ids
from gharart.fields import field_is, optional_user, prefixed_id


class Campaign(models.Model):
    """A named window (``starts_at`` to ``ends_at``) that files and the docs policy follow.

    Files that follow a campaign take its window as theirs, so extending the campaign
    extends every link shared for it at once.
    """

    id = prefixed_id(ids.new_cmp_id)
    handle = models.ForeignKey("gharart.Handle", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = optional_user()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} ({self.id})"

    @property
    def is_upcoming(self):
        return self.starts_at > timezone.now()

    @property
    def is_ended(self):
        return self.ends_at <= timezone.now()


class File(models.Model):
    """A file a handle shares: bytes stored once under their sha256 (``deployments.storage``).

    A row exists only once its bytes are stored completely. Deleting a row is final: every
    public route answers 404 from then on and the blob goes when nothing else refers to it.
    """

    id = prefixed_id(ids.new_file_id)
    handle = models.ForeignKey("gharart.Handle", on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    title = models.CharField(max_length=200, blank=True)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=120)
    sha256 = models.CharField(max_length=64, db_index=True)
    access = models.CharField(max_length=10, choices=fc.ACCESS_CHOICES, default=fc.ACCESS_PRIVATE)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Exact emails and "@domain" entries allowed to receive magic links.
    recipients = models.JSONField(default=list, blank=True)
    max_downloads = models.PositiveIntegerField(null=True, blank=True)
    # Downloads started (each one copy at most, see FileDownload); bytes sent in all.
    download_count = models.PositiveIntegerField(default=0)
    bytes_served = models.BigIntegerField(default=0)
    # Optional password on the shared address (Django's hashers; empty: none).
    password_hash = models.CharField(max_length=200, blank=True, default="", editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = optional_user()
    # A file that follows a campaign takes its window: available from starts_at, expired at ends_at.
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="files")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["handle", "-created_at"])]

    def __str__(self):
        return f"{self.name} ({self.id})"

    # Access modes by name, so templates never spell one.
    is_public = field_is("access", fc.ACCESS_PUBLIC)
    is_link = field_is("access", fc.ACCESS_LINK)
    is_private = field_is("access", fc.ACCESS_PRIVATE)

    @property
    def effective_expires_at(self):
        """The campaign's ``ends_at`` for a file that follows one, else its own ``expires_at``."""
        return self.campaign.ends_at if self.campaign_id else self.expires_at

    @property
    def available_at(self):
        """When a campaign file starts working (None: it already may)."""
        return self.campaign.starts_at if self.campaign_id else None

    @property
    def expiry_source(self):
        if self.campaign_id:
            return fc.EXPIRY_SOURCE_CAMPAIGN
        return fc.EXPIRY_SOURCE_FILE if self.expires_at is not None else None

    @property
    def is_expired(self):
        expires_at = self.effective_expires_at
        return expires_at is not None and expires_at <= timezone.now()

    @property
    def limit_reached(self):
        return self.max_downloads is not None and self.download_count >= self.max_downloads

    @property
    def has_password(self):
        return bool(self.password_hash)

    @property
    def display_title(self):
        return self.title or self.name


class MagicLink(models.Model):
    """A link that lets one email address download one file in ``link`` mode.

    Only the sha256 of the token is stored. The link is bound to the file, the email and
    the file's access mode when it was issued; it has its own expiry and is always
    checked against the file's current ``expires_at`` as well.
    """

    id = prefixed_id(ids.new_ml_id)
    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="magic_links")
    email = models.EmailField(max_length=254)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    access_at_issue = models.CharField(max_length=10, choices=fc.ACCESS_CHOICES)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    # None when the recipient asked for it themselves.
    created_by = optional_user()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=40, blank=True, choices=fc.REVOKE_REASON_CHOICES)
    last_used_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.id} for {self.email}"

    @property
    def is_active(self):
        return self.revoked_at is None and self.expires_at > timezone.now()

    revoked_by_access_change = field_is("revoked_reason", fc.REVOKE_FILE_ACCESS_CHANGED)
    revoked_by_recipient_removal = field_is("revoked_reason", fc.REVOKE_RECIPIENT_REMOVED)


class FileDownload(models.Model):
    """One counted download of a file that has ``max_downloads``: the ledger of what it was sent.

    Every request of the same client (the same magic link, or for a public file the same
    address and user agent) belongs to its open download as long as what it asks for is
    new to the ledger (a split or resumed download), or re-sends at most the download's
    allowance (bytes lost in flight). Anything else starts a new download, which counts.
    """

    id = prefixed_id(ids.new_dl_id)
    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="downloads")
    client_key = models.CharField(max_length=80)
    magic_link = models.ForeignKey(MagicLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="downloads")
    # Sorted disjoint [start, end) byte intervals sent (files.ranges).
    served = models.JSONField(default=list, blank=True)
    bytes_sent = models.BigIntegerField(default=0)
    bytes_resent = models.BigIntegerField(default=0)
    # Replaced by a newer download of the same client: takes no more requests.
    closed = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["file", "client_key", "closed"])]

    def __str__(self):
        return f"{self.id} of {self.file_id} ({self.bytes_sent} bytes)"


class DocsAccessPolicy(models.Model):
    """Who may read a handle's internal docs (its live ``docs`` deployment) on the edge."""

    id = prefixed_id(ids.new_pol_id)
    handle = models.OneToOneField("gharart.Handle", on_delete=models.CASCADE, related_name="docs_policy")
    visibility = models.CharField(max_length=10, choices=fc.VISIBILITY_CHOICES, default=fc.VISIBILITY_MEMBERS)
    partner_emails = models.JSONField(default=list, blank=True)
    partner_domains = models.JSONField(default=list, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    confidential_paths = models.JSONField(default=list, blank=True)
    # Instead of starts_at/ends_at, the window of a campaign.
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="docs_policies")
    # Bumped on every change; partner cookies carry it, so a change signs partners out.
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = optional_user()

    class Meta:
        verbose_name_plural = "docs access policies"

    def __str__(self):
        return f"{self.handle} docs: {self.visibility} v{self.version}"

    is_public = field_is("visibility", fc.VISIBILITY_PUBLIC)

    @property
    def window_starts_at(self):
        return self.campaign.starts_at if self.campaign_id else self.starts_at

    @property
    def window_ends_at(self):
        return self.campaign.ends_at if self.campaign_id else self.ends_at


class DocsAccessLog(models.Model):
    """One served edge docs page: who read which path, when."""

    id = prefixed_id(ids.new_acc_id)
    handle = models.ForeignKey("gharart.Handle", on_delete=models.CASCADE, related_name="docs_access_log")
    user = optional_user()
    email = models.CharField(max_length=254, blank=True)
    viewer_kind = models.CharField(max_length=10, choices=fc.VIEWER_CHOICES)
    path = models.CharField(max_length=1000)
    status_code = models.PositiveSmallIntegerField(default=200)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.viewer_kind} {self.email or self.user_id} {self.path}"


class DocsSigninUse(models.Model):
    """A used docs sign-in link (by the hash of its random ID): each link signs in once."""

    jti_hash = models.CharField(primary_key=True, max_length=64)
    used_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"sign-in {self.jti_hash[:12]}… used {self.used_at}"
