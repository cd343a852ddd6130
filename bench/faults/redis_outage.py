"""Redis stopped, and then frozen, while gunicorn serves traffic.

One command (from the repository root):

    .venv/bin/python bench/faults/redis_outage.py        # about 50 s

A throwaway project on a PRIVATE PostgreSQL cluster and a PRIVATE Redis (cache and
broker; free loopback ports, never the shared servers) is served by gunicorn. Client
threads read the profile site, an API list (PAT) and a public file, and once a second ask
for a magic link (a write that queues a job). Phases: Redis up; Redis stopped (connection
refused); up again (empty, as after a crash); Redis frozen with SIGSTOP (connections
hang); thawed.

Checked: reads answer 200 in every phase; the job-queueing write answers 202 while Redis
is up and 503 ``service_unavailable`` with Retry-After while it is down or frozen; no
other 5xx; the slowest answer in each phase is reported (bounded by the timeouts in
settings, never a hang). Exit status 0 when all hold.
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
from tests.reliability.servers import PrivatePostgres, PrivateRedis  # noqa: E402

PHASES = ("up", "stopped", "restarted", "frozen", "thawed")


def run(args):
    pg = PrivatePostgres().init().start()
    redis = PrivateRedis().start()
    stack = None
    results = []
    try:
        pg.psql("CREATE DATABASE gharart")
        limits = {"GHARART_THROTTLE_MAGIC_LINK_IP": "100000/min", "GHARART_THROTTLE_MAGIC_LINK_FILE_EMAIL": "100000/min"}
        stack = Stack(database_url=pg.url("gharart"), redis_url=redis.url, name="gharart-redisfault", env=limits)
        seed = stack.setup()
        base, server = stack.gunicorn(workers=2, threads=8)
        pids = stack.worker_pids(server)
        headers = {"Authorization": f"Bearer {seed['token']}"}
        reads = [("/profiles/acme/", {}), ("/v2/handles/acme/site-deployments", headers), (f"/v2/public/files/{seed['public_file']}", {})]
        phase = {"name": "up"}
        stop = threading.Event()
        lock = threading.Lock()

        def record(kind, response, started):
            status = response.status_code if response is not None else 0
            problem = ""
            if response is None:
                problem = "transport error"
            elif status >= 500 and not (kind == "write" and status == 503):
                problem = f"{kind} {status}"
            elif status == 503 and ("retry-after" not in response.headers or response.json()["error"]["code"] != "service_unavailable"):
                problem = "503 without Retry-After or service_unavailable"
            with lock:
                results.append((phase["name"], kind, status, problem, time.monotonic() - started))

        def reader(i):
            with httpx.Client(base_url=base, timeout=30) as http:
                n = i
                while not stop.is_set():
                    url, extra = reads[n % len(reads)]
                    n += 1
                    started = time.monotonic()
                    try:
                        response = http.get(url, headers=extra)
                    except httpx.HTTPError:
                        response = None
                    record("read", response, started)
                    time.sleep(0.02)

        def writer():
            with httpx.Client(base_url=base, timeout=60) as http:
                while not stop.is_set():
                    started = time.monotonic()
                    try:
                        response = http.post(f"/v2/public/files/{seed['public_file']}/magic-link", json={"email": "ana@agency.example"})
                    except httpx.HTTPError:
                        response = None
                    record("write", response, started)
                    time.sleep(1)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)] + [threading.Thread(target=writer)]
        for t in threads:
            t.start()
        steps = [("stopped", redis.stop), ("restarted", redis.start), ("frozen", redis.pause), ("thawed", redis.resume)]
        time.sleep(args.phase)
        for name, action in steps:
            action()
            phase["name"] = name
            # Recovery phases settle a little longer; a frozen Redis makes each write wait out
            # its timeouts, so that phase is long enough to see several of them.
            time.sleep(args.phase + (4 if name in ("restarted", "thawed") else 0) + (args.phase if name == "frozen" else 0))
        stop.set()
        for t in threads:
            t.join()
        same_workers = pids == stack.worker_pids(server)
    finally:
        if stack is not None:
            stack.close()
        redis.close()
        pg.close()

    summary = {}
    for name in PHASES:
        rows = [r for r in results if r[0] == name]
        summary[name] = {
            kind: {
                "requests": sum(1 for r in rows if r[1] == kind),
                "statuses": dict(sorted(Counter(r[2] for r in rows if r[1] == kind).items())),
                "max_seconds": round(max((r[4] for r in rows if r[1] == kind), default=0), 2),
            }
            for kind in ("read", "write")
        }
        summary[name]["problems"] = dict(Counter(r[3] for r in rows if r[3]))
    reads_ok = all(set(summary[p]["read"]["statuses"]) == {200} for p in PHASES)
    writes_down = all(set(summary[p]["write"]["statuses"]) <= {503} for p in ("stopped", "frozen"))
    writes_up = all(202 in summary[p]["write"]["statuses"] for p in ("up", "restarted", "thawed"))
    ok = reads_ok and writes_down and writes_up and same_workers and not any(summary[p]["problems"] for p in PHASES)
    print(json.dumps({"ok": ok, "reads_always_200": reads_ok, "writes_503_while_down": writes_down, "writes_202_while_up": writes_up, "gunicorn_workers_unchanged": same_workers, "phases": summary}, indent=2))
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", type=float, default=6, help="seconds per phase")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
