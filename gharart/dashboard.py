"""Access for dashboard (HTMX) views: the same rules as the API, as pages.

``@handle_page(roles)`` requires login, answers 404 to non-members (never revealing the
handle) and 403 to members without the role, and sets ``request.handle`` and
``request.membership``.
"""

import functools
import importlib

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

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


def can(request, roles):
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role in roles


def form_errors(exc: ApplicationError):
    """Field errors of an ApplicationError for a form (``{"field": [..]}`` plus ``form`` for the whole form)."""
    errors = {k: v if isinstance(v, list) else [str(v)] for k, v in (exc.details or {}).items()}
    if not errors or exc.code != c.VALIDATION_ERROR:
        errors.setdefault("form", []).append(exc.message)
    return errors


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
