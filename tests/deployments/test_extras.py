"""Smaller guarantees: blob permissions, idempotent creation, links page edits, HEAD of pages."""

import hashlib
import io
import os
import stat
import uuid

import pytest

from deployments import storage as blob_storage
from deployments.models import Deployment
from deployments.services.site import handle_links_update
from gharart import constants as c
from tests.deployments.conftest import SITE, make_zip, publish

pytestmark = pytest.mark.django_db
BASE = "/v2/handles/acme/site-deployments"


def test_blobs_are_readable_by_the_web_server(handle):
    data = f"<p>{uuid.uuid4()}</p>".encode()
    publish(handle, {"index.html": data}, promote=False)
    mode = stat.S_IMODE(os.stat(blob_storage.blob_path(hashlib.sha256(data).hexdigest())).st_mode)
    assert mode == 0o644
    info = blob_storage.blob_put_bytes(b"streamed " + uuid.uuid4().bytes)
    assert stat.S_IMODE(os.stat(blob_storage.blob_path(info.sha256)).st_mode) == 0o644


def test_a_missing_blob_under_an_existing_row_is_healed_by_the_next_upload(handle):
    from tests.deployments.conftest import remove_blob_bytes

    files = {"index.html": f"<p>{uuid.uuid4()}</p>".encode()}
    publish(handle, files, promote=False)
    sha = hashlib.sha256(files["index.html"]).hexdigest()
    remove_blob_bytes(sha)
    assert not blob_storage.blob_exists(sha)
    publish(handle, files, promote=False)
    assert blob_storage.blob_exists(sha)


def test_an_idempotent_retry_creates_one_deployment(api, users):
    client = api(users["web_manager"])
    body = {"files": {"/index.html": hashlib.sha256(b"x" + uuid.uuid4().bytes).hexdigest()}}
    first = client.post(BASE, body, format="json", HTTP_IDEMPOTENCY_KEY="deploy-1")
    again = client.post(BASE, body, format="json", HTTP_IDEMPOTENCY_KEY="deploy-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert Deployment.objects.count() == 1
    r = client.post(BASE, {"artifact": io.BytesIO(make_zip(SITE))}, format="multipart", HTTP_IDEMPOTENCY_KEY="deploy-2")
    r2 = client.post(BASE, {"artifact": io.BytesIO(make_zip(SITE))}, format="multipart", HTTP_IDEMPOTENCY_KEY="deploy-2")
    assert r.json()["id"] == r2.json()["id"] and Deployment.objects.count() == 2


def test_editing_the_links_page_shows_at_once(client, handle, users, django_capture_on_commit_callbacks):
    assert b"Acme Homeware" in client.get("/profiles/acme/").content
    with django_capture_on_commit_callbacks(execute=True):
        handle_links_update(handle=handle, display_name="Acme Studio", bio="New bio", links=[{"label": "Press", "url": "https://acme.example/press"}], actor=users["owner"])
    page = client.get("/profiles/acme/").content.decode()
    assert "Acme Studio" in page and "New bio" in page and "https://acme.example/press" in page


def test_unknown_handle_redirect_and_head_of_generated_pages(client, handle):
    r = client.get("/profiles/nobody")
    assert r.status_code == 301 and r["X-Gharart-Site-Mode"] == "none"
    r = client.head("/profiles/acme/")
    assert r.status_code == 200 and r.content == b"" and int(r["Content-Length"]) > 0
    assert r["X-Gharart-Site-Mode"] == c.SITE_MODE_LINKS


def test_names_no_handle_can_have_are_unknown_without_a_query(client, db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from deployments import serving

    for name in ["UPPER", "-x", "a" * 41, "a.b", "a b"]:
        with CaptureQueriesContext(connection) as queries:
            r = serving.profile_response(name, "/")
        assert r.status_code == 404 and r["X-Gharart-Site-Mode"] == "none"
        assert len(queries) == 0
