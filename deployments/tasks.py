"""Celery jobs of deployments. Entry points take IDs; every job is safe to run twice."""

import logging

from celery import shared_task
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
