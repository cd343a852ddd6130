"""A throwaway Gharart stack for load and fault scripts: settings, database, seed, gunicorn.

Everything lives in a temporary directory and on loopback ephemeral ports; ``close()``
stops what was started and removes the directory. Used by ``bench/load.py`` and the
scripts under ``bench/faults/``.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.reliability.servers import free_port, wait_for_port  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")

# Two site deployments that differ in every page: each page names its deployment, so a
# client can tell which one answered (and that no response mixes them).
PAGES = ["index.html", "about.html", "shop/index.html", "shop/lamp.html", "css/site.css"]

SEED = r'''
import json, sys
from deployments.selectors.deployments import deployment_get
from deployments.services import ingest, releases
from files import services as f
from gharart import constants as c, services as g
from tests.deployments.conftest import make_zip, upload
from tests.files.conftest import Upload

PAGES = json.loads(sys.argv[1])

def site(marker):
    filler = ("x" * 2000 + "\n") * 8  # ~16 KB a page, like real HTML with inline assets
    return {p: (f"<!doctype html><title>{p}</title><!-- deployment-marker:{marker} -->\n" + filler + f"<!-- end-marker:{marker} -->").encode() for p in PAGES}

owner, _ = g.user_get_or_create(username="owner", password="owner-pw-123", email="owner@example.com")
handle = g.handle_create(slug="acme", display_name="Acme", owner=owner)
handle.site_mode = c.SITE_MODE_DEPLOYMENT
handle.save(update_fields=["site_mode"])
deps = {}
for marker in ("A", "B"):
    dep = ingest.deployment_create_from_archive(handle=handle, upload=upload(make_zip(site(marker))), actor=owner, message=marker)
    releases.deployment_preview_report(deployment=dep, actor=owner)
    dep.refresh_from_db()
    releases.deployment_promote(deployment=dep, actor=owner, role="owner", reason="seed")
    deps[marker] = dep.id
# A is live; B was live before, so either can be rolled back to.
releases.deployment_rollback(deployment=deployment_get(handle=handle, deployment_id=deps["A"]), actor=owner, reason="seed")
public = f.file_upload(handle=handle, actor=owner, upload=Upload(b"%PDF-1.7\n" + b"0" * 200_000 + b"\n%%EOF\n", "media-kit.pdf"), access="public")
_, secret = g.token_create(user=owner, name="bench", scopes=list(c.ALL_SCOPES))
print(json.dumps({"deployments": deps, "public_file": public.id, "public_file_size": public.size, "token": secret}))
'''


class Stack:
    def __init__(self, *, database_url=None, redis_url=None, name="gharart-stack", env=None):
        self.dir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        self.database_url = database_url
        self.redis_url = redis_url
        self.extra_env = dict(env or {})
        self.servers = []
        self.seed_data = None

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(
            DJANGO_SETTINGS_MODULE="gharart.settings",
            SECRET_KEY="bench-secret-key-0123456789-not-for-production",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            GHARART_VAR_DIR=str(self.dir / "var"),
            GHARART_PUBLIC_URL="http://127.0.0.1",
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
            # A few client threads send thousands of requests: per-caller limits would answer 429.
            GHARART_THROTTLE_READ="1000000/min",
            GHARART_THROTTLE_WRITE="1000000/min",
            GHARART_THROTTLE_PUBLIC_DOWNLOAD="1000000/min",
        )
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        env.update(extra)
        return env

    def manage(self, *args, **env):
        return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env(**env), check=True, capture_output=True, text=True, timeout=600)

    def python(self, code, *args, **env):
        wrapped = "import django; django.setup()\n" + code
        return subprocess.run([PYTHON, "-c", wrapped, *args], cwd=ROOT, env=self.env(**env), check=True, capture_output=True, text=True, timeout=600)

    def setup(self):
        self.manage("migrate", "--noinput", CELERY_TASK_ALWAYS_EAGER="1")
        out = self.python(SEED, json.dumps(PAGES), CELERY_TASK_ALWAYS_EAGER="1").stdout
        self.seed_data = json.loads(out.strip().splitlines()[-1])
        return self.seed_data

    def gunicorn(self, *, workers=2, threads=16, timeout=30):
        port = free_port()
        log = open(self.dir / f"gunicorn-{port}.log", "w")  # noqa: SIM115 - closed in close()
        proc = subprocess.Popen(
            [
                PYTHON, "-m", "gunicorn", "gharart.wsgi", "--bind", f"127.0.0.1:{port}",
                "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
                "--timeout", str(timeout), "--keep-alive", "30", "--log-level", "warning",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.servers.append((proc, log))
        wait_for_port(port, timeout=60)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):  # the workers import Django lazily: wait until they answer
            try:
                if httpx.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        return base, proc

    def worker_pids(self, proc):
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        return sorted(int(p) for p in children.read_text().split()) if children.exists() else []

    def close(self):
        for proc, log in self.servers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
            log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
