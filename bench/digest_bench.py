"""Digest deploys on a small store and on a store of 300,000 blobs, over HTTP, in one run.

One command (from the repository root; PostgreSQL is required, the database is created
and dropped by the run):

    .venv/bin/python bench/digest_bench.py --database-url postgres://postgres@127.0.0.1:5432/gh_digest_bench \\
        --redis-url redis://127.0.0.1:6379/3 --write

It starts gunicorn on a 127.0.0.1 ephemeral port over a throwaway project and measures,
first on the small store and then again after seeding ``--seed`` blobs (the blobs of
another handle's ``--seed / 10,000`` deployments of 10,000 files, written with COPY):

1. per-PUT time: a digest deployment of ``--puts`` new files, each blob sent by one
   ``PUT .../blobs/{sha256}`` on one keep-alive connection (median and p95);
2. the CLI's first deploy (``python -m gharart_cli deploy``) of a ``--files``-file folder
   the handle never sent (hash, manifest, batched parallel uploads, ready);
3. the zip upload of a twin folder (same paths and sizes, other bytes, so neither run
   finds the other's blobs on disk): zip it, POST it, ready;
4. the CLI's one-file redeploy of the folder of step 2.

``--write`` replaces the ``## Digest deploys`` section of docs/benchmarks.md. Everything
it starts is stopped and its temp directory and database removed when it ends.
"""

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import free_port, teardown, wait_ready, write_section  # noqa: E402
from bench.deployments_bench import base_env, machine, pg_create, start_gunicorn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HANDLE = "bench"
PLATFORM = "platform"


def make_folder(path: Path, count: int, salt: str):
    """``count`` small HTML pages (about 1 KB each) in 50 directories, their bytes unique to ``salt``."""
    path.mkdir(parents=True)
    (path / "index.html").write_text(f"<!doctype html><title>Home {salt}</title><h1>Bench</h1>")
    for i in range(count - 1):
        section = path / f"section-{i % 50:02d}"
        section.mkdir(exist_ok=True)
        body = f"<!doctype html><title>Page {i}</title><h1>Item {i} {salt}</h1><p>{'Handmade homeware from small studios. ' * 20}</p>"
        (section / f"page-{i:05d}.html").write_text(body)
    return path


def zip_folder(path: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(path).as_posix())
    return buf.getvalue()


def ms_stats(values):
    values = sorted(values)
    return statistics.median(values) * 1000, values[max(0, int(len(values) * 0.95) - 1)] * 1000


# --- Seeding -----------------------------------------------------------------------------

