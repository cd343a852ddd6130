"""Celery jobs of deployments. Entry points take IDs; every job is safe to run twice."""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import DatabaseError

from deployments import constants as dc
from deployments import services
from deployments.storage import StorageUnavailable

# Worth another try: the database or object storage was unreachable for a moment.
TRANSIENT = (DatabaseError, OSError, StorageUnavailable)

logger = logging.getLogger(__name__)


@shared_task(
    name="deployments.tasks.deployment_process_archive",
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    max_retries=3,
)
def deployment_process_archive(self, deployment_id):
    """Unpack a large uploaded archive. A run that keeps failing ends the deployment ``failed``."""
    try:
        dep = services.deployment_process_archive(deployment_id=deployment_id)
    except TRANSIENT:
        if self.request.retries >= self.max_retries:
            logger.exception("Giving up on archive of %s", deployment_id)
            services.deployment_fail(deployment_id=deployment_id, code=dc.PROCESSING_FAILED, message="The archive could not be unpacked; upload it again.")
            return {"deployment_id": deployment_id, "state": dc.FAILED}
        raise
    except Exception:
        logger.exception("Unpacking the archive of %s failed", deployment_id)
        services.deployment_fail(deployment_id=deployment_id, code=dc.PROCESSING_FAILED, message="The archive could not be unpacked; upload it again.")
        return {"deployment_id": deployment_id, "state": dc.FAILED}
    return {"deployment_id": deployment_id, "state": dep.state if dep else None}


@shared_task(name="deployments.tasks.deployment_sweep_stale", acks_late=True)
def deployment_sweep_stale():
    """Periodic (beat): fail uploads incomplete after 24 h, requeue stuck jobs, drop orphan blobs."""
    return services.deployment_sweep_stale()


@shared_task(name="deployments.tasks.scheduled_release_run", bind=True, acks_late=True, max_retries=50)
def scheduled_release_run(self, scheduled_id):
    """The eta job of one scheduled release: run what is due on its handle, by the database's clock."""
    from deployments import schedules
    from deployments.models import ScheduledRelease

    wait = schedules.scheduled_release_seconds_until_due(scheduled_id=scheduled_id)
    if wait is None:
        return {"scheduled_release_id": scheduled_id, "ran": []}  # cancelled, or already run
    if wait > 0:
        if self.request.is_eager:
            return {"scheduled_release_id": scheduled_id, "ran": []}  # inline runs cannot wait; the sweep runs it
        # This node's clock is ahead of the database's: wait for the database to agree.
        raise self.retry(countdown=min(max(wait, 0.2), 300))
    handle_id = ScheduledRelease.objects.filter(pk=scheduled_id).values_list("handle_id", flat=True).first()
    return {"scheduled_release_id": scheduled_id, "ran": schedules.scheduled_release_run_due(handle_id=handle_id)}


@shared_task(name="deployments.tasks.scheduled_release_sweep", acks_late=True)
def scheduled_release_sweep():
    """Periodic (beat, every minute) and at worker start: run missed releases, end passed locks."""
    from deployments import schedules

    ran = schedules.scheduled_release_run_due()
    schedules.publishing_lock_sweep()
    return {"ran": ran}


@worker_ready.connect
def _sweep_when_a_worker_starts(sender=None, **kwargs):
    # A release missed while no worker ran (or whose eta job died with one) runs now, not
    # at the next beat tick; running it twice is impossible (the claim is idempotent).
    try:
        scheduled_release_sweep.apply_async()
    except Exception:
        logger.exception("Could not queue the scheduled-release sweep at worker start")
