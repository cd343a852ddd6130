"""Writes for site intel: hostnames, starting and cancelling crawl and replay runs.

Runs are created here and dispatched to Celery after the transaction commits; the work
itself is in ``siteintel/jobs.py``.
"""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from deployments import constants as dc
from deployments.models import Deployment
from gharart import constants as gc
from gharart.errors import ApplicationError
from gharart.jobs import dispatch_on_commit
from gharart.services import audit_record
from siteintel import constants as c
from siteintel import jobs, netguard, selectors, visual
from siteintel.hostnames import InvalidHostname, is_sites_hostname, parse_hostname, sites_hostname
from siteintel.models import CrawlRun, Hostname, ReplayRun

AUDIT_HOSTNAME_ADD = "siteintel.hostname_add"
AUDIT_HOSTNAME_REMOVE = "siteintel.hostname_remove"


def _invalid(field, message):
    return ApplicationError(gc.VALIDATION_ERROR, "The request is not valid.", details={field: [message]})


def hostname_check_allowed(*, scheme, hostname):
    """422 ``hostname_not_allowed`` when the hostname resolves to a non-public address.

    A hostname that does not resolve (yet) is not refused here: its crawl records the DNS
    error on the page instead.
    """
    try:
        netguard.check_url(f"{scheme}://{hostname}/")
    except netguard.HostnameNotAllowed as exc:
        raise ApplicationError(
            c.HOSTNAME_NOT_ALLOWED,
            f"'{hostname}' resolves to an address that cannot be crawled ({exc.reason}).",
            status=422,
            details={"hostname": hostname, "reason": exc.reason, "address": exc.address},
        )
    except netguard.ResolutionFailed:
        pass


@transaction.atomic
def hostname_register(*, handle, hostname, actor=None):
    """Register a hostname for the handle (owners/admins). Returns the ``Hostname``.

    400 ``validation_error`` for a malformed name or one under the platform's own sites
    domain; 409 ``hostname_exists``; 422 ``hostname_not_allowed`` for a private address.
    """
    try:
        scheme, netloc = parse_hostname(hostname)
    except InvalidHostname as exc:
        raise _invalid("hostname", str(exc))
    if netloc == sites_hostname(handle):
        raise _invalid("hostname", "This is the handle's own profile site; it is always available.")
    if is_sites_hostname(netloc):
        raise _invalid("hostname", f"Hostnames under {settings.GHARART_SITES_DOMAIN} are profile sites and cannot be registered.")
    if Hostname.objects.filter(handle=handle, hostname=netloc).exists():
        raise ApplicationError(c.HOSTNAME_EXISTS, f"'{netloc}' is already registered.", status=409, details={"hostname": netloc})
    hostname_check_allowed(scheme=scheme, hostname=netloc)
    row = Hostname.objects.create(handle=handle, hostname=netloc, scheme=scheme, created_by=actor if getattr(actor, "is_authenticated", False) else None)
    audit_record(action=AUDIT_HOSTNAME_ADD, actor=actor, handle=handle, target=netloc, after={"scheme": scheme})
    return row


@transaction.atomic
def hostname_remove(*, handle, hostname, actor=None):
    row = Hostname.objects.filter(handle=handle, hostname=(hostname or "").lower()).first()
    if row is None:
        raise ApplicationError(c.HOSTNAME_NOT_REGISTERED, f"The hostname '{hostname}' is not registered for this handle.", status=404)
    row.delete()
    audit_record(action=AUDIT_HOSTNAME_REMOVE, actor=actor, handle=handle, target=row.hostname)


