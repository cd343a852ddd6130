from django.db import models
from django.utils import timezone

from deployments import constants as dc
from gharart import ids
from gharart.fields import field_is, optional_user, prefixed_id


class Blob(models.Model):
    """Bytes stored once under their sha256. The row exists only once the bytes are in place."""

    sha256 = models.CharField(primary_key=True, max_length=64)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    # Set on every store of these bytes (first or again): the orphan sweep's grace period
    # runs from here, so bytes being uploaded again on another node are never swept.
    last_put_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return self.sha256


class CompressedBlob(models.Model):
    """The br or gzip form of a text blob, made once (on first use) and stored as a blob itself.

    ``sha256`` is empty when compressing did not make the blob smaller: it is then always
    sent as it is.
    """

    source_sha256 = models.CharField(max_length=64)
    encoding = models.CharField(max_length=10)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source_sha256", "encoding"], name="unique_compressed_blob")]

    def __str__(self):
        return f"{self.encoding} of {self.source_sha256}"


class Deployment(models.Model):
    """An immutable, content-addressed set of files for one handle and target.

    Its files (``DeploymentFile``) are the manifest path -> sha256. Only the state, the
    error and the preview gate change after creation.
    """

    id = prefixed_id(ids.new_dep_id)
    handle = models.ForeignKey("gharart.Handle", on_delete=models.CASCADE, related_name="deployments")
    target = models.CharField(max_length=10, choices=dc.TARGET_CHOICES, default=dc.TARGET_SITE)
    version = models.PositiveIntegerField()
    state = models.CharField(max_length=20, choices=dc.STATE_CHOICES, default=dc.UPLOADING, db_index=True)
    message = models.CharField(max_length=500, blank=True)
    file_count = models.PositiveIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = optional_user()
    ready_at = models.DateTimeField(null=True, blank=True)
    # {"code", "message", "details"} when the deployment failed.
    error = models.JSONField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    # The deploy log: [{"step", "detail", "ms"}] in order (received, validated and unpacked,
    # stored, warnings, ready or failed), each with how long it took.
    log = models.JSONField(default=list, blank=True)
    # Archive kept in blob storage while a worker unpacks it (removed afterwards).
    pending_archive_sha256 = models.CharField(max_length=64, blank=True)
    # Preview gate: the preview report must have been opened, and the latest replay (if
    # any) must not have found regressions.
    gate_status = models.CharField(max_length=10, choices=dc.GATE_CHOICES, default=dc.GATE_PENDING)
    preview_opened_at = models.DateTimeField(null=True, blank=True)
    preview_opened_by = optional_user()
    gate_replay_run_id = models.CharField(max_length=40, blank=True)
    gate_summary = models.JSONField(null=True, blank=True)
    gate_updated_at = models.DateTimeField(null=True, blank=True)
    # Result of the latest storage integrity check (the preview report runs it).
    integrity_checked_at = models.DateTimeField(null=True, blank=True)
    missing_files = models.JSONField(default=list, blank=True)
    # Its /_redirects and /_headers, parsed once when it turned ready (deployments.siterules).
    site_rules = models.JSONField(default=dict, blank=True)
    # Digest deploys: distinct sha256s this handle has not sent yet (counted down as blobs
    # arrive, under this row's lock), so no upload has to ask which ones are still missing.
    blobs_missing = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["handle", "target", "version"], name="unique_deployment_version")]
        indexes = [
            models.Index(fields=["handle", "target", "-created_at"], name="deployment_history"),
            # The blob sweep asks whether a blob is an archive still waiting to be unpacked.
            models.Index(fields=["pending_archive_sha256"], name="deployment_pending_archive", condition=~models.Q(pending_archive_sha256="")),
        ]

    def __str__(self):
        return f"{self.handle_id} {self.target} v{self.version} ({self.state})"

    # States and targets by name, so templates never spell a state string.
    is_uploading = field_is("state", dc.UPLOADING)
    is_processing = field_is("state", dc.PROCESSING)
    is_ready = field_is("state", dc.READY)
    is_failed = field_is("state", dc.FAILED)
    is_site = field_is("target", dc.TARGET_SITE)
    is_docs = field_is("target", dc.TARGET_DOCS)
    gate_passed = field_is("gate_status", dc.GATE_PASSED)
    gate_failed = field_is("gate_status", dc.GATE_FAILED)

    @property
    def is_in_flight(self):
        return self.state not in dc.FINAL_STATES

    @property
    def has_no_index_html(self):
        return dc.WARNING_NO_INDEX_HTML in (self.warnings or [])

    @property
    def preview_host_url(self):
        """This ready site deployment on its own preview host, grant included (else None)."""
        from deployments.previews import preview_host_url

        return preview_host_url(self)


class UploadRefusal(models.Model):
    """An uploaded archive that was refused: what was sent and why, never its bytes.

    API.md keeps nothing of a refused archive (no deployment, no blobs); this record is
    the upload log the history shows, so a refusal does not vanish.
    """

    handle = models.ForeignKey("gharart.Handle", on_delete=models.CASCADE, related_name="upload_refusals")
    target = models.CharField(max_length=10, choices=dc.TARGET_CHOICES, default=dc.TARGET_SITE)
    filename = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(default=0)
    code = models.CharField(max_length=60)
    reason = models.CharField(max_length=60, blank=True)
    message = models.CharField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_by = optional_user()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.handle_id} {self.filename} refused ({self.reason or self.code})"


