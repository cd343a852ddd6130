"""Scheduled releases with a REAL Celery worker: the eta job runs them, and a worker killed
before the time runs the missed release once when it is back."""

import time
from datetime import timedelta

import pytest

from deployments import schedules
from deployments.models import LivePointer, Release, ScheduledRelease
from gharart.clock import db_now
from tests.conftest import start_celery_worker, stop_celery_worker, wait_for
from tests.deployments.conftest import SITE, publish

pytestmark = pytest.mark.worker
H = "/v2/handles/acme"


def schedule_in(client, dep, seconds):
    at = (db_now() + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    r = client.post(f"{H}/site-deployments/{dep.id}/promote", {"at": at}, format="json")
    assert r.status_code == 202, r.content
    return ScheduledRelease.objects.get(pk=r.json()["scheduled_release"]["id"])


def state_of(sched_id):
    return ScheduledRelease.objects.get(pk=sched_id).state


def test_a_live_worker_runs_the_release_at_its_time(api, users, handle, celery_worker_process):
    dep = publish(handle, {**SITE, "index.html": b"<p>eta</p>"}, promote=False)
    sched = schedule_in(api(users["web_manager"]), dep, 2)
    wait_for(lambda: state_of(sched.id) != "scheduled", what="the scheduled release to run")
    sched.refresh_from_db()
    assert sched.state == "done", sched.error
    assert Release.objects.filter(deployment=dep).count() == 1
    assert LivePointer.objects.get(handle=handle, target="site").deployment_id == dep.id


def test_a_worker_killed_before_the_time_runs_the_missed_release_once_when_restarted(api, users, handle, celery_worker_mode):
    dep = publish(handle, {**SITE, "index.html": b"<p>missed</p>"}, promote=False)
    worker = start_celery_worker()
    try:
        sched = schedule_in(api(users["web_manager"]), dep, 3)
        stop_celery_worker(worker, kill=True)  # crashes with the eta job in hand (or still queued)
        # Let the time pass with no worker running: nothing may happen meanwhile.
        while db_now() <= sched.at + timedelta(seconds=1):
            time.sleep(0.2)
        assert state_of(sched.id) == "scheduled"
        assert not Release.objects.exists()
        worker = start_celery_worker()  # no beat: the worker's own start-up sweep finds it
        wait_for(lambda: state_of(sched.id) != "scheduled", what="the missed release to run")
    finally:
        stop_celery_worker(worker)
    sched.refresh_from_db()
    assert sched.state == "done", sched.error
    assert Release.objects.filter(deployment=dep).count() == 1
    assert sched.release_id == Release.objects.get(deployment=dep).id
    # Whatever is redelivered later finds nothing to do.
    assert schedules.scheduled_release_run_due() == []
    assert Release.objects.count() == 1
