"""The documented backup and restore, run for real (scripts/backup_restore_drill.py).

A private PostgreSQL cluster is dumped with pg_dump and restored into a new database, the
blob store copied into a new folder, and every deployment file and shared file of the
restored copy must hash to its sha256 (``manage.py verify_blobs``) and be served alike.
"""

import json
import shutil

import pytest

from scripts import backup_restore_drill
from tests.reliability.servers import _pg_bin


def test_a_backup_restores_into_a_new_database_and_storage_with_every_hash_intact(capsys):
    if not (_pg_bin("initdb") and _pg_bin("pg_dump") and _pg_bin("pg_restore") and shutil.which("rsync")):
        pytest.skip("PostgreSQL server and client binaries, or rsync, are not installed")
    code = backup_restore_drill.run()
    report = json.loads(capsys.readouterr().out)
    assert report["verify_blobs"]["ok"] and report["verify_blobs"]["verified"] == report["verify_blobs"]["blobs"] > 0
    assert report["restored"]["checked"] == report["source"]["checked"] and not report["restored"]["bad"]
    assert report["served_identically"]
    assert code == 0
