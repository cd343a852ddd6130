"""PostgreSQL restarted while gunicorn serves traffic: clean failures, recovery without a restart.

One command (from the repository root):

    .venv/bin/python bench/faults/postgres_restart.py        # about 40 s

It starts a PRIVATE PostgreSQL cluster (initdb, a free loopback port; never the shared
server), migrates and seeds a throwaway project into it, and serves it with gunicorn
(2 gthread workers). Eight client threads then request an API list (PAT), the profile
site, a public file and /healthz for ``--before`` seconds, while PostgreSQL is stopped for
``--down`` seconds and started again, and for ``--after`` seconds more.

Checked: every 5xx is 500 or 503 with the error envelope (API) or a plain page, carries
X-Request-ID and no stack trace; after PostgreSQL is back, every request succeeds again
with the same gunicorn worker processes (no restart). Exit status 0 when all hold.
"""

import argparse
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.stack import Stack  # noqa: E402
from tests.reliability.servers import PrivatePostgres  # noqa: E402

TRACE_MARKERS = (b"Traceback", b"File \"/", b"psycopg", b"django.db", b"OperationalError")


def classify(response):
    """Problems with one response ('' when it is acceptable)."""
    if "x-request-id" not in response.headers:
        return "no X-Request-ID"
    if any(marker in response.content for marker in TRACE_MARKERS):
        return "stack trace or SQL in the body"
    if response.status_code >= 500:
        if response.status_code not in (500, 503):
            return f"status {response.status_code}"
        if response.url.path.startswith("/v2/"):
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                return "5xx without the envelope"
            if error["request_id"] != response.headers["x-request-id"]:
                return "envelope request_id differs"
            if response.status_code == 503 and "retry-after" not in response.headers:
                return "503 without Retry-After"
    return ""


def run(args):
    pg = PrivatePostgres().init().start()
    pg.psql("CREATE DATABASE gharart")
    stack = Stack(database_url=pg.url("gharart"), name="gharart-pgfault")
    results = []
    try:
        seed = stack.setup()
        base, server = stack.gunicorn(workers=2, threads=8)
        pids_before = stack.worker_pids(server)
        headers = {"Authorization": f"Bearer {seed['token']}"}
        urls = [
            ("api", "/v2/handles/acme/site-deployments", headers),
            ("profile", "/profiles/acme/", {}),
            ("file", f"/v2/public/files/{seed['public_file']}", {}),
            ("healthz", "/healthz", {}),
        ]
        stop = threading.Event()
        phase = {"name": "before"}
        lock = threading.Lock()

        def client(i):
            with httpx.Client(base_url=base, timeout=20) as http:
                n = i
                while not stop.is_set():
                    kind, url, extra = urls[n % len(urls)]
                    n += 1
                    started = time.monotonic()
                    try:
                        response = http.get(url, headers=extra)
                        problem = classify(response)
                        status = response.status_code
                    except httpx.HTTPError as exc:
                        status, problem = 0, f"transport error {type(exc).__name__}"
                    with lock:
                        results.append((phase["name"], kind, status, problem, time.monotonic() - started))
                    time.sleep(0.02)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        time.sleep(args.before)
        phase["name"] = "down"
        pg.stop("fast")
        time.sleep(args.down)
        pg.start()
        phase["name"] = "recovering"
        time.sleep(args.grace)
        phase["name"] = "after"
        time.sleep(args.after)
        stop.set()
        for t in threads:
            t.join()
        pids_after = stack.worker_pids(server)
    finally:
        stack.close()
        pg.close()

    summary = {}
    for name in ("before", "down", "recovering", "after"):
        rows = [r for r in results if r[0] == name]
        summary[name] = {
            "requests": len(rows),
            "statuses": dict(sorted(Counter(r[2] for r in rows).items())),
            "problems": dict(Counter(r[3] for r in rows if r[3])),
            "max_seconds": round(max((r[4] for r in rows), default=0), 2),
        }
    ok = (
        all(not s["problems"] for s in summary.values())
        and set(summary["before"]["statuses"]) == {200}
        and set(summary["after"]["statuses"]) == {200}
        and summary["down"]["requests"] > 0
        and pids_before == pids_after
    )
    report = {"ok": ok, "gunicorn_workers_unchanged": pids_before == pids_after, "phases": summary}
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=float, default=5)
    parser.add_argument("--down", type=float, default=5)
    parser.add_argument("--grace", type=float, default=3, help="seconds after the restart not judged as 'after'")
    parser.add_argument("--after", type=float, default=8)
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
