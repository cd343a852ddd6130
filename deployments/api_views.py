"""The /v2 deployments API: thin views over ``services`` and ``selectors``."""

from types import SimpleNamespace

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from deployments import archives, publishing_locks, schedules, storage, uploads
from deployments import constants as dc
from deployments.selectors.deployments import (
    deployment_files_by_type,
    deployment_get,
    deployment_list,
)
from deployments.selectors.ingest import deployment_required_blobs
from deployments.selectors.live import live_deployment_ids
from deployments.selectors.releases import (
    deployment_releases,
    release_list,
    scheduled_release_get,
    scheduled_release_list,
)
from deployments.selectors.site import binding_get, binding_list, site_status, submission_list
from deployments.serializers import (
    ArchiveDeployInput,
    BindingInput,
    BindingOutput,
    BlobBatchOutput,
    DeploymentBlobOutput,
    DeploymentCreatedOutput,
    DeploymentDetailOutput,
    DeploymentFilter,
    DeploymentOutput,
    DigestDeployInput,
    PreviewReportOutput,
    PromoteInput,
    ReleaseFilter,
    ReleaseOutput,
    ReleaseResultOutput,
    RollbackInput,
    ScheduledReleaseCreatedOutput,
    ScheduledReleaseFilter,
    ScheduledReleaseOutput,
    SiteLockInput,
    SiteLockOutput,
    SiteModeInput,
    SiteModeOutput,
    SubmissionOutput,
)
from deployments.services.ingest import (
    deployment_blob_put,
    deployment_blobs_put_batch,
    deployment_create_from_archive,
    deployment_create_from_digest,
    upload_refusal_record,
)
from deployments.services.releases import (
    deployment_preview_report,
    deployment_promote,
    deployment_rollback,
)
from deployments.services.site import binding_create, binding_delete, site_mode_set
from files.uploads import StreamedUploadView, StreamingUploadHandler
from gharart import constants as c
from gharart.access import Access, access_allows
from gharart.api import HandleAPIView
from gharart.errors import ApplicationError
from gharart.pagination import NewestFirstCursorPagination
from gharart.serializers import ErrorEnvelope

READ = Access(c.READ_ROLES, c.SCOPE_SITES_READ)
WRITE = Access(c.SITE_ROLES, c.SCOPE_SITES_WRITE)
PROMOTE = Access(c.SITE_ROLES, c.SCOPE_SITES_PROMOTE)
LOCK = Access(c.ADMIN_ROLES, c.SCOPE_SITES_WRITE)
ERR = OpenApiResponse(ErrorEnvelope, description="Error envelope; see the error code.")


def _release_result(result):
    return {
        "release": ReleaseOutput(result.release).data,
        "live_deployment_id": result.deployment.id,
        "warnings": result.warnings,
        "warning_details": result.warning_details,
    }


class DeploymentListView(StreamedUploadView, HandleAPIView):
    """A handle's deployments (newest first), and new deployments by archive or digest."""

    pagination_class = NewestFirstCursorPagination
    access = {"GET": READ, "POST": WRITE}
    daily_quota = {"POST": c.QUOTA_DEPLOYMENTS}

    def streaming_upload_handler(self, request):
        # An archive streams in as it arrives (a small one to a bounded spool, a large one
        # into blob storage), refused past the cap.
        return StreamingUploadHandler(
            request, field="artifact", receiver=uploads.ArchiveReceiver,
            max_bytes=uploads.archive_upload_cap(), refuse=lambda _max: uploads.archive_too_large(),
        )

    @extend_schema(
        parameters=[DeploymentFilter],
        responses={200: DeploymentOutput(many=True), 400: ERR},
        tags=["deployments"],
    )
    def get(self, request, handle):
        context = {"live_ids": live_deployment_ids(handle=self.handle)}
        return self.filtered_page(DeploymentFilter, deployment_list, DeploymentOutput, context)

    @extend_schema(
        request={"multipart/form-data": ArchiveDeployInput, "application/json": DigestDeployInput},
        responses={201: DeploymentCreatedOutput, 400: ERR, 413: ERR, 422: ERR, 429: ERR},
        description=(
            "Multipart `artifact` (.zip/.tar.gz): small archives are `ready` on return, large ones "
            "`processing` (a worker unpacks them). JSON digest `files` map: `uploading` with the "
            "`required` blobs to PUT, or `ready` at once when the server holds them all."
        ),
        tags=["deployments"],
    )
    def post(self, request, handle):
        content_type = (request.content_type or "").split(";")[0].strip()
        if content_type.startswith("multipart/") or content_type == "application/x-www-form-urlencoded":
            try:
                payload = request.data
            except archives.InvalidArtifact as exc:  # too large, refused while it streamed in
                refused = SimpleNamespace(name=self.upload_handler.file_name or "", size=self.upload_handler.received)
                upload_refusal_record(handle=self.handle, target=dc.TARGET_SITE, upload=refused, exc=exc, actor=request.user)
                raise
            data = self.validated(ArchiveDeployInput, payload)
            dep = deployment_create_from_archive(
                handle=self.handle,
                upload=data["artifact"],
                target=data["target"],
                message=data["message"],
                actor=request.user,
            )
            required = []
        else:
            # The whole list (at most the file limit): the client needs it to start uploading.
            data = self.validated(DigestDeployInput)
            dep, required = deployment_create_from_digest(
                handle=self.handle,
                files=data["files"],
                target=data["target"],
                message=data["message"],
                actor=request.user,
            )
        context = {"live_ids": live_deployment_ids(handle=self.handle), "required": required}
        return Response(DeploymentCreatedOutput(dep, context=context).data, status=status.HTTP_201_CREATED)


