"""The /v2 files, magic-link and docs-policy API: validate, call one service, serialize."""

from django.conf import settings
from django.shortcuts import render
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from files import constants as fc
from files import docs, downloads, links, selectors, services
from files.models import File
from files.serializers import (
    AcceptedOutput,
    CampaignInput,
    CampaignOutput,
    DocsPolicyInput,
    DocsPolicyOutput,
    FileOutput,
    FileUpdateInput,
    FileUploadInput,
    MagicLinkMintedOutput,
    MagicLinkOutput,
    MagicLinkRequestInput,
)
from files.uploads import (
    StreamedUploadView,
    StreamingUploadHandler,
    content_length_too_large,
    too_large,
)
from gharart import constants as c
from gharart import throttles
from gharart.access import Access
from gharart.api import HandleAPIView, PublicAPIView
from gharart.errors import ApplicationError
from gharart.pagination import NewestFirstCursorPagination

# Every member may read (API.md roles: a viewer makes every GET of its handle).
FILES_READ = Access(c.READ_ROLES, c.SCOPE_FILES_READ)
FILES_WRITE = services.MAGIC_LINK_MINT_ACCESS  # the same rule: partnerships+, files:write
UPDATABLE = ("access", "expires_at", "recipients", "title", "max_downloads", "campaign_id", "password")


def _bool_param(request, name):
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ApplicationError(c.VALIDATION_ERROR, "The filters are not valid.", details={name: ["Use true or false."]})


def _field(data, name):
    """A form field (list for repeated fields such as recipients) or a JSON value."""
    if hasattr(data, "getlist") and name == "recipients":
        values = data.getlist(name)
        return values if values else None
    return data.get(name)


class FileListView(StreamedUploadView, HandleAPIView):
    """The handle's files, and uploads (multipart, streamed to storage)."""

    access = {"GET": FILES_READ, "POST": FILES_WRITE}
    # No ``daily_quota`` here: ``services.file_upload`` charges every upload, whoever sends it.
    pagination_class = NewestFirstCursorPagination

    def streaming_upload_handler(self, request):
        # The file streams into blob storage as it arrives, and stops at the cap.
        return StreamingUploadHandler(request, field="file", receiver=services.file_upload_receiver, max_bytes=settings.FILES_MAX_UPLOAD_BYTES)

    def check_permissions(self, request):
        super().check_permissions(request)
        # Refuse an oversized upload from its declared length, before reading it.
        if request.method == "POST" and content_length_too_large(request, settings.FILES_MAX_UPLOAD_BYTES):
            raise too_large(settings.FILES_MAX_UPLOAD_BYTES)

    @extend_schema(
        parameters=[
            OpenApiParameter("access", str, enum=list(fc.ACCESS_VALUES)),
            OpenApiParameter("expired", bool),
        ],
        responses={200: FileOutput(many=True)},
        tags=["files"],
    )
    def get(self, request, handle):
        access = request.query_params.get("access") or None
        if access is not None and access not in fc.ACCESS_VALUES:
            raise ApplicationError(c.VALIDATION_ERROR, "The filters are not valid.", details={"access": [f"Choose one of: {', '.join(fc.ACCESS_VALUES)}."]})
        qs = selectors.file_list(handle=self.handle, access=access, expired=_bool_param(request, "expired"))
        return self.paginated_response(qs, FileOutput)

    @extend_schema(request={"multipart/form-data": FileUploadInput}, responses={201: FileOutput}, tags=["files"])
    def post(self, request, handle):
        data = request.data
        if request.content_type and not request.content_type.startswith("multipart/"):
            raise ApplicationError(c.UNSUPPORTED_MEDIA_TYPE, "Upload the file as multipart/form-data (field 'file').", status=415)
        file = services.file_upload(
            handle=self.handle,
            actor=request.user,
            upload=request.FILES.get("file"),
            access=data.get("access") or None,
            expires_at=data.get("expires_at") or None,
            recipients=_field(data, "recipients"),
            title=data.get("title", ""),
            max_downloads=data.get("max_downloads") or None,
            campaign_id=data.get("campaign_id") or None,
        )
        file.active_magic_links = 0
        return Response(FileOutput(file).data, status=status.HTTP_201_CREATED)


