"""Bodies of the deployments jobs that decide more than one service call (the entry points
in ``deployments.tasks`` only hand them their arguments)."""

import logging

from django.db import DatabaseError

from deployments import constants as dc
from deployments import publishing_locks, schedules
from deployments.models import ScheduledRelease
from deployments.services.ingest import deployment_fail, deployment_process_archive
from deployments.storage import StorageUnavailable

logger = logging.getLogger(__name__)

# Worth another try: the database or object storage was unreachable for a moment.
TRANSIENT = (DatabaseError, OSError, StorageUnavailable)
ARCHIVE_FAILED = "The archive could not be unpacked; upload it again."


def deployment_process_archive_or_fail(*, deployment_id, last_attempt):
    """Unpack a large uploaded archive; a run that keeps failing ends the deployment ``failed``.

    A transient failure is raised again (the entry point retries it) until ``last_attempt``;
    any other failure, and the last transient one, fail the deployment at once.
    """
    try:
        dep = deployment_process_archive(deployment_id=deployment_id)
    except TRANSIENT:
        if not last_attempt:
            raise
        logger.exception("Giving up on archive of %s", deployment_id)
    except Exception:
        logger.exception("Unpacking the archive of %s failed", deployment_id)
    else:
        return {"deployment_id": deployment_id, "state": dep.state if dep else None}
    deployment_fail(deployment_id=deployment_id, code=dc.PROCESSING_FAILED, message=ARCHIVE_FAILED)
    return {"deployment_id": deployment_id, "state": dc.FAILED}


def scheduled_release_due_run(*, scheduled_id, may_wait):
    """``(wait, result)``: run what is due on the release's handle, by the database's clock.

    ``wait`` > 0 when this node's clock is ahead of the database's and the release is not
    due yet: the entry point asks again in that many seconds (``may_wait`` is false for
    inline runs, which cannot wait; the sweep runs the release then).
    """
    wait = schedules.scheduled_release_seconds_until_due(scheduled_id=scheduled_id)
    if wait is None:
        return 0, {"scheduled_release_id": scheduled_id, "ran": []}  # cancelled, or already run
    if wait > 0:
        if not may_wait:
            return 0, {"scheduled_release_id": scheduled_id, "ran": []}
        return min(max(wait, 0.2), 300), None
    handle_id = ScheduledRelease.objects.filter(pk=scheduled_id).values_list("handle_id", flat=True).first()
    return 0, {"scheduled_release_id": scheduled_id, "ran": schedules.scheduled_release_run_due(handle_id=handle_id)}


def scheduled_release_sweep():
    """Run missed releases and end passed publishing locks."""
    ran = schedules.scheduled_release_run_due()
    publishing_locks.publishing_lock_sweep()
    return {"ran": ran}
