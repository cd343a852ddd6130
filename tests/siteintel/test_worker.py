"""Crawls processed by a REAL Celery worker (a subprocess on the test database and broker),
and what happens when that worker dies mid-crawl."""

import os
import signal

import pytest

from gharart import constants as gc
from gharart.celery import app
from siteintel import constants as c
from siteintel import jobs
from siteintel.models import CrawledPage, CrawlRun
from tests.conftest import wait_for

pytestmark = pytest.mark.worker
BASE = "/v2/handles/acme/site-intel"


def chain_site(site, count):
    site.page("/", "Home", [f"/p{i}" for i in range(count)])
    for i in range(count):
        site.page(f"/p{i}", f"Page {i}", ["/"])


@pytest.fixture
def worker(private_ok, celery_worker_process):
    return celery_worker_process


def test_a_real_worker_processes_a_crawl(api, users, site, registered, worker):
    chain_site(site, 12)
    response = api(users[gc.WEB_MANAGER]).post(f"{BASE}/{registered}/crawl-runs", {"max_pages": 50}, format="json")
    assert response.status_code == 202
    assert response.json()["state"] == c.QUEUED  # not run inline: the worker has it
    run_id = response.json()["id"]
    client = api(users[gc.VIEWER])
    body = wait_for(lambda: (b := client.get(f"{BASE}/{registered}/crawl-runs/{run_id}").json())["state"] in c.FINAL_STATES and b, what="the crawl to finish")
    assert body["state"] == c.SUCCEEDED, body
    assert body["pages_done"] == 13 and body["pages_found"] == 13
    assert client.get(f"{BASE}/{registered}/snapshot").json()["page_count"] == 13
    assert worker.poll() is None


def _kill_mid_crawl(api, users, site, registered, worker):
    chain_site(site, 60)
    site.delay = 0.2  # slow enough (about 3 s in all) that the worker is surely mid-crawl when killed
    run_id = api(users[gc.WEB_MANAGER]).post(f"{BASE}/{registered}/crawl-runs", {"max_pages": 100}, format="json").json()["id"]
    wait_for(lambda: CrawlRun.objects.get(pk=run_id).pages_done >= 3, what="progress to be saved")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    run = CrawlRun.objects.get(pk=run_id)
    assert run.state == c.RUNNING and 3 <= run.pages_done < 61
    site.delay = 0
    return run


def test_a_worker_killed_mid_crawl_is_resumed_by_the_reaper(api, users, site, registered, worker, settings):
    run = _kill_mid_crawl(api, users, site, registered, worker)
    saved = set(CrawledPage.objects.filter(crawl_run=run).values_list("url", flat=True))
    # The heartbeat stops with the worker; once it is older than the stale limit the reaper
    # queues the run again and it resumes from the pages it saved.
    settings.SITEINTEL_RUN_STALE_SECONDS = 1
    wait_for(lambda: CrawlRun.objects.filter(pk=run.pk, heartbeat_at__lt=jobs._stale_before()).exists(), what="the heartbeat to go stale")
    app.conf.task_always_eager = True  # the worker is gone: run the resumed job here
    assert jobs.runs_reap() == {"resumed": 1, "failed": 0}
    run.refresh_from_db()
    assert run.state == c.SUCCEEDED, run.error
    assert run.attempts == 2
    urls = list(CrawledPage.objects.filter(crawl_run=run).values_list("url", flat=True))
    assert len(urls) == len(set(urls)) == 61  # every page once: nothing lost, nothing twice
    assert saved <= set(urls)
    # Pages saved before the kill are not fetched again (only ones fetched but not yet saved).
    hits = site.paths_hit()
    assert all(hits.count(url.replace(site.origin, "")) == 1 for url in saved)


def test_a_worker_killed_on_its_last_attempt_leaves_the_run_failed(api, users, site, registered, worker, settings):
    run = _kill_mid_crawl(api, users, site, registered, worker)
    CrawlRun.objects.filter(pk=run.pk).update(attempts=c.MAX_RUN_ATTEMPTS)
    settings.SITEINTEL_RUN_STALE_SECONDS = 1
    wait_for(lambda: CrawlRun.objects.filter(pk=run.pk, heartbeat_at__lt=jobs._stale_before()).exists(), what="the heartbeat to go stale")
    assert jobs.runs_reap() == {"resumed": 0, "failed": 1}
    run.refresh_from_db()
    assert run.state == c.FAILED
    assert run.error["code"] == c.RUN_WORKER_LOST
    assert run.finished_at is not None
    # A late redelivery of the original message changes nothing.
    assert jobs.crawl_run_execute(run_id=run.pk) is None