def _required_page(request, dep):
    """One page of the hashes ``dep`` still waits for (sorted) and the next page's URL."""
    if dep.state != dc.UPLOADING:
        return [], None
    after = request.query_params.get("required_after", "")
    if after and not storage.is_sha256(after):
        raise ApplicationError(c.VALIDATION_ERROR, "The page of required blobs is not valid.", details={"required_after": ["A lowercase hex sha256: the last hash of the previous page."]})
    page = settings.DEPLOY_REQUIRED_PAGE
    hashes = deployment_required_blobs(deployment=dep, after=after, limit=page + 1)
    if len(hashes) <= page:
        return hashes, None
    hashes = hashes[:page]
    query = request.query_params.copy()
    query["required_after"] = hashes[-1]
    return hashes, request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


class DeploymentDetailView(HandleAPIView):
    access = {"GET": READ}

    @extend_schema(
        parameters=[OpenApiParameter("required_after", str, description="Next page of `required`: the last sha256 of the previous page (see `required_next`).")],
        responses={200: DeploymentDetailOutput, 400: ERR, 404: ERR},
        tags=["deployments"],
    )
    def get(self, request, handle, deployment_id):
        dep = deployment_get(handle=self.handle, deployment_id=deployment_id)
        required, required_next = _required_page(request, dep)
        context = {
            "live_ids": live_deployment_ids(handle=self.handle),
            "required": required,
            "required_next": required_next,
            "files_by_type": deployment_files_by_type(deployment=dep),
            "releases": deployment_releases(deployment=dep),
        }
        return Response(DeploymentDetailOutput(dep, context=context).data)


class DeploymentBlobView(HandleAPIView):
    """Upload one blob of a digest deployment (raw body)."""

    access = {"PUT": WRITE}
    write_throttle_scope = c.THROTTLE_BLOB_UPLOAD
    raw_body = True

    @extend_schema(
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={200: DeploymentBlobOutput, 404: ERR, 409: ERR, 413: ERR, 422: ERR},
        description="Answers the deployment's state and `required_count` (not the list: see the deployment's GET).",
        tags=["deployments"],
    )
    def put(self, request, handle, deployment_id, sha256):
        dep = deployment_get(handle=self.handle, deployment_id=deployment_id)
        # The raw body is streamed to storage; DRF's parsers never see it.
        dep, _ = deployment_blob_put(deployment=dep, sha256=sha256, stream=request._request)
        context = {"live_ids": live_deployment_ids(handle=self.handle)}
        return Response(DeploymentBlobOutput(dep, context=context).data)


TAR_TYPES = ("application/x-tar", "application/tar")


