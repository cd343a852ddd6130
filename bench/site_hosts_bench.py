"""Site hosts: what routing by host costs, next to the profile route in the same run.

In-process (Django's test client, no network, SQLite in a temporary directory): the same
storefront pages requested as ``/profiles/{handle}/...`` and at the root of the live host
``{handle}.{GHARART_SITES_DOMAIN}``, interleaved in rounds so background load hits both
alike; and a dashboard page on its own host next to the same page on a host the router
must look up as a possible custom domain (one indexed query). Writes the "Site hosts"
section of docs/benchmarks.md.

    .venv/bin/python bench/site_hosts_bench.py [--requests 2000] [--rounds 5]
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(var_dir):
    os.environ.update({"GHARART_VAR_DIR": var_dir, "GHARART_DEV": "1", "SECRET_KEY": "bench-" + "x" * 40, "GHARART_SITES_DOMAIN": "sites.bench.example", "GHARART_PUBLIC_URL": "http://testserver"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gharart.settings")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.conf import settings

    # No collectstatic in a throwaway directory: plain static URLs for the dashboard pages.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def publish():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bench.deployments_bench import zip_bytes
    from deployments import demo
    from deployments.services.ingest import deployment_create_from_archive
    from deployments.services.releases import deployment_preview_report, deployment_promote
    from deployments.services.site import site_mode_set
    from gharart import constants as c
    from gharart import services as gservices

    handle = gservices.handle_create(slug="shop", display_name="Shop")
    dep = deployment_create_from_archive(handle=handle, upload=SimpleUploadedFile("s.zip", zip_bytes(demo.site_files())), message="bench")
    deployment_preview_report(deployment=dep)
    deployment_promote(deployment=dep, role="owner", reason="bench", actor=None)
    site_mode_set(handle=handle, mode=c.SITE_MODE_DEPLOYMENT)


def timed(client, paths, count, **extra):
    started = time.perf_counter()
    for i in range(count):
        r = client.get(paths[i % len(paths)], **extra)
        if r.streaming:
            b"".join(r.streaming_content)
        assert r.status_code in (200, 302), (paths[i % len(paths)], r.status_code)
    return count / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gharart-bench-") as var_dir:
        setup(var_dir)
        publish()
        from django.test import Client

        from bench.common import write_section

        rel = ["", "about.html", "products/", "contact.html", "css/site.css", "img/logo.png"]
        cases = {
            "`/profiles/shop/...` (dashboard host)": (Client(), [f"/profiles/shop/{p}" for p in rel]),
            "live host `shop.sites.bench.example/...`": (Client(HTTP_HOST="shop.sites.bench.example"), [f"/{p}" for p in rel]),
            "dashboard `/accounts/login/` on its own host": (Client(), ["/accounts/login/"]),
            "dashboard `/accounts/login/` on a host looked up as a custom domain": (Client(HTTP_HOST="other.example"), ["/accounts/login/"]),
        }
        for client, paths in cases.values():
            timed(client, paths, 200)  # warm-up: caches, templates
        runs = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (client, paths) in cases.items():
                runs[name].append(timed(client, paths, args.requests))
        rps = {name: statistics.median(values) for name, values in runs.items()}
        names = list(cases)
        load = os.getloadavg()
        lines = [
            f"`bench/site_hosts_bench.py`, in-process (Django test client, SQLite, local-memory cache), "
            f"{args.rounds} interleaved rounds of {args.requests} requests; median requests/s. "
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.",
            "",
            "| route | requests/s | ratio |",
            "|---|---:|---:|",
            f"| {names[0]} | {rps[names[0]]:.0f} | 1.00 |",
            f"| {names[1]} | {rps[names[1]]:.0f} | {rps[names[1]] / rps[names[0]]:.2f} |",
            f"| {names[2]} | {rps[names[2]]:.0f} | 1.00 |",
            f"| {names[3]} | {rps[names[3]]:.0f} | {rps[names[3]] / rps[names[2]]:.2f} |",
            "",
            "The live host skips sessions, CSRF, authentication and the dashboard's other middleware, "
            "so it answers at least as fast as the profile route; a warm request to it makes no "
            "database query. A host that is neither the dashboard's nor under the sites domain costs "
            "one indexed look-up (a possible custom domain) before the dashboard answers it; the login "
            "page itself makes no query, so on SQLite (a new connection per request) that also opens "
            "a connection. The dashboard's own host (`GHARART_PUBLIC_URL`, exact `ALLOWED_HOSTS` "
            "names), IP addresses and `localhost` are never looked up.",
        ]
        write_section("Site hosts", "\n".join(lines))
        print("\n".join(lines))


if __name__ == "__main__":
    main()
