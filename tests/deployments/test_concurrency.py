"""Concurrent promotes, rollbacks and uploads on PostgreSQL: the row lock serializes them.

SQLite serializes every writer at BEGIN (IMMEDIATE transactions), so these races cannot
happen there and the tests only run on PostgreSQL.
"""

import threading
import uuid

import pytest
from django.db import connection, connections

from deployments import constants as dc
from deployments.models import Deployment, LivePointer, Release
from deployments.services.ingest import deployment_create_from_digest
from deployments.services.releases import deployment_promote, deployment_rollback
from tests.deployments.conftest import SITE, publish

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL): SQLite serializes writers, so there is no race to test"),
]


def run_threads(fn, args_list):
    barrier = threading.Barrier(len(args_list))
    errors = []

    def worker(args):
        try:
            barrier.wait()
            fn(*args)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(a,)) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def ready_deployments(handle, count):
    out = []
    for i in range(count):
        files = {**SITE, "index.html": f"<p>{i} {uuid.uuid4()}</p>".encode()}
        out.append(publish(handle, files, promote=False))
    return out


def assert_release_chain(handle):
    releases = list(Release.objects.filter(handle=handle, target="site").order_by("created_at"))
    pointer = LivePointer.objects.get(handle=handle, target="site")
    assert pointer.deployment_id == releases[-1].deployment_id
    assert pointer.release_id == releases[-1].id
    # Every release replaced exactly what the one before it made live: no lost update.
    previous = None
    for rel in releases:
        assert rel.previous_deployment_id == previous
        previous = rel.deployment_id
    return releases


def test_concurrent_promotes_leave_the_pointer_on_the_last_release(handle, users):
    deployments = ready_deployments(handle, 8)
    errors = run_threads(lambda d: deployment_promote(deployment=d, actor=users["owner"], role="owner"), [(d,) for d in deployments])
    assert errors == []
    releases = assert_release_chain(handle)
    assert len(releases) == 8


def test_concurrent_promotes_and_rollbacks_stay_consistent(handle, users):
    deployments = ready_deployments(handle, 4)
    for d in deployments:
        deployment_promote(deployment=d, actor=users["owner"], role="owner")
    jobs = []
    for i in range(12):
        d = deployments[i % 4]
        jobs.append((d, i % 2 == 0))

    def act(d, promote):
        if promote:
            deployment_promote(deployment=d, actor=users["owner"], role="owner")
        else:
            try:
                deployment_rollback(deployment=d, actor=users["owner"])
            except Exception as exc:
                if getattr(exc, "code", None) != dc.NOT_A_PREVIOUS_RELEASE:
                    raise

    assert run_threads(act, jobs) == []
    assert_release_chain(handle)


def test_concurrent_uploads_get_distinct_versions(handle):
    def create(i):
        deployment_create_from_digest(handle=handle, files={"/index.html": f"{i:064x}"})

    assert run_threads(create, [(i,) for i in range(10)]) == []
    versions = sorted(Deployment.objects.filter(handle=handle, target="site").values_list("version", flat=True))
    assert versions == list(range(1, 11))


def test_concurrent_sweeps_run_each_due_release_once_and_in_order(handle, users):
    from datetime import timedelta

    from deployments import schedules
    from deployments.models import ScheduledRelease
    from gharart.clock import db_now

    deps = ready_deployments(handle, 4)
    scheds = [
        schedules.scheduled_release_create(deployment=d, at=db_now() + timedelta(hours=1), actor=users["web_manager"], role="web_manager")
        for d in deps
    ]
    ScheduledRelease.objects.filter(pk__in=[s.id for s in scheds]).update(at=db_now() - timedelta(seconds=1))
    ran = []
    errors = run_threads(lambda: ran.extend(schedules.scheduled_release_run_due()), [() for _ in range(4)])
    assert errors == []
    assert sorted(ran) == sorted(s.id for s in scheds)  # each ran exactly once, across all sweepers
    releases = list(Release.objects.filter(handle=handle, target="site").order_by("created_at"))
    assert [r.deployment_id for r in releases] == [d.id for d in deps]  # in (at, created_at) order
    assert_release_chain(handle)
