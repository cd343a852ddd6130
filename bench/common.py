"""What the benchmark scripts share: free ports, readiness, stopping servers, throwaway
PostgreSQL databases, the end of a run, the report file."""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, timeout=60):
    """Wait until ``url`` answers without a server error."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def stop(proc):
    """Stop a server started with ``start_new_session=True`` (its whole process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _pg_admin(url):
    import psycopg

    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    return psycopg.connect(admin, autocommit=True), parsed.path.lstrip("/")


def pg_create(url):
    conn, name = _pg_admin(url)
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def pg_drop(url):
    conn, name = _pg_admin(url)
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def teardown(work, *, procs=(), database_url=None):
    """The end of a run: stop its servers (the last started first), close Django's
    connections, drop its throwaway database and remove its temp directory."""
    for proc in reversed(list(procs)):
        stop(proc)
    try:
        from django.db import connections

        connections.close_all()
    except Exception:
        pass  # Django was never set up
    if database_url:
        pg_drop(database_url)
    shutil.rmtree(work, ignore_errors=True)


def write_section(heading, text):
    """Replace (or append) the ``## {heading}`` section of docs/benchmarks.md, leaving the others alone."""
    path = ROOT / "docs" / "benchmarks.md"
    title = f"## {heading}"
    body = text.strip()
    if body.startswith(title):
        body = body[len(title):].strip()
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = current.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == title), None)
    section = f"{title}\n\n{body}\n\n"
    if start is None:
        new = current.rstrip("\n") + "\n\n" + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = "".join(lines[:start]) + section + "".join(lines[end:])
    path.write_text(new.rstrip("\n") + "\n")
