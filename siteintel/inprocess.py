"""In-process fetching through the deployments app's serving code (no network).

The handle's own hostname ``{handle}.{GHARART_SITES_DOMAIN}`` is crawled through
``domains.routing.site_host_response``: the host router and serving function that answer
visitors of that live host, so root-relative links resolve at the host's root exactly as
in a browser. A replay asks ``deployments.serving.deployment_response`` for each path; a
visual replay renders the candidate as its preview host ``{id}--{handle}.{domain}``
serves it (``preview_fetcher``: the host router again, with a preview grant made for the
job), never as the sandboxed ``/profiles/`` route of the dashboard's origin. All of them
run the one serving function of the public routes, so what is recorded is what visitors get.
"""

from deployments.models import Deployment
from deployments.services.releases import deployment_gate_set
from deployments.serving import deployment_response
from domains.routing import site_host_response
from siteintel import crawler
from siteintel.hostnames import sites_hostname


def own_hostname(handle):
    return sites_hostname(handle)


def profile_fetcher(handle, start_url):
    host = own_hostname(handle)

    def respond(path):
        return site_host_response(host, path, method="GET", headers={"User-Agent": crawler.USER_AGENT})

    return crawler.CallableFetcher(origin=start_url, respond=respond)


def deployment_get(*, handle, deployment_id):
    return Deployment.objects.filter(handle=handle, pk=deployment_id).first()


def deployment_fetcher(deployment, start_url):
    """Fetch paths of ``deployment`` exactly as its live site would serve them."""
    def respond(path):
        return deployment_response(deployment, path, method="GET", headers={"User-Agent": crawler.USER_AGENT})

    return crawler.CallableFetcher(origin=start_url, respond=respond)


def gate_set(*, deployment, status, replay_run_id, summary):
    return deployment_gate_set(deployment=deployment, status=status, replay_run_id=replay_run_id, summary=summary)


def preview_fetcher(deployment, start_url):
    """Fetch paths of ``deployment`` from its preview host, through the host router, with
    a preview grant (the cookie a preview link sets) made for this job: the candidate's
    pages with the headers its visitors will get (its ``_headers``, no sandbox). A
    deployment without a preview host (not a ready site) falls back to ``deployment_fetcher``."""
    from deployments import previews
    from domains import constants as dc
    from domains import names
    from domains.routing import site_host_response

    if previews.preview_host_url(deployment) is None:
        return deployment_fetcher(deployment, start_url)
    host = names.preview_host(deployment.id, deployment.handle.slug)
    cookie = f"{dc.PREVIEW_COOKIE}={previews.preview_token(deployment.id)}"

    def respond(path):
        return site_host_response(host, path, method="GET", headers={"User-Agent": crawler.USER_AGENT, "Cookie": cookie})

    return crawler.CallableFetcher(origin=start_url, respond=respond)