def seed_store(count: int) -> float:
    """Insert ``count`` blob rows and the deployments (of another handle) that list them, by COPY."""
    from django.db import connection

    from deployments.models import Deployment
    from gharart import services as gservices

    started = time.perf_counter()
    owner, _ = gservices.user_get_or_create(username="platform-owner")
    platform = gservices.handle_create(slug=PLATFORM, owner=owner)
    per_dep = 10_000
    deps = [Deployment.objects.create(handle=platform, version=v + 1, state="ready", file_count=per_dep) for v in range((count + per_dep - 1) // per_dep)]
    now = datetime.now(UTC)
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cur:
        with cur.copy("COPY deployments_blob (sha256, size, created_at, last_put_at) FROM STDIN") as copy:
            for i in range(count):
                copy.write_row((hashlib.sha256(f"seed-{i}".encode()).hexdigest(), 1000, now, now))
        with cur.copy("COPY deployments_deploymentfile (deployment_id, path, sha256, size, content_type, confidential, held) FROM STDIN") as copy:
            for i in range(count):
                copy.write_row((deps[i // per_dep].id, f"/section-{i % 50:02d}/page-{i:06d}.html", hashlib.sha256(f"seed-{i}".encode()).hexdigest(), 1000, "text/html; charset=utf-8", False, True))
        cur.execute("ANALYZE deployments_blob")
        cur.execute("ANALYZE deployments_deploymentfile")
    raw.commit()
    return time.perf_counter() - started


# --- Measurements -------------------------------------------------------------------------

def measure_puts(client, base, count, salt):
    blobs = {f"/put-{salt}-{i}.html": f"<p>put {salt} {i} {'x' * 200}</p>".encode() for i in range(count)}
    r = client.post(base, json={"files": {p: hashlib.sha256(b).hexdigest() for p, b in blobs.items()}})
    assert r.status_code == 201, r.text
    dep = r.json()
    assert dep["required_count"] == count, dep
    timings = []
    last = None
    for data in blobs.values():
        started = time.perf_counter()
        r = client.put(f"{base}/{dep['id']}/blobs/{hashlib.sha256(data).hexdigest()}", content=data, headers={"Content-Type": "application/octet-stream"})
        timings.append(time.perf_counter() - started)
        assert r.status_code == 200, r.text
        last = r.json()
    assert last["state"] == "ready", last
    return {"put_ms": ms_stats(timings), "put_body_bytes": len(r.content)}


def run_cli(folder, env, *extra):
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gharart_cli", "deploy", str(folder), "--handle", HANDLE, "--json", *extra], env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"CLI deploy failed: {proc.stderr[-2000:]}")
    return elapsed, json.loads(proc.stdout.strip().splitlines()[-1])


def measure_phase(label, client, base, cli_env, work, args):
    print(f"[{label}] {args.puts} single PUTs ...", flush=True)
    puts = measure_puts(client, base, args.puts, label)
    print(f"[{label}] zip upload of a {args.files}-file folder ...", flush=True)
    twin = make_folder(work / f"{label}-zip", args.files, f"{label}-zip")
    started = time.perf_counter()
    archive = zip_folder(twin)
    zipped = time.perf_counter()
    r = client.post(base, files={"artifact": ("site.zip", archive, "application/zip")}, data={"message": "zip"})
    done = time.perf_counter()
    assert r.status_code == 201 and r.json()["state"] == "ready", r.text[:500]
    zip_build_s, zip_post_s = zipped - started, done - zipped
    print(f"[{label}] CLI first deploy of a {args.files}-file folder ...", flush=True)
    folder = make_folder(work / f"{label}-cli", args.files, f"{label}-cli")
    cli_first_s, first = run_cli(folder, cli_env, "--jobs", str(args.jobs))
    assert first["state"] == "ready" and first["uploaded"] == args.files, first
    print(f"[{label}] CLI one-file redeploy ...", flush=True)
    (folder / "section-07" / "page-00007.html").write_text(f"<p>changed {label}</p>")
    cli_one_s, one = run_cli(folder, cli_env, "--jobs", str(args.jobs))
    assert one["state"] == "ready" and one["uploaded"] == 1, one
    return {
        **puts,
        "zip_build_s": zip_build_s,
        "zip_post_s": zip_post_s,
        "zip_mib": len(archive) / 1024 / 1024,
        "cli_first_s": cli_first_s,
        "cli_one_s": cli_one_s,
    }


def loadavg():
    return Path("/proc/loadavg").read_text().split()[:3]


def report(args, mach, small, large, seed_s, blobs_large, load_end):
    def row(name, key, fmt):
        a, b = small[key], large[key]
        return f"| {name} | {fmt(a)} | {fmt(b)} | {b / a:.2f}x |"

    s = lambda v: f"{v:.2f} s"  # noqa: E731
    lines = [
        f"Run with `.venv/bin/python bench/digest_bench.py --database-url postgres://... --redis-url redis://... --files {args.files} --seed {args.seed} --puts {args.puts} --jobs {args.jobs} --workers {args.workers}` on {datetime.now(UTC):%Y-%m-%d}.",
        "",
        f"Machine: {mach}. Load average when the run ended: {' / '.join(load_end)} (1/5/15 min; the machine is shared, so compare ratios, not absolute times).",
        "",
        f"Both columns come from the same run and server: first on a small store, then after seeding {blobs_large:,} blobs "
        f"(and the {blobs_large // 10_000} deployments of another handle that list them; COPY, {seed_s:.1f} s).",
        "",
        "| operation | small store | 300k-blob store | large / small |",
        "|---|---:|---:|---:|",
        f"| one blob `PUT`, median of {args.puts} (p95) | {small['put_ms'][0]:.1f} ms ({small['put_ms'][1]:.1f}) | {large['put_ms'][0]:.1f} ms ({large['put_ms'][1]:.1f}) | {large['put_ms'][0] / small['put_ms'][0]:.2f}x |",
        row(f"CLI first digest deploy of a {args.files:,}-file folder (hash, manifest, batched uploads, ready)", "cli_first_s", s),
        row(f"zip upload of the twin folder: POST of the {small['zip_mib']:.1f} MiB zip until ready", "zip_post_s", s),
        row("CLI one-file redeploy of that folder (hash 10,000 files, manifest, 1 upload)", "cli_one_s", s),
        "",
        "| CLI first deploy vs zip | small store | 300k-blob store |",
        "|---|---:|---:|",
        f"| CLI / zip POST | {small['cli_first_s'] / small['zip_post_s']:.2f}x | {large['cli_first_s'] / large['zip_post_s']:.2f}x |",
        f"| CLI / (zip build + POST) | {small['cli_first_s'] / (small['zip_build_s'] + small['zip_post_s']):.2f}x | {large['cli_first_s'] / (large['zip_build_s'] + large['zip_post_s']):.2f}x |",
        "",
        f"A blob `PUT` answers the deployment's state and `required_count` ({small['put_body_bytes']} bytes), not the list of what is missing. "
        "The count is kept on the deployment and counted down under its row lock; which blobs a handle holds is asked once, "
        "at creation, through the sha256 indexes, so no request reads the blob table whole. "
        f"The CLI sends files up to 1 MiB as tar batches of up to 250 (`POST .../blobs`), {args.jobs} requests at a time on keep-alive connections, "
        f"to gunicorn with {args.workers} sync workers; the zip is one request to one worker. The zip and CLI folders have the same paths and sizes "
        "but different bytes, so neither finds the other's blobs on disk.",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL URL of a database the run creates and drops")
    parser.add_argument("--redis-url", default="", help="Redis URL for the cache (a db number nobody else uses)")
    parser.add_argument("--files", type=int, default=10_000, help="files in the deployed folder")
    parser.add_argument("--seed", type=int, default=300_000, help="blobs in the large store")
    parser.add_argument("--puts", type=int, default=200, help="single PUTs timed per store")
    parser.add_argument("--jobs", type=int, default=4, help="parallel CLI uploads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--write", action="store_true", help="update the ## Digest deploys section of docs/benchmarks.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gharart-digest-bench-"))
    var_dir = work / "var"
    var_dir.mkdir()
    pg_create(args.database_url)
    server = None
    try:
        env = base_env(var_dir, args.database_url, args.redis_url)
        env.update(
            GHARART_THROTTLE_BLOB_UPLOAD="100000/min",
            GHARART_THROTTLE_WRITE="100000/min",
            GHARART_THROTTLE_READ="100000/min",
            GHARART_PUBLIC_URL="http://127.0.0.1",
            PYTHONPATH=str(ROOT),  # this checkout's code, for gunicorn and the CLI alike
        )
        os.environ.update(env)
        import django

        django.setup()
        from django.core.cache import cache
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        if args.redis_url:
            cache.clear()
        from gharart import constants as c
        from gharart import services as gservices

        user, _ = gservices.user_get_or_create(username="bench")
        gservices.handle_create(slug=HANDLE, owner=user)
        _, token = gservices.token_create(user=user, name="bench", scopes=list(c.ALL_SCOPES))
        mach = machine(args.database_url, args.redis_url, args.workers)
        connections.close_all()
        port = free_port()
        log = open(work / "gunicorn.log", "w")
        server = start_gunicorn("gharart.wsgi:application", port, {**os.environ, **env}, log, args.workers)
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}/v2/handles/{HANDLE}/site-deployments")
        cli_env = {**os.environ, "GHARART_URL": url, "GHARART_TOKEN": token}
        base = f"/v2/handles/{HANDLE}/site-deployments"
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
            small = measure_phase("small", client, base, cli_env, work, args)
            print(f"seeding {args.seed} blobs ...", flush=True)
            seed_s = seed_store(args.seed)
            connections.close_all()
            large = measure_phase("large", client, base, cli_env, work, args)
        from deployments.models import Blob

        blobs_large = Blob.objects.count()
        connections.close_all()
        text = report(args, mach, small, large, seed_s, blobs_large, loadavg())
        print()
        print(text)
        if args.write:
            write_section("Digest deploys", text)
            print("\nwrote the ## Digest deploys section of docs/benchmarks.md")
        if args.redis_url:
            cache.clear()
    finally:
        teardown(work, procs=[server] if server is not None else [], database_url=args.database_url)


if __name__ == "__main__":
    main()
