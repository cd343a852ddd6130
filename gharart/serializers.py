from rest_framework import serializers

from gharart import constants as c
from gharart.models import PersonalAccessToken


class TokenCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=c.ALL_SCOPES), allow_empty=False)
    handle = serializers.CharField(allow_null=True, required=False, default=None)
    expires_at = serializers.DateTimeField(allow_null=True, required=False, default=None)


class TokenOutput(serializers.ModelSerializer):
    handle = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = PersonalAccessToken
        fields = ["id", "name", "prefix", "scopes", "handle", "expires_at", "last_used_at", "revoked_at", "created_at", "is_active"]


class TokenCreatedOutput(TokenOutput):
    token = serializers.CharField(read_only=True, help_text="The secret. Shown once; store it now.")

    class Meta(TokenOutput.Meta):
        fields = ["id", "token", *TokenOutput.Meta.fields[1:]]


class JWTObtainInput(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField()


class JWTPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class JWTRefreshInput(serializers.Serializer):
    refresh = serializers.CharField()


class JWTRefreshOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(required=False)


class ErrorBody(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    request_id = serializers.CharField()
    details = serializers.DictField()


class ErrorEnvelope(serializers.Serializer):
    error = ErrorBody()