class DeploymentBlobBatchView(HandleAPIView):
    """Upload many blobs of a digest deployment in one tar stream (members named by sha256)."""

    access = {"POST": WRITE}
    write_throttle_scope = c.THROTTLE_BLOB_UPLOAD
    raw_body = True
    idempotency_keys = False  # content-addressed: a repeat stores nothing twice

    @extend_schema(
        request={"application/x-tar": OpenApiTypes.BINARY},
        responses={200: BlobBatchOutput, 400: ERR, 404: ERR, 409: ERR, 413: ERR, 415: ERR, 422: ERR},
        description=(
            "A tar stream whose members are regular files named by the sha256 of their bytes. Every "
            "member is verified; the first bad one stops the batch (`details.stored`: blobs kept)."
        ),
        tags=["deployments"],
    )
    def post(self, request, handle, deployment_id):
        dep = deployment_get(handle=self.handle, deployment_id=deployment_id)
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type not in TAR_TYPES:
            raise ApplicationError(c.UNSUPPORTED_MEDIA_TYPE, "Send the blobs as a tar stream (Content-Type: application/x-tar).", status=415, details={"content_type": content_type})
        # Streamed member by member; DRF's parsers never see the body.
        result = deployment_blobs_put_batch(deployment=dep, stream=request._request)
        context = {"live_ids": live_deployment_ids(handle=self.handle), "stored": result.stored, "skipped": result.skipped}
        return Response(BlobBatchOutput(result.deployment, context=context).data)


class DeploymentPreviewView(HandleAPIView):
    access = {"GET": READ}

    @extend_schema(
        responses={200: PreviewReportOutput, 404: ERR, 409: ERR},
        description="Checks that every file is in storage (409 `deployment_artifact_missing` with `details.missing_files`), records the preview validation for the gate, and returns a signed preview URL.",
        tags=["deployments"],
    )
    def get(self, request, handle, deployment_id):
        dep = deployment_get(handle=self.handle, deployment_id=deployment_id)
        # Only a member who may promote opens the gate by reading the report.
        opens_gate = access_allows(membership=self.membership, auth=request.auth, access=PROMOTE)
        report = deployment_preview_report(deployment=dep, actor=request.user, opens_gate=opens_gate)
        return Response(PreviewReportOutput(report).data)


class DeploymentPromoteView(HandleAPIView):
    access = {"POST": PROMOTE}

    @extend_schema(
        request=PromoteInput,
        responses={200: ReleaseResultOutput, 202: ScheduledReleaseCreatedOutput, 400: ERR, 403: ERR, 404: ERR, 409: ERR},
        description="Promote now (200), or with `at` schedule the promote for that time (202 `scheduled_release`; every check runs then).",
        tags=["deployments"],
    )
    def post(self, request, handle, deployment_id):
        data = self.validated(PromoteInput)
        dep = deployment_get(handle=self.handle, deployment_id=deployment_id)
        if data["at"] is not None:
            sched = schedules.scheduled_release_create(
                deployment=dep,
                at=data["at"],
                actor=request.user,
                role=self.membership.role,
                reason=data["reason"],
                force=data["force"],
            )
            body = {"scheduled_release": ScheduledReleaseOutput(scheduled_release_get(handle=self.handle, scheduled_id=sched.id)).data}
            return Response(body, status=status.HTTP_202_ACCEPTED)
        result = deployment_promote(
            deployment=dep,
            actor=request.user,
            role=self.membership.role,
            reason=data["reason"],
            force=data["force"],
        )
        return Response(_release_result(result))


class DeploymentRollbackView(HandleAPIView):
    access = {"POST": PROMOTE}

    @extend_schema(request=RollbackInput, responses={200: ReleaseResultOutput, 400: ERR, 404: ERR, 409: ERR}, tags=["deployments"])
    def post(self, request, handle, deployment_id):
        data = self.validated(RollbackInput)
        dep = deployment_get(handle=self.handle, deployment_id=deployment_id)
        result = deployment_rollback(deployment=dep, actor=request.user, reason=data["reason"])
        return Response(_release_result(result))


class ReleaseListView(HandleAPIView):
    pagination_class = NewestFirstCursorPagination
    access = {"GET": READ}

    @extend_schema(parameters=[ReleaseFilter], responses={200: ReleaseOutput(many=True), 400: ERR}, tags=["deployments"])
    def get(self, request, handle):
        return self.filtered_page(ReleaseFilter, release_list, ReleaseOutput)


class SiteModeView(HandleAPIView):
    access = {"GET": READ, "PUT": WRITE}

    @extend_schema(responses={200: SiteModeOutput}, tags=["site"])
    def get(self, request, handle):
        return Response(SiteModeOutput(site_status(handle=self.handle)).data)

    @extend_schema(request=SiteModeInput, responses={200: SiteModeOutput, 400: ERR}, tags=["site"])
    def put(self, request, handle):
        data = self.validated(SiteModeInput)
        result = site_mode_set(handle=self.handle, mode=data["mode"], actor=request.user)
        return Response(SiteModeOutput(result).data)


