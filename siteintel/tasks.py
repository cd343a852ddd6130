"""Entry points of the site-intel jobs (bodies in ``siteintel.jobs``). They take ids, are
acked late, and are idempotent: the claim in ``siteintel.jobs`` makes a redelivered task for
a finished run do nothing."""

from django.db import InterfaceError, OperationalError

from gharart.jobs import job
from siteintel import jobs

# Only failures before a run is claimed are retried (the database was unreachable); once
# claimed, a run records its own failure.
RETRY = {"autoretry_for": (OperationalError, InterfaceError), "max_retries": 3}


@job(jobs.CRAWL_RUN_EXECUTE, aliases=("siteintel.tasks.crawl_run_execute",), **RETRY)
def crawl_run_execute(run_id):
    return jobs.crawl_run_execute(run_id=run_id)


@job(jobs.REPLAY_RUN_EXECUTE, aliases=("siteintel.tasks.replay_run_execute",), **RETRY)
def replay_run_execute(run_id):
    return jobs.replay_run_execute(run_id=run_id)


@job("siteintel.runs_reap", aliases=("siteintel.tasks.reap_stale_runs",))
def reap_stale_runs():
    return jobs.runs_reap()
