"""Load: profile pages and public file downloads at 200 connections while a site flips 50 times.

One command (from the repository root):

    .venv/bin/python bench/load.py                     # 60 s, 200 connections, 50 swaps
    .venv/bin/python bench/load.py --duration 10 --swaps 8    # a short run while developing

It starts a PRIVATE PostgreSQL cluster and a PRIVATE Redis (free loopback ports; never the
shared servers), migrates and seeds a throwaway project (deployments A and B of one site:
every page of each names its deployment at its start and at its end; a 200 KB public
file), and serves it with gunicorn (gthread workers). Client processes (asyncio + httpx)
keep ``--connections`` keep-alive connections busy with a mix of profile pages (80 %)
and public file downloads (20 %) for ``--duration`` seconds, while a driver rolls the live
site back and forth between A and B ``--swaps`` times through the API.

Checked for every response: no 5xx; no 404 for a page both deployments have; the
``X-Gharart-Deployment`` header names the deployment whose markers are in the body (both
markers, never the other's: no mix within one response); a download is complete. After
the run, the releases recorded equal the swaps made and the live pointer equals the last
release. Prints p50/p99 latency and requests per second as JSON (and a Markdown row with
``--markdown``). Everything started is stopped when it ends; exit status 0 when all held.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import PAGES, Stack  # noqa: E402
from tests.reliability.servers import PrivatePostgres, PrivateRedis  # noqa: E402


def check_page(status, headers, body, markers):
    """'' when a profile page is whole and from one deployment, else what is wrong."""
    if status >= 500:
        return f"{status}"
    if status == 404:
        return "404 for a page both deployments have"
    if status != 200:
        return f"status {status}"
    served = headers.get("x-gharart-deployment")
    marker = markers.get(served)
    if marker is None:
        return f"unknown X-Gharart-Deployment {served!r}"
    other = "B" if marker == "A" else "A"
    if f"deployment-marker:{marker}".encode() not in body or f"end-marker:{marker}".encode() not in body:
        return "body is not the deployment the header names"
    if f"marker:{other}".encode() in body:
        return "body mixes both deployments"
    return ""


class Connection:
    """One keep-alive HTTP/1.1 connection (a minimal client: the load generator must cost
    far less CPU than the server it measures, on the same two cores)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def get(self, path):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            await self.reader.readuntil(b"\r\n")
            body = b"".join(parts)
        else:
            body = await self.reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _client(base, paths, file_url, file_size, markers, connections, deadline, seed, out):
    host, port = base.removeprefix("http://").split(":")

    async def worker(i):
        conn = Connection(host, int(port))
        n = seed + i * 7919
        while time.monotonic() < deadline:
            n += 1
            is_file = n % 5 == 0
            url = file_url if is_file else paths[n % len(paths)]
            started = time.perf_counter()
            try:
                status, headers, body = await asyncio.wait_for(conn.get(url), 30)
                elapsed = time.perf_counter() - started
                if is_file:
                    problem = "" if status == 200 and len(body) == file_size else f"download {status} {len(body)} bytes"
                else:
                    problem = check_page(status, headers, body, markers)
                served = headers.get("x-gharart-deployment", "")
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                conn.close()
                elapsed, status, served, problem = time.perf_counter() - started, 0, "", f"transport {type(exc).__name__}"
            out["latencies"].append(elapsed)
            out["statuses"][status] += 1
            out["kinds"]["file" if is_file else "page"] += 1
            if served:
                out["served"][markers.get(served, "?")] += 1
            if problem:
                out["problems"][problem] += 1
        conn.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))


def client_process(args):
    base, paths, file_url, file_size, markers, connections, deadline, seed, queue = args
    out = {"latencies": [], "statuses": Counter(), "kinds": Counter(), "served": Counter(), "problems": Counter()}
    asyncio.run(_client(base, paths, file_url, file_size, markers, connections, deadline, seed, out))
    queue.put(out)


