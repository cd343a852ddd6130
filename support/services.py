"""Writes for support reports, operator escalations and content reports."""

import ipaddress
import posixpath
import re
from datetime import UTC
from urllib.parse import unquote, urlsplit

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from gharart import constants as c
from gharart import throttles
from gharart.access import handle_not_found
from gharart.errors import ApplicationError
from gharart.models import handle_slug_validator
from gharart.selectors import membership_get
from support import constants as sc
from support.models import ContentReport, Escalation, SupportReport
from support.operators import is_operator
from support.selectors import request_log_get_for_user

_FILE_ID = re.compile(r"^file_[a-z0-9]{4,40}$")
_REQUIRED = "This field is required."


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _check_length(errors, field, value, limit, *, required=False):
    if required and not value:
        errors[field] = [_REQUIRED]
    elif len(value) > limit:
        errors[field] = [f"At most {limit:,} characters (this has {len(value):,})."]


def _iso(dt) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_log_snapshot(log) -> dict:
    """What a support report keeps of the request it names (the log itself is pruned)."""
    return {
        "request_id": log.request_id,
        "method": log.method,
        "path": log.path,
        "status": log.status_code,
        "error_code": log.error_code,
        "handle": log.handle or None,
        "created_at": _iso(log.created_at),
    }


def _file_visible_to(*, user, file_id) -> bool:
    """Whether ``file_id`` names a file on one of the user's handles."""
    try:
        File = apps.get_model("files", "File")
    except LookupError:
        return False
    files = File._default_manager.filter(pk=file_id, handle__memberships__user=user)
    if any(f.name == "deleted_at" for f in File._meta.get_fields()):
        files = files.filter(deleted_at__isnull=True)
    return files.exists()


def support_report_create(*, user, summary, details, handle_slug=None, session_id="", request_id="", repro_artifact=""):
    """File a report for ``user``.

    Guarantees: the handle (when given) is one the user is a member of, else 404
    ``handle_not_found``; the report links a logged request only when that request was
    made by this same user (another user's request ID is kept as text, never linked); a
    ``file_...`` repro artifact must be a file the user can access. Throttled per user.
    """
    summary, details = _text(summary), _text(details)
    handle_slug, session_id = _text(handle_slug), _text(session_id)
    request_id, repro_artifact = _text(request_id), _text(repro_artifact)
    errors = {}
    _check_length(errors, "summary", summary, sc.SUMMARY_MAX, required=True)
    _check_length(errors, "details", details, sc.DETAILS_MAX, required=True)
    _check_length(errors, "sessionId", session_id, sc.SESSION_ID_MAX)
    _check_length(errors, "requestId", request_id, sc.REQUEST_ID_MAX)
    _check_length(errors, "reproArtifact", repro_artifact, sc.REPRO_ARTIFACT_MAX)
    if "reproArtifact" not in errors and _FILE_ID.match(repro_artifact) and not _file_visible_to(user=user, file_id=repro_artifact):
        errors["reproArtifact"] = ["No file with this ID is visible to you. Paste a URL or describe the artifact instead."]
    if errors:
        raise ApplicationError(c.VALIDATION_ERROR, "The report could not be filed.", details=errors)

    handle = None
    if handle_slug:
        membership = membership_get(user=user, slug=handle_slug)
        if membership is None:
            raise handle_not_found(handle_slug)
        handle = membership.handle

    throttles.hit(sc.THROTTLE_SUPPORT_REPORT, f"user:{user.pk}")

    log = request_log_get_for_user(user=user, request_id=request_id) if request_id else None
    report = SupportReport(
        user=user,
        handle=handle,
        summary=summary,
        details=details,
        session_id=session_id,
        request_id=request_id,
        request_log=log,
        linked_request=request_log_snapshot(log) if log is not None else None,
        repro_artifact=repro_artifact,
    )
    report.full_clean()
    report.save()
    return report


def _operator_only():
    return ApplicationError(sc.OPERATOR_ONLY, "Only internal operators may do this.", status=403)


@transaction.atomic
def escalation_create(*, actor, support_report_id, severity, notes):
    """Escalate a support report. Only operators; the report turns ``escalated`` if it was open."""
    if not is_operator(actor):
        raise _operator_only()
    support_report_id, severity, notes = _text(support_report_id), _text(severity), _text(notes)
    errors = {}
    if not support_report_id:
        errors["support_report_id"] = [_REQUIRED]
    valid_severities = [value for value, _ in sc.SEVERITY_CHOICES]
    if severity not in valid_severities:
        errors["severity"] = [f"Choose one of: {', '.join(valid_severities)}."] if severity else [_REQUIRED]
    _check_length(errors, "notes", notes, sc.NOTES_MAX, required=True)
    if errors:
        raise ApplicationError(c.VALIDATION_ERROR, "The escalation could not be created.", details=errors)
    report = SupportReport.objects.select_for_update().filter(pk=support_report_id).first()
    if report is None:
        raise ApplicationError(
            sc.SUPPORT_REPORT_NOT_FOUND,
            f"No support report '{support_report_id}'.",
            status=404,
            details={"support_report_id": support_report_id},
        )
    escalation = Escalation(support_report=report, severity=severity, notes=notes, created_by=actor)
    escalation.full_clean()
    escalation.save()
    if report.status == sc.REPORT_OPEN:
        report.status = sc.REPORT_ESCALATED
        report.save(update_fields=["status", "updated_at"])
    return escalation


