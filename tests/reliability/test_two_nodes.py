"""Two web nodes and two workers, one PostgreSQL, one Redis, one bucket: one truth.

Node A and node B are separate gunicorn processes, the workers separate Celery
processes, each with its own ``GHARART_VAR_DIR`` (no shared local disk): every byte goes
through S3 (a private SeaweedFS), every fact through PostgreSQL, every invalidation
through Redis. Runs in CI (PostgreSQL + Redis); skipped with a message on SQLite.
"""

import hashlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile

import httpx
import pytest

from tests.reliability.servers import free_port, wait_for_port

pytestmark = [pytest.mark.multinode, pytest.mark.django_db(transaction=True)]
BASE = "/v2/handles/acme/site-deployments"


def site(marker, n=6):
    return {
        f"page{i}.html": (f"<!doctype html><title>{marker} {i}</title><!-- deployment:{marker} -->" + "x" * (3000 * i)).encode()
        for i in range(n)
    } | {"index.html": f"<!doctype html><!-- deployment:{marker} -->".encode(), "big.bin": hashlib.sha256(marker.encode()).digest() * 40_000}


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


class Node:
    def __init__(self, name, argv, env, port=None):
        self.name, self.port = name, port
        self.log = open(env["GHARART_VAR_DIR"] + f"/{name}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

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
def cluster(request, transactional_db, tmp_path, users, handle):
    from django.db import connection

    from gharart import constants as c
    from gharart import services

    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("two nodes need PostgreSQL and Redis (DATABASE_URL, REDIS_URL): SQLite and the local-memory cache are one process's")
    request.getfixturevalue("s3_blobs")
    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    _, token = services.token_create(user=users[c.OWNER], name="nodes", scopes=list(c.ALL_SCOPES), handle=handle)
    base = dict(os.environ)  # DATABASE_URL, REDIS_URL and the GHARART_S3_* of s3_blobs
    base.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        GHARART_TEST_DB_NAME=str(connection.settings_dict["NAME"]),
        CELERY_TASK_ALWAYS_EAGER="0",
        GHARART_DEPLOY_INLINE_MAX_BYTES="1024",  # every archive goes to a worker
        PYTHONPATH=os.getcwd(),
    )
    nodes = []
    try:
        for name in ("worker-1", "worker-2"):
            env = {**base, "GHARART_VAR_DIR": str(tmp_path / name)}
            os.makedirs(env["GHARART_VAR_DIR"])
            nodes.append(Node(name, [sys.executable, "-m", "celery", "-A", "gharart", "worker", "--pool=solo", "-n", f"{name}@%h", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"], env))
        web = {}
        for name in ("a", "b"):
            env = {**base, "GHARART_VAR_DIR": str(tmp_path / f"node-{name}")}
            os.makedirs(env["GHARART_VAR_DIR"])
            port = free_port()
            node = Node(f"node-{name}", [sys.executable, "-m", "gunicorn", "gharart.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "4", "--timeout", "60"], env, port)
            nodes.append(node)
            web[name] = node
        for node in web.values():
            wait_for_port(node.port, timeout=60)
        for node in nodes:
            assert node.proc.poll() is None, node.tail()
        yield {"a": web["a"], "b": web["b"], "headers": {"Authorization": f"Bearer {token}"}, "nodes": nodes}
    finally:
        for node in nodes:
            node.stop()


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def ready_on(node, headers, dep_id):
    def check():
        body = httpx.get(f"{node.url}{BASE}/{dep_id}", headers=headers, timeout=10).json()
        assert body["state"] != "failed", body
        return body if body["state"] == "ready" else None

    return wait_until(check, 120, f"deployment {dep_id} ready")


def promote(node, headers, dep_id):
    assert httpx.get(f"{node.url}{BASE}/{dep_id}/preview", headers=headers, timeout=30).status_code == 200
    r = httpx.post(f"{node.url}{BASE}/{dep_id}/promote", headers=headers, json={"reason": "two nodes"}, timeout=30)
    assert r.status_code == 200, r.text
    return r


def test_two_nodes_share_uploads_deploys_promotes_and_serve_without_mixing(cluster):
    a, b, headers = cluster["a"], cluster["b"], cluster["headers"]

    # An archive uploaded to A, unpacked by whichever worker takes it, served by B.
    first = site("one")
    r = httpx.post(f"{a.url}{BASE}", headers=headers, files={"artifact": ("site.zip", make_zip(first), "application/zip")}, timeout=60)
    assert r.status_code in (201, 202) and r.json()["state"] == "processing", r.text
    one = r.json()["id"]
    ready_on(b, headers, one)
    promote(a, headers, one)
    # The promote on A is seen on B within a second (live state invalidated through Redis).
    wait_until(lambda: httpx.get(f"{b.url}/profiles/acme/", timeout=10).headers.get("X-Gharart-Deployment") == one, 1.0, "B to serve the promoted deployment")
    for path, data in first.items():
        got = httpx.get(f"{b.url}/profiles/acme/{path}", timeout=30)
        assert got.status_code == 200 and got.content == data, path
    ranged = httpx.get(f"{b.url}/profiles/acme/big.bin", headers={"Range": "bytes=1000-1999"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == first["big.bin"][1000:2000]

    # A digest deploy created on B gets its blobs through A.
    second = site("two")
    manifest = {"/" + path: hashlib.sha256(data).hexdigest() for path, data in second.items()}
    r = httpx.post(f"{b.url}{BASE}", headers=headers, json={"files": manifest}, timeout=30)
    assert r.status_code in (200, 201, 202), r.text
    two = r.json()["id"]
    by_sha = {hashlib.sha256(data).hexdigest(): data for data in second.values()}
    assert r.json()["required"]
    for sha in r.json()["required"]:
        put = httpx.put(f"{a.url}{BASE}/{two}/blobs/{sha}", headers={**headers, "Content-Type": "application/octet-stream"}, content=by_sha[sha], timeout=30)
        assert put.status_code in (200, 201), put.text
    ready_on(b, headers, two)

    # Concurrent reads on both nodes while the live deployment swaps: no 5xx, no mixing.
    expected = {one: first, two: second}
    problems, counts = [], {"ok": 0}
    stop = threading.Event()

    def reader(node, path):
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                resp = http.get(f"{node.url}/profiles/acme/{path}")
                dep = resp.headers.get("X-Gharart-Deployment")
                if resp.status_code >= 500:
                    problems.append((node.name, path, resp.status_code))
                elif dep not in expected or resp.content != expected[dep][path]:
                    problems.append((node.name, path, dep, resp.status_code, resp.content[:80]))
                else:
                    counts["ok"] += 1

    threads = [threading.Thread(target=reader, args=(node, path)) for node in (a, b) for path in ("index.html", "page3.html", "big.bin")]
    for t in threads:
        t.start()
    try:
        promote(a, headers, two)
        for i in range(4):
            node = (b, a)[i % 2]
            r = httpx.post(f"{node.url}{BASE}/{(one, two)[i % 2]}/rollback", headers=headers, json={"reason": "swap"}, timeout=30)
            assert r.status_code == 200, r.text
            live = (one, two)[i % 2]
            other = (a, b)[i % 2]
            wait_until(lambda other=other, live=live: httpx.get(f"{other.url}/profiles/acme/", timeout=10).headers.get("X-Gharart-Deployment") == live, 1.0, "the other node to follow the swap")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert problems == [], problems[:10]
    assert counts["ok"] > 0
    for node in cluster["nodes"]:
        assert node.proc.poll() is None, node.tail()