class FileDetailView(HandleAPIView):
    access = {"GET": FILES_READ, "PATCH": FILES_WRITE, "DELETE": FILES_WRITE}

    @extend_schema(responses={200: FileOutput}, tags=["files"])
    def get(self, request, handle, file_id):
        return Response(FileOutput(selectors.file_get(handle=self.handle, file_id=file_id)).data)

    @extend_schema(request=FileUpdateInput, responses={200: FileOutput}, tags=["files"])
    def patch(self, request, handle, file_id):
        file = selectors.file_get(handle=self.handle, file_id=file_id)
        if not hasattr(request.data, "keys"):
            raise ApplicationError(c.VALIDATION_ERROR, "Send a JSON object.", details={"non_field_errors": ["Send a JSON object."]})
        changes = {k: _field(request.data, k) for k in UPDATABLE if k in request.data}
        services.file_update(file=file, actor=request.user, **changes)
        return Response(FileOutput(selectors.file_get(handle=self.handle, file_id=file_id)).data)

    @extend_schema(responses={204: None}, tags=["files"])
    def delete(self, request, handle, file_id):
        file = selectors.file_get(handle=self.handle, file_id=file_id)
        services.file_delete(file=file, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MagicLinkListView(HandleAPIView):
    """A file's magic links, with last use (tokens are never shown again)."""

    access = {"GET": FILES_READ}
    pagination_class = NewestFirstCursorPagination

    @extend_schema(responses={200: MagicLinkOutput(many=True)}, tags=["files"])
    def get(self, request, handle, file_id):
        file = selectors.file_get(handle=self.handle, file_id=file_id)
        return self.paginated_response(selectors.magic_link_list(file=file), MagicLinkOutput)


class MagicLinkDetailView(HandleAPIView):
    access = {"DELETE": FILES_WRITE}

    @extend_schema(responses={204: None}, tags=["files"])
    def delete(self, request, handle, file_id, link_id):
        file = selectors.file_get(handle=self.handle, file_id=file_id)
        services.magic_link_revoke(file=file, link_id=link_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MagicLinkRequestView(PublicAPIView):
    """Ask for a magic link (anyone: always 202) or mint one (members: 201 with the URL)."""

    def perform_content_negotiation(self, request, force=False):
        # Browsers post the form on the error page with Accept: text/html; they get pages below.
        return super().perform_content_negotiation(request, force=True)

    def handle_exception(self, exc):
        if isinstance(exc, ApplicationError) and downloads.wants_html(self.request):
            return downloads.error_page(self.request._request, exc)
        return super().handle_exception(exc)

    @extend_schema(request=MagicLinkRequestInput, responses={201: MagicLinkMintedOutput, 202: AcceptedOutput}, tags=["files"])
    def post(self, request, file_id):
        file = File.objects.select_related("handle").filter(pk=file_id).first() if request.user.is_authenticated else None
        if services.magic_link_mint_allowed(user=request.user, auth=request.auth, file=file):
            send = request.data.get("send") in (True, "true", "1", "on")
            link, token = services.magic_link_mint(file=file, email=request.data.get("email"), actor=request.user, send=send)
            body = {"url": links.public_file_url(file.id, token), "expires_at": link.expires_at, "email": link.email, "id": link.id}
            return Response(MagicLinkMintedOutput(body).data, status=status.HTTP_201_CREATED)
        # Anonymous (or a caller without the right): the same answer whoever asks.
        ip = throttles.client_ip(request)
        throttles.hit(c.THROTTLE_MAGIC_LINK_IP, f"magic-link:ip:{ip}")
        raw_email = links.normalize_email(str(request.data.get("email") or "")).lower()
        throttles.hit(c.THROTTLE_MAGIC_LINK_FILE_EMAIL, f"magic-link:{str(file_id)[:40]}:{links.token_hash(raw_email)}")
        email = services.magic_link_request(file_id=file_id, email=request.data.get("email"))
        if "text/html" in request.headers.get("Accept", ""):
            return render(request._request, "files/public_link_requested.html", {"email": email, "file_id": file_id}, status=202)
        return Response({"status": "accepted"}, status=status.HTTP_202_ACCEPTED)


class DocsPolicyView(HandleAPIView):
    """The internal docs access policy, with its version and warnings."""

    access = {
        "GET": Access(c.READ_ROLES, c.SCOPE_DOCS_READ),
        "PUT": Access(c.FILES_ROLES, c.SCOPE_DOCS_WRITE),
    }

    def _respond(self, policy):
        warnings = docs.policy_warnings(handle=self.handle, policy=policy)
        return Response(DocsPolicyOutput(policy, context={"warnings": warnings}).data)

    @extend_schema(responses={200: DocsPolicyOutput}, tags=["docs"])
    def get(self, request, handle):
        return self._respond(selectors.docs_policy_get(handle=self.handle))

    @extend_schema(request=DocsPolicyInput, responses={200: DocsPolicyOutput}, tags=["docs"])
    def put(self, request, handle):
        if not isinstance(request.data, dict):
            raise ApplicationError(c.VALIDATION_ERROR, "Send a JSON object.", details={"non_field_errors": ["Send a JSON object."]})
        policy = services.docs_policy_update(handle=self.handle, actor=request.user, data=request.data)
        return self._respond(policy)


class CampaignListView(HandleAPIView):
    """The handle's campaigns (with ``file_count``), and new ones."""

    access = {"GET": FILES_READ, "POST": FILES_WRITE}
    pagination_class = NewestFirstCursorPagination

    @extend_schema(responses={200: CampaignOutput(many=True)}, tags=["campaigns"])
    def get(self, request, handle):
        return self.paginated_response(selectors.campaign_list(handle=self.handle), CampaignOutput)

    @extend_schema(request=CampaignInput, responses={201: CampaignOutput}, tags=["campaigns"])
    def post(self, request, handle):
        campaign = services.campaign_create(handle=self.handle, actor=request.user, data=request.data)
        return Response(CampaignOutput(selectors.campaign_get(handle=self.handle, campaign_id=campaign.id)).data, status=status.HTTP_201_CREATED)


class CampaignDetailView(HandleAPIView):
    access = {"GET": FILES_READ, "PATCH": FILES_WRITE, "DELETE": FILES_WRITE}

    @extend_schema(responses={200: CampaignOutput}, tags=["campaigns"])
    def get(self, request, handle, campaign_id):
        return Response(CampaignOutput(selectors.campaign_get(handle=self.handle, campaign_id=campaign_id)).data)

    @extend_schema(
        request=CampaignInput(partial=True),
        responses={200: CampaignOutput},
        description="Extending `ends_at` revives every file following the campaign at once, magic links included.",
        tags=["campaigns"],
    )
    def patch(self, request, handle, campaign_id):
        campaign = selectors.campaign_get(handle=self.handle, campaign_id=campaign_id)
        services.campaign_update(campaign=campaign, actor=request.user, data=request.data)
        return Response(CampaignOutput(selectors.campaign_get(handle=self.handle, campaign_id=campaign_id)).data)

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="campaign_in_use")}, tags=["campaigns"])
    def delete(self, request, handle, campaign_id):
        campaign = selectors.campaign_get(handle=self.handle, campaign_id=campaign_id)
        services.campaign_delete(campaign=campaign, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PublicFileView(PublicAPIView):
    """``GET/HEAD /v2/public/files/{fileId}``: the file's bytes (rules in ``files.downloads``)."""

    authentication_classes = []  # anonymous by design: the token in the URL is the credential

    def perform_content_negotiation(self, request, force=False):
        # Bytes, JSON errors or an HTML page for browsers: chosen by the download code itself.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("token", str, description="The magic-link token (files in link mode)."),
            OpenApiParameter("Range", str, OpenApiParameter.HEADER, description="One byte range, e.g. bytes=0-1023."),
            OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            304: None,
            403: OpenApiResponse(description="magic_link_required, magic_link_invalid, magic_link_revoked, magic_link_expired, file_not_yet_available (details.available_at)"),
            404: OpenApiResponse(description="file_not_found"),
            410: OpenApiResponse(description="file_expired (details.expired_at), download_limit_reached"),
            416: OpenApiResponse(description="range_not_satisfiable"),
        },
        tags=["files"],
        auth=[],
    )
    def get(self, request, file_id):
        return downloads.public_file(request._request, file_id)
