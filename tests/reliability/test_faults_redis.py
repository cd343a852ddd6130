"""Redis (cache and broker) stopped while the API is used, on a private Redis server.

While Redis is down: reads keep working from the database (profile sites, public files,
API lists), rate limits let requests through, writes that need no job still work
(promote, tokens), and every write that must queue a job answers 503
``service_unavailable`` with ``Retry-After`` and leaves nothing half-made. When Redis is
back (empty, as after a crash), the reaper queues the runs whose messages were lost and a
worker runs them.
"""

import io
import logging
import time

import pytest
from django.conf import settings as django_settings

from deployments import constants as dc
from deployments.models import Blob, Deployment
from deployments.selectors import live as live_selectors
from files.models import MagicLink
from gharart import degraded
from gharart.celery import app
from siteintel import constants as sc
from siteintel import jobs
from siteintel.models import CrawlRun
from tests.conftest import assert_error
from tests.deployments.conftest import make_zip
from tests.reliability.servers import PrivateRedis

SITE = "acme.sites.gharart.com"


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.close()


def _reset_celery_connections():
    # Forget the pools bound to the previous broker URL (kombu keeps one per URL).
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def on_private_redis(settings, private_redis, monkeypatch):
    """Cache and broker of this process (and of workers started later) on the private Redis."""
    url = private_redis.url
    monkeypatch.setenv("REDIS_URL", url)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "gharart",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
    saved = {k: app.conf[k] for k in ("broker_url", "broker_transport_options", "task_always_eager")}
    app.conf.broker_url = url
    app.conf.broker_transport_options = {"visibility_timeout": 3600, "socket_connect_timeout": 2, "socket_timeout": 3}
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    _reset_celery_connections()
    monkeypatch.setattr(degraded, "SKIP_SECONDS", 0.5)
    monkeypatch.setattr(degraded, "_skip_until", 0.0)
    live_selectors._local_states.clear()
    yield private_redis
    for key, value in saved.items():
        app.conf[key] = value
    _reset_celery_connections()
    live_selectors._failed_bumps.clear()


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db(transaction=True)
def test_redis_down_reads_work_broker_writes_are_503_and_nothing_is_half_made(world, api, client, on_private_redis, settings, caplog):
    caplog.set_level(logging.WARNING)
    owner = api(world["owner"])
    home = client.get("/profiles/acme/")
    assert home.status_code == 200 and home["X-Gharart-Deployment"] == world["live"].id
    assert django_settings.CACHES["default"]["LOCATION"] == on_private_redis.url

    on_private_redis.stop()

    # Reads: the profile site, a public file and API lists, from the database.
    again = client.get("/profiles/acme/")
    assert again.status_code == 200 and body(again) == body(home)
    assert client.get("/profiles/acme/about").status_code == 200
    assert client.get(f"/v2/public/files/{world['public_file'].id}").status_code == 200
    listed = owner.get("/v2/handles/acme/site-deployments")
    assert listed.status_code == 200 and len(listed.json()["results"]) == 2
    assert listed["RateLimit-Limit"] == listed["RateLimit-Remaining"]  # not counted: the limit failed open

    # Writes that queue no job still work: a token, and a promote that the site then serves.
    assert owner.post("/v2/me/tokens", {"name": "during-outage", "scopes": ["sites:read"]}, format="json").status_code == 201
    second = world["second"]
    assert owner.post(f"/v2/handles/acme/site-deployments/{second.id}/promote", {"reason": "outage"}, format="json").status_code == 200
    assert client.get("/profiles/acme/")["X-Gharart-Deployment"] == second.id

    # Writes that must queue a job: 503 with Retry-After, and nothing left waiting.
    runs = CrawlRun.objects.count()
    response = owner.post(f"/v2/handles/acme/site-intel/{SITE}/crawl-runs", {"max_pages": 5}, format="json")
    assert_error(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) > 0
    assert CrawlRun.objects.count() == runs

    links = MagicLink.objects.count()
    response = owner.post(f"/v2/public/files/{world['link_file'].id}/magic-link", {"email": "ana@agency.example", "send": True}, format="json")
    assert_error(response, 503, "service_unavailable")
    assert MagicLink.objects.count() == links
    assert_error(api().post(f"/v2/public/files/{world['link_file'].id}/magic-link", {"email": "ana@agency.example"}, format="json"), 503, "service_unavailable")

    settings.DEPLOY_INLINE_MAX_BYTES = 512  # this archive goes to a worker
    blobs = set(Blob.objects.values_list("sha256", flat=True))
    archive = make_zip({"index.html": b"<!doctype html>" + bytes(range(256)) * 8, "a.html": b"<p>a</p>" * 100})
    response = owner.post("/v2/handles/acme/site-deployments", {"artifact": io.BytesIO(archive)}, format="multipart")
    assert_error(response, 503, "service_unavailable")
    failed = Deployment.objects.order_by("-created_at").first()
    assert failed.state == dc.FAILED and failed.error["code"] == "service_unavailable"
    assert failed.pending_archive_sha256 == ""
    assert set(Blob.objects.values_list("sha256", flat=True)) == blobs  # the archive blob was released

    logged = caplog.text
    assert "cache unavailable" in logged and "broker unavailable" in logged


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_run_whose_message_was_lost_with_redis_runs_once_redis_is_back(world, api, on_private_redis, settings, request):
    owner = api(world["owner"])
    response = owner.post(f"/v2/handles/acme/site-intel/{SITE}/crawl-runs", {"max_pages": 5}, format="json")
    assert response.status_code == 202 and response.json()["state"] == sc.QUEUED
    run_id = response.json()["id"]

    on_private_redis.stop()  # the queued message is lost with it
    on_private_redis.start()

    worker = request.getfixturevalue("celery_worker_process")  # on the restarted Redis
    assert CrawlRun.objects.get(pk=run_id).state == sc.QUEUED
    # The reaper (Celery beat, every minute) queues runs whose message never arrived.
    # Stale by a minute, yet well inside the never-started window (six times that), however
    # long the worker took to start on a loaded machine.
    settings.SITEINTEL_RUN_STALE_SECONDS = 60
    two_minutes_ago = jobs.timezone.now() - jobs.timedelta(seconds=120)
    CrawlRun.objects.filter(pk=run_id).update(created_at=two_minutes_ago, updated_at=two_minutes_ago)
    assert jobs.runs_reap() == {"resumed": 1, "failed": 0}
    deadline = time.monotonic() + 60
    while CrawlRun.objects.get(pk=run_id).state not in sc.FINAL_STATES and time.monotonic() < deadline:
        time.sleep(0.2)
    run = CrawlRun.objects.get(pk=run_id)
    assert run.state == sc.SUCCEEDED, run.error
    assert run.pages_done >= 1
    assert worker.poll() is None
