"""On the embedded defaults (no REDIS_URL) the web server and the Celery worker are two
processes: a release the worker promotes must reach the web's live state, so they share
one cache under var/."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BUMP = """
import django; django.setup()
from deployments.selectors import live
live._bump("shop")
print(live.live_generation("shop"))
"""

READ = """
import django; django.setup()
from deployments.selectors import live
print(live.live_generation("shop"))
"""


def _run(code, var_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="gharart.settings", GHARART_DEV="1", GHARART_VAR_DIR=str(var_dir), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_a_generation_bumped_in_one_process_is_read_by_another(tmp_path):
    assert _run(READ, tmp_path) == "None"
    first = _run(BUMP, tmp_path)  # say, the worker promoting a scheduled release
    assert first != "None"
    assert _run(READ, tmp_path) == first  # the web process sees it
    second = _run(BUMP, tmp_path)
    assert int(second) == int(first) + 1
    assert _run(READ, tmp_path) == second