def _host(url_or_origin: str) -> str:
    if not url_or_origin:
        return ""
    if "//" not in url_or_origin:
        url_or_origin = "//" + url_or_origin
    return (urlsplit(url_or_origin).hostname or "").lower()


def _slug_or_blank(value: str) -> str:
    try:
        handle_slug_validator(value)
    except ValidationError:
        return ""
    return value


def platform_content_url(url: str) -> str | None:
    """The handle slug a URL on the platform's content routes belongs to ("" if it names
    none, e.g. a preview), or None when the URL is not one of the platform's content routes.

    Accepted: ``http(s)`` URLs on the public host (or the content origin) under
    ``/profiles/``, ``/previews/``, ``/_edge/docs/`` or ``/v2/public/files/``, and any path
    on a handle's own site host ``<handle>.<GHARART_SITES_DOMAIN>``.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        return None
    sites_domain = settings.GHARART_SITES_DOMAIN.lower().strip(".")
    if sites_domain and host.endswith("." + sites_domain):
        return _slug_or_blank(host[: -len(sites_domain) - 1]) or None
    if host not in {h for h in (_host(settings.GHARART_PUBLIC_URL), _host(settings.GHARART_CONTENT_ORIGIN)) if h}:
        return None
    # Normalise so "/profiles/../admin/" cannot pass as a profile URL.
    path = posixpath.normpath(unquote(parts.path or "/"))
    for prefix in sc.CONTENT_PATH_PREFIXES:
        if path.startswith(prefix):
            first = path[len(prefix) :].split("/", 1)[0]
            if prefix in ("/profiles/", "/_edge/docs/"):
                return _slug_or_blank(first)
            if prefix == "/v2/public/files/":
                return _file_handle_slug(first)
            return ""
    return None


def _file_handle_slug(file_id: str) -> str:
    try:
        File = apps.get_model("files", "File")
    except LookupError:
        return ""
    slug = File._default_manager.filter(pk=file_id).values_list("handle__slug", flat=True).first()
    return slug or ""


def _ip_or_none(value):
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def content_report_create(*, url, reason, details="", reporter_email="", ip=None):
    """Record an abuse report about a URL served by the platform, for moderators.

    A URL outside the platform's content routes is refused (400 ``validation_error``),
    so the queue only holds things moderators can act on. The response never says
    whether the named handle or file exists.
    """
    url, reason, details, reporter_email = _text(url), _text(reason), _text(details), _text(reporter_email)
    errors = {}
    handle_slug = ""
    if not url:
        errors["url"] = [_REQUIRED]
    elif len(url) > sc.URL_MAX:
        errors["url"] = [f"At most {sc.URL_MAX:,} characters."]
    else:
        handle_slug = platform_content_url(url)
        if handle_slug is None:
            errors["url"] = ["Report a page or file served by this platform (a profile site, preview, internal docs or public file URL)."]
    valid_reasons = [value for value, _ in sc.REASON_CHOICES]
    if reason not in valid_reasons:
        errors["reason"] = [f"Choose one of: {', '.join(valid_reasons)}."] if reason else [_REQUIRED]
    _check_length(errors, "details", details, sc.CONTENT_DETAILS_MAX)
    if reporter_email:
        try:
            validate_email(reporter_email)
        except ValidationError:
            errors["reporter_email"] = ["Enter a valid email address."]
    if errors:
        raise ApplicationError(c.VALIDATION_ERROR, "The report could not be filed.", details=errors)
    report = ContentReport(url=url, reason=reason, details=details, reporter_email=reporter_email, handle_slug=handle_slug or "", ip=_ip_or_none(ip))
    report.full_clean()
    report.save()
    return report


@transaction.atomic
def content_report_set_status(*, report, status, actor, notes=None):
    """Moderation: move a content report to ``status`` and record who reviewed it."""
    valid = [value for value, _ in sc.CONTENT_STATUS_CHOICES]
    if status not in valid:
        raise ApplicationError(c.VALIDATION_ERROR, "Unknown status.", details={"status": [f"Choose one of: {', '.join(valid)}."]})
    report.status = status
    report.reviewed_by = actor
    report.reviewed_at = timezone.now()
    fields = ["status", "reviewed_by", "reviewed_at"]
    if notes is not None:
        report.moderator_notes = notes
        fields.append("moderator_notes")
    report.save(update_fields=fields)
    return report
