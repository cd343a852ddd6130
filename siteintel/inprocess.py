"""In-process fetching through the deployments app's serving code (no network).

The handle's own profile site is crawled through ``deployments.serving.profile_response``
and a replay asks ``deployments.serving.serve_deployment_path`` for each path: the same
resolver and serving function as the public routes, so what is recorded is what visitors
get.
"""

from siteintel import crawler
from siteintel.hostnames import sites_hostname


def own_hostname(handle):
    return sites_hostname(handle)


def profile_fetcher(handle, start_url):
    from deployments.serving import profile_response

    def respond(path):
        return profile_response(handle.slug, path, method="GET", headers={"User-Agent": crawler.USER_AGENT})

    return crawler.CallableFetcher(origin=start_url, respond=respond, path_prefix=f"/profiles/{handle.slug}")


def deployment_get(*, handle, deployment_id):
    from deployments.models import Deployment

    return Deployment.objects.filter(handle=handle, pk=deployment_id).first()


def deployment_fetcher(deployment, start_url):
    from deployments.serving import serve_deployment_path

    def respond(path):
        return serve_deployment_path(replay_request(path), deployment, path)

    return crawler.CallableFetcher(origin=start_url, respond=respond)


def replay_request(path):
    """A GET request object for ``path``, as the serving function expects one."""
    from django.http import HttpRequest

    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = path.split("?", 1)[0]
    request.META = {
        "REQUEST_METHOD": "GET",
        "SERVER_NAME": "replay.invalid",
        "SERVER_PORT": "443",
        "HTTP_USER_AGENT": crawler.USER_AGENT,
        "QUERY_STRING": path.split("?", 1)[1] if "?" in path else "",
    }
    return request


def gate_set(*, deployment, status, replay_run_id, summary):
    from deployments.services import deployment_gate_set

    return deployment_gate_set(deployment=deployment, status=status, replay_run_id=replay_run_id, summary=summary)
