"""Input and output shapes of the deployments API (and its OpenAPI schema)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deployments import constants as dc
from deployments import previews
from deployments.models import (
    Deployment,
    FormSubmission,
    FunctionBinding,
    Release,
    ScheduledRelease,
)
from deployments.selectors.deployments import deployment_warning_details
from deployments.selectors.releases import deployment_gate_checks
from deployments.selectors.site import binding_status
from gharart import constants as c


class WarningDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField(required=False)


class DeploymentError(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


# --- Inputs ------------------------------------------------------------------------------

class ArchiveDeployInput(serializers.Serializer):
    artifact = serializers.FileField(help_text=".zip or .tar.gz of the site")
    target = serializers.ChoiceField(choices=dc.TARGETS, default=dc.TARGET_SITE)
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DigestDeployInput(serializers.Serializer):
    target = serializers.ChoiceField(choices=dc.TARGETS, default=dc.TARGET_SITE)
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    files = serializers.DictField(child=serializers.CharField(max_length=64), allow_empty=True, help_text='{"/index.html": "<sha256>", ...}')


class DeploymentFilter(serializers.Serializer):
    target = serializers.ChoiceField(choices=dc.TARGETS, required=False)
    state = serializers.ChoiceField(choices=[s for s, _ in dc.STATE_CHOICES], required=False)


class ReleaseFilter(serializers.Serializer):
    target = serializers.ChoiceField(choices=dc.TARGETS, required=False)


class PromoteInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    force = serializers.BooleanField(required=False, default=False, help_text="Owners/admins: skip the preview gate and the publishing lock (reason required).")
    at = serializers.JSONField(required=False, default=None, help_text="A future ISO 8601 time: schedule the promote (202 scheduled_release) instead of promoting now.")


class RollbackInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class SiteModeInput(serializers.Serializer):
    mode = serializers.ChoiceField(choices=[m for m, _ in c.SITE_MODE_CHOICES])


class BindingInput(serializers.Serializer):
    route = serializers.CharField(max_length=300)
    methods = serializers.ListField(child=serializers.CharField(max_length=10), allow_empty=False)
    function = serializers.ChoiceField(choices=[f for f, _ in dc.FUNCTION_CHOICES])
    config = serializers.JSONField(required=False, default=dict, help_text="redirect: location, status; json: body, status; form-capture: success_path, max_bytes")
    deployment_id = serializers.CharField(allow_null=True, required=False, default=None)


# --- Outputs -----------------------------------------------------------------------------

class DeploymentOutput(serializers.ModelSerializer):
    handle = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SerializerMethodField()
    is_live = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()
    preview_host_url = serializers.SerializerMethodField()
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)
    warning_details = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = Deployment
        fields = [
            "id",
            "handle",
            "target",
            "version",
            "state",
            "message",
            "file_count",
            "total_bytes",
            "artifact_sha256",
            "created_at",
            "created_by",
            "ready_at",
            "is_live",
            "preview_url",
            "preview_host_url",
            "warnings",
            "warning_details",
            "error",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by(self, obj):
        return obj.created_by.username if obj.created_by_id else None

    @extend_schema_field(serializers.BooleanField())
    def get_is_live(self, obj):
        live_ids = self.context.get("live_ids") or {}
        return live_ids.get(obj.target) == obj.id

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_preview_url(self, obj):
        if obj.state != dc.READY:
            return None
        return previews.preview_url(obj)[0]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_preview_host_url(self, obj):
        """The site deployment on its own preview host, with the grant in the URL."""
        return previews.preview_host_url(obj)

    @extend_schema_field(WarningDetail(many=True))
    def get_warning_details(self, obj):
        return deployment_warning_details(deployment=obj)

    @extend_schema_field(DeploymentError(allow_null=True))
    def get_error(self, obj):
        return obj.error


class DeploymentBlobOutput(DeploymentOutput):
    """The answer to a blob upload: the deployment and how many blobs it still waits for."""

    required_count = serializers.SerializerMethodField(help_text="distinct blobs this handle still has to send (digest deploys)")

    class Meta(DeploymentOutput.Meta):
        fields = [*DeploymentOutput.Meta.fields, "required_count"]

    @extend_schema_field(serializers.IntegerField())
    def get_required_count(self, obj):
        return obj.blobs_missing if obj.state == dc.UPLOADING else 0


class BlobBatchOutput(DeploymentBlobOutput):
    stored = serializers.SerializerMethodField(help_text="blobs of this request now held")
    skipped = serializers.SerializerMethodField(help_text="members this deployment already held (a retried batch)")

    class Meta(DeploymentBlobOutput.Meta):
        fields = [*DeploymentBlobOutput.Meta.fields, "stored", "skipped"]

    @extend_schema_field(serializers.IntegerField())
    def get_stored(self, obj):
        return self.context.get("stored", 0)

    @extend_schema_field(serializers.IntegerField())
    def get_skipped(self, obj):
        return self.context.get("skipped", 0)


class DeploymentCreatedOutput(DeploymentBlobOutput):
    required = serializers.SerializerMethodField(help_text="sha256s this handle has not sent yet (digest deploys); a deployment's GET pages them")
    required_next = serializers.SerializerMethodField(help_text="URL of the next page of `required`, or null")

    class Meta(DeploymentBlobOutput.Meta):
        fields = [*DeploymentBlobOutput.Meta.fields, "required", "required_next"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_required(self, obj):
        return self.context.get("required", [])

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_required_next(self, obj):
        return self.context.get("required_next")


class ReleaseOutput(serializers.ModelSerializer):
    deployment_id = serializers.CharField(read_only=True)
    previous_deployment_id = serializers.CharField(read_only=True, allow_null=True)
    actor = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = ["id", "target", "deployment_id", "previous_deployment_id", "kind", "reason", "actor", "created_at", "version"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor(self, obj):
        return obj.actor.username if obj.actor_id else None

    @extend_schema_field(serializers.IntegerField())
    def get_version(self, obj):
        return obj.deployment.version


class GateCheck(serializers.Serializer):
    name = serializers.CharField()
    ok = serializers.BooleanField()
    at = serializers.DateTimeField(allow_null=True)


class Gate(serializers.Serializer):
    status = serializers.ChoiceField(choices=[g for g, _ in dc.GATE_CHOICES])
    checks = GateCheck(many=True)


class Integrity(serializers.Serializer):
    ok = serializers.BooleanField()
    missing_files = serializers.ListField(child=serializers.CharField())
    checked_at = serializers.DateTimeField(allow_null=True, required=False)


class DeploymentDetailOutput(DeploymentCreatedOutput):
    files = serializers.SerializerMethodField(help_text="file count by content type")
    releases = serializers.SerializerMethodField()
    gate = serializers.SerializerMethodField()
    integrity = serializers.SerializerMethodField()

    class Meta(DeploymentCreatedOutput.Meta):
        fields = [*DeploymentCreatedOutput.Meta.fields, "files", "releases", "gate", "integrity"]

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_files(self, obj):
        return self.context.get("files_by_type", {})

    @extend_schema_field(ReleaseOutput(many=True))
    def get_releases(self, obj):
        return ReleaseOutput(self.context.get("releases", []), many=True).data

    @extend_schema_field(Gate)
    def get_gate(self, obj):
        return Gate({"status": obj.gate_status, "checks": deployment_gate_checks(deployment=obj)}).data

    @extend_schema_field(Integrity)
    def get_integrity(self, obj):
        return {"ok": obj.integrity_checked_at is not None and not obj.missing_files, "missing_files": obj.missing_files or [], "checked_at": obj.integrity_checked_at}


class PreviewReportOutput(serializers.Serializer):
    deployment_id = serializers.CharField()
    state = serializers.CharField()
    preview_url = serializers.URLField()
    preview_host_url = serializers.URLField(allow_null=True)
    expires_at = serializers.DateTimeField()
    integrity = Integrity()
    gate = Gate()


class ReleaseResultOutput(serializers.Serializer):
    release = ReleaseOutput()
    live_deployment_id = serializers.CharField()
    warnings = serializers.ListField(child=serializers.CharField())
    warning_details = WarningDetail(many=True)


class SiteModeOutput(serializers.Serializer):
    mode = serializers.ChoiceField(choices=[m for m, _ in c.SITE_MODE_CHOICES])
    live_deployment_id = serializers.CharField(allow_null=True)
    serving = serializers.ChoiceField(choices=[dc.SERVING_LINKS_PAGE, dc.SERVING_DEPLOYMENT, dc.SERVING_MAINTENANCE_PAGE, dc.SERVING_NO_SITE])
    warnings = serializers.ListField(child=serializers.CharField())
    warning_details = WarningDetail(many=True)


class BindingOutput(serializers.ModelSerializer):
    deployment_id = serializers.CharField(read_only=True, allow_null=True)
    follows_live = serializers.BooleanField(read_only=True)
    status = serializers.SerializerMethodField()
    config = serializers.JSONField()

    class Meta:
        model = FunctionBinding
        fields = ["id", "route", "methods", "function", "config", "deployment_id", "follows_live", "status", "created_at"]

    @extend_schema_field(serializers.ChoiceField(choices=[dc.BINDING_ACTIVE, dc.BINDING_STALE]))
    def get_status(self, obj):
        return binding_status(obj, self.context.get("live_site_id"))


class SubmissionOutput(serializers.ModelSerializer):
    binding_id = serializers.CharField(read_only=True)
    data = serializers.JSONField()

    class Meta:
        model = FormSubmission
        fields = ["id", "binding_id", "data", "content_type", "user_agent", "created_at"]




# --- Scheduled releases and the publishing lock ------------------------------------------

class ScheduledReleaseOutput(serializers.ModelSerializer):
    deployment_id = serializers.CharField(source="deployment_ref")
    version = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    release_id = serializers.CharField(allow_null=True)
    error = serializers.SerializerMethodField()

    class Meta:
        model = ScheduledRelease
        fields = ["id", "deployment_id", "version", "target", "at", "state", "reason", "force", "created_by", "created_at", "finished_at", "release_id", "error"]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_version(self, obj):
        return obj.deployment.version if obj.deployment_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by(self, obj):
        return obj.created_by.username if obj.created_by_id else None

    @extend_schema_field(DeploymentError(allow_null=True))
    def get_error(self, obj):
        return obj.error


class ScheduledReleaseCreatedOutput(serializers.Serializer):
    scheduled_release = ScheduledReleaseOutput()


class ScheduledReleaseFilter(serializers.Serializer):
    state = serializers.ChoiceField(choices=[s for s, _ in dc.SCHEDULE_STATE_CHOICES], required=False)


class SiteLockInput(serializers.Serializer):
    locked = serializers.BooleanField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    until = serializers.JSONField(required=False, default=None, help_text="ISO 8601 time the lock lifts itself, or null to hold until lifted.")


class SiteLockOutput(serializers.Serializer):
    locked = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    until = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField(allow_null=True)
