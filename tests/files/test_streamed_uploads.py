"""File uploads go into blob storage as they arrive; a refused one leaves nothing behind.

On both blob backends (local files, and S3 on a private SeaweedFS): after every refusal
(size limit while streaming, validation, the daily quota, a storage write that fails)
the bucket holds no object and no multipart upload in progress, the blob folder no temp
file. Sizes are above one multipart part (8 MiB), so on S3 a multipart upload was under
way when the refusal came.
"""

import hashlib
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from deployments import storage
from deployments.models import Blob
from files.models import File
from tests.blobs import leftovers
from tests.conftest import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.blobs]
MiB = 1024 * 1024
FILES = "/v2/handles/acme/files"
NOTHING = {"stored": [], "in_progress": []}


def payload(size, seed=1):
    return random.Random(seed).randbytes(size)


def test_a_large_upload_is_stored_once_under_its_hash_and_reads_back_identical(api, users):
    data = payload(9 * MiB + 321)
    r = api(users["partnerships"]).post(FILES, {"file": SimpleUploadedFile("kit.bin", data), "title": "Kit"}, format="multipart")
    assert r.status_code == 201, r.content[:300]
    sha = hashlib.sha256(data).hexdigest()
    assert r.json()["sha256"] == sha and r.json()["size"] == len(data)
    with storage.blob_open(sha) as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == sha
    # One object under its hash, no temp copy, no upload left open.
    assert leftovers() == {"stored": [storage.blob_name(sha)], "in_progress": []}
    assert Blob.objects.get(sha256=sha).size == len(data)


def test_the_same_bytes_twice_are_stored_once(api, users):
    data = payload(9 * MiB, seed=2)
    client = api(users["partnerships"])
    for name in ("a.bin", "b.bin"):
        assert client.post(FILES, {"file": SimpleUploadedFile(name, data)}, format="multipart").status_code == 201
    assert leftovers() == {"stored": [storage.blob_name(hashlib.sha256(data).hexdigest())], "in_progress": []}


def test_an_upload_past_the_limit_is_refused_while_it_streams_and_leaves_nothing(api, users, settings):
    settings.FILES_MAX_UPLOAD_BYTES = 10 * MiB
    # Declared length within the limit plus framing: the refusal comes from the bytes themselves.
    r = api(users["partnerships"]).post(FILES, {"file": SimpleUploadedFile("big.bin", payload(10 * MiB + 200_000))}, format="multipart")
    err = assert_error(r, 413, "file_too_large")
    assert err["details"]["max_bytes"] == 10 * MiB
    assert leftovers() == NOTHING
    assert not File.objects.exists() and not Blob.objects.exists()


def test_an_upload_with_invalid_fields_leaves_nothing(api, users):
    r = api(users["partnerships"]).post(FILES, {"file": SimpleUploadedFile("big.bin", payload(9 * MiB)), "access": "secret"}, format="multipart")
    assert_error(r, 400, "validation_error")
    assert leftovers() == NOTHING
    assert not Blob.objects.exists()


def test_an_upload_over_the_daily_quota_leaves_nothing(api, users, settings):
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, "file_uploads": 0}
    # With an Idempotency-Key the body is read (fingerprinted) before the quota says no.
    r = api(users["partnerships"]).post(FILES, {"file": SimpleUploadedFile("big.bin", payload(9 * MiB))}, format="multipart", HTTP_IDEMPOTENCY_KEY="k-1")
    assert_error(r, 429, "daily_write_limit_exceeded")
    assert leftovers() == NOTHING


def test_an_idempotent_replay_of_a_streamed_upload_stores_nothing_twice(api, users):
    data = payload(9 * MiB, seed=3)
    client = api(users["partnerships"])
    first = client.post(FILES, {"file": SimpleUploadedFile("kit.bin", data)}, format="multipart", HTTP_IDEMPOTENCY_KEY="same")
    again = client.post(FILES, {"file": SimpleUploadedFile("kit.bin", data)}, format="multipart", HTTP_IDEMPOTENCY_KEY="same")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    other = client.post(FILES, {"file": SimpleUploadedFile("kit.bin", payload(9 * MiB, seed=4))}, format="multipart", HTTP_IDEMPOTENCY_KEY="same")
    assert_error(other, 422, "idempotency_key_reused")
    assert File.objects.count() == 1
    assert leftovers() == {"stored": [storage.blob_name(hashlib.sha256(data).hexdigest())], "in_progress": []}


def test_a_dashboard_upload_streams_too_and_a_refused_one_leaves_nothing(client, users, settings):
    client.force_login(users["partnerships"])
    bad = client.post("/h/acme/files/upload/", {"file": SimpleUploadedFile("big.bin", payload(9 * MiB)), "access": "secret"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    assert leftovers() == NOTHING
    settings.FILES_MAX_UPLOAD_BYTES = 8 * MiB
    big = client.post("/h/acme/files/upload/", {"file": SimpleUploadedFile("big.bin", payload(8 * MiB + 500_000))}, HTTP_HX_REQUEST="true")
    assert big.status_code == 400 and "larger than the limit" in big.content.decode()
    assert leftovers() == NOTHING
    settings.FILES_MAX_UPLOAD_BYTES = 2 * 1024 * MiB
    data = payload(9 * MiB, seed=5)
    ok = client.post("/h/acme/files/upload/", {"file": SimpleUploadedFile("kit.bin", data)}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200
    assert File.objects.get().sha256 == hashlib.sha256(data).hexdigest()
    assert leftovers()["in_progress"] == []


def test_storage_failing_mid_upload_answers_503_and_leaves_nothing(api, users, monkeypatch):
    calls = {"n": 0}
    real_write = storage.BlobWriter.write

    def failing_write(self, data):
        calls["n"] += 1
        if calls["n"] == 60:  # 15 MiB in: on S3 a multipart upload is under way
            raise storage.StorageUnavailable()
        return real_write(self, data)

    monkeypatch.setattr(storage.BlobWriter, "write", failing_write)
    r = api(users["partnerships"]).post(FILES, {"file": SimpleUploadedFile("big.bin", payload(20 * MiB))}, format="multipart")
    assert_error(r, 503, "service_unavailable")
    assert r["Retry-After"]
    assert leftovers() == NOTHING
