"""The production proxy tier: nginx (and Caddy) serving a storefront directly vs in front of Gharart.

One command (from the repository root):

    .venv/bin/python bench/proxy_bench.py                         # SQLite, local-memory cache
    .venv/bin/python bench/proxy_bench.py --database-url postgres://postgres@127.0.0.1:5432/gharart_proxy \\
        --redis-url redis://127.0.0.1:6379/4 --write               # PostgreSQL + Redis, update docs/benchmarks.md

It publishes the demo storefront (``deployments.demo.site_files``) as a live site, writes
the same files to a directory, and loads each server with ``wrk`` (``--connections``
connections, 2 threads, cycling through every URL of the site on the live host), in
interleaved rounds:

1. nginx serving the directory itself (``root``), over TLS like the sites server;
2. docs/deploy/nginx.conf as documented (the one-second microcache, the X-Accel-Redirect
   hand-off server) in front of gunicorn (``--workers`` sync workers, GHARART_ACCEL_REDIRECT=1);
3. Caddy's ``file_server`` on the directory (plain HTTP);
4. Caddy's ``reverse_proxy`` (docs/deploy/Caddyfile's, no cache: Caddy has none built in)
   in front of a second gunicorn (same workers, bytes sent by Django);
5. that gunicorn alone, for reference.

``--write`` replaces the ``## Proxy tier`` section of docs/benchmarks.md. Everything it
starts is stopped and its temp directory (and database) removed when it ends.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import free_port, teardown, wait_ready, write_section  # noqa: E402
from bench.deployments_bench import (  # noqa: E402
    Upload,
    base_env,
    machine,
    pg_create,
    start_gunicorn,
    zip_bytes,
)
from tests.domains.nginx_conf import SITES, documented_conf  # noqa: E402

HANDLE = "bench"
HOST = f"{HANDLE}.{SITES}"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

NOTE = (
    'Reading it: the microcache row runs docs/deploy/nginx.conf as written (one-second entries keyed by host, URI, encoding and the current second; the X-Accel-Redirect hand-off through its loopback server), so each of the storefront\'s URLs reaches Django about once a second and every other request is a cache hit; its p99 comes from the requests that miss together at the start of each second (no `proxy_cache_lock`: with it, waiters sleep in 500 ms steps and an earlier run measured 0.30x with a 490 ms p99). Caddy has no cache, so its proxy row is Django on every request. Gharart alone is the same gunicorn without a proxy (the in-Django fast path is measured in "Site hosts").'
)

WRK_SCRIPT = """
paths = {%s}
i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""

DIRECT_SERVER = """
    # The peer: the same files served by nginx from a directory.
    server {{
        listen 127.0.0.1:{port} ssl http2;
        server_name _;
        ssl_certificate     {folder}/sites-wildcard.fullchain.pem;
        ssl_certificate_key {folder}/sites-wildcard.key.pem;
        root {site};
    }}
}}
"""

CADDYFILE = """{{
	admin off
	auto_https off
}}
http://:{direct} {{
	bind 127.0.0.1
	root * {site}
	file_server
}}
http://:{proxy} {{
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:{upstream}
}}
"""


def url_paths(files):
    out = []
    for name in sorted(files):
        if name == "index.html":
            out.append("/")
        elif name.endswith("/index.html"):
            out.append("/" + name[: -len("index.html")])
        else:
            out.append("/" + name)
    return out


def publish_storefront(user, handle):
    from deployments import demo
    from deployments.services.ingest import deployment_create_from_archive
    from deployments.services.releases import deployment_preview_report, deployment_promote
    from deployments.services.site import site_mode_set
    from gharart import constants as c

    site = demo.site_files()
    dep = deployment_create_from_archive(handle=handle, upload=Upload(zip_bytes(site), "shop.zip"), message="storefront", actor=user)
    deployment_preview_report(deployment=dep, actor=user)
    deployment_promote(deployment=dep, actor=user, role="owner", reason="bench")
    site_mode_set(handle=handle, mode=c.SITE_MODE_DEPLOYMENT, actor=user)
    return site


def _p(text, label):
    m = re.search(label, text)
    return m.group(1) if m else None


