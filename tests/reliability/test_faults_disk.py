"""Disk full during an upload: 507 ``insufficient_storage``, no partial file, no row.

The blob store or the upload spool folder is put on a tiny tmpfs (when this machine lets
the test mount one), or its writes fail with ENOSPC after a few kilobytes. With the blob
store full, a file upload, a digest blob upload and an archive upload each get 507 with
``Retry-After``; with the spool folder full, a small archive does (files and blobs
never touch it);
afterwards nothing of them is on disk (blob store, its temp folder, the spool folder) or
in the database. With space again, the same upload succeeds.
"""

import errno
import gc
import hashlib
import io
import os
import subprocess

import django.core.files.uploadedfile as uploaded
import pytest
from django.core.files.storage import storages

from deployments import storage as blob_storage
from deployments.models import Blob, Deployment
from files.models import File
from tests.conftest import assert_error
from tests.deployments.conftest import make_zip

pytestmark = pytest.mark.django_db
BIG = os.urandom(300 * 1024)  # larger than the full disk's free space
LIMIT = 64 * 1024


def _files_under(path):
    out = set()
    for folder, _, names in os.walk(path):
        out.update(os.path.join(folder, n) for n in names)
    return out


class FullDisk:
    def __init__(self, root, how):
        self.root = root
        self.how = how

    def fill(self):
        if self.how == "tmpfs":
            result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={LIMIT}", "tmpfs", str(self.root)], capture_output=True)
            if result.returncode != 0:
                pytest.skip("cannot mount a tmpfs here (not root, or no permission)")

    def free(self):
        if self.how == "tmpfs":
            subprocess.run(["umount", "-l", str(self.root)], check=False)


@pytest.fixture(params=["tmpfs", "failing-writes"])
def full_disk(request, tmp_path, monkeypatch):
    root = tmp_path / "small-disk"
    root.mkdir()
    disk = FullDisk(root, request.param)
    disk.fill()
    if request.param == "failing-writes":
        # Any file opened for writing under ``root`` raises ENOSPC past LIMIT bytes.
        real_fdopen = os.fdopen

        class Capped(io.BufferedWriter):
            def write(self, data):
                if self.tell() + len(data) > LIMIT:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return super().write(data)

        def under_root(fd_or_path):
            path = os.readlink(f"/proc/self/fd/{fd_or_path}") if isinstance(fd_or_path, int) else os.fspath(fd_or_path)
            return str(path).startswith(str(root))

        def fdopen(fd, mode="r", *args, **kwargs):
            if "w" in mode and under_root(fd):
                return Capped(io.FileIO(fd, "wb", closefd=True))
            return real_fdopen(fd, mode, *args, **kwargs)

        monkeypatch.setattr(os, "fdopen", fdopen)
        real_named = uploaded.tempfile.NamedTemporaryFile

        def named(*args, **kwargs):
            handle = real_named(*args, **kwargs)
            if under_root(handle.name):
                original = handle.file.write

                def write(data):
                    if handle.file.tell() + len(data) > LIMIT:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    return original(data)

                handle.file.write = write
            return handle

        monkeypatch.setattr(uploaded.tempfile, "NamedTemporaryFile", named)
    yield disk
    disk.free()


@pytest.fixture
def blobs_on(settings):
    def move(location):
        settings.STORAGES = {**settings.STORAGES, "blobs": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}}}
        storages._storages.pop("blobs", None)
        return storages["blobs"]

    yield move
    storages._storages.pop("blobs", None)


def _state(*folders):
    return (File.objects.count(), Blob.objects.count(), Deployment.objects.count(), [sorted(_files_under(f)) for f in folders])


def _uploads(api, world):
    owner = api(world["owner"])
    digest = hashlib.sha256(BIG).hexdigest()
    yield "file upload", lambda: owner.post("/v2/handles/acme/files", {"file": io.BytesIO(BIG)}, format="multipart")
    dep = owner.post("/v2/handles/acme/site-deployments", {"files": {"/big.bin": digest}}, format="json").json()
    yield "blob upload", lambda: owner.generic("PUT", f"/v2/handles/acme/site-deployments/{dep['id']}/blobs/{digest}", BIG, content_type="application/octet-stream")
    yield "archive upload", lambda: owner.post("/v2/handles/acme/site-deployments", {"artifact": io.BytesIO(make_zip({"index.html": b"<p>hi</p>", "big.bin": BIG}))}, format="multipart")


def _refused_cleanly(response, before, folders):
    err = assert_error(response, 507, "insufficient_storage")
    assert err["message"]
    assert int(response["Retry-After"]) > 0
    response.wsgi_request = None  # the request is over (a server frees it with the response)
    gc.collect()
    assert _state(*folders) == before, "the failed upload left a row or a file behind"


def test_a_full_blob_store_answers_507_and_keeps_nothing(api, world, full_disk, blobs_on, settings, tmp_path, no_throttles):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "spool")
    os.makedirs(settings.FILE_UPLOAD_TEMP_DIR)
    old_location = blob_storage.blob_storage().location
    blobs_on(full_disk.root / "blobs")
    for _what, upload in _uploads(api, world):
        before = _state(full_disk.root, settings.FILE_UPLOAD_TEMP_DIR)
        response = upload()
        _refused_cleanly(response, before, (full_disk.root, settings.FILE_UPLOAD_TEMP_DIR))
    # With space again (the blob store back on the big disk), the same upload works.
    full_disk.free()
    blobs_on(old_location)
    assert api(world["owner"]).post("/v2/handles/acme/files", {"file": io.BytesIO(BIG)}, format="multipart").status_code == 201


def test_a_full_upload_spool_answers_507_and_keeps_nothing(api, world, full_disk, settings, no_throttles):
    settings.FILE_UPLOAD_TEMP_DIR = str(full_disk.root)
    blob_root = blob_storage.blob_storage().location
    for what, upload in _uploads(api, world):
        if what != "archive upload":
            # File and blob bodies stream into the blob store as they arrive: a full
            # spool folder does not concern them.
            assert upload().status_code in (200, 201), what
            continue
        # A small archive is unpacked from its (bounded) spool file.
        before = _state(full_disk.root, blob_root)
        response = upload()
        _refused_cleanly(response, before, (full_disk.root, blob_root))
