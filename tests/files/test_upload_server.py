"""Large uploads through a real gunicorn: flat memory, nothing spooled, bytes intact.

A 64 MiB file and a 64 MiB archive are generated while they are sent to a gunicorn
worker (its own ``GHARART_VAR_DIR`` and temp folder), on both blob backends. While the
bytes stream in, no file under the node's var/ or temp folders grows past the bounded
spool (``DEPLOY_INLINE_MAX_BYTES``; on local files the blob store's single temp file is
the blob itself, written once); the worker's peak RSS (VmHWM) grows by far less than the
upload; and what storage holds reads back with the same sha256. A client that goes away
mid-upload leaves no temp file and no multipart upload in progress.
"""

import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import zipfile

import httpx
import pytest

from deployments import storage
from tests.blobs import leftovers, uploads_in_progress
from tests.reliability.servers import free_port, wait_for_port

pytestmark = [pytest.mark.blobs, pytest.mark.django_db(transaction=True)]
MiB = 1024 * 1024
SIZE = 64 * MiB
CHECK_EVERY = 8 * MiB
# Far below the 64 MiB sent: on S3 one 8 MiB part (and its joined copy) is in memory.
MAX_RSS_GROWTH_KB = 30 * 1024
# The largest file the node may write outside the blob store: the small-archive spool.
SPOOL_BOUND = 1 * MiB
BOUNDARY = "gharartstreamboundary"


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


class Server:
    def __init__(self, tmp_path, env):
        self.port = free_port()
        self.dirs = [env["GHARART_VAR_DIR"], env["TMPDIR"], env["GHARART_UPLOAD_TMP"]]
        for d in self.dirs:
            os.makedirs(d, exist_ok=True)
        self.log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed in stop()
        argv = [sys.executable, "-m", "gunicorn", "gharart.wsgi:application", "-b", f"127.0.0.1:{self.port}", "-w", "1", "--timeout", "120"]
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, timeout=60)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def worker_pid(self):
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as fh:
            children = fh.read().split()
        assert len(children) == 1, children
        return int(children[0])

    def largest_spooled(self):
        """The largest file under the node's var/ and temp folders right now (bytes)."""
        largest = 0
        for root in self.dirs:
            for dirpath, _, names in os.walk(root):
                for name in names:
                    try:
                        largest = max(largest, os.path.getsize(os.path.join(dirpath, name)))
                    except FileNotFoundError:
                        pass
        return largest

    def tail(self):
        with open(self.log.name, "rb") as fh:
            return fh.read()[-3000:].decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


@pytest.fixture
def server(tmp_path, blob_backend, monkeypatch):
    from django.db import connection

    env = dict(os.environ)
    if blob_backend == "local":  # the node's blob store is this test's (blob_backend: tmp_path/blobs)
        env = {k: v for k, v in env.items() if not k.startswith("GHARART_S3_")}
        env["GHARART_MEDIA_ROOT"] = str(tmp_path)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        GHARART_TEST_DB_NAME=str(connection.settings_dict["NAME"]),
        GHARART_VAR_DIR=str(tmp_path / "node"),
        TMPDIR=str(tmp_path / "node-tmp"),
        GHARART_UPLOAD_TMP=str(tmp_path / "node" / "upload-tmp"),
        GHARART_DEPLOY_INLINE_MAX_BYTES=str(SPOOL_BOUND),
        CELERY_TASK_ALWAYS_EAGER="0",  # the archive waits for a worker: only the upload is measured
        PYTHONPATH=os.getcwd(),
    )
    node = Server(tmp_path, env)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def token(users, handle):
    from gharart import constants as c
    from gharart import services

    _, secret = services.token_create(user=users[c.OWNER], name="upload", scopes=list(c.ALL_SCOPES), handle=handle)
    return secret


class MultipartBody:
    """One file field whose bytes come from ``chunks`` (an iterator), with a checkpoint
    every ``CHECK_EVERY`` bytes sent; the sha256 of the file bytes is kept."""

    def __init__(self, field, filename, size, chunks, checkpoint=None):
        self.head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n").encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.length = len(self.head) + size + len(self.tail)
        self.chunks, self.checkpoint = chunks, checkpoint
        self.digest = hashlib.sha256()

    def __iter__(self):
        yield self.head
        sent = next_check = 0
        for chunk in self.chunks:
            self.digest.update(chunk)
            yield chunk
            sent += len(chunk)
            if self.checkpoint and sent - next_check >= CHECK_EVERY:
                next_check = sent
                self.checkpoint(sent)
        yield self.tail

    def headers(self, token):
        return {"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Content-Length": str(self.length)}