class DeploymentFile(models.Model):
    """One manifest entry: a path of a deployment and the blob holding its bytes."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=1024)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField(default=0)
    content_type = models.CharField(max_length=200)
    # docs target: the page declares <meta name="gharart:classification" content="confidential">.
    confidential = models.BooleanField(default=False)
    # The deployment's handle holds these bytes: it sent them (verified) or already held
    # them in another of its deployments or files. A digest entry starts False when the
    # handle does not, whoever else may hold the same bytes (per-handle ownership).
    held = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deployment", "path"], name="unique_deployment_path")]
        indexes = [
            # The blobs a deployment still waits for: small, and empty once it is ready.
            models.Index(fields=["deployment", "sha256"], name="deployment_file_waiting", condition=models.Q(held=False)),
        ]

    def __str__(self):
        return self.path


class LivePointer(models.Model):
    """What is live for one (handle, target). Locked (select_for_update) by promote and rollback.

    Also hands out deployment version numbers, so versions count 1, 2, 3 without races.
    """

    handle = models.ForeignKey("gharart.Handle", on_delete=models.CASCADE, related_name="live_pointers")
    target = models.CharField(max_length=10, choices=dc.TARGET_CHOICES)
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.RESTRICT, related_name="+")
    release = models.ForeignKey("Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    next_version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["handle", "target"], name="unique_live_pointer")]

    def __str__(self):
        return f"{self.handle_id} {self.target} -> {self.deployment_id}"


class Release(models.Model):
    """One promote, forced promote or rollback: what went live and what it replaced."""

    id = prefixed_id(ids.new_rel_id)
    handle = models.ForeignKey("gharart.Handle", on_delete=models.CASCADE, related_name="releases")
    target = models.CharField(max_length=10, choices=dc.TARGET_CHOICES)
    deployment = models.ForeignKey(Deployment, on_delete=models.RESTRICT, related_name="releases")
    previous_deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.RESTRICT, related_name="+")
    kind = models.CharField(max_length=20, choices=dc.RELEASE_KIND_CHOICES)
    reason = models.CharField(max_length=500, blank=True)
    actor = optional_user()
    # Set under the live pointer's row lock, so it orders releases of one handle and target.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["handle", "target", "-created_at"], name="release_history")]

    def __str__(self):
        return f"{self.kind} {self.deployment_id}"

    is_site = field_is("target", dc.TARGET_SITE)
    is_docs = field_is("target", dc.TARGET_DOCS)


class FunctionBinding(models.Model):
    """A route on the profile site answered by a built-in function instead of a file."""

    id = prefixed_id(ids.new_fb_id)
    handle = models.ForeignKey("gharart.Handle", on_delete=models.CASCADE, related_name="function_bindings")
    route = models.CharField(max_length=300)
    methods = models.JSONField(default=list)
    function = models.CharField(max_length=20, choices=dc.FUNCTION_CHOICES)
    config = models.JSONField(default=dict, blank=True)
    # None: follows whatever is live. Else pinned to this deployment (stale once it is not live).
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.CASCADE, related_name="function_bindings")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = optional_user()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{','.join(self.methods)} {self.route} -> {self.function}"

    @property
    def follows_live(self):
        return self.deployment_id is None


class FormSubmission(models.Model):
    """A form posted to a form-capture binding on the profile site."""

    id = prefixed_id(ids.new_sub_id)
    binding = models.ForeignKey(FunctionBinding, on_delete=models.CASCADE, related_name="submissions")
    handle = models.ForeignKey("gharart.Handle", on_delete=models.CASCADE, related_name="form_submissions")
    data = models.JSONField(default=dict)
    content_type = models.CharField(max_length=100, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.id


class ScheduledRelease(models.Model):
    """A promote planned for ``at``: a Celery job runs ``deployment_promote`` then.

    Claimed under the handle's row lock by the database's clock, so it runs once however
    many workers, sweeps and redelivered jobs look at it, and releases of one handle that
    fall due together run in (at, created_at) order.
    """

    id = prefixed_id(ids.new_sched_id)
    handle = models.ForeignKey("gharart.Handle", on_delete=models.CASCADE, related_name="scheduled_releases")
    # The deployment may go away before ``at``: the schedule then fails with deployment_not_found.
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="scheduled_releases")
    deployment_ref = models.CharField(max_length=40)
    target = models.CharField(max_length=10, choices=dc.TARGET_CHOICES, default=dc.TARGET_SITE)
    at = models.DateTimeField()
    state = models.CharField(max_length=12, choices=dc.SCHEDULE_STATE_CHOICES, default=dc.SCHEDULE_SCHEDULED)
    reason = models.CharField(max_length=500, blank=True)
    force = models.BooleanField(default=False)
    created_by = optional_user()
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # {"code", "message", "details"} when it was refused at run time.
    error = models.JSONField(null=True, blank=True)
    cancelled_by = optional_user()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "at"], name="scheduled_release_due")]

    def __str__(self):
        return f"{self.deployment_ref} at {self.at:%Y-%m-%d %H:%M} ({self.state})"

    is_scheduled = field_is("state", dc.SCHEDULE_SCHEDULED)
    is_done = field_is("state", dc.SCHEDULE_DONE)
    is_failed = field_is("state", dc.SCHEDULE_FAILED)
    is_cancelled = field_is("state", dc.SCHEDULE_CANCELLED)


class PublishingLock(models.Model):
    """A freeze on publishing for one handle: promote, rollback and scheduled releases refuse
    with 409 ``publishing_locked`` while it holds (until ``until``, or until lifted)."""

    id = prefixed_id(ids.new_lock_id)
    handle = models.OneToOneField("gharart.Handle", on_delete=models.CASCADE, related_name="publishing_lock")
    locked = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = optional_user()

    def __str__(self):
        return f"{self.handle_id} locked={self.locked}"

    def holds(self, now):
        """Whether the lock holds at ``now`` (the database's clock)."""
        return self.locked and (self.until is None or self.until > now)
