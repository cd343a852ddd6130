"""Digest deploys: per-handle blob ownership, the missing count, batch uploads, paged `required`."""

import hashlib
import io
import tarfile
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from deployments import constants as dc
from deployments.models import Blob, Deployment, DeploymentFile
from deployments.services import ingest as ingest_services
from deployments.services.ingest import deployment_create_from_digest, deployment_fail
from files import services as file_services
from gharart import constants as c
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
A = "/v2/handles/acme/site-deployments"
B = "/v2/handles/other/site-deployments"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def unique_files(n=3, prefix="page"):
    return {f"{prefix}{i}.html": f"<p>{prefix} {i} {uuid.uuid4()}</p>".encode() for i in range(n)}


def digest(client, base, files):
    return client.post(base, {"files": {"/" + k: sha(v) for k, v in files.items()}}, format="json")


def put_blob(client, base, dep_id, data, digest_hex=None):
    return client.put(f"{base}/{dep_id}/blobs/{digest_hex or sha(data)}", data=data, content_type="application/octet-stream")


def make_tar(members):
    """``members``: list of (name, bytes); names are usually sha256s."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def post_batch(client, base, dep_id, body, content_type="application/x-tar"):
    return client.generic("POST", f"{base}/{dep_id}/blobs", data=body, content_type=content_type)


def publish_digest(client, base, files):
    dep = digest(client, base, files).json()
    for data in files.values():
        put_blob(client, base, dep["id"], data)
    return Deployment.objects.get(pk=dep["id"])


@pytest.fixture
def a_client(api, users):
    return api(users["web_manager"])


@pytest.fixture
def b_client(api, outsider):
    return api(outsider)


# --- Per-handle ownership ---------------------------------------------------------------

def test_another_handle_must_send_the_bytes_of_hashes_only_the_first_handle_holds(a_client, b_client):
    files = unique_files(3)
    assert publish_digest(a_client, A, files).state == dc.READY
    r = digest(b_client, B, files)
    assert r.status_code == 201, r.content
    body = r.json()
    # Handle A holds every blob, yet handle B is asked for all of them and is not ready.
    assert body["state"] == "uploading"
    assert body["required"] == sorted(sha(v) for v in files.values()) and body["required_count"] == 3
    assert_error(b_client.get(f"{B}/{body['id']}/preview"), 409, dc.DEPLOYMENT_NOT_READY)
    # Naming A's hash with other bytes is refused, and nothing counts.
    first = next(iter(files.values()))
    assert_error(put_blob(b_client, B, body["id"], b"guess", digest_hex=sha(first)), 422, dc.BLOB_HASH_MISMATCH)
    assert b_client.get(f"{B}/{body['id']}").json()["required_count"] == 3
    # Sending the real bytes works (storage keeps one copy of them).
    for data in files.values():
        r = put_blob(b_client, B, body["id"], data)
        assert r.status_code == 200, r.content
    assert r.json()["state"] == "ready"
    assert Blob.objects.filter(sha256__in=[sha(v) for v in files.values()]).count() == 3


def test_required_is_the_same_whether_or_not_another_handle_holds_the_hash(a_client, b_client):
    shared = unique_files(2, "shared")
    publish_digest(a_client, A, shared)
    unknown = unique_files(2, "unknown")
    held_by_a = digest(b_client, B, shared).json()
    held_by_nobody = digest(b_client, B, unknown).json()
    assert held_by_a["state"] == held_by_nobody["state"] == "uploading"
    assert held_by_a["required_count"] == held_by_nobody["required_count"] == 2
    assert held_by_a["required"] == sorted(sha(v) for v in shared.values())
    assert held_by_nobody["required"] == sorted(sha(v) for v in unknown.values())
    detail_a = b_client.get(f"{B}/{held_by_a['id']}").json()
    detail_nobody = b_client.get(f"{B}/{held_by_nobody['id']}").json()
    assert {k: detail_a[k] for k in ("state", "required_count", "file_count", "total_bytes")} == {
        k: detail_nobody[k] for k in ("state", "required_count", "file_count", "total_bytes")
    }


def test_a_hash_over_the_file_limit_held_by_another_handle_is_not_revealed_at_creation(a_client, b_client, settings):
    big = {"big.bin": b"x" * 64 + uuid.uuid4().bytes}
    publish_digest(a_client, A, big)
    settings.DEPLOY_MAX_FILE_BYTES = 32
    # Handle A itself is told at once; handle B learns nothing until it sends bytes.
    err = assert_error(digest(a_client, A, big), 422, dc.INVALID_ARTIFACT)
    assert err["details"]["reason"] == dc.REASON_FILE_TOO_LARGE
    r = digest(b_client, B, big)
    assert r.status_code == 201 and r.json()["required"] == [sha(big["big.bin"])]
    assert_error(put_blob(b_client, B, r.json()["id"], big["big.bin"]), 413, dc.FILE_TOO_LARGE)


def test_the_same_handle_reuses_blobs_of_its_files_and_deployments(a_client, handle, users):
    data = b"shared file " + uuid.uuid4().bytes
    file_services.file_upload(handle=handle, actor=users["owner"], upload=SimpleUploadedFile("a.bin", data))
    r = digest(a_client, A, {"a.bin": data})
    assert r.json()["state"] == "ready" and r.json()["required"] == []
    assert Deployment.objects.get(pk=r.json()["id"]).total_bytes == len(data)


def test_a_file_of_another_handle_does_not_count(b_client, handle, users):
    data = b"private file " + uuid.uuid4().bytes
    file_services.file_upload(handle=handle, actor=users["owner"], upload=SimpleUploadedFile("secret.pdf", data))
    r = digest(b_client, B, {"secret.pdf": data})
    assert r.json()["state"] == "uploading" and r.json()["required"] == [sha(data)]


def test_a_hash_only_listed_by_an_unfinished_deployment_is_not_held(a_client):
    files = unique_files(2)
    first = digest(a_client, A, files).json()
    second = digest(a_client, A, files).json()
    assert second["required_count"] == 2 and second["state"] == "uploading"
    # Once one deployment received a blob, the handle holds it for the next.
    one = next(iter(files.values()))
    put_blob(a_client, A, first["id"], one)
    third = digest(a_client, A, files).json()
    assert third["required"] == sorted(sha(v) for v in files.values() if v != one)


def test_a_retried_put_of_a_blob_already_received_counts_once(a_client):
    files = unique_files(2)
    dep = digest(a_client, A, files).json()
    one, two = files.values()
    assert put_blob(a_client, A, dep["id"], one).json()["required_count"] == 1
    assert put_blob(a_client, A, dep["id"], one).json()["required_count"] == 1
    assert put_blob(a_client, A, dep["id"], two).json()["state"] == "ready"


def test_two_paths_with_the_same_bytes_need_one_upload(a_client):
    data = b"same " + uuid.uuid4().bytes
    dep = digest(a_client, A, {"a.html": data, "b.html": data, "c.html": b"other" + uuid.uuid4().bytes}).json()
    assert dep["required_count"] == 2
    r = put_blob(a_client, A, dep["id"], data)
    assert r.json()["required_count"] == 1
    assert DeploymentFile.objects.filter(deployment_id=dep["id"], sha256=sha(data), held=True, size=len(data)).count() == 2


# --- Paged `required` on GET ------------------------------------------------------------

def test_the_deployment_get_pages_required_and_counts_them(a_client, settings):
    settings.DEPLOY_REQUIRED_PAGE = 2
    files = unique_files(5)
    dep = digest(a_client, A, files).json()
    assert len(dep["required"]) == 5  # the create answer lists them all
    expected = sorted(sha(v) for v in files.values())
    seen, url = [], f"{A}/{dep['id']}"
    while url:
        body = a_client.get(url).json()
        assert body["required_count"] == 5 and len(body["required"]) <= 2
        seen += body["required"]
        url = body["required_next"]
    assert seen == expected
    assert_error(a_client.get(f"{A}/{dep['id']}?required_after=zz"), 400, c.VALIDATION_ERROR)


# --- Batch uploads ----------------------------------------------------------------------

def test_a_batch_upload_stores_every_blob_and_makes_the_deployment_ready(a_client):
    files = unique_files(20)
    dep = digest(a_client, A, files).json()
    r = post_batch(a_client, A, dep["id"], make_tar([(sha(v), v) for v in files.values()]))
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["state"] == "ready" and body["stored"] == 20 and body["required_count"] == 0
    stored = Deployment.objects.get(pk=dep["id"])
    assert stored.file_count == 20 and stored.total_bytes == sum(len(v) for v in files.values())
    # A retried batch of a complete deployment stores nothing and answers its state.
    again = post_batch(a_client, A, dep["id"], make_tar([(sha(v), v) for v in files.values()]))
    assert again.status_code == 200 and again.json()["state"] == "ready" and again.json()["stored"] == 0


def test_a_batch_member_with_wrong_bytes_stops_the_batch_and_keeps_the_verified_ones(a_client):
    files = unique_files(3)
    values = list(files.values())
    dep = digest(a_client, A, files).json()
    members = [(sha(values[0]), values[0]), (sha(values[1]), b"forged"), (sha(values[2]), values[2])]
    err = assert_error(post_batch(a_client, A, dep["id"], make_tar(members)), 422, dc.BLOB_HASH_MISMATCH)
    assert err["details"]["expected"] == sha(values[1]) and err["details"]["stored"] == 1
    assert not Blob.objects.filter(sha256=sha(values[1])).exists()
    assert not Blob.objects.filter(sha256=sha(values[2])).exists()
    body = a_client.get(f"{A}/{dep['id']}").json()
    assert body["required_count"] == 2 and body["required"] == sorted([sha(values[1]), sha(values[2])])
    # The retry sends the whole batch again: the kept blob is skipped.
    r = post_batch(a_client, A, dep["id"], make_tar([(sha(v), v) for v in values]))
    assert r.json()["state"] == "ready" and r.json()["stored"] == 2 and r.json()["skipped"] == 1


def test_a_batch_cannot_claim_another_handles_hash_without_its_bytes(a_client, b_client):
    files = unique_files(1)
    publish_digest(a_client, A, files)
    (data,) = files.values()
    dep = digest(b_client, B, files).json()
    assert_error(post_batch(b_client, B, dep["id"], make_tar([(sha(data), b"not the bytes")])), 422, dc.BLOB_HASH_MISMATCH)
    assert Deployment.objects.get(pk=dep["id"]).state == dc.UPLOADING
    assert post_batch(b_client, B, dep["id"], make_tar([(sha(data), data)])).json()["state"] == "ready"


def test_a_batch_member_the_deployment_does_not_list_is_refused_and_not_stored(a_client):
    files = unique_files(1)
    dep = digest(a_client, A, files).json()
    stray = b"stray " + uuid.uuid4().bytes
    err = assert_error(post_batch(a_client, A, dep["id"], make_tar([(sha(stray), stray)])), 422, dc.BLOB_NOT_REQUIRED)
    assert err["details"]["sha256"] == sha(stray) and err["details"]["stored"] == 0
    assert not Blob.objects.filter(sha256=sha(stray)).exists()


def test_bad_batches_are_refused_with_clear_errors(a_client, settings):
    files = unique_files(3)
    dep = digest(a_client, A, files).json()
    values = list(files.values())
    assert_error(post_batch(a_client, A, dep["id"], b"not a tar at all" * 100), 400, c.VALIDATION_ERROR)
    assert_error(post_batch(a_client, A, dep["id"], make_tar([("index.html", values[0])])), 400, c.VALIDATION_ERROR)
    assert_error(post_batch(a_client, A, dep["id"], make_tar([(sha(values[0]), values[0])]), content_type="application/json"), 415, c.UNSUPPORTED_MEDIA_TYPE)
    truncated = make_tar([(sha(values[0]), values[0])])[: 512 + 10]  # cut inside the member's bytes
    assert_error(post_batch(a_client, A, dep["id"], truncated), 400, c.VALIDATION_ERROR)
    assert Deployment.objects.get(pk=dep["id"]).blobs_missing == 3 and not Blob.objects.filter(sha256=sha(values[0])).exists()
    settings.DEPLOY_BLOB_BATCH_MAX_BLOBS = 2
    err = assert_error(post_batch(a_client, A, dep["id"], make_tar([(sha(v), v) for v in values])), 413, dc.PAYLOAD_TOO_LARGE)
    # The members before the limit were verified and are kept; the client sends the rest again.
    assert err["details"]["stored"] == 2 and Deployment.objects.get(pk=dep["id"]).blobs_missing == 1
    settings.DEPLOY_BLOB_BATCH_MAX_BLOBS = 2000
    settings.DEPLOY_MAX_FILE_BYTES = 10
    assert_error(post_batch(a_client, A, dep["id"], make_tar([(sha(values[2]), values[2])])), 413, dc.FILE_TOO_LARGE)
    assert Deployment.objects.get(pk=dep["id"]).blobs_missing == 1 and not Blob.objects.filter(sha256=sha(values[2])).exists()
    assert_error(post_batch(a_client, A, "dep_nope", make_tar([])), 404, dc.DEPLOYMENT_NOT_FOUND)


def test_a_batch_to_a_failed_deployment_is_409(a_client):
    files = unique_files(1)
    dep = digest(a_client, A, files).json()
    deployment_fail(deployment_id=dep["id"], code=dc.UPLOAD_INCOMPLETE, message="late")
    (data,) = files.values()
    assert_error(post_batch(a_client, A, dep["id"], make_tar([(sha(data), data)])), 409, dc.DEPLOYMENT_NOT_UPLOADING)


def test_a_batch_needs_the_write_role_and_scope(api, users, pat):
    dep = digest(api(users["web_manager"]), A, unique_files(1)).json()
    assert_error(post_batch(api(users["viewer"]), A, dep["id"], make_tar([])), 403, c.FORBIDDEN)
    reader = api(None)
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {pat(users['web_manager'], [c.SCOPE_SITES_READ])}")
    assert_error(post_batch(reader, A, dep["id"], make_tar([])), 403, c.INSUFFICIENT_SCOPE)


def test_a_batch_ignores_an_idempotency_key_and_stays_correct_when_repeated(a_client):
    files = unique_files(2)
    dep = digest(a_client, A, files).json()
    values = list(files.values())
    first = a_client.generic("POST", f"{A}/{dep['id']}/blobs", data=make_tar([(sha(values[0]), values[0])]), content_type="application/x-tar", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 200 and first.json()["stored"] == 1
    second = a_client.generic("POST", f"{A}/{dep['id']}/blobs", data=make_tar([(sha(values[1]), values[1])]), content_type="application/x-tar", HTTP_IDEMPOTENCY_KEY="k1")
    assert second.status_code == 200 and second.json()["state"] == "ready"


# --- The deployments list makes a fixed number of queries ---------------------------------

def _deployments(handle, count):
    for _ in range(count - Deployment.objects.filter(handle=handle).count()):
        deployment_create_from_digest(handle=handle, files={"/index.html": uuid.uuid4().hex * 2})


def test_the_deployments_list_makes_the_same_number_of_queries_for_10_or_60_rows(a_client, handle, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _deployments(handle, 10)
    with CaptureQueriesContext(connection) as ten:
        r = a_client.get(f"{A}?limit=200")
    assert len(r.json()["results"]) == 10
    _deployments(handle, 60)
    with django_assert_num_queries(len(ten.captured_queries)):
        r = a_client.get(f"{A}?limit=200")
    assert len(r.json()["results"]) == 60


def test_large_batch_members_are_streamed_and_checked_like_small_ones(a_client, monkeypatch):
    monkeypatch.setattr(ingest_services, "BATCH_INLINE_BYTES", 16)  # every member below is "large"
    files = unique_files(3)
    values = list(files.values())
    dep = digest(a_client, A, files).json()
    members = [(sha(values[0]), values[0]), (sha(values[0]), values[0]), (sha(values[1]), values[2])]
    err = assert_error(post_batch(a_client, A, dep["id"], make_tar(members)), 422, dc.BLOB_HASH_MISMATCH)
    assert err["details"]["stored"] == 1 and not Blob.objects.filter(sha256=sha(values[1])).exists()
    r = post_batch(a_client, A, dep["id"], make_tar([(sha(v), v) for v in values]))
    assert (r.json()["state"], r.json()["stored"], r.json()["skipped"]) == ("ready", 2, 1)


def test_an_unlisted_member_after_listed_ones_keeps_those_before_it(a_client):
    files = unique_files(2)
    values = list(files.values())
    dep = digest(a_client, A, files).json()
    stray = b"stray " + uuid.uuid4().bytes
    members = [(sha(values[0]), values[0]), (sha(stray), stray), (sha(values[1]), values[1])]
    err = assert_error(post_batch(a_client, A, dep["id"], make_tar(members)), 422, dc.BLOB_NOT_REQUIRED)
    assert err["details"] == {"sha256": sha(stray), "stored": 1}
    assert not Blob.objects.filter(sha256__in=[sha(stray), sha(values[1])]).exists()
    assert a_client.get(f"{A}/{dep['id']}").json()["required"] == [sha(values[1])]
