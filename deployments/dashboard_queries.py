"""Reads the deployments dashboard needs, composed from ``selectors`` (no queries of its own kind).

The dashboard shows the same facts as the API; these functions only put several
selector results together in the shape a page wants.
"""

from deployments import constants as dc
from deployments import publishing_locks, serving
from deployments.selectors.live import live_deployment_ids
from deployments.selectors.releases import release_latest
from deployments.selectors.site import binding_stale_list, site_status, warning
from gharart import constants as c
from gharart.dashboard import can


def live_release(*, handle, target):
    """The release that made the current live deployment live (None when nothing is live).

    Promote and rollback move the live pointer and record the release under one lock, so
    the latest release always names what is live and since when.
    """
    release = release_latest(handle=handle, target=target)
    if release is None or live_deployment_ids(handle=handle).get(target) != release.deployment_id:
        return None
    return release


def site_attention(*, handle, live_site_id=None) -> list:
    """What is wrong with what ``/profiles/{handle}/`` serves: site-mode mismatch and stale bindings.

    Each item is ``{"code", "message", "details"}`` like the API's ``warning_details``.
    """
    if live_site_id is None:
        live_site_id = live_deployment_ids(handle=handle).get(dc.TARGET_SITE)
    items = list(site_status(handle=handle)["warning_details"])
    stale = binding_stale_list(handle=handle, live_site_id=live_site_id)
    if stale:
        items.append(
            warning(
                dc.WARNING_STALE_FUNCTION_BINDINGS,
                f"{len(stale)} function binding(s) are pinned to a deployment that is not live and do not answer: " + ", ".join(b.route for b in stale),
                binding_ids=[b.id for b in stale],
                routes=[b.route for b in stale],
            )
        )
    return items


def profile_probe(*, handle) -> dict:
    """What ``HEAD /profiles/{handle}/`` answers right now (in-process, through the real route)."""
    response = serving.profile_response(handle.slug, "", method="HEAD")
    return {
        "status": response.status_code,
        "site_mode": response.get(serving.SITE_MODE_HEADER),
        "deployment_id": response.get(serving.DEPLOYMENT_HEADER),
    }


def human(moment):
    return f"{moment:%A} {moment.day} {moment:%B %Y}, {moment:%H:%M} UTC"


def lock_context(request, **extra):
    """What every deployments page needs to show the publishing lock and its form."""
    context = {
        "publishing_lock": publishing_locks.publishing_lock_state(handle=request.handle),
        "can_lock": can(request, c.ADMIN_ROLES),
        "lock_errors": {},
        "lock_form": {},
    }
    context.update(extra)
    return context
