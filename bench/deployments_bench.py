"""Deployments: ingest, digest redeploy, promote/rollback and profile-route serving speed.

One command (from the repository root):

    .venv/bin/python bench/deployments_bench.py                  # SQLite, local-memory cache
    .venv/bin/python bench/deployments_bench.py --database-url postgres://postgres@127.0.0.1:5432/gh_deploy_bench \\
        --redis-url redis://127.0.0.1:6379/3 --write              # PostgreSQL + Redis, update docs/benchmarks.md

It builds a throwaway project (its own database: a temp SQLite file, or the PostgreSQL
database named in ``--database-url``, created and dropped by the run; blobs under a temp
dir) and measures, through the real services:

1. ingest of a 10,000-file .zip archive (validated and unpacked into blobs);
2. a digest redeploy of that site with one file changed (one blob uploaded), and one with
   nothing changed;
3. promote and rollback of a 10-file and a 20,000-file deployment (``--swaps`` each);
4. requests/s of ``/profiles/{handle}/...`` for a small storefront, next to WhiteNoise
   serving the same files from a directory, each under gunicorn (same worker count) on a
   127.0.0.1 ephemeral port, loaded for ``--seconds`` by ``--clients`` Python client
   processes (httpx, one connection each, cycling through the same URLs).

``--write`` replaces the ``## Deployments`` section of docs/benchmarks.md. Everything it
starts is stopped and its temp directory (and database) removed when it ends.
"""

import argparse
import io
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import free_port, pg_create, stop, teardown, wait_ready, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HANDLE = "bench"


# --- Processes ---------------------------------------------------------------------------

def start_gunicorn(app, port, env, log, workers):
    cmd = [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "sync", "--timeout", "120", "--log-level", "warning"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


# --- Environment -------------------------------------------------------------------------

def base_env(var_dir, database_url, redis_url):
    return {
        "GHARART_VAR_DIR": str(var_dir),
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "DJANGO_SETTINGS_MODULE": "gharart.settings",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "0",
        "DATABASE_URL": database_url or "",
        "REDIS_URL": redis_url or "",
        "GHARART_DEPLOY_INLINE_MAX_BYTES": str(1024 * 1024 * 1024),
        "LOG_LEVEL": "WARNING",
    }


def machine(database_url, redis_url, workers):
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")))
    from importlib.metadata import version

    import django
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            db = f"PostgreSQL {cur.fetchone()[0].split()[0]}"
    else:
        import sqlite3

        db = f"SQLite {sqlite3.sqlite_version}"
    cache = "Redis" if redis_url else "local-memory cache"
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, Django {django.get_version()}, {db}, {cache}, gunicorn {version('gunicorn')} "
        f"({workers} sync workers per server), WhiteNoise {version('whitenoise')}, httpx {version('httpx')}; blobs on the local filesystem"
    )


# --- Site content --------------------------------------------------------------------------

def big_site(count):
    """``count`` small, distinct HTML pages in nested directories (like a docs or shop export)."""
    files = {"index.html": b"<!doctype html><title>Home</title><h1>Bench</h1>"}
    for i in range(count - 1):
        body = f"<!doctype html><title>Page {i}</title><h1>Item {i}</h1><p>{'Handmade homeware from small studios. ' * 20}</p><a href='../index.html'>home</a>"
        files[f"section-{i % 50:02d}/page-{i:05d}.html"] = body.encode()
    return files