def _ms(value):
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(base, paths, seconds, connections, script_dir, host=None):
    script = script_dir / "paths.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths))
    cmd = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(script)]
    if host:
        cmd += ["-H", f"Host: {host}"]
    out = subprocess.run([*cmd, base], capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    bad = _p(out, r"Non-2xx or 3xx responses: (\d+)")
    errors = _p(out, r"Socket errors: (.*)")
    return {
        "rps": float(_p(out, r"Requests/sec:\s+([\d.]+)")),
        "p50_ms": _ms(_p(out, r"\n\s+50%\s+(\S+)")),
        "p99_ms": _ms(_p(out, r"\n\s+99%\s+(\S+)")),
        "bad": int(bad or 0),
        "errors": errors,
    }


def check_same_bytes(servers, paths, site_bytes):
    for name, base, host in servers:
        for path in paths:
            r = httpx.get(base + path, headers={"Host": host} if host else {}, verify=False, timeout=10)
            assert r.status_code == 200 and r.content == site_bytes[path], (name, path, r.status_code, dict(r.headers), r.content[:300], site_bytes[path][:300])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="load duration per row and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (the median is reported)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--write", action="store_true", help="update the ## Proxy tier section of docs/benchmarks.md")
    args = parser.parse_args()
    for tool in ("wrk", "openssl"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install {tool})")

    work = Path(tempfile.mkdtemp(prefix="gharart-proxy-bench-"))
    var_dir = work / "var"
    var_dir.mkdir()
    if args.database_url:
        pg_create(args.database_url)
    procs = []
    try:
        env = {**base_env(var_dir, args.database_url, args.redis_url), "GHARART_SITES_DOMAIN": SITES, "GHARART_THROTTLE_READ": "100000000/min"}
        os.environ.update(env)
        import django

        django.setup()
        from django.core.cache import cache
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        cache.clear()
        from gharart import services as gservices

        user, _ = gservices.user_get_or_create(username="bench")
        handle = gservices.handle_create(slug=HANDLE, owner=user)
        site = publish_storefront(user, handle)
        paths = url_paths(site)
        site_bytes = {p: site[n] for p, n in zip(paths, sorted(site), strict=True)}
        site_dir = work / "site"
        for name, data in site.items():
            (site_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (site_dir / name).write_bytes(data)
        os.chmod(work, 0o755)
        mach = machine(args.database_url, args.redis_url, args.workers)
        from django.core.files.storage import storages
        from django.db import connections

        blobs = storages["blobs"].location.rstrip("/") + "/"
        connections.close_all()

        log = open(work / "servers.log", "wb")  # noqa: SIM115 - closed with the temp dir
        full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        accel_port, plain_port = free_port(), free_port()
        procs.append(start_gunicorn("gharart.wsgi:application", accel_port, {**full_env, "GHARART_ACCEL_REDIRECT": "1"}, log, args.workers))
        procs.append(start_gunicorn("gharart.wsgi:application", plain_port, {**full_env, "GHARART_ACCEL_REDIRECT": "0"}, log, args.workers))

        nginx_dir = work / "nginx"
        nginx_dir.mkdir()
        for name in ("app", "sites-wildcard"):
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=bench",
                 "-keyout", f"{nginx_dir}/{name}.key.pem", "-out", f"{nginx_dir}/{name}.fullchain.pem"],
                check=True, capture_output=True, timeout=60,
            )
        https_port, http_port, handoff_port, direct_port = free_port(), free_port(), free_port(), free_port()
        conf = documented_conf(nginx_dir, upstream=f"127.0.0.1:{accel_port}", https_port=https_port, http_port=http_port,
                               handoff_port=handoff_port, blobs=blobs, workers=args.workers)
        conf = conf.rstrip().removesuffix("}") + DIRECT_SERVER.format(port=direct_port, folder=nginx_dir, site=site_dir)
        (nginx_dir / "nginx.conf").write_text(conf)
        procs.append(subprocess.Popen([NGINX, "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf")], stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

        caddy_direct, caddy_proxy = free_port(), free_port()
        caddy = shutil.which("caddy")
        if caddy:
            (work / "Caddyfile").write_text(CADDYFILE.format(direct=caddy_direct, proxy=caddy_proxy, site=site_dir, upstream=plain_port))
            procs.append(subprocess.Popen([caddy, "run", "--config", str(work / "Caddyfile"), "--adapter", "caddyfile"], stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True, env={**os.environ, "HOME": str(work), "XDG_DATA_HOME": str(work), "XDG_CONFIG_HOME": str(work)}))

        wait_ready(f"http://127.0.0.1:{accel_port}/healthz")
        wait_ready(f"http://127.0.0.1:{plain_port}/healthz")
        for _ in range(100):
            try:
                httpx.get(f"https://127.0.0.1:{direct_port}/", verify=False, timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        cases = [
            ("nginx, the same files from a directory", f"https://127.0.0.1:{direct_port}", None),
            ("nginx + microcache in front of Gharart (docs/deploy/nginx.conf)", f"https://127.0.0.1:{https_port}", HOST),
        ]
        if caddy:
            wait_ready(f"http://127.0.0.1:{caddy_direct}/")
            cases += [
                ("Caddy `file_server`, the same files from a directory", f"http://127.0.0.1:{caddy_direct}", None),
                ("Caddy `reverse_proxy` in front of Gharart (no cache)", f"http://127.0.0.1:{caddy_proxy}", HOST),
            ]
        cases.append(("Gharart alone (gunicorn, Django sends the bytes)", f"http://127.0.0.1:{plain_port}", HOST))
        check_same_bytes(cases, paths, site_bytes)
        for _, base, host in cases:
            wrk(base, paths, 2, args.connections, work, host)  # warm-up
        runs = {name: [] for name, *_ in cases}
        for _ in range(args.rounds):
            for name, base, host in cases:
                runs[name].append(wrk(base, paths, args.seconds, args.connections, work, host))
        load_avg = os.getloadavg()
        rows = {}
        for name, results in runs.items():
            rows[name] = {
                "rps": statistics.median(r["rps"] for r in results),
                "rps_all": [r["rps"] for r in results],
                "p50_ms": statistics.median(r["p50_ms"] for r in results),
                "p99_ms": statistics.median(r["p99_ms"] for r in results),
                "bad": sum(r["bad"] for r in results),
                "errors": "; ".join(r["errors"] for r in results if r["errors"]),
            }
        text = report(args, mach, cases, rows, paths, load_avg)
        print(text)
        if args.write:
            write_section("Proxy tier", text)
            print("\nwrote the ## Proxy tier section of docs/benchmarks.md")
        cache.clear()
    finally:
        teardown(work, procs=procs, database_url=args.database_url)


def report(args, mach, cases, rows, paths, load_avg):
    from importlib.metadata import version  # noqa: F401

    nginx_v = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1] if shutil.which("wrk") else "?"
    caddy_v = subprocess.run(["caddy", "version"], capture_output=True, text=True).stdout.split()[0] if shutil.which("caddy") else "-"
    cmd = "`.venv/bin/python bench/proxy_bench.py" + (f" --database-url {args.database_url}" if args.database_url else "") + (f" --redis-url {args.redis_url}" if args.redis_url else "") + "`"
    names = [c[0] for c in cases]
    peer_of = {names[1]: names[0]}
    if len(names) > 3 and names[2].startswith("Caddy"):
        peer_of[names[3]] = names[2]
        peer_of[names[4]] = names[2]
    else:
        peer_of[names[-1]] = names[0]
    lines = [
        f"Run with {cmd} on {time.strftime('%Y-%m-%d', time.gmtime())}.",
        "",
        f"Machine: {mach}; nginx {nginx_v} ({args.workers} worker processes), Caddy {caddy_v}, wrk {wrk_v}. "
        f"Load average at the end of the run: {load_avg[0]:.1f} / {load_avg[1]:.1f} / {load_avg[2]:.1f} (1/5/15 min; the machine is shared).",
        "",
        f"The demo storefront ({len(paths)} files, every URL of the live host in turn), wrk with {args.connections} connections "
        f"and 2 threads, {args.rounds} interleaved rounds of {args.seconds} s per row after a 2 s warm-up; requests/s is the median "
        "of the rounds (all rounds in brackets), latency the median of the rounds' p50/p99. nginx rows are HTTPS (HTTP/1.1, "
        "keep-alive), Caddy rows plain HTTP. Every response body was checked against the files before loading.",
        "",
        "| server | requests/s | ratio to its peer | p50 | p99 | non-2xx |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        r = rows[name]
        peer = peer_of.get(name)
        ratio = f"{r['rps'] / rows[peer]['rps']:.2f}x" if peer else "peer"
        rounds = ", ".join(f"{x:.0f}" for x in r["rps_all"])
        lines.append(f"| {name} | {r['rps']:.0f} ({rounds}) | {ratio} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | {r['bad']} |")
    lines += ["", NOTE]
    errors = [f"{n}: {rows[n]['errors']}" for n in names if rows[n]["errors"]]
    if errors:
        lines += ["", "Socket errors: " + "; ".join(errors)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
