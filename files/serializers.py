"""API shapes for files, magic links and the docs access policy (validation is in services)."""

from rest_framework import serializers

from files import constants as fc
from files import links
from files.models import Campaign, DocsAccessPolicy, File, MagicLink


class FileOutput(serializers.ModelSerializer):
    is_expired = serializers.BooleanField(read_only=True)
    expires_at = serializers.DateTimeField(source="effective_expires_at", read_only=True, allow_null=True, help_text="The campaign's ends_at for a file that follows one.")
    expiry_source = serializers.ChoiceField(choices=[fc.EXPIRY_SOURCE_FILE, fc.EXPIRY_SOURCE_CAMPAIGN], read_only=True, allow_null=True)
    campaign_id = serializers.CharField(read_only=True, allow_null=True)
    available_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="Its campaign's starts_at: before it, downloads answer 403 file_not_yet_available.")
    public_url = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    active_magic_links = serializers.SerializerMethodField()
    password_protected = serializers.BooleanField(source="has_password", read_only=True)

    class Meta:
        model = File
        fields = [
            "id", "name", "title", "size", "content_type", "sha256", "access", "expires_at", "is_expired",
            "recipients", "max_downloads", "download_count", "public_url", "created_at", "created_by",
            "updated_at", "active_magic_links", "expiry_source", "campaign_id", "available_at",
            "password_protected",
        ]

    def get_public_url(self, obj) -> str | None:
        # A private file has no public address; link mode needs ?token= on top of this one.
        return None if obj.access == fc.ACCESS_PRIVATE else links.public_file_url(obj.id)

    def get_active_magic_links(self, obj) -> int:
        value = getattr(obj, "active_magic_links", None)
        if value is None:
            value = sum(1 for link in obj.magic_links.all() if link.is_active)
        return value


class FileUploadInput(serializers.Serializer):
    file = serializers.FileField()
    access = serializers.ChoiceField(choices=fc.ACCESS_VALUES, required=False, default=fc.ACCESS_PRIVATE)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    recipients = serializers.ListField(child=serializers.CharField(), required=False)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    max_downloads = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    campaign_id = serializers.CharField(required=False, allow_null=True, help_text="Follow this campaign's window instead of expires_at.")


class FileUpdateInput(serializers.Serializer):
    access = serializers.ChoiceField(choices=fc.ACCESS_VALUES, required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    recipients = serializers.ListField(child=serializers.CharField(), required=False)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    max_downloads = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    campaign_id = serializers.CharField(required=False, allow_null=True, help_text="Follow this campaign (null: stop following it).")
    # Sets the password of the shared address; "" or null removes it. Never returned.
    password = serializers.CharField(required=False, allow_blank=True, allow_null=True, write_only=True)


class MagicLinkOutput(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = MagicLink
        fields = [
            "id", "email", "access_at_issue", "created_at", "created_by", "expires_at", "revoked_at",
            "revoked_reason", "last_used_at", "use_count", "emailed_at", "active",
        ]


class MagicLinkRequestInput(serializers.Serializer):
    email = serializers.EmailField()
    send = serializers.BooleanField(required=False, default=False, help_text="Members only: also email the link.")


class MagicLinkMintedOutput(serializers.Serializer):
    url = serializers.CharField()
    expires_at = serializers.DateTimeField()
    email = serializers.EmailField()
    id = serializers.CharField()


class AcceptedOutput(serializers.Serializer):
    status = serializers.CharField(default="accepted")




class DocsPolicyInput(serializers.Serializer):
    visibility = serializers.ChoiceField(choices=fc.VISIBILITY_VALUES)
    partner_emails = serializers.ListField(child=serializers.CharField(), required=False)
    partner_domains = serializers.ListField(child=serializers.CharField(), required=False)
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    confidential_paths = serializers.ListField(child=serializers.CharField(), required=False)
    campaign_id = serializers.CharField(required=False, allow_null=True, help_text="Follow this campaign's window instead of starts_at/ends_at.")


class DocsPolicyOutput(serializers.ModelSerializer):
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    warnings = serializers.SerializerMethodField()
    starts_at = serializers.DateTimeField(source="window_starts_at", read_only=True, allow_null=True)
    ends_at = serializers.DateTimeField(source="window_ends_at", read_only=True, allow_null=True)
    campaign_id = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = DocsAccessPolicy
        fields = [
            "visibility", "partner_emails", "partner_domains", "starts_at", "ends_at", "confidential_paths",
            "version", "updated_at", "updated_by", "warnings", "campaign_id",
        ]

    def get_warnings(self, obj) -> list[dict]:
        return self.context.get("warnings", [])


class CampaignInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class CampaignOutput(serializers.ModelSerializer):
    file_count = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Campaign
        fields = ["id", "name", "starts_at", "ends_at", "file_count", "created_at", "updated_at", "created_by"]

    def get_file_count(self, obj) -> int:
        value = getattr(obj, "file_count", None)
        return obj.files.count() if value is None else value
