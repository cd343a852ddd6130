"""Public content routes: profile sites and signed previews (no login, no CSRF: no session acts here)."""

from django.http import HttpResponsePermanentRedirect, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt

from deployments import constants as dc
from deployments import previews, serving
from deployments.models import Deployment
from deployments.selectors.live import live_state
from gharart.errors import ApplicationError


@csrf_exempt
def profile(request, handle, path=""):
    return serving.profile_serve(request, handle, path)


def profile_redirect(request, handle):
    query = request.META.get("QUERY_STRING", "")
    response = HttpResponsePermanentRedirect(f"/profiles/{handle}/" + (f"?{query}" if query else ""))
    state = live_state(handle) if serving.is_handle_slug(handle) else None
    response[serving.SITE_MODE_HEADER] = state.site_mode if state else serving.UNKNOWN_HANDLE_MODE
    return response


def preview(request, token, path=""):
    try:
        deployment_id = previews.preview_deployment_id(token)
    except ApplicationError as exc:
        return serving.content_error(request, exc.status, exc.code, exc.message)
    deployment = Deployment.objects.filter(pk=deployment_id, state=dc.READY).select_related("handle").first()
    if deployment is None:
        return serving.content_error(request, 404, dc.PREVIEW_NOT_FOUND, "No such preview.")
    if deployment.target == dc.TARGET_DOCS:
        # Internal docs are never shown outside their access policy: preview them there.
        response = HttpResponseRedirect(previews.docs_preview_path(deployment.handle.slug, token) + path.lstrip("/"))
        response["Cache-Control"] = "no-store"
        return response
    return serving.serve_deployment_path(
        request,
        deployment,
        path,
        extra_headers={"Cache-Control": serving.PREVIEW_CACHE_CONTROL, "X-Robots-Tag": "noindex, nofollow"},
    )


def preview_redirect(request, token):
    return HttpResponseRedirect(f"/previews/{token}/")
