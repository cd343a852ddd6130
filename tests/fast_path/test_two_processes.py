"""A promote is seen within one second by another node's fast path (real Redis, PostgreSQL).

Node B is a gunicorn process of its own (the fast path in front of Django, the default
recheck interval); this process promotes, node B must serve the new bytes within 1 s.
"""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from gharart import constants as c
from tests.deployments.conftest import publish
from tests.reliability.servers import free_port, wait_for_port

pytestmark = pytest.mark.django_db(transaction=True)
HOST = "acme.sites.gharart.com"


@pytest.fixture
def node_b(tmp_path):
    from django.db import connection

    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("a second node needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "GHARART_TEST_DB_NAME": str(connection.settings_dict["NAME"]), "PYTHONPATH": os.getcwd()}
    env.pop("GHARART_SITE_FAST_PATH_RECHECK_MS", None)  # the default interval
    port = free_port()
    log = open(tmp_path / "node-b.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "gharart.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1", "--timeout", "60"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
        log.close()


def test_a_promote_and_a_rollback_are_seen_by_another_node_within_a_second(node_b, handle, users):
    from deployments.services.releases import deployment_promote, deployment_rollback

    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    first = publish(handle, {"index.html": b"<!doctype html>one"}, actor=users["owner"])

    def page():
        r = httpx.get(node_b + "/", headers={"Host": HOST}, timeout=10)
        assert r.status_code == 200 and r.headers["X-Request-ID"]
        return r

    for _ in range(3):  # warm: node B answers from its fast-path index
        assert page().content == b"<!doctype html>one"

    def seen_within(expected, started):
        while time.monotonic() - started < 1.0:
            r = page()
            if r.content == expected:
                return r
            time.sleep(0.02)
        raise AssertionError(f"node B still served {r.content!r} one second after the change")

    second = publish(handle, {"index.html": b"<!doctype html>two"}, actor=users["owner"], promote=False)
    started = time.monotonic()
    deployment_promote(deployment=second, actor=users["owner"], role="owner", reason="test")
    assert seen_within(b"<!doctype html>two", started).headers["X-Gharart-Deployment"] == second.id
    started = time.monotonic()
    deployment_rollback(deployment=first, actor=users["owner"], reason="test")
    assert seen_within(b"<!doctype html>one", started).headers["X-Gharart-Deployment"] == first.id
