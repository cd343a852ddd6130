"""``manage.py verify_blobs`` finds missing and damaged blobs and names who uses them.

Runs on both blob backends (local files and S3 on SeaweedFS).
"""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from deployments import storage
from deployments.models import Blob
from tests.blobs import damage_blob, remove_blob_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.blobs]


def run():
    out = io.StringIO()
    try:
        call_command("verify_blobs", "--json", stdout=out)
        code = 0
    except CommandError:
        code = 1
    return code, json.loads(out.getvalue())


def test_a_healthy_store_verifies(world):
    code, report = run()
    assert code == 0 and report["ok"]
    assert report["verified"] == report["blobs"] == Blob.objects.count() > 0


def test_missing_and_damaged_blobs_are_reported_with_their_users(world):
    index = world["live"].files.get(path="/index.html")
    logo = world["public_file"]
    remove_blob_bytes(index.sha256)
    with storage.blob_open(logo.sha256) as fh:
        first = fh.read(1)
    damage_blob(logo.sha256, b"X")  # one changed byte
    try:
        code, report = run()
    finally:  # blob files outlive the test's database: put the byte back
        damage_blob(logo.sha256, first)
    assert code == 1 and not report["ok"]
    assert [m["sha256"] for m in report["missing"]] == [index.sha256]
    assert f"{world['live'].id}:/index.html" in report["missing"][0]["used_by"]
    assert [d["sha256"] for d in report["damaged"]] == [logo.sha256]
    assert logo.id in report["damaged"][0]["used_by"]


def test_a_reference_without_a_blob_row_is_reported(world):
    Blob.objects.filter(sha256=world["public_file"].sha256).delete()
    code, report = run()
    assert code == 1
    assert report["unrecorded"] == [{"sha256": world["public_file"].sha256, "used_by": [world["public_file"].id], "bytes_present": True}]


def test_the_plain_output_is_readable(world):
    out = io.StringIO()
    call_command("verify_blobs", stdout=out)
    assert "blobs verified" in out.getvalue()
