"""Crawl speed: the site-intel crawler vs LinkChecker on the same 2,000-page site.

One command (from the repository root):

    .venv/bin/python bench/siteintel_bench.py             # 2,000 pages, concurrency 4, 3 rounds, nginx
    .venv/bin/python bench/siteintel_bench.py --pages 500 --concurrency 8 --server gharart --write

LinkChecker comes from PyPI (``pip install '.[bench]'`` installs it, and pyinstrument for
profiling, into the venv).

It builds a throwaway project (SQLite, blobs under a temp dir), generates a static site of
``--pages`` HTML pages (each links to a few others, a stylesheet and an image; some link
to pages that do not exist) and stores it as the live deployment of handle ``bench``
through the real digest-deploy service. The site is served on a 127.0.0.1 ephemeral port:

- ``--server nginx`` (default): nginx, one worker, serving the same files from a
  directory. A client is measured only if the server is not its bottleneck: Gharart's own
  serving on the same two cores is slower than either client, and made every tool wait
  for it (both tools then measured the server).
- ``--server gharart``: gunicorn (4 workers x 4 threads) with ``bench/siteintel_wsgi.py``,
  which maps the host's root to the profile route (as a custom domain would).

Both add the header that lifts LinkChecker's per-host rate limit. After a warm-up crawl,
``--rounds`` rounds run, in turns (the order alternates between rounds), against the same
server:

1. the crawler alone (``siteintel.crawler.crawl`` with the SSRF-guarded httpx fetcher,
   private networks allowed for the loopback address);
2. a whole crawl run of the host registered as a hostname (``siteintel.jobs.crawl_run_execute``:
   the Celery job body, saving pages and progress to SQLite as it goes);
3. ``linkchecker`` (recursive, internal URLs only, same thread count), CSV output.

Each reports wall time, URLs fetched, URLs per second, client CPU and the broken links
found; every round asserts that each tool found exactly the planted broken links.

Then the visual replay: a candidate deployment whose stylesheet changes the headings'
colour (the HTML is the same) is replayed against the last crawl run through the replay
job body, once without and once with ``visual`` (the ``--visual-pages`` most linked pages,
default 25, rendered live and as the candidate in one headless Chromium, each pair
compared pixel by pixel, the PNGs stored as blobs); the difference is the cost of the
pictures. Load averages are read before and after.
``--write`` replaces the ``## Site intel`` section of docs/benchmarks.md with the results.
Everything it starts is stopped and its temp directory removed when it ends.
"""

import argparse
import csv
import io
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import free_port, stop, wait_ready, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench"


def base_env(var_dir):
    return {
        "GHARART_VAR_DIR": str(var_dir),
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "DJANGO_SETTINGS_MODULE": "gharart.settings",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "0",
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "SITEINTEL_ALLOW_PRIVATE_NETWORKS": "1",
        "LOG_LEVEL": "WARNING",
    }


def generate_site(pages, broken_every, seed=7):
    """``{path: html}`` for ``pages`` pages under relative links, plus the missing targets."""
    rng = random.Random(seed)
    files = {"/style.css": b"body{font-family:sans-serif}", "/logo.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 200}
    missing = set()
    for i in range(pages):
        # A tree (children 4i+1..4i+4) so every page is reachable, plus two random links.
        links = [f"p{j}.html" for j in range(4 * i + 1, min(4 * i + 5, pages))]
        links += [f"p{rng.randrange(pages)}.html" for _ in range(2)]
        links.append("index.html")
        if i % broken_every == broken_every - 1:
            target = f"missing-{i}.html"
            links.append(target)
            missing.add("/" + target)
        anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
        body = (
            f'<!doctype html><html><head><meta charset="utf-8"><title>Page {i}</title>'
            f'<link rel="stylesheet" href="style.css"></head><body><img src="logo.png" alt="">'
            f"<h1>Page {i}</h1><p>{'Lorem ipsum dolor sit amet. ' * 20}</p><ul>{anchors}</ul></body></html>"
        )
        files[f"/p{i}.html"] = body.encode()
    files["/index.html"] = files["/p0.html"]
    return files, missing


def setup_project(var_dir, pages, broken_every):
    os.environ.update(base_env(var_dir))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)  # error pages use {% static %}
    from deployments import storage
    from deployments.services.ingest import deployment_blob_put, deployment_create_from_digest
    from deployments.services.releases import deployment_promote
    from deployments.services.site import site_mode_set
    from gharart import constants as gc
    from gharart import services

    user, _ = services.user_get_or_create(username="bench")
    handle = services.handle_create(slug=SLUG, owner=user)
    files, missing = generate_site(pages, broken_every)
    import io

    digest = {path: storage.blob_put_bytes(body).sha256 for path, body in files.items()}
    deployment, required = deployment_create_from_digest(handle=handle, files=digest, message="bench")
    # Blobs count per handle: the handle sends the bytes it has not sent before.
    by_sha = {digest[path]: body for path, body in files.items()}
    for sha in required:
        deployment, _ = deployment_blob_put(deployment=deployment, sha256=sha, stream=io.BytesIO(by_sha[sha]))
    assert deployment.state == "ready"
    site_mode_set(handle=handle, mode=gc.SITE_MODE_DEPLOYMENT)
    deployment_promote(deployment=deployment, role=gc.OWNER, force=True, reason="bench")
    return handle, missing


