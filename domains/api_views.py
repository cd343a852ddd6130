"""The /v2 custom domains API: thin views over ``services`` and ``selectors``."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from domains import selectors, services
from domains.serializers import DomainInput, DomainOutput
from gharart import constants as c
from gharart.access import Access
from gharart.api import HandleAPIView
from gharart.pagination import NewestFirstCursorPagination
from gharart.serializers import ErrorEnvelope

READ = Access(c.READ_ROLES, c.SCOPE_SITES_READ)
WRITE = Access(c.ADMIN_ROLES, c.SCOPE_SITES_WRITE)
ERR = OpenApiResponse(ErrorEnvelope, description="Error envelope; see the error code.")


class DomainListView(HandleAPIView):
    """A handle's custom domains; add one (it serves once its TXT record is verified)."""

    pagination_class = NewestFirstCursorPagination
    access = {"GET": READ, "POST": WRITE}

    @extend_schema(responses={200: DomainOutput(many=True)}, tags=["domains"])
    def get(self, request, handle):
        return self.paginated_response(selectors.domain_list(handle=self.handle), DomainOutput)

    @extend_schema(request=DomainInput, responses={201: DomainOutput, 400: ERR, 409: ERR}, tags=["domains"])
    def post(self, request, handle):
        data = self.validated(DomainInput)
        row = services.domain_add(handle=self.handle, domain=data["domain"], actor=request.user)
        return Response(DomainOutput(row).data, status=status.HTTP_201_CREATED)


class DomainDetailView(HandleAPIView):
    access = {"GET": READ, "DELETE": WRITE}

    @extend_schema(responses={200: DomainOutput, 404: ERR}, tags=["domains"])
    def get(self, request, handle, domain):
        return Response(DomainOutput(selectors.domain_get(handle=self.handle, domain=domain)).data)

    @extend_schema(responses={204: None, 404: ERR}, tags=["domains"])
    def delete(self, request, handle, domain):
        services.domain_remove(row=selectors.domain_get(handle=self.handle, domain=domain), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DomainVerifyView(HandleAPIView):
    access = {"POST": WRITE}

    @extend_schema(request=None, responses={200: DomainOutput, 404: ERR, 409: ERR}, tags=["domains"])
    def post(self, request, handle, domain):
        row = services.domain_verify(row=selectors.domain_get(handle=self.handle, domain=domain), actor=request.user)
        return Response(DomainOutput(row).data)
