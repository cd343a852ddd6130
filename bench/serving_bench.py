"""Serving speed of a live site host next to WhiteNoise, under the same gunicorn settings.

    .venv/bin/python bench/serving_bench.py --database-url postgres://postgres@127.0.0.1:5432/gharart_bytes \\
        --redis-url redis://127.0.0.1:6379/3 [--seconds 5] [--rounds 3] [--write]

A throwaway project (the PostgreSQL database named in ``--database-url`` is created and
dropped by the run; blobs and var/ in a temp dir) publishes a 20-file storefront as the
live ``site`` deployment of handle ``shop``. The same files are written to a directory
that WhiteNoise serves (``bench/deployments_whitenoise.py``, ``index_file=True``), with the
brotli and gzip forms ``whitenoise.compress`` makes, as the live host has its own. Each
server runs under gunicorn with sync workers on a 127.0.0.1 ephemeral port, DEBUG off.

Before any load, the bench checks that the live host answers every URL with the same
bytes as WhiteNoise, and with the same status and headers (but ``X-Request-ID``, ``Date``)
as Django answers with the fast path turned off (``GHARART_SITE_FAST_PATH=0``), for 200
and 304: a run that breaks a rule is not a result.

Load: ``wrk`` (``--connections`` connections, 2 threads, a Lua script cycling through the
URLs with ``Host: shop.sites.bench.example``; for 304 rows each request carries the URL's
``If-None-Match``), rows interleaved in ``--rounds`` rounds so background load on the
shared machine hits each alike; requests/s is the median of the rounds, p50/p99 the
median of the rounds' wrk percentiles, and a row's ratio the median of its rounds' ratios
(each round runs a row and its peer back to back). Then the same at 1, 2 and 4 workers,
and, in this process, the CPU of one answer by each app with gunicorn's work on its headers.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import free_port, stop, teardown, wait_ready, write_section  # noqa: E402
from bench.deployments_bench import Upload, base_env, pg_create, start_gunicorn, zip_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HANDLE = "shop"
SITES_DOMAIN = "sites.bench.example"
HOST = f"{HANDLE}.{SITES_DOMAIN}"

LUA = """
local paths = %(paths)s
local etags = %(etags)s
local host = "%(host)s"
local expected = %(expected)d
local i = 0
wrong = 0
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end
response = function(status, headers, body)
  if status ~= expected then wrong = wrong + 1 end