def start_gunicorn(port, env, log):
    cmd = [
        sys.executable, "-m", "gunicorn", "siteintel_wsgi:application", "--pythonpath", str(ROOT / "bench"), "--bind", f"127.0.0.1:{port}",
        "--workers", "4", "--threads", "4", "--worker-class", "gthread", "--timeout", "120", "--log-level", "warning",
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    keepalive_requests 100000;
    client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {site};
        index index.html;
        # Lifts LinkChecker's per-host rate limit (see the module docstring).
        add_header LinkChecker benchmark always;
    }}
}}
"""


def start_nginx(port, folder, files, log):
    """nginx (one worker) serving ``files`` from a directory: a server that is not the bottleneck."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    site = folder / "site"
    for path, body in files.items():
        target = site / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    # nginx's worker runs as nobody when started by root: it must be able to read the site.
    for p in (folder, site):
        os.chmod(p, 0o755)
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=folder, port=port, site=site))
    cmd = [binary, "-p", str(folder), "-c", str(conf)]
    return subprocess.Popen(cmd, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def path_in_site(url, base):
    return "/" + url[len(base):] if url.startswith(base) else url


def bench_crawler(start, concurrency, max_pages):
    from siteintel import crawler

    broken = set()
    fetcher = crawler.HttpFetcher(allow_private=True, concurrency=concurrency)
    cpu = cpu_seconds(resource.RUSAGE_SELF)
    started = time.perf_counter()
    outcome = crawler.crawl(
        start, fetcher=fetcher, max_pages=max_pages, max_depth=100, max_seconds=3600, concurrency=concurrency, delay=0,
        on_page=lambda record, *a: record.is_broken and broken.add(record.url),
    )
    seconds = time.perf_counter() - started
    cpu = cpu_seconds(resource.RUSAGE_SELF) - cpu
    fetcher.close()
    return {"urls": outcome.pages_done, "seconds": seconds, "broken": broken, "cpu": cpu}


def bench_crawl_run(handle, netloc, concurrency, max_pages, settings):
    from siteintel import jobs, services
    from siteintel.models import CrawledPage, CrawlRun

    settings.SITEINTEL_CONCURRENCY = concurrency
    settings.SITEINTEL_DELAY_SECONDS = 0
    if not handle.siteintel_hostnames.filter(hostname=netloc).exists():
        services.hostname_register(handle=handle, hostname=f"http://{netloc}")
    run = CrawlRun.objects.create(handle=handle, hostname=netloc, scheme="http", max_pages=max_pages, max_depth=100)
    cpu = cpu_seconds(resource.RUSAGE_SELF)
    started = time.perf_counter()
    jobs.crawl_run_execute(run_id=run.pk)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds(resource.RUSAGE_SELF) - cpu
    run.refresh_from_db()
    assert run.state == "succeeded", run.error
    broken = {p.url for p in CrawledPage.objects.filter(crawl_run=run) if p.is_broken}
    return {"urls": run.pages_done, "seconds": seconds, "broken": broken, "cpu": cpu}


def linkchecker_exe():
    return shutil.which("linkchecker", path=str(Path(sys.executable).parent)) or shutil.which("linkchecker")


def linkchecker_version():
    exe = linkchecker_exe()
    if exe is None:
        return None
    return subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.split("\n", 1)[0].strip()


def bench_linkchecker(start, concurrency):
    exe = linkchecker_exe()
    # Lift its per-host rate limit (the server sends the LinkChecker header that allows it).
    with tempfile.NamedTemporaryFile("w", suffix=".rc", delete=False) as rc:
        rc.write("[checking]\nmaxrequestspersecond=100000\n")
    os.chmod(rc.name, 0o644)  # it drops root privileges before reading it
    cmd = [exe, "-f", rc.name, "--no-status", "--verbose", "-o", "csv", "-t", str(concurrency), "-r", "-1", start]
    try:
        cpu = cpu_seconds(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd="/tmp")
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
    finally:
        os.unlink(rc.name)
    lines = [line for line in done.stdout.splitlines() if line and not line.startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines)), delimiter=";"))
    urls = {row["url"] for row in rows if row.get("url")}
    broken = {row["url"] for row in rows if row.get("valid") == "False"}
    return {"urls": len(urls), "seconds": seconds, "broken": broken, "cpu": cpu}


