from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from gharart import auth, selectors, services, throttles
from gharart import constants as c
from gharart.api import GharartAPIView, PublicAPIView
from gharart.errors import ApplicationError
from gharart.models import Handle
from gharart.pagination import NewestFirstCursorPagination
from gharart.serializers import (
    ErrorEnvelope,
    JWTObtainInput,
    JWTPairOutput,
    JWTRefreshInput,
    JWTRefreshOutput,
    TokenCreatedOutput,
    TokenCreateInput,
    TokenOutput,
)


class JWTObtainView(PublicAPIView):
    """Exchange a username and password for a JWT access/refresh pair.

    Throttled like the sign-in forms: per IP, and per username after wrong passwords.
    """

    authentication_classes = []

    @extend_schema(
        request=JWTObtainInput,
        responses={200: JWTPairOutput, 401: OpenApiResponse(ErrorEnvelope, description="invalid_token: the username or password is wrong.")},
        tags=["auth"],
    )
    def post(self, request):
        data = self.validated(JWTObtainInput)
        username = data["username"]
        request._ratelimit_usage = throttles.signin_attempt(request, username)
        user = authenticate(request._request, username=username, password=data["password"])
        if user is None or not user.is_active:
            throttles.signin_failed(username)
            raise ApplicationError(c.INVALID_TOKEN, "The username or password is wrong.", status=401, headers={"WWW-Authenticate": "Bearer"})
        refresh = RefreshToken.for_user(user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class JWTRefreshView(PublicAPIView):
    authentication_classes = []
    ip_throttle_scopes = (c.THROTTLE_AUTH_TOKEN,)

    @extend_schema(
        request=JWTRefreshInput,
        responses={200: JWTRefreshOutput, 401: OpenApiResponse(ErrorEnvelope, description="invalid_token: the refresh token is invalid or expired.")},
        tags=["auth"],
    )
    def post(self, request):
        data = auth.RefreshSerializer(data=request.data)
        try:
            data.is_valid(raise_exception=True)
        except TokenError:
            raise ApplicationError(c.INVALID_TOKEN, "The refresh token is invalid or expired.", status=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(data.validated_data)


class TokenListView(GharartAPIView):
    """Your personal access tokens. The secret is returned once, at creation."""

    pagination_class = NewestFirstCursorPagination
    personal_access_tokens_allowed = False

    @extend_schema(responses={200: TokenOutput(many=True)}, tags=["tokens"])
    def get(self, request):
        return self.paginated_response(selectors.token_list(user=request.user), TokenOutput)

    @extend_schema(request=TokenCreateInput, responses={201: TokenCreatedOutput}, tags=["tokens"])
    def post(self, request):
        data = self.validated(TokenCreateInput)
        handle = None
        slug = data["handle"]
        if slug:
            handle = Handle.objects.filter(slug=slug, memberships__user=request.user).first()
            if handle is None:
                raise ApplicationError(c.VALIDATION_ERROR, "The token could not be created.", details={"handle": ["You are not a member of this handle."]})
        token, secret = services.token_create(
            user=request.user,
            name=data["name"],
            scopes=data["scopes"],
            handle=handle,
            expires_at=data["expires_at"],
        )
        token.token = secret
        return Response(TokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)


class TokenDetailView(GharartAPIView):
    personal_access_tokens_allowed = False

    @extend_schema(responses={204: None}, tags=["tokens"])
    def delete(self, request, token_id):
        services.token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