end
request = function()
  i = i %% #paths + 1
  local headers = {["Host"] = host}
  if etags[i] then headers["If-None-Match"] = etags[i] end
  return wrk.format("GET", paths[i], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  local unexpected = 0
  for _, thread in ipairs(threads) do unexpected = unexpected + thread:get("wrong") end
  io.write(string.format("RESULT %%d %%d %%.1f %%.1f %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout + unexpected))
end
"""


def storefront():
    """The demo storefront (11 files) plus product pages, a script and images: 20 files."""
    from deployments import demo

    files = dict(demo.site_files())
    template = files["products/jute-rug.html"]
    for name in ("oak-stool", "linen-throw", "clay-bowl", "wool-rug"):
        files[f"products/{name}.html"] = template.replace(b"Jute", name.split("-")[0].title().encode())
    files["js/site.js"] = b"document.querySelectorAll('a').forEach(function (a) { a.rel = a.rel || 'noopener'; });\n" * 20
    files["css/print.css"] = b"@media print { nav, footer { display: none } body { font-size: 11pt } }\n" * 10
    files["img/hero.jpg"] = bytes(range(256)) * 120
    files["img/icon.svg"] = b"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'><circle cx='5' cy='5' r='4'/></svg>"
    files["favicon.ico"] = bytes(range(256)) * 4
    assert len(files) == 20, len(files)
    return files


def urls(files):
    """URL paths of the storefront: every file but the 404 page, directories by their slash."""
    out = []
    for name in sorted(files):
        if name == "404.html":
            continue
        out.append("/" + (name[: -len("index.html")] if name.endswith("index.html") else name))
    return out


def cpu_seconds(proc):
    """CPU time (user + system) of a gunicorn master and its workers so far."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [proc.pid]
    try:
        pids += [int(x) for x in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    except OSError:
        pass
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def wrk(base, paths, etags, seconds, connections, script_dir, proc=None):
    script = script_dir / f"load-{len(etags)}.lua"
    lua_list = lambda xs: "{" + ", ".join(json.dumps(x) for x in xs) + "}"  # noqa: E731
    script.write_text(LUA % {"paths": lua_list(paths), "etags": lua_list(etags), "host": HOST, "expected": 304 if etags else 200})
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), base]
    cpu_before = cpu_seconds(proc) if proc else 0
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(proc) - cpu_before if proc else 0
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, duration_us, p50_us, p99_us, errors = line.split()[1:]
    return {
        "rps": int(requests) / (int(duration_us) / 1e6),
        "p50_ms": float(p50_us) / 1000,
        "p99_ms": float(p99_us) / 1000,
        "errors": int(errors),
        "cpu_us": cpu / max(1, int(requests)) * 1e6,
    }


def _comparable(response):
    skip = {"date", "x-request-id", "server", "connection"}
    return response.status_code, sorted((k, v) for k, v in response.headers.items() if k not in skip), response.content


def check(fast, slow, wn, paths):
    """Fast path == Django (fast path off) for 200 and 304; bytes == WhiteNoise's.

    Returns the ETags per URL of the representation wrk asks for (no ``Accept-Encoding``:
    the same bytes WhiteNoise sends), so the 304 rows are 304s (wrk counts any other status).
    """
    ours, theirs = {}, {}
    for path in paths:
        plain = {"Host": HOST, "Accept-Encoding": ""}
        tag = httpx.get(fast + path, headers=plain).headers["ETag"]
        assert httpx.get(fast + path, headers={**plain, "If-None-Match": tag}).status_code == 304, path
        assert httpx.get(slow + path, headers={**plain, "If-None-Match": tag}).status_code == 304, path
        a = httpx.get(fast + path, headers={"Host": HOST})
        b = httpx.get(slow + path, headers={"Host": HOST})
        w = httpx.get(wn + path)
        assert a.status_code == 200 and a.content == w.content, path
        assert _comparable(a) == _comparable(b), (path, _comparable(a)[1], _comparable(b)[1])
        ours[path], theirs[path] = a.headers["ETag"], w.headers["ETag"]
        a = httpx.get(fast + path, headers={"Host": HOST, "If-None-Match": ours[path]})
        b = httpx.get(slow + path, headers={"Host": HOST, "If-None-Match": ours[path]})
        assert a.status_code == 304 and _comparable(a) == _comparable(b), path
        assert httpx.get(wn + path, headers={"If-None-Match": theirs[path]}).status_code == 304, path
        ours[path] = tag
    return ours, theirs


def inprocess_costs(paths, ours, theirs, repeat=5, number=2000):
    """CPU per answer in this process, by app: the WSGI call plus gunicorn's own work on the
    headers it returns (``Response.process_headers`` and the header block), the part of a
    request that depends on the app. Per URL the fastest of ``repeat`` runs of ``number``
    calls, averaged over the URLs; also the response headers the app returns."""
    import timeit

    from gunicorn.http.wsgi import Response

    import bench.deployments_whitenoise as wn_app
    import gharart.wsgi as fast_app

    class Sent:
        headers, response_length, upgrade = None, None, False

    def start_response(status, headers, exc_info=None):
        sent = Sent()
        sent.headers = []
        Response.process_headers(sent, headers)
        "".join(["%s: %s\r\n" % (k, v) for k, v in sent.headers]).encode("latin-1")  # noqa: UP031 - as gunicorn formats them
        seen.append(len(headers))

    base = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "HTTP_USER_AGENT": "wrk"}
    out = {}
    for name, app, prefix, host, tags in (("live host (fast path)", fast_app.application, "", HOST, ours), ("WhiteNoise", wn_app.application, "/site", "127.0.0.1", theirs)):
        for status in (200, 304):
            times, seen = [], []
            for path in paths:
                environ = {**base, "PATH_INFO": prefix + path, "HTTP_HOST": host}
                if status == 304:
                    environ["HTTP_IF_NONE_MATCH"] = tags[path]

                def call(environ=environ, app=app):
                    body = app(dict(environ), start_response)
                    for _ in body:
                        pass
                    if hasattr(body, "close"):
                        body.close()

                call()
                times.append(min(timeit.repeat(call, number=number, repeat=repeat)) / number)
            out[name, status] = {"us": statistics.mean(times) * 1e6, "headers": statistics.mean(seen)}
    return out


def publish(files):
    from deployments.services.ingest import deployment_create_from_archive
    from deployments.services.releases import deployment_preview_report, deployment_promote
    from deployments.services.site import site_mode_set
    from gharart import constants as c
    from gharart import services as gservices

    user, _ = gservices.user_get_or_create(username="bench")
    handle = gservices.handle_create(slug=HANDLE, owner=user)
    dep = deployment_create_from_archive(handle=handle, upload=Upload(zip_bytes(files), "shop.zip"), message="storefront", actor=user)
    deployment_preview_report(deployment=dep, actor=user)
    deployment_promote(deployment=dep, actor=user, role="owner", reason="bench")
    site_mode_set(handle=handle, mode=c.SITE_MODE_DEPLOYMENT, actor=user)


def median_row(name, results):
    return {
        "name": name,
        "rps": statistics.median(r["rps"] for r in results),
        "rps_all": [r["rps"] for r in results],
        "p50_ms": statistics.median(r["p50_ms"] for r in results),
        "p99_ms": statistics.median(r["p99_ms"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "cpu_us": statistics.median(r["cpu_us"] for r in results),
    }


def run_rows(rows, args, work):
    """``rows``: [(name, base, paths, etags, server process)], interleaved in rounds after a warm-up."""
    for _, base, paths, etags, proc in rows:
        wrk(base, paths, etags, 1, args.connections, work, proc)
    runs = {name: [] for name, *_ in rows}
    for _ in range(args.rounds):
        for name, base, paths, etags, proc in rows:
            runs[name].append(wrk(base, paths, etags, args.seconds, args.connections, work, proc))
    return [median_row(name, results) for name, results in runs.items()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL URL of a database the run creates and drops")
    parser.add_argument("--redis-url", required=True, help="Redis URL for the cache (a db number nobody else uses)")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", default="1,2,4", help="worker counts for the scaling table")
    parser.add_argument("--write", action="store_true", help="update the ## Serving speed section of docs/benchmarks.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="gharart-serving-bench-"))
    var_dir = work / "var"
    var_dir.mkdir()
    pg_create(args.database_url)
    procs = []
    try:
        env = {**base_env(var_dir, args.database_url, args.redis_url), "GHARART_SITES_DOMAIN": SITES_DOMAIN}
        os.environ.update(env)
        import django

        django.setup()
        from django.core.cache import cache
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        cache.clear()
        files = storefront()
        publish(files)
        connections.close_all()
        cache.clear()
        site_root = work / "site"
        for name, data in files.items():
            target = site_root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        # The same representations on both sides: the live host keeps brotli and gzip forms of
        # compressible files, so WhiteNoise gets its own (``whitenoise.compress``, as its
        # documentation has production do) and, like the live host, answers with ``Vary``.
        subprocess.run([sys.executable, "-m", "whitenoise.compress", "--quiet", str(site_root)], check=True)
        (var_dir / "staticfiles").mkdir()
        paths = urls(files)
        log = open(work / "servers.log", "wb")  # noqa: SIM115 - closed with the temp dir
        server_env = {**os.environ, **env, "BENCH_SITE_ROOT": str(site_root), "PYTHONPATH": str(ROOT)}

        def start(app, workers, **extra):
            port = free_port()
            procs.append(start_gunicorn(app, port, {**server_env, **extra}, log, workers))
            return f"http://127.0.0.1:{port}", procs[-1]

        tables = {}
        worker_counts = [int(w) for w in args.workers.split(",")]
        for workers in sorted(set(worker_counts) | {2}, key=lambda w: (w != 2, w)):
            wn, wn_proc = start("bench.deployments_whitenoise:application", workers)
            fast, fast_proc = start("gharart.wsgi:application", workers)
            slow, slow_proc = start("gharart.wsgi:application", workers, GHARART_SITE_FAST_PATH="0") if workers == 2 else (None, None)
            wn_paths = ["/site" + p for p in paths]
            wait_ready(wn + "/site/")
            wait_ready(fast + "/healthz")
            if slow:
                wait_ready(slow + "/healthz")
                ours, theirs = check(fast, slow, wn + "/site", paths)
                rows = [
                    ("WhiteNoise, 200", wn, wn_paths, [], wn_proc),
                    ("live host (fast path), 200", fast, paths, [], fast_proc),
                    ("live host through Django (fast path off), 200", slow, paths, [], slow_proc),
                    ("WhiteNoise, 304", wn, wn_paths, [theirs[p] for p in paths], wn_proc),
                    ("live host (fast path), 304", fast, paths, [ours[p] for p in paths], fast_proc),
                ]
            else:
                rows = [("WhiteNoise, 200", wn, wn_paths, [], wn_proc), ("live host (fast path), 200", fast, paths, [], fast_proc)]
            print(f"{workers} workers ...", flush=True)
            tables[workers] = run_rows(rows, args, work)
            if slow:
                os.environ["BENCH_SITE_ROOT"] = str(site_root)
                costs = inprocess_costs(paths, ours, {p: theirs[p] for p in paths})
            for proc in (wn_proc, fast_proc, slow_proc):
                if proc is not None:
                    stop(proc)
                    procs.remove(proc)
        text = report(args, tables, worker_counts, len(paths), costs)
        print(text)
        if args.write:
            write_section("Serving speed", text)
            print("\nwrote the ## Serving speed section of docs/benchmarks.md")
        cache.clear()
    finally:
        teardown(work, procs=procs, database_url=args.database_url)


def report(args, tables, worker_counts, n_urls, costs):
    from importlib.metadata import version

    cpu = next((x.split(":", 1)[1].strip() for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("model name")), platform.processor())
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0].strip() or "wrk"
    load = os.getloadavg()
    main_rows = {r["name"]: r for r in tables[2]}
    wn200, wn304 = main_rows["WhiteNoise, 200"], main_rows["WhiteNoise, 304"]
    lines = [
        f"`bench/serving_bench.py`, {time.strftime('%Y-%m-%d', time.gmtime())}. Machine: {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, gunicorn {version('gunicorn')} sync workers, WhiteNoise {version('whitenoise')}, "
        f"PostgreSQL + Redis, DEBUG off, {wrk_version.split(' [')[0]} with {args.connections} connections and 2 threads on the same machine; "
        f"a 20-file storefront ({n_urls} URLs); {args.rounds} interleaved rounds of {args.seconds} s per row after a 1 s warm-up. "
        f"Load average when the run ended: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (the machine is shared: read the ratios).",
        "",
        "2 workers per server:",
        "",
        "| server | requests/s (rounds) | ratio to WhiteNoise (rounds' range) | p50 | p99 | server CPU per request | errors or other statuses |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in tables[2]:
        peer = wn304 if r["name"].endswith("304") else wn200
        rounds = ", ".join(f"{x:.0f}" for x in r["rps_all"])
        # Each round's rows run back to back: the ratio within a round is what the shared machine disturbs least.
        paired = [a / b for a, b in zip(r["rps_all"], peer["rps_all"], strict=True)]
        lines.append(
            f"| {r['name']} | {r['rps']:.0f} ({rounds}) | {statistics.median(paired):.2f}x ({min(paired):.2f}–{max(paired):.2f}) "
            f"| {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['cpu_us']:.0f} µs ({peer['cpu_us'] / r['cpu_us']:.2f}x) | {r['errors']} |"
        )
    lines += [
        "",
        "In one process, per answer (the WSGI call and gunicorn's work on the headers it returns; no socket, so no machine noise):",
        "",
        "| answer | live host (fast path) | WhiteNoise | headers returned (fast path / WhiteNoise) |",
        "|---|---:|---:|---:|",
    ]
    for status in (200, 304):
        a, b = costs["live host (fast path)", status], costs["WhiteNoise", status]
        lines.append(f"| {status} | {a['us']:.1f} µs | {b['us']:.1f} µs | {a['headers']:.0f} / {b['headers']:.0f} |")
    lines += ["", "Workers (200s):", "", "| workers | WhiteNoise req/s | live host req/s | ratio | WhiteNoise p99 | live host p99 |", "|---:|---:|---:|---:|---:|---:|"]
    for workers in sorted(worker_counts):
        rows = {r["name"]: r for r in tables[workers]}
        a, b = rows["WhiteNoise, 200"], rows["live host (fast path), 200"]
        lines.append(f"| {workers} | {a['rps']:.0f} | {b['rps']:.0f} | {b['rps'] / a['rps']:.2f}x | {a['p99_ms']:.1f} ms | {b['p99_ms']:.1f} ms |")
    lines += [
        "",
        "Before the load, every URL was checked: the fast path's status, headers and body equal Django's "
        "(the same server with `GHARART_SITE_FAST_PATH=0`) for 200 and 304, and the bytes equal WhiteNoise's. "
        "The fast path (`domains/fast_path.py`) answers live-host files from an in-process index of the live "
        "deployment, keyed by the handle's live-state generation, which it re-reads from Redis at most every "
        "`GHARART_SITE_FAST_PATH_RECHECK_MS` (200 ms); everything else (bindings, redirects, 404s, other modes, "
        "previews, custom domains) goes through Django as before.",
        "",
        "The server CPU column is the gunicorn processes' user + system time per request during the round "
        "(robust to the shared machine's load, unlike requests/s). The 304 rows send each URL's `If-None-Match` "
        "for the representation wrk asks for (no `Accept-Encoding`), and any status but the expected one counts "
        "in the last column.",
        "",
        "How the fast path got here: the first request for a (method, path, query, `Accept-Encoding`) is decided "
        "the long way and kept as a prepared answer (the 200's and the 304's header lists, the ETag, and for files "
        "up to 64 KiB the bytes themselves, at most 16 MiB per process: blobs are content-addressed, so bytes never "
        "change under a name); a warm request is a dictionary look-up and an ETag comparison. The in-process table "
        "shows where each answer stands. A 200 costs the fast path less than WhiteNoise (the body is in memory; "
        "WhiteNoise opens the file and hands it to the server). A 304 costs it more, and most of the difference is "
        "gunicorn checking each returned header against the header grammar: WhiteNoise's 304 returns three "
        "(`Cache-Control`, `ETag`, `Vary`), the fast path's seven, each one asked for: `ETag`, `Cache-Control` and `Vary` by "
        "RFC 9110 (a 304 carries these as the 200 would), `X-Gharart-Site-Mode`, `X-Gharart-Deployment` and "
        "`X-Request-ID` by the contract, and `X-Content-Type-Options` as Django's own 304 has it. Everything else a "
        "request costs (accepting the connection, parsing the request, the `Date` header, sending, the graceful "
        "close) is gunicorn's and the same for both apps: the CPU column's whole request, against which a few µs "
        "per 304 is within the spread of the rounds.",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