def _bounded_int(data, field, default, low, high):
    value = data.get(field, None)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise _invalid(field, f"Must be a whole number from {low} to {high}.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _invalid(field, f"Must be a whole number from {low} to {high}.")
    if isinstance(value, float) and value != number:
        raise _invalid(field, f"Must be a whole number from {low} to {high}.")
    if not low <= number <= high:
        raise _invalid(field, f"Must be a whole number from {low} to {high}.")
    return number


def crawl_limits(data):
    """``(max_pages, max_depth)`` from request data, with the settings as defaults."""
    data = data or {}
    max_pages = _bounded_int(data, "max_pages", settings.SITEINTEL_MAX_PAGES, 1, c.MAX_PAGES_LIMIT)
    max_depth = _bounded_int(data, "max_depth", settings.SITEINTEL_MAX_DEPTH, 0, c.MAX_DEPTH_LIMIT)
    return max_pages, max_depth


def crawl_run_start(*, handle, hostname, max_pages=None, max_depth=None, actor=None):
    """Queue a crawl of one of the handle's hostnames; the worker starts after commit.

    404 ``hostname_not_registered``; 422 ``hostname_not_allowed``; 409
    ``crawl_already_running`` while another crawl of the hostname is queued or running
    (a database constraint makes this hold under concurrent requests too).
    """
    target = selectors.hostname_get(handle=handle, hostname=hostname)
    max_pages, max_depth = crawl_limits({"max_pages": max_pages, "max_depth": max_depth})
    if not target.internal:
        hostname_check_allowed(scheme=target.scheme, hostname=target.hostname)
    try:
        with transaction.atomic():
            active = selectors.crawl_run_active(handle=handle, hostname=target.hostname)
            if active is not None:
                raise _already_running(active)
            run = CrawlRun.objects.create(
                handle=handle,
                hostname=target.hostname,
                scheme=target.scheme,
                max_pages=max_pages,
                max_depth=max_depth,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            # Broker down: the queued run is removed again and the request is 503.
            dispatch_on_commit(jobs.CRAWL_RUN_EXECUTE, run.id, undo=lambda: CrawlRun.objects.filter(pk=run.pk, state=c.QUEUED).delete())
    except IntegrityError:
        raise _already_running(selectors.crawl_run_active(handle=handle, hostname=target.hostname))
    return run


def _already_running(active):
    details = {"crawl_run_id": active.id} if active is not None else {}
    return ApplicationError(c.CRAWL_ALREADY_RUNNING, "A crawl of this hostname is already queued or running.", status=409, details=details)


@transaction.atomic
def crawl_run_cancel(*, run):
    """Cancel a queued or running crawl; the worker stops before its next page.

    Cancelling a cancelled run changes nothing; a succeeded or failed one is 409
    ``crawl_run_finished``.
    """
    run = CrawlRun.objects.select_for_update().get(pk=run.pk)
    if run.state == c.CANCELLED:
        return run
    if run.state in c.FINAL_STATES:
        raise ApplicationError(c.CRAWL_RUN_FINISHED, f"This crawl already {run.state}.", status=409, details={"state": run.state})
    run.state = c.CANCELLED
    run.stop_reason = c.STOP_CANCELLED
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "stop_reason", "finished_at", "updated_at"])
    return run


def _deployment_for_replay(*, handle, deployment_id):
    deployment = Deployment.objects.filter(handle=handle, pk=deployment_id).first() if deployment_id else None
    if deployment is None:
        raise ApplicationError(c.DEPLOYMENT_NOT_FOUND, "No such deployment for this handle.", status=404, details={"deployment_id": deployment_id})
    if deployment.state != dc.READY:
        raise ApplicationError(c.DEPLOYMENT_NOT_READY, f"The deployment is {deployment.state}; only ready deployments can be replayed against.", status=409, details={"state": deployment.state})
    return deployment


def _flag(data, field):
    value = data.get(field, None)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "on", "1", "yes", "false", "off", "0", "no"):
        return value.lower() in ("true", "on", "1", "yes")
    raise _invalid(field, "Must be true or false.")