def swap_driver(base, token, deployments, swaps, duration, report):
    """Roll the site back and forth between A and B, ``swaps`` times spread over ``duration``."""
    headers = {"Authorization": f"Bearer {token}"}
    live = "A"
    interval = duration / (swaps + 1)
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        for i in range(swaps):
            time.sleep(interval if i else interval / 2)
            target = "B" if live == "A" else "A"
            response = http.post(f"/v2/handles/acme/site-deployments/{deployments[target]}/rollback", json={"reason": f"swap {i + 1}"})
            report["swap_statuses"][response.status_code] += 1
            if response.status_code == 200:
                live = target
                report["swaps_done"] += 1
        report["live_marker"] = live
        releases = http.get("/v2/handles/acme/site-releases", params={"limit": 200}).json()["results"]
        report["releases"] = len(releases)
        report["last_release_deployment"] = releases[0]["deployment_id"]
        report["live_deployment_id"] = http.get("/v2/handles/acme/site-mode").json()["live_deployment_id"]


def percentile(values, q):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run(args):
    pg = PrivatePostgres().init().start()
    redis = PrivateRedis().start()
    stack = None
    try:
        pg.psql("CREATE DATABASE gharart")
        stack = Stack(database_url=pg.url("gharart"), redis_url=redis.url, name="gharart-load")
        seed = stack.setup()
        base, _ = stack.gunicorn(workers=args.workers, threads=args.threads)
        deployments = seed["deployments"]
        markers = {dep_id: marker for marker, dep_id in deployments.items()}
        paths = ["/profiles/acme/"] + [f"/profiles/acme/{p}" for p in PAGES]
        file_url = f"/v2/public/files/{seed['public_file']}"
        for url in [*paths, file_url]:  # warm every worker's caches a little
            httpx.get(base + url, timeout=30)

        report = {"swap_statuses": Counter(), "swaps_done": 0}
        started = time.monotonic()
        deadline = started + args.duration
        queue = multiprocessing.get_context("fork").Queue()
        per = [args.connections // args.processes + (1 if i < args.connections % args.processes else 0) for i in range(args.processes)]
        procs = [
            multiprocessing.get_context("fork").Process(target=client_process, args=((base, paths, file_url, seed["public_file_size"], markers, n, deadline, i, queue),))
            for i, n in enumerate(per)
        ]
        for p in procs:
            p.start()
        driver = threading.Thread(target=swap_driver, args=(base, seed["token"], deployments, args.swaps, args.duration, report))
        driver.start()
        results = [queue.get(timeout=args.duration + 120) for _ in procs]
        elapsed = time.monotonic() - started
        for p in procs:
            p.join(30)
        driver.join(120)
    finally:
        if stack is not None:
            stack.close()
        redis.close()
        pg.close()

    latencies = [x for r in results for x in r["latencies"]]
    total = len(latencies)
    merged = {key: sum((r[key] for r in results), Counter()) for key in ("statuses", "kinds", "served", "problems")}
    summary = {
        "duration_s": round(elapsed, 1),
        "connections": args.connections,
        "gunicorn": f"{args.workers} gthread workers x {args.threads} threads",
        "requests": total,
        "requests_per_s": round(total / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0,
        "statuses": {str(k): v for k, v in sorted(merged["statuses"].items())},
        "kinds": dict(merged["kinds"]),
        "served_by": dict(merged["served"]),
        "problems": dict(merged["problems"]),
        "swaps": report["swaps_done"],
        "swap_statuses": {str(k): v for k, v in report["swap_statuses"].items()},
        "releases_recorded": report.get("releases"),
        "live_equals_last_release": report.get("live_deployment_id") == report.get("last_release_deployment"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared with the clients)",
    }
    five_xx = sum(v for k, v in merged["statuses"].items() if k >= 500)
    summary["ok"] = bool(
        total > 0
        and five_xx == 0
        and not merged["problems"]
        and report["swaps_done"] == args.swaps
        and summary["live_equals_last_release"]
        # the seed made 3 releases (A, B, back to A); each swap adds one
        and report.get("releases") == args.swaps + 3
    )
    print(json.dumps(summary, indent=2))
    if args.markdown:
        print(
            f"| {summary['duration_s']} s | {args.connections} | {total} | {summary['requests_per_s']} | "
            f"{summary['p50_ms']} ms | {summary['p99_ms']} ms | {five_xx} | {sum(merged['problems'].values())} | {report['swaps_done']} |"
        )
    return 0 if summary["ok"] else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--swaps", type=int, default=50)
    parser.add_argument("--processes", type=int, default=2, help="client processes sharing the connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=16, help="threads per gunicorn worker")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table row")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
