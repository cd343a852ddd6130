"""``GET /_gharart/tls-ask?domain=NAME``: may a TLS proxy get a certificate for NAME?

Caddy's ``on_demand_tls { ask ... }`` (and any proxy doing the same) asks before it
requests a certificate: 200 for the live host of an existing handle, the preview host of
an existing ready site deployment, or a verified custom domain; else 404. No auth: it
says no more than a request to that host would.
"""

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from deployments import constants as deployment_constants
from deployments.models import Deployment
from domains import constants as domc
from domains import names, selectors
from gharart import constants as c
from gharart.errors import error_response
from gharart.models import Handle


def tls_allowed(name: str) -> bool:
    name = names.host_name(name)
    site = names.classify(name)
    if site is None:
        return names.may_be_custom(name) and selectors.serving_handle_slug(name) is not None
    if site.kind == domc.HOST_LIVE:
        return Handle.objects.filter(slug=site.handle_slug).exists()
    if site.kind == domc.HOST_PREVIEW:
        return Deployment.objects.filter(
            pk=site.deployment_id, handle__slug=site.handle_slug, target=deployment_constants.TARGET_SITE, state=deployment_constants.READY
        ).exists()
    return False


@require_GET
def tls_ask(request):
    name = request.GET.get("domain", "")
    if name and len(name) <= 300 and tls_allowed(name):
        response = HttpResponse(f"{names.host_name(name)} is served here\n", content_type="text/plain; charset=utf-8")
    else:
        response = error_response(c.NOT_FOUND, "No site is served on this name.", 404, request=request)
    response["Cache-Control"] = "no-store"
    return response
