"""PostgreSQL restarted during traffic (a private cluster): clean 503s, recovery without restart.

Runs ``bench/faults/postgres_restart.py`` with short phases; see that script for details
and for the longer run whose figures are in docs/reliability.md.
"""

import argparse
import json

import pytest

from bench.faults import postgres_restart
from tests.reliability.servers import _pg_bin


def test_requests_fail_cleanly_while_postgres_restarts_and_recover_without_a_restart(capsys):
    if not _pg_bin("initdb"):
        pytest.skip("PostgreSQL server binaries (initdb) are not installed")
    code = postgres_restart.run(argparse.Namespace(before=2, down=3, grace=2, after=3))
    report = json.loads(capsys.readouterr().out)
    assert report["gunicorn_workers_unchanged"]
    assert report["phases"]["down"]["statuses"].get("503", 0) > 0, report
    assert all(not phase["problems"] for phase in report["phases"].values()), report
    assert code == 0, report
