"""A Celery worker killed (SIGKILL) while it unpacks a large archive.

The deployment is left ``processing`` with its archive kept; no blob is counted as
present without its bytes (rows are written only after the bytes are in place) and no
file row exists yet. The periodic sweep queues the job again and it finishes the
deployment ``ready`` with every file. (A worker killed mid-crawl is covered by
``tests/siteintel/test_worker.py``: resumed by the reaper, or failed on its last attempt.)
"""

import io
import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments import constants as dc
from deployments import storage as blob_storage
from deployments.models import Blob, Deployment, DeploymentFile
from deployments.services.ingest import deployment_sweep_stale
from gharart.celery import app
from tests.deployments.conftest import make_zip

pytestmark = pytest.mark.worker
FILES = 800
SIZE = 40_000


def test_a_worker_killed_mid_archive_counts_no_missing_blob_and_the_sweep_finishes_it(api, users, settings, celery_worker_process):
    settings.DEPLOY_INLINE_MAX_BYTES = 1024  # the archive goes to the worker
    files = {f"assets/{i:04d}.bin": os.urandom(SIZE) for i in range(FILES)}
    files["index.html"] = b"<!doctype html><title>big</title>"
    blobs_before = Blob.objects.count()
    response = api(users["web_manager"]).post("/v2/handles/acme/site-deployments", {"artifact": io.BytesIO(make_zip(files, compression=0))}, format="multipart")
    assert response.status_code == 201 and response.json()["state"] == dc.PROCESSING
    dep_id = response.json()["id"]

    deadline = time.monotonic() + 120
    while Blob.objects.count() <= blobs_before + 1 and time.monotonic() < deadline:  # +1: the archive itself
        time.sleep(0.02)
    os.killpg(celery_worker_process.pid, signal.SIGKILL)
    celery_worker_process.wait(10)

    dep = Deployment.objects.get(pk=dep_id)
    if dep.state != dc.PROCESSING:
        pytest.skip(f"the worker finished before it was killed ({dep.state}); nothing to prove on this machine")
    assert dep.pending_archive_sha256 and blob_storage.blob_exists(dep.pending_archive_sha256)
    assert not DeploymentFile.objects.filter(deployment_id=dep_id).exists()
    stored = Blob.objects.count() - blobs_before - 1
    assert 0 < stored < FILES + 1, "the kill came mid-ingest"
    for sha in Blob.objects.values_list("sha256", flat=True):
        assert blob_storage.blob_exists(sha), f"blob {sha} is counted as present but its bytes are missing"

    # The sweep (Celery beat) queues a deployment stuck processing past 15 minutes again.
    app.conf.task_always_eager = True  # the worker is gone: run the requeued job here
    result = deployment_sweep_stale(now=timezone.now() + timedelta(minutes=16))
    assert result["requeued"] == 1 and result["failed"] == 0
    dep.refresh_from_db()
    assert dep.state == dc.READY, dep.error
    assert dep.file_count == FILES + 1 and dep.pending_archive_sha256 == ""
    for row in DeploymentFile.objects.filter(deployment_id=dep_id):
        assert blob_storage.blob_exists(row.sha256)
