"""A 100 MB upload and download stay within a fixed memory bound (measured in a subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = Path(__file__).with_name("memory_probe.py")
SIZE_MB = 100
# Far below the file size: the bytes are streamed, never held whole.
MAX_GROWTH_MB = 30


def test_a_100_mb_upload_and_download_use_constant_memory():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "GHARART_VAR_DIR")}
    result = subprocess.run([sys.executable, str(PROBE), str(SIZE_MB)], capture_output=True, text=True, env=env, timeout=600, cwd=PROBE.parents[2])
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    size = SIZE_MB * 1024 * 1024
    assert report["upload_status"] == 201 and report["uploaded_size"] == size
    assert report["download_status"] == 200 and report["downloaded_bytes"] == size
    assert report["range_status"] == 206 and report["range_bytes"] == size - size // 2
    assert report["growth_kb"] < MAX_GROWTH_MB * 1024, report