def random_chunks(size, seed, chunk=MiB):
    rng = random.Random(seed)
    for start in range(0, size, chunk):
        yield rng.randbytes(min(chunk, size - start))


def file_chunks(path):
    with open(path, "rb") as fh:
        while chunk := fh.read(MiB):
            yield chunk


def post_file(node, token, size, seed, checkpoint=None):
    body = MultipartBody("file", "big.bin", size, random_chunks(size, seed), checkpoint)
    r = httpx.post(f"{node.url}/v2/handles/acme/files", content=iter(body), headers=body.headers(token), timeout=120)
    assert r.status_code == 201, (r.status_code, r.text[:500], node.tail())
    return r.json(), body.digest.hexdigest()


def read_back_sha(sha):
    digest = hashlib.sha256()
    with storage.blob_open(sha) as fh:
        while chunk := fh.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def test_a_64_mib_upload_streams_through_gunicorn_with_flat_memory_and_no_spool(server, token, tmp_path, blob_backend):
    # Warm-up: every code path of an upload (imports, the S3 client, a multipart upload).
    post_file(server, token, 9 * MiB, seed=0)
    worker = server.worker_pid()
    baseline = vm_hwm_kb(worker)
    seen = []

    def checkpoint(sent):
        seen.append((sent, server.largest_spooled()))

    # A file.
    body, sha = post_file(server, token, SIZE, seed=1, checkpoint=checkpoint)
    assert body["size"] == SIZE and body["sha256"] == sha
    assert read_back_sha(sha) == sha
    after_file = vm_hwm_kb(worker)

    # An archive, too large to unpack in the request: it goes to blob storage for a worker.
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("index.html", b"<!doctype html><p>big</p>")
        for i, part in enumerate(("a.bin", "b.bin")):
            with zf.open(part, "w") as member:
                for chunk in random_chunks(SIZE // 2, seed=10 + i):
                    member.write(chunk)
    upload = MultipartBody("artifact", "site.zip", archive.stat().st_size, file_chunks(archive), checkpoint)
    r = httpx.post(f"{server.url}/v2/handles/acme/site-deployments", content=iter(upload), headers=upload.headers(token), timeout=120)
    assert r.status_code == 201 and r.json()["state"] == "processing", (r.text[:500], server.tail())
    archive_sha = upload.digest.hexdigest()
    assert r.json()["artifact_sha256"] == archive_sha
    assert read_back_sha(archive_sha) == archive_sha
    after_archive = vm_hwm_kb(worker)

    assert len(seen) >= 14, seen
    assert max(size for _, size in seen) <= SPOOL_BOUND, f"a file of {max(s for _, s in seen)} bytes was spooled on the node: {seen}"
    growth = max(after_file, after_archive) - baseline
    print(f"gunicorn worker peak RSS {baseline} kB -> {after_file} kB (file) -> {after_archive} kB (archive), backend {blob_backend}")
    assert growth < MAX_RSS_GROWTH_KB, (baseline, after_file, after_archive)
    assert leftovers()["in_progress"] == []


def test_a_client_that_goes_away_mid_upload_leaves_nothing(server, token, blob_backend):
    before = leftovers()
    body = MultipartBody("file", "big.bin", SIZE, random_chunks(SIZE, seed=3))
    request = (f"POST /v2/handles/acme/files HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in body.headers(token).items()) + "\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(request)
        parts = iter(body)
        sent = 0
        for chunk in parts:
            sock.sendall(chunk)
            sent += len(chunk)
            if sent > 20 * MiB:
                break
        # The node is writing it (a multipart upload on S3, the blob temp file locally)...
        deadline = time.monotonic() + 30
        while not uploads_in_progress():
            assert time.monotonic() < deadline, "the upload never reached storage"
            time.sleep(0.05)
    finally:
        sock.close()  # ...and the client is gone.
    deadline = time.monotonic() + 30
    while leftovers() != before:
        assert time.monotonic() < deadline, f"left behind: {leftovers()} (was {before})\n{server.tail()}"
        time.sleep(0.05)
    assert server.proc.poll() is None, server.tail()
    # The node still takes uploads.
    post_file(server, token, MiB, seed=4)