class BindingListView(HandleAPIView):
    pagination_class = NewestFirstCursorPagination
    access = {"GET": READ, "POST": WRITE}

    @extend_schema(responses={200: BindingOutput(many=True)}, tags=["function-bindings"])
    def get(self, request, handle):
        context = {"live_site_id": live_deployment_ids(handle=self.handle).get(dc.TARGET_SITE)}
        return self.paginated_response(binding_list(handle=self.handle), BindingOutput, context)

    @extend_schema(request=BindingInput, responses={201: BindingOutput, 400: ERR, 409: ERR}, tags=["function-bindings"])
    def post(self, request, handle):
        data = self.validated(BindingInput)
        binding = binding_create(handle=self.handle, actor=request.user, **data)
        context = {"live_site_id": live_deployment_ids(handle=self.handle).get(dc.TARGET_SITE)}
        return Response(BindingOutput(binding, context=context).data, status=status.HTTP_201_CREATED)


class BindingDetailView(HandleAPIView):
    access = {"GET": READ, "DELETE": WRITE}

    @extend_schema(responses={200: BindingOutput, 404: ERR}, tags=["function-bindings"])
    def get(self, request, handle, binding_id):
        binding = binding_get(handle=self.handle, binding_id=binding_id)
        context = {"live_site_id": live_deployment_ids(handle=self.handle).get(dc.TARGET_SITE)}
        return Response(BindingOutput(binding, context=context).data)

    @extend_schema(responses={204: None, 404: ERR}, tags=["function-bindings"])
    def delete(self, request, handle, binding_id):
        binding = binding_get(handle=self.handle, binding_id=binding_id)
        binding_delete(binding=binding, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BindingSubmissionListView(HandleAPIView):
    pagination_class = NewestFirstCursorPagination
    access = {"GET": READ}

    @extend_schema(
        responses={200: SubmissionOutput(many=True), 404: ERR},
        tags=["function-bindings"],
    )
    def get(self, request, handle, binding_id):
        binding = binding_get(handle=self.handle, binding_id=binding_id)
        return self.paginated_response(submission_list(binding=binding), SubmissionOutput)


class ScheduledReleaseListView(HandleAPIView):
    pagination_class = NewestFirstCursorPagination
    access = {"GET": READ}

    @extend_schema(parameters=[ScheduledReleaseFilter], responses={200: ScheduledReleaseOutput(many=True), 400: ERR}, tags=["deployments"])
    def get(self, request, handle):
        return self.filtered_page(ScheduledReleaseFilter, scheduled_release_list, ScheduledReleaseOutput)


class ScheduledReleaseDetailView(HandleAPIView):
    access = {"GET": READ, "DELETE": PROMOTE}

    @extend_schema(responses={200: ScheduledReleaseOutput, 404: ERR}, tags=["deployments"])
    def get(self, request, handle, scheduled_id):
        return Response(ScheduledReleaseOutput(scheduled_release_get(handle=self.handle, scheduled_id=scheduled_id)).data)

    @extend_schema(responses={204: None, 404: ERR, 409: ERR}, description="Cancel a release still `scheduled` (409 `scheduled_release_finished` otherwise).", tags=["deployments"])
    def delete(self, request, handle, scheduled_id):
        sched = scheduled_release_get(handle=self.handle, scheduled_id=scheduled_id)
        schedules.scheduled_release_cancel(scheduled=sched, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SiteLockView(HandleAPIView):
    access = {"GET": READ, "PUT": LOCK}

    @extend_schema(responses={200: SiteLockOutput}, tags=["site"])
    def get(self, request, handle):
        return Response(SiteLockOutput(publishing_locks.publishing_lock_state(handle=self.handle)).data)

    @extend_schema(
        request=SiteLockInput,
        responses={200: SiteLockOutput, 400: ERR, 403: ERR},
        description="Owners/admins: while locked, promote, rollback and scheduled releases answer 409 `publishing_locked` (a forced promote by an owner/admin passes, audited). The lock lifts itself at `until`.",
        tags=["site"],
    )
    def put(self, request, handle):
        data = self.validated(SiteLockInput)
        state = publishing_locks.publishing_lock_set(handle=self.handle, actor=request.user, **data)
        return Response(SiteLockOutput(state).data)
