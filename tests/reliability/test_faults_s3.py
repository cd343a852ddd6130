"""Object storage down, frozen or never there: 503 ``service_unavailable``, then recovery.

A private SeaweedFS is stopped, started, frozen (SIGSTOP) and thawed under real
requests; nothing is mocked. What was acknowledged (201) before an outage is served
byte for byte after it, what failed with 503 left nothing behind, and the same process
recovers without a restart. Timeouts are short here (1 s, one attempt) so a frozen
server costs the test seconds, not the production defaults.
"""

import io
import os
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from files.models import File
from gharart import constants as c
from tests.conftest import assert_error
from tests.deployments.conftest import SITE, publish
from tests.files.conftest import PDF
from tests.reliability.servers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def private_weed():
    from tests.conftest import _s3_missing
    from tests.seaweedfs import SeaweedFS, weed_binary

    binary = weed_binary()
    if binary is None:
        _s3_missing("the weed binary is not installed")
    server = SeaweedFS(binary).start()
    yield server
    server.close()


@pytest.fixture
def on_private_weed(private_weed, settings):
    if private_weed.proc is None:
        private_weed.start()
    settings.STORAGES = {**settings.STORAGES, "blobs": private_weed.storage_config(f"t/{uuid.uuid4().hex}", connect_timeout=1, read_timeout=1, max_attempts=1)}
    yield private_weed
    if private_weed.proc is None:
        private_weed.start()
    else:
        private_weed.resume()


def _upload(client, data, name="kit.pdf"):
    return client.post("/v2/handles/acme/files", {"file": SimpleUploadedFile(name, data), "access": "public"}, format="multipart")


def _assert_unavailable(response, *, api):
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"].isdigit()
    if api:
        assert_error(response, 503, c.SERVICE_UNAVAILABLE)


def test_storage_down_is_503_everywhere_and_recovers_without_a_restart(on_private_weed, api, users, handle, client):
    server = on_private_weed
    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    owner = api(users["owner"])
    publish(handle, SITE, actor=users["owner"])
    kept = _upload(owner, PDF)
    assert kept.status_code == 201
    kept_id = kept.json()["id"]
    big = os.urandom(3 * 1024 * 1024)

    server.stop()
    _assert_unavailable(client.get(f"/v2/public/files/{kept_id}"), api=True)
    _assert_unavailable(client.get(f"/v2/public/files/{kept_id}", HTTP_RANGE="bytes=1-10"), api=True)
    _assert_unavailable(client.get("/profiles/acme/about.html"), api=False)
    lost = _upload(owner, big, name="during.bin")
    _assert_unavailable(lost, api=True)
    assert not File.objects.filter(name="during.bin").exists()  # nothing half kept

    server.start()
    got = client.get(f"/v2/public/files/{kept_id}")
    assert got.status_code == 200 and b"".join(got.streaming_content) == PDF
    page = client.get("/profiles/acme/about.html")
    assert page.status_code == 200 and b"".join(page.streaming_content) == SITE["about.html"]
    again = _upload(owner, big, name="after.bin")
    assert again.status_code == 201
    body = client.get(f"/v2/public/files/{again.json()['id']}")
    assert b"".join(body.streaming_content) == big


def test_frozen_storage_times_out_into_503_then_serves_again(on_private_weed, api, users, client):
    server = on_private_weed
    owner = api(users["owner"])
    kept = _upload(owner, PDF).json()["id"]
    server.pause()
    try:
        _assert_unavailable(client.get(f"/v2/public/files/{kept}"), api=True)
        _assert_unavailable(_upload(owner, b"%PDF-1.4 frozen " + os.urandom(64)), api=True)
    finally:
        server.resume()
    got = client.get(f"/v2/public/files/{kept}")
    assert got.status_code == 200 and b"".join(got.streaming_content) == PDF


def test_storage_that_is_not_there_at_all_is_503(settings, api, users, client):
    from gharart.object_storage import blob_storage_config
    from tests.seaweedfs import ACCESS_KEY, SECRET_KEY

    dead = f"http://127.0.0.1:{free_port()}"
    settings.STORAGES = {**settings.STORAGES, "blobs": blob_storage_config(bucket="nowhere", endpoint_url=dead, region="us-east-1", access_key=ACCESS_KEY, secret_key=SECRET_KEY, connect_timeout=1, read_timeout=1, max_attempts=1)}
    _assert_unavailable(_upload(api(users["owner"]), PDF), api=True)
    assert not File.objects.exists()


def test_verify_blobs_says_storage_is_unreachable_instead_of_calling_everything_missing(on_private_weed, api, users):
    from django.core.management import CommandError, call_command

    assert _upload(api(users["owner"]), PDF).status_code == 201
    on_private_weed.stop()
    with pytest.raises(CommandError, match="could not be reached"):
        call_command("verify_blobs", "--json")


def test_an_archive_job_meeting_an_outage_keeps_the_upload_and_finishes_after_it(on_private_weed, api, users, settings):
    from deployments import constants as dc
    from deployments import tasks
    from deployments.models import Deployment
    from deployments.storage import StorageUnavailable
    from tests.deployments.conftest import make_zip

    settings.DEPLOY_INLINE_MAX_BYTES = 1024  # the archive goes to the job
    response = api(users["web_manager"]).post("/v2/handles/acme/site-deployments", {"artifact": io.BytesIO(make_zip(SITE))}, format="multipart")
    assert response.status_code == 201 and response.json()["state"] == dc.PROCESSING  # acknowledged
    dep_id = response.json()["id"]
    on_private_weed.stop()
    with pytest.raises(StorageUnavailable):
        tasks.deployment_process_archive(dep_id)  # called directly: the retry re-raises
    dep = Deployment.objects.get(pk=dep_id)
    assert dep.state == dc.PROCESSING and dep.pending_archive_sha256  # not failed, nothing lost
    on_private_weed.start()
    tasks.deployment_process_archive(dep_id)
    dep.refresh_from_db()
    assert dep.state == dc.READY and dep.file_count == len(SITE)
