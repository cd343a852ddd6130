"""What every deployments dashboard page shares: the publishing lock, the role note, the
filter links, times in words and the deployment of the URL."""

from django.http import Http404
from django.utils.http import urlencode

from deployments.forms import PublishingLockForm
from deployments.publishing_locks import publishing_lock_state
from deployments.selectors.deployments import deployment_get
from gharart import constants as c
from gharart.dashboard import can
from gharart.errors import ApplicationError
from gharart.humanize import relative_words
from gharart.templatetags.gharart_humanize import readable_time

PAGE_SIZE = 50


def human(moment):
    return f"{moment:%A} {moment.day} {moment:%B %Y}, {moment:%H:%M} UTC"


def when(moment):
    """A time in a confirmation dialog (plain text, so in UTC words): "1 Dec 2026, 19:00 UTC (3 hours ago)"."""
    return f"{readable_time(moment)} ({relative_words(moment)})"


def lock_context(request, lock_form=None):
    """What every deployments page needs to show the publishing lock and its form."""
    return {
        "publishing_lock": publishing_lock_state(handle=request.handle),
        "can_lock": can(request, c.ADMIN_ROLES),
        "lock_form": lock_form or PublishingLockForm(),
    }


def role_note(request, verb):
    return f"Your role ({request.membership.get_role_display()}) can see this page but not {verb}."


def deployment_or_404(request, deployment_id):
    try:
        return deployment_get(handle=request.handle, deployment_id=deployment_id)
    except ApplicationError:
        raise Http404("No such deployment.")


def filter_links(base, current, name, choices, keep):
    links = []
    for value, label in [("", "All" if name == "target" else "Any state"), *choices]:
        params = {k: v for k, v in keep.items() if v}
        params[name] = value
        query = urlencode({k: v for k, v in params.items() if v})
        links.append({"label": label, "url": f"{base}?{query}" if query else base, "current": (current or "") == value})
    return links
