"""A large archive is unpacked by a REAL Celery worker (a subprocess on the test database and broker)."""

import io
import os

import pytest

from deployments import constants as dc
from deployments.models import Deployment, DeploymentFile
from tests.conftest import wait_for
from tests.deployments.conftest import make_targz, make_zip

pytestmark = pytest.mark.worker
BASE = "/v2/handles/acme/site-deployments"


def test_a_real_worker_unpacks_a_large_archive(api, users, settings, celery_worker_process):
    settings.DEPLOY_INLINE_MAX_BYTES = 1024  # everything bigger goes to the worker
    files = {f"pages/p{i}.html": f"<!doctype html><title>Page {i}</title><p>{'lorem ' * 50}{i}</p>".encode() for i in range(300)}
    files["index.html"] = b"<!doctype html><title>Home</title>"
    client = api(users["web_manager"])
    r = client.post(BASE, {"artifact": io.BytesIO(make_zip(files)), "message": "big"}, format="multipart")
    assert r.status_code == 201, r.content
    assert r.json()["state"] == dc.PROCESSING  # truthful: not unpacked yet
    dep_id = r.json()["id"]
    body = wait_for(lambda: (b := client.get(f"{BASE}/{dep_id}").json())["state"] in dc.FINAL_STATES and b, what="the archive to be unpacked")
    assert body["state"] == dc.READY, body
    assert body["file_count"] == 301 and body["files"] == {"text/html": 301}
    assert DeploymentFile.objects.filter(deployment_id=dep_id).count() == 301
    assert Deployment.objects.get(pk=dep_id).pending_archive_sha256 == ""

    # A bad large archive fails in the worker with its reason, and keeps nothing.
    r = client.post(BASE, {"artifact": io.BytesIO(make_targz({"index.html": os.urandom(4000), "../../escape": b"x"}))}, format="multipart")
    bad_id = r.json()["id"]
    body = wait_for(lambda: (b := client.get(f"{BASE}/{bad_id}").json())["state"] in dc.FINAL_STATES and b, what="the bad archive to fail")
    assert body["state"] == dc.FAILED
    assert body["error"]["code"] == dc.INVALID_ARTIFACT and body["error"]["details"]["reason"] == dc.REASON_UNSAFE_PATH
    assert body["file_count"] == 0
    assert celery_worker_process.poll() is None
