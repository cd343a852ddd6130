"""The site-intel API: hostnames, crawl runs, snapshots and replay runs (thin views)."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from deployments import storage
from gharart import constants as gc
from gharart.access import Access
from gharart.api import HandleAPIView
from gharart.pagination import NewestFirstCursorPagination
from siteintel import selectors, services
from siteintel.serializers import (
    CrawlRunCreateInput,
    CrawlRunOutput,
    HostnameInput,
    HostnameListOutput,
    HostnameOutput,
    ReplayRunCreateInput,
    ReplayRunOutput,
    SnapshotOutput,
)

READ = Access(gc.READ_ROLES, gc.SCOPE_SITEINTEL_READ)
WRITE = Access(gc.SITE_ROLES, gc.SCOPE_SITEINTEL_WRITE)
ADMIN_WRITE = Access(gc.ADMIN_ROLES, gc.SCOPE_SITEINTEL_WRITE)
TAGS = ["site intel"]


def _hostname_out(target):
    return {"hostname": target.hostname, "scheme": target.scheme, "internal": target.internal, "start_url": target.start_url}


# A route under /site-intel/{hostname}: the hostname must be one of the handle's sites. (No
# docstring: the OpenAPI description of its views stays HandleAPIView's.)
class SiteAPIView(HandleAPIView):
    def site(self, hostname):
        """The handle's site named ``hostname`` as stored, or 404 ``hostname_not_registered``."""
        return selectors.hostname_get(handle=self.handle, hostname=hostname).hostname

    def crawl_run(self, hostname, run_id):
        return selectors.crawl_run_get(handle=self.handle, hostname=self.site(hostname), run_id=run_id)

    def replay_run(self, hostname, run_id):
        return selectors.replay_run_get(handle=self.handle, hostname=self.site(hostname), run_id=run_id)


class HostnameListView(HandleAPIView):
    """The handle's crawlable hostnames: its own profile site, then registered ones."""

    access = {"GET": READ, "POST": ADMIN_WRITE}

    @extend_schema(responses={200: HostnameListOutput}, tags=TAGS, operation_id="handles_site_intel_hostnames_list")
    def get(self, request, handle):
        return Response({"results": [_hostname_out(t) for t in selectors.hostname_list(handle=self.handle)], "next": None})

    @extend_schema(request=HostnameInput, responses={201: HostnameOutput}, tags=TAGS)
    def post(self, request, handle):
        data = self.validated(HostnameInput)
        row = services.hostname_register(handle=self.handle, hostname=data["hostname"], actor=request.user)
        target = selectors.hostname_get(handle=self.handle, hostname=row.hostname)
        return Response(_hostname_out(target), status=status.HTTP_201_CREATED)


class HostnameDetailView(HandleAPIView):
    access = {"GET": READ, "DELETE": ADMIN_WRITE}

    @extend_schema(responses={200: HostnameOutput}, tags=TAGS)
    def get(self, request, handle, hostname):
        return Response(_hostname_out(selectors.hostname_get(handle=self.handle, hostname=hostname)))

    @extend_schema(responses={204: None}, tags=TAGS)
    def delete(self, request, handle, hostname):
        services.hostname_remove(handle=self.handle, hostname=hostname, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CrawlRunListView(SiteAPIView):
    access = {"GET": READ, "POST": WRITE}
    pagination_class = NewestFirstCursorPagination

    @extend_schema(responses={200: CrawlRunOutput(many=True)}, tags=TAGS)
    def get(self, request, handle, hostname):
        return self.paginated_response(selectors.crawl_run_list(handle=self.handle, hostname=self.site(hostname)), CrawlRunOutput)

    @extend_schema(request=CrawlRunCreateInput, responses={202: CrawlRunOutput}, tags=TAGS)
    def post(self, request, handle, hostname):
        site = self.site(hostname)
        data = self.validated(CrawlRunCreateInput)
        run = services.crawl_run_start(
            handle=self.handle,
            hostname=site,
            max_pages=data.get("max_pages"),
            max_depth=data.get("max_depth"),
            actor=request.user,
        )
        run.refresh_from_db()  # an eager worker may already have finished it
        return Response(CrawlRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class CrawlRunDetailView(SiteAPIView):
    access = {"GET": READ}

    @extend_schema(responses={200: CrawlRunOutput}, tags=TAGS)
    def get(self, request, handle, hostname, run_id):
        return Response(CrawlRunOutput(self.crawl_run(hostname, run_id)).data)


class CrawlRunCancelView(SiteAPIView):
    access = {"POST": WRITE}

    @extend_schema(request=None, responses={200: CrawlRunOutput}, tags=TAGS)
    def post(self, request, handle, hostname, run_id):
        return Response(CrawlRunOutput(services.crawl_run_cancel(run=self.crawl_run(hostname, run_id))).data)


class SnapshotView(SiteAPIView):
    access = {"GET": READ}

    @extend_schema(responses={200: SnapshotOutput}, tags=TAGS)
    def get(self, request, handle, hostname):
        return Response(SnapshotOutput(selectors.snapshot_get(handle=self.handle, hostname=self.site(hostname))).data)


class ReplayRunListView(SiteAPIView):
    access = {"GET": READ, "POST": WRITE}
    pagination_class = NewestFirstCursorPagination

    @extend_schema(responses={200: ReplayRunOutput(many=True)}, tags=TAGS)
    def get(self, request, handle, hostname):
        deployment_id = request.query_params.get("deployment_id") or None
        qs = selectors.replay_run_list(handle=self.handle, hostname=self.site(hostname), deployment_id=deployment_id)
        return self.paginated_response(qs, ReplayRunOutput)

    @extend_schema(request=ReplayRunCreateInput, responses={202: ReplayRunOutput}, tags=TAGS)
    def post(self, request, handle, hostname):
        site = self.site(hostname)
        data = self.validated(ReplayRunCreateInput)
        run = services.replay_run_start(
            handle=self.handle,
            hostname=site,
            crawl_run_id=data.get("crawl_run_id"),
            deployment_id=data["deployment_id"],
            actor=request.user,
            options={k: data.get(k) for k in ("visual", "visual_max_pages", "visual_threshold", "visual_gate")},
        )
        run = selectors.replay_run_get(handle=self.handle, run_id=run.pk)
        return Response(ReplayRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class ReplayRunDetailView(SiteAPIView):
    access = {"GET": READ}

    @extend_schema(responses={200: ReplayRunOutput}, tags=TAGS)
    def get(self, request, handle, hostname, run_id):
        return Response(ReplayRunOutput(self.replay_run(hostname, run_id)).data)


class ReplayScreenshotView(SiteAPIView):
    """A before, after or diff PNG of a visual replay: members of the handle only."""

    access = {"GET": READ}

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY}, tags=TAGS)
    def get(self, request, handle, hostname, run_id, sha256):
        shot = selectors.replay_screenshot_get(handle=self.handle, hostname=self.site(hostname), run_id=run_id, sha256=sha256)
        response = FileResponse(storage.blob_open(shot.sha256), content_type="image/png")
        response["Cache-Control"] = "private, max-age=86400"
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Disposition"] = f'inline; filename="{shot.sha256[:16]}.png"'
        return response
