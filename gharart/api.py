"""The base of every /v2 view: handle access, throttles, quotas and idempotency, once.

A view declares what each method needs::

    class DeploymentList(HandleAPIView):
        access = {"GET": Access(READ_ROLES, "sites:read"), "POST": Access(SITE_ROLES, "sites:write")}
        daily_quota = {"POST": c.QUOTA_DEPLOYMENTS}

and finds the checked handle and membership on ``self.handle`` / ``self.membership``.
"""

from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from gharart import constants as c
from gharart import idempotency, request_guard, throttles
from gharart.access import Access, check_handle_access, check_scope, refuse_personal_access_token
from gharart.errors import api_exception_handler

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class GharartAPIView(APIView):
    """Throttles, idempotency and the error envelope for any /v2 view."""

    # Extra per-IP throttle scopes (anonymous routes), e.g. ["magic_link_ip"].
    ip_throttle_scopes: tuple = ()
    # Scope required of a PAT for non-handle routes, per method.
    token_scopes: dict = {}
    # {"POST": c.QUOTA_DEPLOYMENTS}: counts against the handle's daily write quota.
    daily_quota: dict = {}
    # The per-caller budget for unsafe methods; bulk routes (blob uploads) have their own.
    write_throttle_scope = c.THROTTLE_WRITE
    # False on routes that manage credentials: a PAT gets 403 there, so no token mints a broader one.
    personal_access_tokens_allowed = True
    # True on routes whose body is raw bytes streamed by the view (blob uploads), never parsed.
    raw_body = False
    # False for content-addressed uploads (a batch of blobs named by their sha256): repeating
    # one stores nothing twice by nature, and its body is a stream that is never buffered
    # to be fingerprinted, so an Idempotency-Key is accepted and not recorded.
    idempotency_keys = True

    def validated(self, serializer_class, data=None):
        """The request body (or ``data``, e.g. the query string) as ``serializer_class`` reads
        it: its ``validated_data``, or 400 ``validation_error`` with the field messages."""
        serializer = serializer_class(data=self.request.data if data is None else data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def paginated_response(self, queryset, serializer_class, context=None):
        """One page of ``queryset`` with the view's ``pagination_class`` (``{"results", "next"}``)."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True, context=context or {}).data)

    def get_exception_handler(self):
        return api_exception_handler

    def _method(self, request):
        return "GET" if request.method == "HEAD" else request.method

    def check_permissions(self, request):
        super().check_permissions(request)
        if not self.personal_access_tokens_allowed:
            refuse_personal_access_token(request.auth)
        scope = self.token_scopes.get(self._method(request))
        if scope and request.user.is_authenticated:
            check_scope(request.auth, scope)

    def check_throttles(self, request):
        usages = []
        route = type(self).__name__
        for scope in self.ip_throttle_scopes:
            usages.append(throttles.hit(scope, f"{route}:ip:{throttles.client_ip(request)}"))
        if request.user.is_authenticated:
            kind = c.THROTTLE_READ if request.method in ("GET", "HEAD", "OPTIONS") else self.write_throttle_scope
            usages.append(throttles.hit(kind, f"{route}:user:{request.user.pk}"))
        if usages:
            request._ratelimit_usage = min(usages, key=lambda u: u.remaining)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method in UNSAFE_METHODS and not self.raw_body and request_guard.is_json(request):
            # Parse a JSON body now, before any lookup: one that is too large, too deep or not
            # an object is refused the same way on every write route (gharart/request_guard.py).
            # Multipart uploads are left to the view, so a quota refusal never reads them.
            request_guard.check_json_length(request)
            request.data  # noqa: B018
        key = request.headers.get(idempotency.HEADER)
        if request.method == "POST" and key is not None and self.idempotency_keys:
            # Before the quota: a replay performs nothing, so it costs nothing.
            request._idempotency_record = idempotency.claim(request, key)
        quota = self.daily_quota.get(request.method)
        handle = getattr(self, "handle", None)
        if quota and handle is not None:
            throttles.quota_hit(quota, handle.slug)
            request._quota_charged = (quota, handle.slug)

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.IdempotentReplay):
            return idempotency.replay_response(exc.record)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        usage = getattr(request, "_ratelimit_usage", None)
        if usage is not None and not response.has_header("RateLimit-Limit"):
            for name, value in usage.headers().items():
                response[name] = value
        charged = getattr(request, "_quota_charged", None)
        if charged and response.status_code >= 400:
            throttles.quota_refund(*charged)
        record = getattr(request, "_idempotency_record", None)
        if record is not None and not response.has_header(idempotency.REPLAYED_HEADER):
            idempotency.complete(record, response)
        return response


class PublicAPIView(GharartAPIView):
    """An anonymous route (still accepts credentials when sent)."""

    permission_classes = [AllowAny]


class HandleAPIView(GharartAPIView):
    """A route under /v2/handles/{handle}/: checks membership, role and scope."""

    access: dict[str, Access] = {}

    def check_permissions(self, request):
        super().check_permissions(request)
        rule = self.access.get(self._method(request))
        if rule is None:
            return  # DRF answers 405 for methods the view does not implement
        self.membership = check_handle_access(user=request.user, auth=request.auth, slug=self.kwargs["handle"], access=rule)
        self.handle = self.membership.handle
        request._request.gharart_handle = self.handle.slug

    def filtered_page(self, filter_class, select, serializer_class, context=None):
        """One page of ``select(handle=..., **filters)``, the filters read from the query string
        by ``filter_class`` (400 ``validation_error`` for a bad one)."""
        filters = self.validated(filter_class, self.request.query_params)
        return self.paginated_response(select(handle=self.handle, **filters), serializer_class, context)
