"""Upload and download a large file through the whole Django stack and report peak RSS.

Run by ``test_memory.py`` in a subprocess (so the measurement is this process alone):
``python tests/files/memory_probe.py SIZE_MB``. The request body is generated while it is
read and the response is consumed chunk by chunk, so any growth is the server's.
Prints one JSON object.
"""

import io
import json
import os
import resource
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
os.environ["GHARART_VAR_DIR"] = tempfile.mkdtemp(prefix="gharart-memprobe-")
# Its own throwaway SQLite database: memory use does not depend on the backend. Blobs go
# to S3 when the GHARART_S3_* variables are set (test_memory.py points them at SeaweedFS).
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402

BOUNDARY = "gharartprobeboundary"
CHUNK = 1024 * 1024


class GeneratedBody(io.RawIOBase):
    """A multipart body of ``size`` file bytes, produced as it is read (never held whole)."""

    def __init__(self, size):
        self.head = (
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"access\"\r\n\r\npublic\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.size = size
        self.length = len(self.head) + size + len(self.tail)
        self.pos = 0
        self.block = os.urandom(CHUNK)

    def readable(self):
        return True

    def _byte_slice(self, start, n):
        out = bytearray()
        head_end = len(self.head)
        body_end = head_end + self.size
        while n > 0 and start < self.length:
            if start < head_end:
                piece = self.head[start : start + n]
            elif start < body_end:
                offset = (start - head_end) % CHUNK
                take = min(n, CHUNK - offset, body_end - start)
                piece = self.block[offset : offset + take]
            else:
                piece = self.tail[start - body_end : start - body_end + n]
            out += piece
            start += len(piece)
            n -= len(piece)
        return bytes(out)

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.length - self.pos
        data = self._byte_slice(self.pos, n)
        self.pos += len(data)
        return data

    def readline(self, limit=-1):
        return self.read(limit if limit and limit > 0 else 65536)


def current_rss_kb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


SAMPLES = []


def call(app, method, path, *, body=None, headers=None):
    status = {}

    def start_response(s, h, exc_info=None):
        status["status"] = s
        status["headers"] = dict(h)

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.split("?")[0],
        "QUERY_STRING": path.partition("?")[2],
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": body if body is not None else io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(body.length) if body is not None else "0",
        **(headers or {}),
    }
    if body is not None:
        environ["CONTENT_TYPE"] = f"multipart/form-data; boundary={BOUNDARY}"
    result = app(environ, start_response)
    total, first = 0, b""
    try:
        for chunk in result:
            if not first:
                first = chunk[:4096]
            total += len(chunk)
            SAMPLES.append(current_rss_kb())
    finally:
        if hasattr(result, "close"):
            result.close()
    return int(status["status"].split()[0]), total, first


def maxrss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    size = int(sys.argv[1]) * 1024 * 1024 if len(sys.argv) > 1 else 100 * 1024 * 1024
    call_command("migrate", verbosity=0)
    from gharart import constants as c
    from gharart import services

    user, _ = services.user_get_or_create(username="probe", password="pw")
    handle = services.handle_create(slug="probe", owner=user)
    _, secret = services.token_create(user=user, name="probe", scopes=[c.SCOPE_FILES_WRITE, c.SCOPE_FILES_READ], handle=handle)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    app = WSGIHandler()

    # Warm up every code path with a small file so imports and caches are in the baseline.
    status, _, first = call(app, "POST", "/v2/handles/probe/files", body=GeneratedBody(CHUNK), headers=auth)
    assert status == 201, (status, first)
    small = json.loads(first)["id"]
    call(app, "GET", f"/v2/public/files/{small}")
    call(app, "GET", f"/v2/public/files/{small}", headers={"HTTP_RANGE": "bytes=10-"})
    baseline = maxrss_kb()

    status, _, first = call(app, "POST", "/v2/handles/probe/files", body=GeneratedBody(size), headers=auth)
    assert status == 201, (status, first)
    big = json.loads(first)
    after_upload = maxrss_kb()
    import gc

    gc.collect()
    before_download = current_rss_kb()
    SAMPLES.clear()
    dl_status, dl_bytes, _ = call(app, "GET", f"/v2/public/files/{big['id']}")
    range_status, range_bytes, _ = call(app, "GET", f"/v2/public/files/{big['id']}", headers={"HTTP_RANGE": f"bytes={size // 2}-"})
    small_status, small_bytes, _ = call(app, "GET", f"/v2/public/files/{big['id']}", headers={"HTTP_RANGE": f"bytes={size // 3}-{size // 3 + 99}"})
    SAMPLES.append(current_rss_kb())
    peak = maxrss_kb()
    print(
        json.dumps(
            {
                "size": size,
                "uploaded_size": big["size"],
                "upload_status": status,
                "download_status": dl_status,
                "downloaded_bytes": dl_bytes,
                "range_status": range_status,
                "range_bytes": range_bytes,
                "small_range_status": small_status,
                "small_range_bytes": small_bytes,
                "backend": "s3" if os.environ.get("GHARART_S3_BUCKET") else "local",
                "before_download_kb": before_download,
                "download_growth_kb": max(SAMPLES) - before_download,
                "baseline_kb": baseline,
                "after_upload_kb": after_upload,
                "peak_kb": peak,
                "growth_kb": peak - baseline,
            }
        )
    )


if __name__ == "__main__":
    main()
