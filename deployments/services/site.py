"""Writes of the site: what ``/profiles/{handle}/`` serves (site mode), the links page
and function bindings. Every change bumps the cached live state after commit."""

import ipaddress
import logging

from django.db import transaction

from deployments import constants as dc
from deployments.models import (
    Deployment,
    FormSubmission,
    FunctionBinding,
)
from deployments.selectors.live import live_state_invalidate
from deployments.selectors.site import site_status
from deployments.services.common import acting_user, validation_error
from gharart import constants as c
from gharart.errors import ApplicationError
from gharart.models import Handle
from gharart.services import audit_record, handle_profile_update

logger = logging.getLogger(__name__)

# --- Site mode ---------------------------------------------------------------------------

def site_mode_set(*, handle, mode, actor=None) -> dict:
    """Switch what ``/profiles/{handle}/`` serves; audited; returns ``site_status``."""
    valid = [m for m, _ in c.SITE_MODE_CHOICES]
    if mode not in valid:
        raise validation_error("The site mode could not be changed.", mode=f"Choose one of: {', '.join(valid)}.")
    with transaction.atomic():
        locked = Handle.objects.select_for_update().get(pk=handle.pk)
        before = locked.site_mode
        if before != mode:
            locked.site_mode = mode
            locked.save(update_fields=["site_mode"])
            audit_record(action=c.AUDIT_SITE_MODE, actor=actor, handle=locked, target=locked.slug, before={"mode": before}, after={"mode": mode})
            live_state_invalidate(locked.slug)
    handle.site_mode = mode
    return site_status(handle=locked)


def handle_links_update(*, handle, display_name, bio, links, actor=None):
    """Edit the links page (display name, bio, links)."""
    handle = handle_profile_update(handle=handle, display_name=display_name, bio=bio, links=links)
    live_state_invalidate(handle.slug)
    return handle


# --- Function bindings -------------------------------------------------------------------

def _normalize_route(route):
    if not isinstance(route, str) or not route.startswith("/"):
        return None
    if len(route) > 300 or any(ch.isspace() or ch in "?#\\" or ord(ch) < 32 for ch in route):
        return None
    segments = [s for s in route.split("/") if s]
    if any(s in (".", "..") for s in segments):
        return None
    return "/" + "/".join(segments)


