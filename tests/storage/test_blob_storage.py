"""The blob store's contract, on both backends (local files and S3 on SeaweedFS)."""

import hashlib
import io
import os
import random
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments import storage
from deployments.models import Blob
from deployments.services.ingest import blob_orphans_remove
from tests.blobs import stored_names

pytestmark = [pytest.mark.django_db, pytest.mark.blobs]


class Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes a read (like a request body)."""

    def __init__(self, data, step=100_000):
        self.data, self.pos, self.step = data, 0, step

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.step if n is None or n < 0 else min(n, self.step)
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out


def test_the_backend_under_test_is_the_one_named(blob_backend):
    assert storage.is_object_storage() == (blob_backend == "s3")


@pytest.mark.parametrize("size", [0, 1, 300_000, storage.S3_PART_SIZE * 2 + 12_345])
def test_bytes_stored_from_a_stream_read_back_whole_and_by_range(size):
    data = random.Random(size).randbytes(size)
    info = storage.blob_put_stream(Trickle(data))
    assert info.sha256 == hashlib.sha256(data).hexdigest() and info.size == size
    assert storage.blob_exists(info.sha256) and storage.blob_size(info.sha256) == size
    assert Blob.objects.get(sha256=info.sha256).size == size
    with storage.blob_open(info.sha256) as fh:
        assert fh.read() == data
    rng = random.Random(7)
    with storage.blob_open(info.sha256) as fh:
        for _ in range(6):
            start = rng.randrange(0, size) if size else 0
            length = rng.choice([1, 100, 70_000, 600_000])
            fh.seek(start)
            assert fh.read(length) == data[start : start + length]
        fh.seek(0, os.SEEK_END)
        assert fh.tell() == size
    # Nothing but the blob itself is left in storage (no temporary objects or files).
    assert stored_names() == [storage.blob_name(info.sha256)]


def test_an_announced_hash_is_checked_before_anything_is_kept():
    data = os.urandom(storage.S3_PART_SIZE + 5)
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(storage.BlobHashMismatch):
        storage.blob_put_stream(io.BytesIO(data), expected_sha256=wrong)
    assert not storage.blob_exists(wrong)
    assert not storage.blob_exists(hashlib.sha256(data).hexdigest())
    assert not Blob.objects.exists()
    if storage.is_object_storage():
        client, bucket, key_of = storage._s3()
        uploads = client.list_multipart_uploads(Bucket=bucket, Prefix=key_of("x")[:-1]).get("Uploads", [])
        assert uploads == []  # the multipart upload was aborted
    right = storage.blob_put_stream(io.BytesIO(data), expected_sha256=hashlib.sha256(data).hexdigest())
    with storage.blob_open(right.sha256) as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == right.sha256


def test_past_the_size_limit_nothing_is_kept():
    data = os.urandom(storage.S3_PART_SIZE * 2)
    with pytest.raises(storage.BlobTooLarge):
        storage.blob_put_stream(io.BytesIO(data), max_bytes=storage.S3_PART_SIZE + 1)
    assert not storage.blob_exists(hashlib.sha256(data).hexdigest())
    assert not Blob.objects.exists()
    assert stored_names() == []


def test_storing_the_same_bytes_twice_keeps_one_copy():
    data = os.urandom(1000)
    a = storage.blob_put_bytes(data)
    b = storage.blob_put_stream(io.BytesIO(data))
    assert a == b
    assert [n for n in stored_names() if n.endswith(a.sha256)] == [storage.blob_name(a.sha256)]


def test_a_missing_blob_is_file_not_found():
    sha = hashlib.sha256(b"never stored").hexdigest()
    assert not storage.blob_exists(sha)
    with pytest.raises(FileNotFoundError):
        storage.blob_open(sha)
    with pytest.raises(FileNotFoundError):
        storage.blob_size(sha)


def test_missing_blobs_are_found_among_many():
    present = [storage.blob_put_bytes(f"blob {i}".encode()).sha256 for i in range(20)]
    absent = [hashlib.sha256(f"absent {i}".encode()).hexdigest() for i in range(5)]
    assert storage.blobs_missing(present + absent) == set(absent)


def test_many_small_blobs_are_stored_at_once():
    items = [(hashlib.sha256(d).hexdigest(), d) for d in (f"small {i}".encode() * (i + 1) for i in range(50))]
    storage.blob_put_many(items)
    for sha, data in items:
        with storage.blob_open(sha) as fh:
            assert fh.read() == data
    assert Blob.objects.filter(sha256__in=[s for s, _ in items]).count() == 50


def test_an_unreferenced_blob_is_deleted_and_a_referenced_one_kept(handle):
    from tests.deployments.conftest import publish

    dep = publish(handle, {"index.html": b"<p>kept</p>"}, promote=False)
    kept = dep.files.get(path="/index.html").sha256
    loose = storage.blob_put_bytes(b"nobody uses me").sha256
    assert storage.blob_delete_if_unreferenced(kept) is False
    assert storage.blob_delete_if_unreferenced(loose) is True
    assert storage.blob_exists(kept)
    assert not storage.blob_exists(loose) and not Blob.objects.filter(sha256=loose).exists()


def test_the_sweep_never_removes_bytes_that_are_being_stored_again():
    """A blob left unreferenced for days, uploaded again (its referring row not written yet)."""
    old = timezone.now() - timedelta(days=3)
    again = storage.blob_put_bytes(b"uploaded again on another node").sha256
    forgotten = storage.blob_put_bytes(b"really forgotten").sha256
    Blob.objects.filter(sha256__in=[again, forgotten]).update(created_at=old, last_put_at=old)
    # The same bytes arrive again: the row is marked before the bytes are checked.
    storage.blob_put_bytes(b"uploaded again on another node")
    removed = blob_orphans_remove(older_than=timezone.now() - timedelta(days=1))
    assert removed == 1
    assert storage.blob_exists(again) and Blob.objects.filter(sha256=again).exists()
    assert not storage.blob_exists(forgotten)


def test_the_sweep_rechecks_the_store_time_under_the_lock():
    sha = storage.blob_put_bytes(b"fresh").sha256
    # Chosen as a candidate with an old cut-off, but stored since: kept.
    assert storage.blob_delete_if_unreferenced(sha, stored_before=timezone.now() - timedelta(hours=1)) is False
    assert storage.blob_exists(sha)
    assert storage.blob_delete_if_unreferenced(sha, stored_before=timezone.now() + timedelta(seconds=1)) is True


def test_a_large_upload_copied_into_place_in_parts_keeps_every_byte(monkeypatch):
    """Without an announced hash a large upload lands under tmp/ and is copied part by part."""
    monkeypatch.setattr(storage, "S3_COPY_PART", 5 * 1024 * 1024)  # S3's smallest part
    data = random.Random(3).randbytes(storage.S3_PART_SIZE * 2 + 999)
    info = storage.blob_put_stream(io.BytesIO(data))
    with storage.blob_open(info.sha256) as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == info.sha256
    assert stored_names() == [storage.blob_name(info.sha256)]


def test_a_batch_that_fails_half_way_leaves_no_temporary_file_and_no_row(blob_backend, monkeypatch):
    if blob_backend != "local":
        pytest.skip("temporary files and filesystem syncs are the local backend's")
    items = [(hashlib.sha256(d).hexdigest(), d) for d in (f"batch {i}".encode() for i in range(20))]
    real_move = storage._move_into_place
    moved = []

    def move_then_fail(tmp_path, sha):
        if len(moved) == 5:
            raise OSError("the disk went away")
        moved.append(sha)
        real_move(tmp_path, sha)

    monkeypatch.setattr(storage, "_move_into_place", move_then_fail)
    with pytest.raises(OSError):
        storage.blob_put_many(items)
    assert os.listdir(storage._tmp_dir()) == []
    assert not Blob.objects.filter(sha256__in=[s for s, _ in items]).exists()
    monkeypatch.setattr(storage, "_move_into_place", real_move)
    storage.blob_put_many(items)  # the retry stores them all
    assert os.listdir(storage._tmp_dir()) == []
    for sha, data in items:
        with storage.blob_open(sha) as fh:
            assert fh.read() == data


def test_a_batch_is_synced_before_its_files_take_their_names_and_before_its_rows(blob_backend, monkeypatch):
    if blob_backend != "local":
        pytest.skip("filesystem syncs are the local backend's")
    events = []
    real_sync, real_move = storage._sync_filesystem, storage._move_into_place
    monkeypatch.setattr(storage, "_sync_filesystem", lambda path: (events.append("sync"), real_sync(path)))
    monkeypatch.setattr(storage, "_move_into_place", lambda tmp, sha: (events.append("rename"), real_move(tmp, sha)))
    items = [(hashlib.sha256(d).hexdigest(), d) for d in (f"ordered {i}".encode() for i in range(3))]
    storage.blob_put_many(items)
    assert events == ["sync", "rename", "rename", "rename", "sync"]