def zip_bytes(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


class Upload(io.BytesIO):
    def __init__(self, data, name):
        super().__init__(data)
        self.name = name
        self.size = len(data)

    def chunks(self, size=1024 * 1024):
        self.seek(0)
        while chunk := self.read(size):
            yield chunk


def ms(values):
    values = sorted(values)
    p95 = values[max(0, int(len(values) * 0.95) - 1)]
    return statistics.median(values) * 1000, p95 * 1000


# --- Measurements -------------------------------------------------------------------------

def measure_ingest_and_redeploy(handle, user, files_count):
    from deployments import storage
    from deployments.models import DeploymentFile
    from deployments.services.ingest import (
        deployment_blob_put,
        deployment_create_from_archive,
        deployment_create_from_digest,
    )

    files = big_site(files_count)
    archive = zip_bytes(files)
    started = time.perf_counter()
    dep = deployment_create_from_archive(handle=handle, upload=Upload(archive, "site.zip"), message="bench", actor=user)
    ingest_s = time.perf_counter() - started
    assert dep.state == "ready" and dep.file_count == files_count, dep.state

    manifest = dict(DeploymentFile.objects.filter(deployment=dep).values_list("path", "sha256"))
    changed_path = "/section-07/page-00007.html"
    new_bytes = b"<!doctype html><title>Page 7</title><h1>Changed</h1>"
    changed = {**manifest, changed_path: __import__("hashlib").sha256(new_bytes).hexdigest()}
    started = time.perf_counter()
    redeploy, required = deployment_create_from_digest(handle=handle, files=changed, message="one file", actor=user)
    assert len(required) == 1
    for sha in required:
        redeploy, left = deployment_blob_put(deployment=redeploy, sha256=sha, stream=io.BytesIO(new_bytes))
    digest_one_s = time.perf_counter() - started
    assert redeploy.state == "ready"
    started = time.perf_counter()
    same, required = deployment_create_from_digest(handle=handle, files=changed, message="no change", actor=user)
    digest_none_s = time.perf_counter() - started
    assert same.state == "ready" and required == []
    return {
        "ingest_s": ingest_s,
        "archive_mib": len(archive) / 1024 / 1024,
        "unpacked_mib": sum(len(v) for v in files.values()) / 1024 / 1024,
        "files": files_count,
        "digest_one_s": digest_one_s,
        "digest_none_s": digest_none_s,
        "manifest": manifest,
        "blob_exists": storage.blob_exists,
    }


def measure_swaps(handle, user, manifest, swaps):
    """Promote/rollback timings for a 10-file and a 20,000-file pair, rounds interleaved so
    both sizes see the same database state (no ordering bias)."""
    from deployments.services.ingest import (
        deployment_create_from_digest,
    )
    from deployments.services.releases import (
        deployment_preview_report,
        deployment_promote,
        deployment_rollback,
    )

    shas = list(manifest.values())
    pairs = {}
    for size in (10, 20_000):
        pairs[size] = []
        for label in ("a", "b"):
            # Paths are distinct per deployment; the bytes reuse blobs already stored.
            files = {f"/{label}/f{i:05d}.html": shas[i % len(shas)] for i in range(size - 1)}
            files["/index.html"] = shas[0]
            dep, required = deployment_create_from_digest(handle=handle, files=files, message=f"{size} files {label}", actor=user)
            assert not required and dep.state == "ready"
            deployment_preview_report(deployment=dep, actor=user)
            pairs[size].append(dep)
    timings = {size: {"promote": [], "rollback": []} for size in pairs}
    for size in pairs:  # untimed warm-up round
        for dep in pairs[size]:
            deployment_promote(deployment=dep, actor=user, role="owner", reason="warm-up")
    for _ in range(swaps):
        for size, pair in pairs.items():
            for dep in pair:
                started = time.perf_counter()
                deployment_promote(deployment=dep, actor=user, role="owner", reason="bench")
                timings[size]["promote"].append(time.perf_counter() - started)
            # b is live: roll back to a, then to b (both were live before).
            for dep in pair:
                started = time.perf_counter()
                deployment_rollback(deployment=dep, actor=user, reason="bench")
                timings[size]["rollback"].append(time.perf_counter() - started)
            # Leaves b live again for the next round.
    return {
        size: {"promote": ms(t["promote"]), "rollback": ms(t["rollback"]), "n_promote": len(t["promote"]), "n_rollback": len(t["rollback"])}
        for size, t in timings.items()
    }


def _client_loop(base, paths, seconds, per_path_headers, queue):
    counts, latencies = {}, []
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            deadline = time.perf_counter() + seconds
            i = 0
            while time.perf_counter() < deadline:
                path = paths[i % len(paths)]
                i += 1
                started = time.perf_counter()
                try:
                    r = client.get(path, headers=per_path_headers.get(path))
                    _ = r.content
                    key = r.status_code
                except httpx.HTTPError:
                    key = "error"
                latencies.append(time.perf_counter() - started)
                counts[key] = counts.get(key, 0) + 1
    finally:
        queue.put((counts, latencies))


def load(base, paths, seconds, clients, etags=None):
    """``clients`` processes requesting ``paths`` round-robin for ``seconds``; totals and latency."""
    queue = multiprocessing.Queue()
    # With etags, each client revalidates: If-None-Match with the ETag it already holds.
    per_path = {p: {"If-None-Match": etags[p]} for p in paths} if etags else {}
    procs = []
    for n in range(clients):
        proc = multiprocessing.Process(target=_client_loop, args=(base, paths[n:] + paths[:n], seconds, per_path, queue))
        proc.start()
        procs.append(proc)
    counts, latencies = {}, []
    for _ in procs:
        c, lat = queue.get(timeout=seconds + 60)
        for k, v in c.items():
            counts[k] = counts.get(k, 0) + v
        latencies.extend(lat)
    for proc in procs:
        proc.join(10)
    total = sum(counts.values())
    latencies.sort()
    return {
        "rps": total / seconds,
        "requests": total,
        "statuses": counts,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
    }


def measure_serving(handle, user, work, env, args):
    from deployments import demo
    from deployments.services.ingest import (
        deployment_create_from_archive,
    )
    from deployments.services.releases import (
        deployment_preview_report,
        deployment_promote,
    )
    from deployments.services.site import site_mode_set
    from gharart import constants as c

    site = demo.site_files()
    dep = deployment_create_from_archive(handle=handle, upload=Upload(zip_bytes(site), "shop.zip"), message="storefront", actor=user)
    deployment_preview_report(deployment=dep, actor=user)
    deployment_promote(deployment=dep, actor=user, role="owner", reason="bench")
    site_mode_set(handle=handle, mode=c.SITE_MODE_DEPLOYMENT, actor=user)
    from django.core.cache import cache

    cache.clear()
    site_root = work / "site"
    for name, data in site.items():
        target = site_root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    rel = ["", "about.html", "products/", "products/jute-rug.html", "contact.html", "css/site.css", "img/logo.png"]
    log = open(work / "servers.log", "wb")  # noqa: SIM115 - closed with the temp dir
    ours_port, wn_port = free_port(), free_port()
    env = {**env, "BENCH_SITE_ROOT": str(site_root), "PYTHONPATH": str(ROOT)}
    procs = [start_gunicorn("gharart.wsgi:application", ours_port, env, log, args.workers), start_gunicorn("bench.deployments_whitenoise:application", wn_port, env, log, args.workers)]
    try:
        ours, wn = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{wn_port}"
        ours_paths = [f"/profiles/{HANDLE}/{p}" for p in rel]
        wn_paths = [f"/site/{p}" for p in rel]
        wait_ready(ours + "/healthz")
        wait_ready(wn + "/site/")
        for path in ours_paths:  # same bytes from both servers
            a, b = httpx.get(ours + path), httpx.get(wn + "/site/" + path.split(f"/profiles/{HANDLE}/", 1)[1])
            assert a.status_code == 200 and a.content == b.content, path
        etags = {p: httpx.get(ours + p).headers["ETag"] for p in ours_paths}
        cases = (
            ("WhiteNoise, same files from a directory", wn, wn_paths, None),
            ("Gharart `/profiles/{handle}/...`", ours, ours_paths, None),
            ("Gharart, revalidation (`If-None-Match` -> 304)", ours, ours_paths, etags),
        )
        for _, base, paths, tags in cases:
            load(base, paths, 2, args.clients, tags)  # warm-up: caches, connections, page cache
        # Rounds interleave the servers, so background load on the machine hits them alike.
        runs = {name: [] for name, *_ in cases}
        for _ in range(args.rounds):
            for name, base, paths, tags in cases:
                runs[name].append(load(base, paths, args.seconds, args.clients, tags))
        rows = []
        for name, results in runs.items():
            statuses = {}
            for r in results:
                for k, v in r["statuses"].items():
                    statuses[k] = statuses.get(k, 0) + v
            rows.append(
                {
                    "name": name,
                    "rps": statistics.median(r["rps"] for r in results),
                    "rps_all": [r["rps"] for r in results],
                    "p50_ms": statistics.median(r["p50_ms"] for r in results),
                    "p99_ms": statistics.median(r["p99_ms"] for r in results),
                    "statuses": statuses,
                }
            )
        return rows, rel
    finally:
        for proc in procs:
            stop(proc)


# --- Report -------------------------------------------------------------------------------

def report(args, mach, ingest, swaps, serving, rel):
    cmd = "`.venv/bin/python bench/deployments_bench.py" + (f" --database-url {args.database_url}" if args.database_url else "") + (f" --redis-url {args.redis_url}" if args.redis_url else "") + "`"
    load_avg = os.getloadavg()[0]
    lines = [
        f"Run with {cmd} on {time.strftime('%Y-%m-%d', time.gmtime())}.",
        "",
        f"Machine: {mach}. Load average when the run ended: {load_avg:.1f} (the machine is shared).",
        "",
        "| operation | time |",
        "|---|---:|",
        f"| ingest a {ingest['files']:,}-file .zip ({ingest['archive_mib']:.1f} MiB, {ingest['unpacked_mib']:.1f} MiB unpacked): validate, unpack to blobs, record the manifest | {ingest['ingest_s']:.2f} s |",
        f"| digest redeploy of that site with one file changed (manifest of {ingest['files']:,} paths, `required` = 1 blob, upload it, `ready`) | {ingest['digest_one_s'] * 1000:.0f} ms |",
        f"| digest redeploy with nothing changed (`required` empty, `ready` at once) | {ingest['digest_none_s'] * 1000:.0f} ms |",
        "",
        "| promote / rollback (service call: lock, checks, release row, pointer swap, audit, commit) | 10 files | 20,000 files |",
        "|---|---:|---:|",
    ]
    for op in ("promote", "rollback"):
        small, large = swaps[10][op], swaps[20_000][op]
        n = swaps[10][f"n_{op}"]
        lines.append(f"| {op}, median (p95) of {n} | {small[0]:.1f} ms ({small[1]:.1f}) | {large[0]:.1f} ms ({large[1]:.1f}) |")
    lines += [
        "",
        f"Serving a {len(rel)}-URL storefront (HTML pages, a stylesheet, a PNG; directory URLs resolve to `index.html`), "
        f"{args.clients} client processes cycling through the same URLs, {args.rounds} interleaved rounds of {args.seconds} s per server after a 2 s warm-up "
        "(requests/s: median of the rounds, all rounds in brackets; latency: median of the rounds' p50/p99):",
        "",
        "| server | requests/s | p50 | p99 | responses |",
        "|---|---:|---:|---:|---|",
    ]
    for r in serving:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items(), key=lambda kv: str(kv[0])))
        rounds = ", ".join(f"{x:.0f}" for x in r["rps_all"])
        lines.append(f"| {r['name']} | {r['rps']:.0f} ({rounds}) | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {statuses} |")
    lines += [
        "",
        "Promote and rollback never touch the files: the deployment's integrity was verified when its preview "
        "report was opened, and going live is one locked row update plus a release row, so the 20,000-file "
        "deployment swaps as fast as the 10-file one. Ingest time is dominated by storing each file as a "
        "blob (hash, temp file, fsync, rename; small files in batches with parallel fsyncs and one commit per batch) and "
        f"writing the manifest rows. A digest redeploy sends and validates the whole manifest ({args.files:,} paths) and records "
        "it as a new deployment, but uploads only the changed blob. A warm profile request makes no database query (the "
        "handle's live state and the manifest entries are cached); WhiteNoise serves from an in-memory index "
        "of the directory with no framework around it and is the upper bound for Python serving; each Gharart request also "
        "passes Django's middleware (request IDs, security headers, sessions, CSRF, auth, the request log), URL routing and "
        "the site-mode and path-rule lookups. Clients and servers share the machine's "
        "cores, so read the numbers relative to each other. In production `GHARART_ACCEL_REDIRECT` hands the "
        "bytes to nginx (see README, \"Serving with nginx\").",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help="files in the ingested archive")
    parser.add_argument("--swaps", type=int, default=20, help="promote (and rollback) rounds per size")
    parser.add_argument("--seconds", type=int, default=10, help="load duration per serving row and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per serving row (the median is reported)")
    parser.add_argument("--clients", type=int, default=4, help="load client processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL of a database the run creates and drops")
    parser.add_argument("--redis-url", default="", help="Redis URL for the cache (a db number nobody else uses)")
    parser.add_argument("--write", action="store_true", help="update the ## Deployments section of docs/benchmarks.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gharart-deploy-bench-"))
    var_dir = work / "var"
    var_dir.mkdir()
    if args.database_url:
        pg_create(args.database_url)
    try:
        env = base_env(var_dir, args.database_url, args.redis_url)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.cache import cache
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if args.redis_url:
            cache.clear()
        from gharart import services as gservices

        user, _ = gservices.user_get_or_create(username="bench")
        handle = gservices.handle_create(slug=HANDLE, owner=user)
        print(f"ingesting a {args.files}-file archive ...", flush=True)
        ingest = measure_ingest_and_redeploy(handle, user, args.files)
        print("promote / rollback ...", flush=True)
        swaps = measure_swaps(handle, user, ingest["manifest"], args.swaps)
        print("serving ...", flush=True)
        from django.db import connections

        mach = machine(args.database_url, args.redis_url, args.workers)
        connections.close_all()
        serving, rel = measure_serving(handle, user, work, {**os.environ, **env}, args)
        text = report(args, mach, ingest, swaps, serving, rel)
        print()
        print(text)
        if args.write:
            write_section("Deployments", text)
            print("\nwrote the ## Deployments section of docs/benchmarks.md")
        if args.redis_url:
            cache.clear()
    finally:
        teardown(work, database_url=args.database_url)


if __name__ == "__main__":
    main()
