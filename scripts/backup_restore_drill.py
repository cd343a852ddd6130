"""Backup and restore drill: the procedure of docs/backup.md, run for real on throwaway copies.

One command (from the repository root):

    .venv/bin/python scripts/backup_restore_drill.py        # about 30 s

1. A PRIVATE PostgreSQL cluster (initdb on a free loopback port) gets a migrated project
   with two site deployments, internal docs and files (the demo seed plus more).
2. Backup, as documented: copy the blob store (rsync), ``pg_dump -Fc`` the database,
   copy the blob store again (blobs are immutable, so the second pass only adds the
   ones created meanwhile).
3. Restore into a NEW database (``createdb`` + ``pg_restore``) and a NEW storage folder.
4. Verify: ``manage.py verify_blobs`` on the restored copy re-hashes every blob; every
   file of every ready deployment and every shared file is checked to hash to its
   sha256; a gunicorn on the restored copy serves the profile site and a public file
   byte for byte like the original.

Prints one JSON report; exit status 0 when everything verified.
"""

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import PYTHON, ROOT, Stack  # noqa: E402
from tests.reliability.servers import PrivatePostgres, _pg_bin  # noqa: E402

CHECK = r'''
import hashlib, json
from deployments import storage
from deployments.models import Deployment, DeploymentFile
from files.models import File
bad, checked = [], 0
for label, sha in [(f"{d}:{p}", s) for d, p, s in DeploymentFile.objects.filter(deployment__state="ready").values_list("deployment_id", "path", "sha256")] + list(File.objects.values_list("id", "sha256")):
    digest = hashlib.sha256()
    try:
        with storage.blob_open(sha) as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError:
        bad.append(label); continue
    checked += 1
    if digest.hexdigest() != sha:
        bad.append(label)
print(json.dumps({"checked": checked, "bad": bad, "deployments": Deployment.objects.count(), "files": File.objects.count()}))
'''


def _blob_dir(stack):
    return stack.dir / "var" / "media" / "blobs"


def _copy_blobs(source: Path, target: Path):
    target.mkdir(parents=True, exist_ok=True)
    # No --delete: a second pass only adds blobs; the temp folder holds unfinished uploads.
    subprocess.run(["rsync", "-a", "--exclude", "tmp/", f"{source}/", f"{target}/"], check=True)


def _fetch(base, seed):
    bodies = {}
    for url in ("/profiles/acme/", "/profiles/acme/about.html", f"/v2/public/files/{seed['public_file']}"):
        response = httpx.get(base + url, timeout=30)
        bodies[url] = (response.status_code, hashlib.sha256(response.content).hexdigest())
    return bodies


def run():
    started = time.monotonic()
    pg = PrivatePostgres().init().start()
    original = restored = None
    report = {}
    try:
        pg.psql("CREATE DATABASE gharart")
        original = Stack(database_url=pg.url("gharart"), name="gharart-backup-src")
        seed = original.setup()
        original.manage("demo_seed", GHARART_DEMO_PASSWORD="demo-password-123", CELERY_TASK_ALWAYS_EAGER="1")
        base, _ = original.gunicorn(workers=1, threads=4)
        before = _fetch(base, seed)
        source_check = json.loads(original.python(CHECK).stdout.strip().splitlines()[-1])

        backup = original.dir / "backup"
        _copy_blobs(_blob_dir(original), backup / "blobs")
        subprocess.run([_pg_bin("pg_dump"), "-Fc", "-f", str(backup / "gharart.dump"), pg.url("gharart")], check=True, capture_output=True)
        _copy_blobs(_blob_dir(original), backup / "blobs")
        report["backup_bytes"] = sum(f.stat().st_size for f in backup.rglob("*") if f.is_file())

        subprocess.run([_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "gharart_restored"], check=True)
        subprocess.run([_pg_bin("pg_restore"), "--no-owner", "--exit-on-error", "-d", pg.url("gharart_restored"), str(backup / "gharart.dump")], check=True, capture_output=True)
        restored = Stack(database_url=pg.url("gharart_restored"), name="gharart-backup-dst")
        _copy_blobs(backup / "blobs", _blob_dir(restored))

        verify = subprocess.run(
            [PYTHON, "manage.py", "verify_blobs", "--json"], cwd=ROOT, env=restored.env(), capture_output=True, text=True
        )
        report["verify_blobs"] = json.loads(verify.stdout.strip().splitlines()[-1])
        report["verify_blobs_exit"] = verify.returncode
        restored_check = json.loads(restored.python(CHECK).stdout.strip().splitlines()[-1])
        base2, _ = restored.gunicorn(workers=1, threads=4)
        after = _fetch(base2, seed)
        report.update(
            source=source_check,
            restored=restored_check,
            served_identically=before == after and all(status == 200 for status, _ in before.values()),
        )
    finally:
        for stack in (original, restored):
            if stack is not None:
                stack.close()
        pg.close()
    report["ok"] = bool(
        report.get("verify_blobs", {}).get("ok")
        and report.get("verify_blobs_exit") == 0
        and not report["restored"]["bad"]
        and report["restored"]["checked"] == report["source"]["checked"] > 0
        and report["restored"]["deployments"] == report["source"]["deployments"]
        and report["restored"]["files"] == report["source"]["files"]
        and report["served_identically"]
    )
    report["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(run())
