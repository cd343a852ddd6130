"""Operators' side: the hostname_add command, the Django admin, the demo seed, the reaper."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from siteintel import constants as c
from siteintel import jobs
from siteintel.models import CrawlRun, Hostname, ReplayRun

pytestmark = pytest.mark.django_db


def test_hostname_add_registers_a_hostname(handle, private_ok):
    out = StringIO()
    call_command("hostname_add", "acme", "http://127.0.0.1:8080", stdout=out)
    assert "Registered http://127.0.0.1:8080 for acme." in out.getvalue()
    assert Hostname.objects.filter(handle=handle, hostname="127.0.0.1:8080", scheme="http").exists()
    with pytest.raises(CommandError, match="hostname_exists"):
        call_command("hostname_add", "acme", "http://127.0.0.1:8080")


def test_hostname_add_refuses_bad_input(handle, settings):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(CommandError, match="No handle"):
        call_command("hostname_add", "nope", "shop.example.com")
    with pytest.raises(CommandError, match="hostname_not_allowed"):
        call_command("hostname_add", "acme", "10.0.0.1")
    with pytest.raises(CommandError, match="validation_error"):
        call_command("hostname_add", "acme", "https://shop.example.com/path")


def test_the_admin_registers_hostnames_through_the_same_checks(admin_client, handle, settings):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    assert admin_client.get("/admin/siteintel/crawlrun/").status_code == 200
    assert admin_client.get("/admin/siteintel/replayrun/").status_code == 200
    response = admin_client.post("/admin/siteintel/hostname/add/", {"handle": handle.pk, "hostname": "Shop.Example.com", "scheme": "https"})
    assert response.status_code == 302
    assert Hostname.objects.get().hostname == "shop.example.com"


def test_the_reaper_leaves_live_runs_alone_and_handles_stale_ones(handle, settings, django_capture_on_commit_callbacks):
    settings.SITEINTEL_RUN_STALE_SECONDS = 60
    now = timezone.now()
    fresh = CrawlRun.objects.create(handle=handle, hostname="a.example.com", max_pages=5, max_depth=1, state=c.RUNNING, heartbeat_at=now, attempts=1)
    exhausted = CrawlRun.objects.create(handle=handle, hostname="b.example.com", max_pages=5, max_depth=1, state=c.RUNNING, heartbeat_at=now - timedelta(minutes=5), attempts=c.MAX_RUN_ATTEMPTS)
    replay = ReplayRun.objects.create(handle=handle, hostname="a.example.com", crawl_run=fresh, deployment_id="dep_x", state=c.RUNNING, heartbeat_at=now - timedelta(minutes=5), attempts=c.MAX_RUN_ATTEMPTS)
    with django_capture_on_commit_callbacks() as dispatched:
        assert jobs.runs_reap() == {"resumed": 0, "failed": 2}
    assert dispatched == []
    fresh.refresh_from_db(), exhausted.refresh_from_db(), replay.refresh_from_db()
    assert fresh.state == c.RUNNING
    assert exhausted.state == c.FAILED and exhausted.error["code"] == c.RUN_WORKER_LOST
    assert replay.state == c.FAILED


def test_the_reaper_requeues_a_stale_run_with_attempts_left(handle, settings, django_capture_on_commit_callbacks):
    settings.SITEINTEL_RUN_STALE_SECONDS = 60
    stale = CrawlRun.objects.create(handle=handle, hostname="a.example.com", max_pages=5, max_depth=1, state=c.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=5), attempts=1)
    with django_capture_on_commit_callbacks() as dispatched:
        assert jobs.runs_reap() == {"resumed": 1, "failed": 0}
    assert len(dispatched) == 1
    stale.refresh_from_db()
    assert stale.state == c.QUEUED


def test_the_demo_seed_crawls_the_live_site_once(handle, users, run_jobs):
    from siteintel import demo
    from tests.siteintel.test_replay import V1, deploy

    out = StringIO()
    demo.seed(handle=handle, users=users, stdout=out)
    assert "no live site" in out.getvalue()
    with run_jobs():
        deploy(handle, V1, live=True)
    with run_jobs():
        demo.seed(handle=handle, users=users, stdout=out)
        demo.seed(handle=handle, users=users, stdout=out)
    run = CrawlRun.objects.get()
    assert run.state == c.SUCCEEDED and run.pages_done == 8
    assert "crawled already" in out.getvalue()