def visual_options(data):
    """``{"visual", "visual_max_pages", "visual_threshold", "visual_gate"}`` from request
    data, validated (400 ``validation_error`` naming the field), with the defaults."""
    data = data or {}
    visual = _flag(data, "visual")
    gate = _flag(data, "visual_gate")
    max_pages = _bounded_int(data, "visual_max_pages", c.VISUAL_MAX_PAGES_DEFAULT, 1, c.VISUAL_MAX_PAGES_LIMIT)
    raw = data.get("visual_threshold", None)
    if raw is None or raw == "":
        threshold = c.VISUAL_THRESHOLD_DEFAULT
    else:
        try:
            threshold = float(raw) if not isinstance(raw, bool) else None
        except (TypeError, ValueError):
            threshold = None
        if threshold is None or not 0 <= threshold < 1:
            raise _invalid("visual_threshold", "Must be a share of the page from 0 to 1 (0.002 is 0.2% of the pixels).")
    if not visual:
        for field in ("visual_gate", "visual_max_pages", "visual_threshold"):
            if data.get(field) not in (None, "", False):
                raise _invalid(field, "Only for a visual replay: add \"visual\": true.")
    return {"visual": visual, "visual_max_pages": max_pages, "visual_threshold": threshold, "visual_gate": gate}


def visual_check_available():
    """409 ``visual_replay_unavailable`` when this server has no Chromium (or Playwright)."""
    reason = visual.unavailable_reason()
    if reason:
        raise ApplicationError(
            c.VISUAL_REPLAY_UNAVAILABLE,
            f"Visual replays are not available on this server: {reason}",
            status=409,
            details={"chromium_path": settings.SITEINTEL_CHROMIUM_PATH},
        )


def replay_run_start(*, handle, hostname, deployment_id, crawl_run_id=None, actor=None, options=None):
    """Queue a replay of a snapshot (default: the latest) against a ready deployment.

    ``options`` may ask for a visual replay (``visual``, ``visual_max_pages``,
    ``visual_threshold``, ``visual_gate``; see ``visual_options``).
    400 when ``deployment_id`` is missing or an option is malformed; 404
    ``hostname_not_registered``, ``snapshot_not_found`` (no succeeded crawl, or
    ``crawl_run_id`` is not a succeeded crawl of this hostname), ``deployment_not_found``;
    409 ``deployment_not_ready``, ``visual_replay_unavailable`` (no Chromium here).
    """
    target = selectors.hostname_get(handle=handle, hostname=hostname)
    if not deployment_id or not isinstance(deployment_id, str):
        raise _invalid("deployment_id", "Name the deployment to replay against.")
    if crawl_run_id is not None and not isinstance(crawl_run_id, str):
        raise _invalid("crawl_run_id", "Must be a crawl run id or null.")
    visual = visual_options(options)
    if visual["visual"]:
        visual_check_available()
    if crawl_run_id:
        crawl = CrawlRun.objects.filter(handle=handle, hostname=target.hostname, pk=crawl_run_id, state=c.SUCCEEDED).first()
        if crawl is None:
            raise ApplicationError(c.SNAPSHOT_NOT_FOUND, "That crawl run is not a succeeded crawl of this hostname.", status=404, details={"crawl_run_id": crawl_run_id})
    else:
        crawl = selectors.crawl_run_latest_succeeded(handle=handle, hostname=target.hostname)
        if crawl is None:
            raise ApplicationError(c.SNAPSHOT_NOT_FOUND, f"No crawl of '{target.hostname}' has succeeded yet: crawl it first.", status=404, details={"hostname": target.hostname})
    deployment = _deployment_for_replay(handle=handle, deployment_id=deployment_id)
    with transaction.atomic():
        run = ReplayRun.objects.create(
            handle=handle,
            hostname=target.hostname,
            crawl_run=crawl,
            deployment_id=deployment.pk,
            pages_found=crawl.pages.count(),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            **visual,
        )
        dispatch_on_commit(jobs.REPLAY_RUN_EXECUTE, run.id, undo=lambda: ReplayRun.objects.filter(pk=run.pk, state=c.QUEUED).delete())
    return run