def binding_config_check(*, function, config):
    """The cleaned config of ``function`` and its problems, each ``(key, text)`` (key None
    for the config as a whole)."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        return {}, [(None, "The config is a JSON object.")]
    problems = []
    allowed = {
        dc.FUNCTION_REDIRECT: {"location", "status"},
        dc.FUNCTION_JSON: {"body", "status"},
        dc.FUNCTION_FORM_CAPTURE: {"success_path", "max_bytes"},
    }.get(function, set())
    unknown = sorted(set(config) - allowed)
    if unknown:
        problems.append((None, f"Unknown key(s) for {function}: {', '.join(unknown)}."))
    clean = {}
    if function == dc.FUNCTION_REDIRECT:
        location = config.get("location")
        if not isinstance(location, str) or not location.strip() or len(location) > 2000:
            problems.append(("location", "the URL or site path to redirect to."))
        elif any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in location):
            # CR/LF and other control characters cannot go in a Location header.
            problems.append(("location", "no line breaks or other control characters."))
        elif not (location.startswith("/") and not location.startswith("//")) and not location.startswith(("https://", "http://")):
            problems.append(("location", "a site path starting with / or an http(s) URL."))
        else:
            clean["location"] = location.strip()
        status = config.get("status", 302)
        if status not in dc.REDIRECT_STATUSES or isinstance(status, bool):
            problems.append(("status", "one of 301, 302, 307, 308."))
        else:
            clean["status"] = status
    elif function == dc.FUNCTION_JSON:
        if "body" not in config:
            problems.append(("body", "the JSON value to answer with."))
        else:
            clean["body"] = config["body"]
        status = config.get("status", 200)
        if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
            problems.append(("status", "an HTTP status from 200 to 599."))
        else:
            clean["status"] = status
    elif function == dc.FUNCTION_FORM_CAPTURE:
        success = config.get("success_path", "/")
        if not isinstance(success, str) or _normalize_route(success) is None:
            problems.append(("success_path", "a site path starting with / to send the visitor to."))
        else:
            clean["success_path"] = success
        max_bytes = config.get("max_bytes", 64 * 1024)
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or not 1 <= max_bytes <= dc.FORM_CAPTURE_MAX_BYTES_LIMIT:
            problems.append(("max_bytes", f"a whole number from 1 to {dc.FORM_CAPTURE_MAX_BYTES_LIMIT}."))
        else:
            clean["max_bytes"] = max_bytes
    return clean, problems


def binding_create(*, handle, route, methods, function, config=None, deployment_id=None, actor=None) -> FunctionBinding:
    """Bind ``route`` on the profile site to a built-in function.

    400 ``validation_error`` (route, methods, config per function, deployment);
    409 ``binding_conflict`` when another binding already answers that route and method.
    """
    errors = {}
    clean_route = _normalize_route(route)
    if clean_route is None:
        errors["route"] = ["A path starting with / (no spaces, query, fragment, backslash or dot segments), at most 300 characters."]
    if function not in dict(dc.FUNCTION_CHOICES):
        errors["function"] = [f"Choose one of: {', '.join(f for f, _ in dc.FUNCTION_CHOICES)}."]
    clean_methods = []
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        errors["methods"] = ["A non-empty list of HTTP methods."]
    else:
        clean_methods = list(dict.fromkeys(m.upper() for m in methods))
        bad = [m for m in clean_methods if m not in dc.BINDING_METHODS]
        if bad:
            errors["methods"] = [f"Unsupported method(s): {', '.join(bad)}. Use {', '.join(dc.BINDING_METHODS)}."]
        elif function == dc.FUNCTION_FORM_CAPTURE and clean_methods != ["POST"]:
            errors["methods"] = ["A form-capture binding answers POST only."]
    clean_config, problems = binding_config_check(function=function, config=config)
    if problems and "function" not in errors:
        errors["config"] = [f"{key}: {text}" if key else text for key, text in problems]
    pinned = None
    if deployment_id is not None:
        pinned = Deployment.objects.filter(handle=handle, pk=deployment_id, target=dc.TARGET_SITE, state=dc.READY).first() if isinstance(deployment_id, str) else None
        if pinned is None:
            errors["deployment_id"] = ["A ready site deployment of this handle, or null to follow what is live."]
    if errors:
        raise ApplicationError(c.VALIDATION_ERROR, "The function binding could not be created.", details=errors)
    with transaction.atomic():
        Handle.objects.select_for_update().filter(pk=handle.pk).first()  # serialize creates per handle
        for other in FunctionBinding.objects.filter(handle=handle, route=clean_route):
            overlap = sorted(set(other.methods) & set(clean_methods))
            if overlap:
                raise ApplicationError(
                    dc.BINDING_CONFLICT,
                    f"{', '.join(overlap)} {clean_route} is already bound ({other.id}).",
                    status=409,
                    details={"binding_id": other.id, "route": clean_route, "methods": overlap},
                )
        binding = FunctionBinding.objects.create(
            handle=handle,
            route=clean_route,
            methods=clean_methods,
            function=function,
            config=clean_config,
            deployment=pinned,
            created_by=acting_user(actor),
        )
        live_state_invalidate(handle.slug)
    return binding


def binding_delete(*, binding, actor=None):
    slug = binding.handle.slug
    with transaction.atomic():
        binding.delete()
        live_state_invalidate(slug)


def submission_create(*, binding_id, handle_id, data, content_type="", ip=None, user_agent="") -> FormSubmission:
    """Store one form posted to a form-capture binding."""
    try:
        ip = str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        ip = None
    return FormSubmission.objects.create(
        binding_id=binding_id,
        handle_id=handle_id,
        data=data,
        content_type=content_type[:100],
        ip=ip or None,
        user_agent=(user_agent or "")[:300],
    )
