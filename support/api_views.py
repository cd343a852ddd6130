from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from gharart import constants as c
from gharart import throttles
from gharart.access import handle_not_found
from gharart.api import GharartAPIView, PublicAPIView
from gharart.errors import ApplicationError
from gharart.models import PersonalAccessToken
from gharart.serializers import ErrorEnvelope
from support import constants as sc
from support import services
from support.operators import is_operator
from support.serializers import (
    ContentReportAccepted,
    ContentReportInput,
    EscalationInput,
    EscalationOutput,
    SupportReportInput,
    SupportReportOutput,
)


class SupportReportView(GharartAPIView):
    """Report a problem; quote a request ID and support sees that request."""

    token_scopes = {"POST": c.SCOPE_SUPPORT_WRITE}

    @extend_schema(
        request=SupportReportInput,
        responses={201: SupportReportOutput, 404: OpenApiResponse(ErrorEnvelope, description="handle_not_found: the handle is not one of yours.")},
        tags=["support"],
    )
    def post(self, request):
        values = self.validated(SupportReportInput)
        slug = (values.get("handle") or "").strip()
        # A PAT bound to one handle cannot speak for another (as on every handle route).
        auth = request.auth
        if slug and isinstance(auth, PersonalAccessToken) and auth.handle_id is not None and auth.handle.slug != slug:
            raise handle_not_found(slug)
        report = services.support_report_create(
            user=request.user,
            summary=values.get("summary"),
            details=values.get("details"),
            handle_slug=slug,
            session_id=values.get("sessionId"),
            request_id=values.get("requestId"),
            repro_artifact=values.get("reproArtifact"),
        )
        return Response(SupportReportOutput(report).data, status=status.HTTP_201_CREATED)


class EscalationView(GharartAPIView):
    """Internal operators escalate a support report."""

    token_scopes = {"POST": c.SCOPE_SUPPORT_WRITE}

    def check_permissions(self, request):
        # Anyone signed in who is not an operator learns only that; anonymous callers get 401.
        if request.user.is_authenticated and not is_operator(request.user):
            raise ApplicationError(sc.OPERATOR_ONLY, "Only internal operators may escalate.", status=403)
        super().check_permissions(request)

    @extend_schema(request=EscalationInput, responses={201: EscalationOutput}, tags=["support"])
    def post(self, request):
        values = self.validated(EscalationInput)
        escalation = services.escalation_create(
            actor=request.user,
            support_report_id=values.get("support_report_id"),
            severity=values.get("severity"),
            notes=values.get("notes"),
        )
        return Response(EscalationOutput(escalation).data, status=status.HTTP_201_CREATED)


class ContentReportView(PublicAPIView):
    """Anonymous abuse reports about content served by the platform (not an incident channel)."""

    # Anonymous by design: a stale token must not turn a report into a 401.
    authentication_classes = []
    ip_throttle_scopes = (sc.THROTTLE_CONTENT_REPORT,)

    @extend_schema(request=ContentReportInput, responses={202: ContentReportAccepted}, tags=["support"])
    def post(self, request):
        values = self.validated(ContentReportInput)
        report = services.content_report_create(
            url=values.get("url"),
            reason=values.get("reason"),
            details=values.get("details"),
            reporter_email=values.get("reporter_email"),
            ip=throttles.client_ip(request),
        )
        return Response(ContentReportAccepted(report).data, status=status.HTTP_202_ACCEPTED)
