"""Access for dashboard (HTMX) views: the same rules as the API, as pages.

``@handle_page(roles)`` requires login, answers 404 to non-members (never revealing the
handle) and 403 to members without the role, and sets ``request.handle`` and
``request.membership``.

One protocol for every page: ``render_page`` answers a plain request with the whole page
and an HTMX request with the one ``{% partialdef %}`` fragment it swaps; a refusal answers
with a status in ``SWAPPED_STATUSES`` (the list ``app.js`` reads from the page, so the two
never disagree); ``apply_error`` puts a service's refusal on the form's fields.
"""

import functools
import importlib

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render

from gharart import constants as c
from gharart.errors import ApplicationError
from gharart.selectors import membership_get


def handle_page(roles=c.READ_ROLES):
    def decorator(view):
        @login_required
        @functools.wraps(view)
        def wrapped(request, handle, *args, **kwargs):
            membership = membership_get(user=request.user, slug=handle)
            if membership is None:
                raise Http404("No such handle.")
            if membership.role not in roles:
                raise PermissionDenied("Your role on this handle does not allow this.")
            request.membership = membership
            request.handle = membership.handle
            request.gharart_handle = membership.handle.slug
            return view(request, handle, *args, **kwargs)

        # Read by the isolation tests (copied outward by functools.wraps of outer decorators).
        wrapped.handle_page_roles = frozenset(roles)
        return wrapped

    return decorator


# Statuses whose HTML body app.js swaps into the page like a 200 (form errors, refusals,
# "try again later"). base.html hands this list to app.js; any other error status to an
# HTMX request is answered as 400 so its message is still shown in place.
SWAPPED_STATUSES = (400, 409, 422, 429)


def swap_status(request, status):
    """The status to answer: as is to a plain request, one app.js swaps to an HTMX one."""
    if getattr(request, "htmx", False) and status >= 400 and status not in SWAPPED_STATUSES:
        return 400
    return status


def render_page(request, template, context, *, fragment=None, status=200):
    """The whole ``template`` to a plain request; to an HTMX request only its
    ``{% partialdef fragment %}`` (``template#fragment``), the part the page swaps."""
    name = f"{template}#{fragment}" if fragment and getattr(request, "htmx", False) else template
    return render(request, name, context, status=swap_status(request, status))


def apply_error(form, exc: ApplicationError, *, field=None):
    """Put a service's refusal on ``form``: each field named in a validation error's details
    on that field (unknown names on the whole form), any other refusal on ``field`` (the
    form's one input, where the page shows it) or else on the whole form."""
    details = exc.details if exc.code == c.VALIDATION_ERROR and isinstance(exc.details, dict) else {}
    placed = False
    for name, messages in details.items():
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(name if name in form.fields else None, str(message))
            placed = True
    if not placed:
        form.add_error(field if exc.code != c.VALIDATION_ERROR else None, exc.message)
    return form


def found_or_404(selector, message, **lookup):
    """What ``selector(**lookup)`` finds; its refusal (not found, not this handle's) as a 404 page."""
    try:
        return selector(**lookup)
    except ApplicationError:
        raise Http404(message)


def can(request, roles):
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role in roles


def posted_time(data, name):
    """A time field of a dashboard form: the UTC value app.js wrote into ``name`` from the
    ``datetime-local`` input ``{name}_local`` (the browser's time zone), else that local
    input read as UTC (no JavaScript), else None."""
    return (data.get(name) or "").strip() or (data.get(f"{name}_local") or "").strip() or None


def overview_panels(handle, membership):
    """Panels each app adds to the handle overview (settings.GHARART_OVERVIEW_PANELS)."""
    panels = []
    for dotted in settings.GHARART_OVERVIEW_PANELS:
        module_name, _, func_name = dotted.rpartition(".")
        try:
            func = getattr(importlib.import_module(module_name), func_name)
        except (ImportError, AttributeError):
            continue
        panel = func(handle=handle, membership=membership)
        if panel:
            panels.append(panel)
    return panels