def cpu_seconds(who):
    """User + system CPU time of this process (all its threads) or of its waited-for children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def bench_visual(handle, netloc, pages, broken_every, visual_pages):
    """Replay the last crawl against a CSS-only candidate without and with ``visual``."""
    from deployments import storage
    from deployments.services.ingest import deployment_blob_put, deployment_create_from_digest
    from siteintel import jobs
    from siteintel.models import CrawlRun, ReplayRun

    files, _ = generate_site(pages, broken_every)
    files["/style.css"] = files["/style.css"] + b"h1{color:#c00;border-bottom:4px solid #c00}"
    digest = {path: storage.blob_put_bytes(body).sha256 for path, body in files.items()}
    candidate, required = deployment_create_from_digest(handle=handle, files=digest, message="bench candidate")
    by_sha = {digest[path]: body for path, body in files.items()}
    for sha in required:  # the changed stylesheet
        candidate, _ = deployment_blob_put(deployment=candidate, sha256=sha, stream=io.BytesIO(by_sha[sha]))
    assert candidate.state == "ready"
    crawl = CrawlRun.objects.filter(handle=handle, hostname=netloc, state="succeeded").latest("created_at")
    out = {}
    for name, visual in (("plain", False), ("visual", True)):
        run = ReplayRun.objects.create(
            handle=handle, hostname=netloc, crawl_run=crawl, deployment_id=candidate.pk, pages_found=crawl.pages_done,
            visual=visual, visual_max_pages=visual_pages,
        )
        started = time.perf_counter()
        jobs.replay_run_execute(run_id=run.pk)
        seconds = time.perf_counter() - started
        run.refresh_from_db()
        assert run.state == "succeeded", run.error
        diffs = list(run.diffs.all())
        out[name] = {
            "seconds": seconds,
            "pages": run.summary["total"],
            "visual_pages": (run.summary.get("visual") or {}).get("pages", 0),
            "visual_changed": sum(1 for d in diffs if d.kind == "visual_changed"),
            "render_errors": sum(1 for d in diffs if d.kind == "visual_changed" and (d.visual or {}).get("error")),
        }
    return out


def server_version(args):
    if args.server == "nginx":
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        return subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip().replace("nginx version: ", "")
    from importlib.metadata import version

    return f"gunicorn {version('gunicorn')} (4 workers x 4 threads, gthread)"


def chromium_version():
    from django.conf import settings

    try:
        return subprocess.run([settings.SITEINTEL_CHROMIUM_PATH, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "Chromium not found"


def load_average():
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def machine(linkchecker_version, args):
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")))
    from importlib.metadata import version

    import django

    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, Django {django.get_version()}, {server_version(args)}, httpx {version('httpx')}, selectolax {version('selectolax')}, {linkchecker_version or 'LinkChecker not installed'}, "
        f"{chromium_version()} with Playwright {version('playwright')}, Pillow {version('pillow')}; "
        "clients and server on the same machine over 127.0.0.1, SQLite, blobs on the local filesystem"
    )


CRAWLER = "Gharart crawler (`siteintel.crawler`)"
CRAWL_RUN = "Gharart crawl run (job body, pages saved to SQLite)"


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def rate(r):
    return r["urls"] / r["seconds"]


def cpu_rate(r):
    return r["urls"] / max(r["cpu"], 0.001)


def server_line(args):
    if args.server == "nginx":
        return (
            "nginx (one worker, keep-alive) serving the site's files from a directory: a server much faster than either "
            "client, so the clients are measured, not the server"
        )
    return (
        "Gharart's profile route at the root of a 127.0.0.1 host (as a custom domain would be), gunicorn 4 workers x 4 "
        "threads: here the server, on the same two cores, bounds both clients"
    )


def report(runs, args, expected_broken, machine_line, visual=None, loads=("", "")):
    """``runs``: ``{tool name: [result per round]}``."""
    today = time.strftime("%Y-%m-%d")
    out = [
        "## Site intel",
        "",
        f"Run with `.venv/bin/python bench/siteintel_bench.py --pages {args.pages} --concurrency {args.concurrency} "
        f"--rounds {args.rounds} --server {args.server}` on {today}.",
        "",
        f"Machine: {machine_line}.",
        "",
        f"Load average (1/5/15 min) when the run started: {loads[0]}; when it ended: {loads[1]} "
        "(the machine is shared, so absolute times move with the load; the ratios are from the same run).",
        "",
        f"Site: {args.pages} generated HTML pages (plus a stylesheet and an image every page loads); "
        f"{len(expected_broken)} pages link to a page that does not exist. Served by {server_line(args)}. Every tool runs "
        f"{args.concurrency} requests at a time. {args.rounds} rounds, the tools taking turns within each round (which goes "
        "first alternates); the table shows each tool's median round.",
        "",
        "| tool | wall time | URLs fetched | URLs/second | client CPU | URLs per client CPU-second | broken links found |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, results in runs.items():
        if not results:
            out.append(f"| {name} | not run | | | | | |")
            continue
        r = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]
        found = r["found"]
        match = "all" if found == expected_broken else f"{len(found & expected_broken)} of the planted, {len(found - expected_broken)} others"
        out.append(
            f"| {name} | {r['seconds']:.2f} s | {r['urls']} | {rate(r):.0f} | {r['cpu']:.2f} s | "
            f"{cpu_rate(r):.0f} | {len(found)} ({match}) |"
        )
    out += [
        "",
        "URLs fetched include the stylesheet and the image, and for the broken links the 404 pages. The crawler run "
        "alone is the httpx fetcher (keep-alive connections, the host's addresses checked once per crawl) plus one "
        "selectolax pass per page; the crawl run adds what a real job does (saving the page records in batches and the "
        "progress to the database, looking for a cancel every few pages). LinkChecker checks each URL with its own "
        "robots.txt and content checks and parses HTML with BeautifulSoup; its count is of unique URLs in its verbose "
        "CSV. By default LinkChecker waits 0.1-0.6 s between requests to one host (about 3 URLs/s); the server here "
        "sends the header that lifts that limit, so both run unthrottled (the crawler's own politeness delay, "
        "`SITEINTEL_DELAY_SECONDS`, is 0 by default and robots.txt `Crawl-delay` is honoured). Every round asserts "
        "that the crawler, the crawl run and LinkChecker each found exactly the planted broken links.",
        "",
    ]
    lc_name = next((n for n in runs if n.startswith("LinkChecker")), None)
    crawler_runs, lc_runs = runs.get(CRAWLER) or [], runs.get(lc_name) or []
    if crawler_runs and lc_runs:
        per_round = [rate(a) / rate(b) for a, b in zip(crawler_runs, lc_runs, strict=True)]
        cpu_ratio = median(cpu_rate(r) for r in crawler_runs) / median(cpu_rate(r) for r in lc_runs)
        job = runs.get(CRAWL_RUN) or []
        job_ratio = median(rate(a) / rate(b) for a, b in zip(job, lc_runs, strict=True)) if job else None
        out += [
            f"Crawler vs LinkChecker: **{median(per_round):.2f}x** the URLs per second of wall time (median of the rounds' "
            f"ratios; rounds: {', '.join(f'{x:.2f}x' for x in per_round)}; the goal is 2x), "
            + (f"{job_ratio:.2f}x for the whole crawl run, " if job_ratio is not None else "")
            + f"and {cpu_ratio:.2f}x the URLs per second of client CPU (user + system, of the crawler's process or of "
            "the LinkChecker subprocess: what each tool itself costs). Client and server share the machine's cores, "
            "so single rounds vary by tens of percent.",
            "",
        ]
    if visual:
        plain, vis = visual["plain"], visual["visual"]
        cost = vis["seconds"] - plain["seconds"]
        out += [
            "### Visual replay",
            "",
            f"The crawl run's snapshot replayed through the replay job against a candidate whose stylesheet changes the "
            f"headings (HTML unchanged), without and with `\"visual\": true` ({vis['visual_pages']} most linked pages, each "
            "rendered live and as the candidate in one headless Chromium at 1280x800, compared pixel by pixel, the three "
            "PNGs of each changed page stored as blobs).",
            "",
            "| replay | wall time | pages diffed | pages rendered (x2) | visual_changed |",
            "|---|---:|---:|---:|---:|",
            f"| HTTP only | {plain['seconds']:.1f} s | {plain['pages']} | 0 | 0 |",
            f"| with visual | {vis['seconds']:.1f} s | {vis['pages']} | {vis['visual_pages']} | {vis['visual_changed']} ({vis['render_errors']} not rendered) |",
            "",
            f"The pictures cost {cost:.1f} s for {vis['visual_pages']} pages ({cost / max(vis['visual_pages'], 1):.2f} s a page, "
            f"browser start included; the budget is 60 s for 25). The live side is fetched from the site's server over "
            "127.0.0.1 through the SSRF-guarded fetcher, the candidate in-process as its preview host serves it; the "
            "browser itself has no network.",
            "",
        ]
    return "\n".join(out)


def check_broken(name, r, base, expected):
    r["found"] = {path_in_site(u, base) for u in r["broken"]}
    assert r["found"] == expected, f"{name} found {sorted(r['found'] ^ expected)[:10]} apart from the planted broken links"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of crawler / crawl run / LinkChecker, interleaved")
    parser.add_argument("--server", choices=("nginx", "gharart"), default="nginx", help="what serves the site (default: nginx from a directory)")
    parser.add_argument("--broken-every", type=int, default=50, help="every Nth page links to a missing page")
    parser.add_argument("--visual-pages", type=int, default=25, help="pages a visual replay renders (0: skip the visual replay)")
    parser.add_argument("--write", action="store_true", help="write the results to docs/benchmarks.md")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="gharart-siteintel-bench-"))
    server = None
    log = open(var_dir / "server.log", "w")
    try:
        load_start = load_average()
        handle, expected = setup_project(var_dir, args.pages, args.broken_every)
        from django.conf import settings

        port = free_port()
        if args.server == "nginx":
            server = start_nginx(port, var_dir, generate_site(args.pages, args.broken_every)[0], log)
        else:
            server = start_gunicorn(port, {**os.environ, **base_env(var_dir)}, log)
        netloc = f"127.0.0.1:{port}"
        base = f"http://{netloc}/"
        wait_ready(base)
        max_pages = args.pages * 2 + 100
        print(f"Site ready at {base} ({args.pages} pages, {len(expected)} planted broken links, {args.server})", flush=True)
        bench_crawler(base, args.concurrency, max_pages)  # warm-up: the server's caches, the OS's page cache
        lc_version = linkchecker_version()
        lc_name = f"LinkChecker ({lc_version})" if lc_version else "LinkChecker"
        runs = {CRAWLER: [], CRAWL_RUN: [], lc_name: []}
        tools = [
            (CRAWLER, lambda: bench_crawler(base, args.concurrency, max_pages)),
            (CRAWL_RUN, lambda: bench_crawl_run(handle, netloc, args.concurrency, max_pages, settings)),
        ]
        if lc_version:
            tools.append((lc_name, lambda: bench_linkchecker(base, args.concurrency)))
        for round_no in range(args.rounds):
            order = tools if round_no % 2 == 0 else list(reversed(tools))
            for name, run in order:
                r = run()
                check_broken(name, r, base, expected)
                runs[name].append(r)
                print(f"round {round_no + 1}: {name}: {r['urls']} URLs in {r['seconds']:.2f} s ({rate(r):.0f}/s, load {load_average()})", flush=True)
        visual = None
        if args.visual_pages:
            visual = bench_visual(handle, netloc, args.pages, args.broken_every, args.visual_pages)
            print(f"replay: {visual['plain']['seconds']:.1f} s plain, {visual['visual']['seconds']:.1f} s with visual", flush=True)
        text = report(runs, args, expected, machine(lc_version, args), visual, (load_start, load_average()))
        print()
        print(text)
        if args.write:
            write_section("Site intel", text)
            print("Wrote the '## Site intel' section of docs/benchmarks.md")
    finally:
        if server is not None:
            stop(server)
        log.close()
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
