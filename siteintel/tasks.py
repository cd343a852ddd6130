"""Celery entry points for site intel. They take ids, are acked late, and are idempotent:
the claim in ``siteintel.jobs`` makes a redelivered task for a finished run do nothing."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from siteintel import jobs

# Only failures before a run is claimed are retried (the database was unreachable); once
# claimed, a run records its own failure.
RETRY = {"autoretry_for": (OperationalError, InterfaceError), "retry_backoff": True, "max_retries": 3}


@shared_task(name="siteintel.tasks.crawl_run_execute", acks_late=True, **RETRY)
def crawl_run_execute(run_id):
    return jobs.crawl_run_execute(run_id=run_id)


@shared_task(name="siteintel.tasks.replay_run_execute", acks_late=True, **RETRY)
def replay_run_execute(run_id):
    return jobs.replay_run_execute(run_id=run_id)


@shared_task(name="siteintel.tasks.reap_stale_runs", acks_late=True)
def reap_stale_runs():
    return jobs.runs_reap()
