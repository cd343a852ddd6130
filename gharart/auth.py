"""API authentication: ``Authorization: Bearer <JWT | ghp_ PAT>``, or the dashboard session."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from gharart import constants as c
from gharart import throttles
from gharart.models import PersonalAccessToken, hash_token
from gharart.services import PAT_PREFIX

# Wrong bearer tokens (PATs and JWTs) per client address: settings.GHARART_THROTTLES.
FAILURES_SCOPE = c.THROTTLE_AUTH_FAILURES

# last_used_at is written at most this often per token, so reads stay read-only.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class BearerAuthentication(authentication.BaseAuthentication):
    """A personal access token (``ghp_...``) or a simplejwt access token."""

    keyword = "Bearer"

    def __init__(self):
        self._jwt = JWTAuthentication()

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != "bearer":
            return None
        try:
            return self._authenticate(parts)
        except exceptions.AuthenticationFailed:
            # Guessing tokens: wrong ones are counted per address and answered 429 past the
            # limit. Only wrong ones: a valid credential from that address still works
            # (a 256-bit secret is not found by guessing; the limit slows scanners down).
            throttles.failure_record(FAILURES_SCOPE, f"ip:{throttles.client_ip(request)}")
            raise

    def _authenticate(self, parts):
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
        raw = parts[1]
        if raw.startswith(PAT_PREFIX):
            return self._authenticate_pat(raw)
        try:
            validated = self._jwt.get_validated_token(raw.encode())
            user = self._jwt.get_user(validated)
        except (InvalidToken, TokenError, exceptions.AuthenticationFailed):
            raise exceptions.AuthenticationFailed("The access token is invalid or expired.")
        if not user.is_active:
            raise exceptions.AuthenticationFailed("The access token is invalid or expired.")
        return user, validated

    def _authenticate_pat(self, raw):
        token = PersonalAccessToken.objects.select_related("user", "handle").filter(token_hash=hash_token(raw)).first()
        if token is None or not token.is_active or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The personal access token is invalid, expired or revoked.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """The dashboard session, with Django's CSRF check on unsafe methods."""


class RefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, refused (``TokenError``, so 401) once the token's user changed
    password, was deactivated or deleted. simplejwt checks the password claim on access
    tokens only; a refresh token must not outlive a password change either."""

    def validate(self, attrs):
        refresh = RefreshToken(attrs["refresh"])
        user = get_user_model().objects.filter(**{jwt_settings.USER_ID_FIELD: refresh.get(jwt_settings.USER_ID_CLAIM)}).first()
        if user is None or not user.is_active:
            raise TokenError("The refresh token's user is gone or inactive.")
        if refresh.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
            raise TokenError("The password changed after this refresh token was issued.")
        return super().validate(attrs)
