"""Uploads and downloads stay within a fixed memory bound (measured in a subprocess).

On both blob backends: local files (100 MB) and S3 on SeaweedFS (150 MB, where
django-storages' S3File would hold the whole object: ranged GETs must not).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("memory_probe.py")
# Far below the file size: the bytes are streamed, never held whole (on S3 an upload
# holds one 8 MB multipart part, sent while the next is read).
MAX_GROWTH_MB = 30
# Downloads (whole, half, 100 bytes) after the upload: a few MB at most.
MAX_DOWNLOAD_GROWTH_MB = 8


@pytest.mark.parametrize("backend,size_mb", [("local", 100), ("s3", 150)])
def test_large_uploads_and_downloads_use_constant_memory(request, backend, size_mb):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "GHARART_VAR_DIR") and not k.startswith("GHARART_S3_")}
    if backend == "s3":
        import uuid

        env.update(request.getfixturevalue("seaweedfs").env(f"t/{uuid.uuid4().hex}"))
    result = subprocess.run([sys.executable, str(PROBE), str(size_mb)], capture_output=True, text=True, env=env, timeout=600, cwd=PROBE.parents[2])
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    size = size_mb * 1024 * 1024
    print("memory", json.dumps(report))
    assert report["backend"] == backend
    assert report["upload_status"] == 201 and report["uploaded_size"] == size
    assert report["download_status"] == 200 and report["downloaded_bytes"] == size
    assert report["range_status"] == 206 and report["range_bytes"] == size - size // 2
    assert report["small_range_status"] == 206 and report["small_range_bytes"] == 100
    assert report["growth_kb"] < MAX_GROWTH_MB * 1024, report
    assert report["download_growth_kb"] < MAX_DOWNLOAD_GROWTH_MB * 1024, report
