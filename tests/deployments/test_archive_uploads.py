"""Archive uploads stream in: a small one to a bounded spool, a large one into blob storage.

On both blob backends. A large archive (past ``DEPLOY_INLINE_MAX_BYTES``) is in blob
storage when the request returns, byte for byte, and the worker unpacks it from there; a
refused one (invalid, too large while streaming, over the quota) leaves no object, no
temp file and no multipart upload in progress, and is kept in the upload log.
"""

import hashlib
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from deployments import constants as dc
from deployments import storage
from deployments.models import Blob, Deployment, DeploymentFile, UploadRefusal
from deployments.services.ingest import deployment_process_archive
from tests.blobs import leftovers
from tests.conftest import assert_error
from tests.deployments.conftest import make_targz, make_zip

pytestmark = [pytest.mark.django_db, pytest.mark.blobs]
MiB = 1024 * 1024
BASE = "/v2/handles/acme/site-deployments"
NOTHING = {"stored": [], "in_progress": []}


def noise(size, seed=1):
    return random.Random(seed).randbytes(size)


@pytest.fixture(autouse=True)
def small_inline_limit(settings):
    settings.DEPLOY_INLINE_MAX_BYTES = 1 * MiB


def post(client, data, name="site.zip", **extra):
    return client.post(BASE, {"artifact": SimpleUploadedFile(name, data, content_type="application/zip"), **extra}, format="multipart")


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_large_archive_is_in_blob_storage_on_return_and_the_worker_unpacks_it(api, users, kind):
    big = noise(9 * MiB)
    files = {"index.html": b"<!doctype html><p>hi</p>", "big.bin": big}
    archive = make_zip(files) if kind == "zip" else make_targz(files)
    r = post(api(users["web_manager"]), archive, name=f"site.{kind}")
    assert r.status_code == 201, r.content[:300]
    assert r.json()["state"] == dc.PROCESSING
    sha = hashlib.sha256(archive).hexdigest()
    dep = Deployment.objects.get(pk=r.json()["id"])
    assert dep.pending_archive_sha256 == sha == r.json()["artifact_sha256"]
    with storage.blob_open(sha) as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == sha
    assert leftovers() == {"stored": [storage.blob_name(sha)], "in_progress": []}
    # The worker's job: read it from storage, unpack it, release it.
    dep = deployment_process_archive(deployment_id=dep.id)
    assert dep.state == dc.READY and dep.file_count == 2
    stored = DeploymentFile.objects.get(deployment=dep, path="/big.bin")
    with storage.blob_open(stored.sha256) as fh:
        assert fh.read() == big
    assert storage.blob_name(sha) not in leftovers()["stored"]


def test_a_small_archive_is_unpacked_by_the_request_from_its_spool(api, users):
    r = post(api(users["web_manager"]), make_zip({"index.html": b"<!doctype html><p>small</p>"}))
    assert r.status_code == 201 and r.json()["state"] == dc.READY
    # Only the member's blob: the archive itself was never stored.
    assert len(leftovers()["stored"]) == 1 and leftovers()["in_progress"] == []


def test_a_large_invalid_archive_is_refused_and_nothing_of_it_is_kept(api, users):
    r = post(api(users["web_manager"]), make_zip({"index.html": b"hi", "../evil.bin": noise(9 * MiB)}), name="bad.zip")
    err = assert_error(r, 422, dc.INVALID_ARTIFACT)
    assert err["details"]["reason"] == dc.REASON_UNSAFE_PATH
    assert leftovers() == NOTHING
    assert not Deployment.objects.exists() and not Blob.objects.exists()
    assert UploadRefusal.objects.get().filename == "bad.zip"


def test_an_archive_past_the_limit_is_refused_while_it_streams_and_logged(api, users, settings):
    settings.DEPLOY_MAX_TOTAL_BYTES = 8 * MiB  # an upload of at most 8 MiB + 1 MiB
    # Declared length within the limit plus framing: the refusal comes from the bytes.
    r = post(api(users["web_manager"]), noise(9 * MiB + 500_000), name="huge.zip")
    err = assert_error(r, 422, dc.INVALID_ARTIFACT)
    assert err["details"]["reason"] == dc.REASON_ARCHIVE_TOO_LARGE
    assert leftovers() == NOTHING
    refusal = UploadRefusal.objects.get()
    assert refusal.filename == "huge.zip" and refusal.reason == dc.REASON_ARCHIVE_TOO_LARGE and refusal.size > 9 * MiB
    # Declared far too large: refused before a byte is read.
    r = api(users["web_manager"]).generic("POST", BASE, b"", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(50 * MiB))
    assert_error(r, 422, dc.INVALID_ARTIFACT)


def test_an_archive_over_the_daily_quota_leaves_nothing(api, users, settings):
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, "deployments": 0}
    big = make_zip({"index.html": b"hi", "big.bin": noise(9 * MiB)})
    r = api(users["web_manager"]).post(BASE, {"artifact": SimpleUploadedFile("s.zip", big)}, format="multipart", HTTP_IDEMPOTENCY_KEY="k")
    assert_error(r, 429, "daily_write_limit_exceeded")
    assert leftovers() == NOTHING


def test_dashboard_archive_uploads_stream_too(client, users, settings):
    client.force_login(users["web_manager"])
    bad = client.post("/h/acme/deployments/upload/", {"artifact": SimpleUploadedFile("bad.zip", make_zip({"../x": noise(9 * MiB)}))}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422
    assert leftovers() == NOTHING
    settings.DEPLOY_MAX_TOTAL_BYTES = 8 * MiB
    huge = client.post("/h/acme/deployments/upload/", {"artifact": SimpleUploadedFile("huge.zip", noise(9 * MiB + 500_000))}, HTTP_HX_REQUEST="true")
    assert "larger than the upload limit" in huge.content.decode()
    assert leftovers() == NOTHING
    settings.DEPLOY_MAX_TOTAL_BYTES = 500 * MiB
    archive = make_zip({"index.html": b"<p>x</p>", "big.bin": noise(9 * MiB, seed=2)})
    ok = client.post("/h/acme/deployments/upload/", {"artifact": SimpleUploadedFile("site.zip", archive)}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200
    dep = Deployment.objects.get()
    assert dep.pending_archive_sha256 == hashlib.sha256(archive).hexdigest()
    assert leftovers() == {"stored": [storage.blob_name(dep.pending_archive_sha256)], "in_progress": []}
