"""Input and output shapes of the custom domains API."""

from rest_framework import serializers

from domains import constants as domc
from domains.models import CustomDomain


class DomainInput(serializers.Serializer):
    domain = serializers.CharField(max_length=300, help_text="www.brand.example")


class Verification(serializers.Serializer):
    type = serializers.CharField()
    name = serializers.CharField()
    value = serializers.CharField()


class DomainOutput(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=[s for s, _ in domc.STATUS_CHOICES])
    verification = serializers.SerializerMethodField()
    serving = serializers.BooleanField(source="is_serving")

    class Meta:
        model = CustomDomain
        fields = ["domain", "status", "serving", "verification", "created_at", "verified_at", "last_checked_at", "failing_since"]

    def get_verification(self, obj) -> Verification:
        return {"type": domc.RECORD_TYPE, "name": obj.record_name, "value": obj.record_value}
