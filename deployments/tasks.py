"""Entry points of the deployments jobs (bodies in ``deployments.jobs`` and the services).
They take IDs; every job is safe to run twice."""

import logging

from celery.signals import worker_ready

from deployments import jobs
from deployments.services import ingest as ingest_services
from gharart.jobs import job

logger = logging.getLogger(__name__)


@job(
    "deployments.deployment_process_archive",
    aliases=("deployments.tasks.deployment_process_archive",),
    bind=True,
    autoretry_for=jobs.TRANSIENT,
    retry_backoff=5,
    max_retries=3,
)
def deployment_process_archive(self, deployment_id):
    """Unpack a large uploaded archive. A run that keeps failing ends the deployment ``failed``."""
    return jobs.deployment_process_archive_or_fail(deployment_id=deployment_id, last_attempt=self.request.retries >= self.max_retries)


@job("deployments.deployment_sweep_stale", aliases=("deployments.tasks.deployment_sweep_stale",))
def deployment_sweep_stale():
    """Periodic (beat): fail uploads incomplete after 24 h, requeue stuck jobs, drop orphan blobs."""
    return ingest_services.deployment_sweep_stale()


@job("deployments.scheduled_release_run", aliases=("deployments.tasks.scheduled_release_run",), bind=True, max_retries=50)
def scheduled_release_run(self, scheduled_id):
    """The eta job of one scheduled release: run what is due on its handle, by the database's clock."""
    wait, result = jobs.scheduled_release_due_run(scheduled_id=scheduled_id, may_wait=not self.request.is_eager)
    if wait:
        raise self.retry(countdown=wait)
    return result


@job("deployments.scheduled_release_sweep", aliases=("deployments.tasks.scheduled_release_sweep",))
def scheduled_release_sweep():
    """Periodic (beat, every minute) and at worker start: run missed releases, end passed locks."""
    return jobs.scheduled_release_sweep()


@worker_ready.connect
def _sweep_when_a_worker_starts(sender=None, **kwargs):
    # A release missed while no worker ran (or whose eta job died with one) runs now, not
    # at the next beat tick; running it twice is impossible (the claim is idempotent).
    try:
        scheduled_release_sweep.apply_async()
    except Exception:
        logger.exception("Could not queue the scheduled-release sweep at worker start")
