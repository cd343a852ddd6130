"""Files API: upload, list with filters, update, delete — and the errors of each."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from deployments import storage
from files import constants as fc
from files.models import File
from gharart import constants as c
from gharart.models import AuditEvent
from tests.conftest import assert_error
from tests.files.conftest import PDF, PNG, make_file, mint

# Each test runs on both blob backends: local files and S3 (SeaweedFS).
pytestmark = pytest.mark.blobs


def upload(client, data=PDF, name="media-kit.pdf", **fields):
    body = {"file": SimpleUploadedFile(name, data, content_type="text/plain"), **fields}
    return client.post("/v2/handles/acme/files", body, format="multipart")


def test_upload_returns_the_stored_file(api, users):
    response = upload(api(users["partnerships"]), access="link", recipients=["@agency.example", "Pat@Partner.example"], title="Kit", max_downloads="5")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("file_")
    assert body["name"] == "media-kit.pdf"
    # Detected from the bytes, not the client's claimed text/plain.
    assert body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF)
    assert body["access"] == "link"
    assert body["recipients"] == ["@agency.example", "pat@partner.example"]
    assert body["max_downloads"] == 5 and body["download_count"] == 0
    assert body["public_url"] == f"http://testserver/v2/public/files/{body['id']}"
    assert body["created_by"] == "acme-partnerships"
    assert body["is_expired"] is False and body["expires_at"] is None
    assert storage.blob_exists(body["sha256"])
    for key in ("id", "name", "title", "size", "content_type", "sha256", "access", "expires_at", "is_expired", "recipients", "max_downloads", "download_count", "public_url", "created_at", "created_by"):
        assert key in body


def test_upload_sanitizes_the_name_and_defaults_to_private(api, users):
    body = upload(api(users["owner"]), data=PNG, name='../../etc/pa"ss\x07wd<>.png').json()
    assert body["name"] == "pa_sswd__.png"
    assert body["content_type"] == "image/png"
    assert body["access"] == "private"
    assert body["public_url"] is None


def test_a_renamed_executable_is_not_trusted_as_text(api, users):
    body = upload(api(users["owner"]), data=b"\x7fELF\x02\x01\x01" + b"\x00" * 100, name="notes.txt").json()
    assert body["content_type"] == "application/x-executable"


def test_text_is_named_from_its_extension_only_once_it_is_text(api, users):
    assert upload(api(users["owner"]), data=b"a,b\n1,2\n", name="list.csv").json()["content_type"] == "text/csv"


def test_upload_validation_errors(api, users):
    client = api(users["owner"])
    err = assert_error(upload(client, access="secret", expires_at="yesterday", recipients=["not-an-email"], max_downloads="0"), 400, c.VALIDATION_ERROR)
    assert set(err["details"]) >= {"access", "expires_at", "recipients", "max_downloads"}
    past = (timezone.now() - timedelta(days=1)).isoformat()
    assert "expires_at" in assert_error(upload(client, expires_at=past), 400, c.VALIDATION_ERROR)["details"]
    response = client.post("/v2/handles/acme/files", {"title": "no file"}, format="multipart")
    assert "file" in assert_error(response, 400, c.VALIDATION_ERROR)["details"]
    assert File.objects.count() == 0


@override_settings(FILES_MAX_UPLOAD_BYTES=1000)
def test_an_upload_over_the_limit_is_413_and_keeps_nothing(api, users):
    response = upload(api(users["owner"]), data=b"x" * 5000, name="big.bin")
    err = assert_error(response, 413, fc.FILE_TOO_LARGE)
    assert err["details"]["max_bytes"] == 1000
    assert File.objects.count() == 0


@override_settings(FILES_MAX_UPLOAD_BYTES=1000)
def test_a_declared_length_over_the_limit_is_refused_before_reading(api, users):
    client = api(users["owner"])
    response = client.generic("POST", "/v2/handles/acme/files", b"--x--", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(50 * 1024 * 1024))
    assert_error(response, 413, fc.FILE_TOO_LARGE)


def test_upload_requires_the_files_role_and_scope(api, users, pat):
    assert_error(upload(api(users["web_manager"])), 403, c.FORBIDDEN)
    assert_error(upload(api(token=pat(users["owner"], [c.SCOPE_FILES_READ]))), 403, c.INSUFFICIENT_SCOPE)
    assert upload(api(token=pat(users["owner"], [c.SCOPE_FILES_WRITE]))).status_code == 201


def test_list_filters_by_access_and_expiry_and_counts_active_links(api, users, handle, link_file, public_file):
    expired = make_file(handle, users["owner"], name="old.pdf", access="public", expires_at=timezone.now() + timedelta(seconds=1))
    File.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    mint(link_file)
    revoked, _ = mint(link_file, "bo@agency.example")
    revoked.revoked_at = timezone.now()
    revoked.save()
    client = api(users["partnerships"])
    body = client.get("/v2/handles/acme/files").json()
    assert [f["id"] for f in body["results"]] == [expired.id, public_file.id, link_file.id]
    assert body["next"] is None
    by_id = {f["id"]: f for f in body["results"]}
    assert by_id[link_file.id]["active_magic_links"] == 1
    assert by_id[expired.id]["is_expired"] is True
    assert [f["id"] for f in client.get("/v2/handles/acme/files?access=link").json()["results"]] == [link_file.id]
    assert [f["id"] for f in client.get("/v2/handles/acme/files?expired=true").json()["results"]] == [expired.id]
    assert len(client.get("/v2/handles/acme/files?expired=false").json()["results"]) == 2
    assert_error(client.get("/v2/handles/acme/files?access=secret"), 400, c.VALIDATION_ERROR)
    assert_error(client.get("/v2/handles/acme/files?expired=maybe"), 400, c.VALIDATION_ERROR)
    page = client.get("/v2/handles/acme/files?limit=2").json()
    assert len(page["results"]) == 2 and page["next"]


def test_files_of_another_handle_are_not_found(api, users, outsider, other_handle, link_file):
    other = make_file(other_handle, outsider, name="theirs.pdf")
    assert_error(api(users["owner"]).get(f"/v2/handles/acme/files/{other.id}"), 404, fc.FILE_NOT_FOUND)
    assert_error(api(users["owner"]).patch(f"/v2/handles/acme/files/{other.id}", {"title": "x"}, format="json"), 404, fc.FILE_NOT_FOUND)


def test_patch_changes_fields_and_access_change_revokes_links_with_an_audit(api, users, link_file):
    link, _ = mint(link_file)
    client = api(users["partnerships"])
    new_expiry = timezone.now() + timedelta(days=30)
    response = client.patch(f"/v2/handles/acme/files/{link_file.id}", {"expires_at": new_expiry.isoformat(), "title": "Kit v2", "max_downloads": 3, "recipients": ["@agency.example"]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Kit v2" and body["max_downloads"] == 3 and body["recipients"] == ["@agency.example"]
    assert body["expires_at"] == new_expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    link.refresh_from_db()
    assert link.revoked_at is None  # expiry changes do not touch links
    assert body["active_magic_links"] == 1
    body = client.patch(f"/v2/handles/acme/files/{link_file.id}", {"access": "private"}, format="json").json()
    assert body["access"] == "private" and body["active_magic_links"] == 0
    link.refresh_from_db()
    assert link.revoked_reason == fc.REVOKE_FILE_ACCESS_CHANGED
    event = AuditEvent.objects.get(action=c.AUDIT_FILE_ACCESS)
    assert event.before == {"access": "link"} and event.after["access"] == "private" and event.after["magic_links_revoked"] == 1
    assert event.actor == users["partnerships"]


def test_patch_validation_errors(api, users, link_file):
    client = api(users["partnerships"])
    err = assert_error(client.patch(f"/v2/handles/acme/files/{link_file.id}", {"access": "everyone", "max_downloads": -1}, format="json"), 400, c.VALIDATION_ERROR)
    assert set(err["details"]) == {"access", "max_downloads"}
    assert_error(client.patch(f"/v2/handles/acme/files/{link_file.id}", [1, 2], format="json"), 400, c.VALIDATION_ERROR)


def test_delete_removes_the_bytes_unless_shared_and_public_routes_404(api, users, handle, public_file):
    twin = make_file(handle, users["owner"], data=b"shared bytes", name="a.txt", access="public")
    twin2 = make_file(handle, users["owner"], data=b"shared bytes", name="b.txt", access="public")
    client = api(users["partnerships"])
    assert client.delete(f"/v2/handles/acme/files/{public_file.id}").status_code == 204
    assert not storage.blob_exists(public_file.sha256)
    assert_error(api().get(f"/v2/public/files/{public_file.id}"), 404, fc.FILE_NOT_FOUND)
    assert_error(client.get(f"/v2/handles/acme/files/{public_file.id}"), 404, fc.FILE_NOT_FOUND)
    assert client.delete(f"/v2/handles/acme/files/{twin.id}").status_code == 204
    assert storage.blob_exists(twin2.sha256)  # still used by the twin
    assert api().get(f"/v2/public/files/{twin2.id}").status_code == 200
    assert client.delete(f"/v2/handles/acme/files/{twin2.id}").status_code == 204
    assert not storage.blob_exists(twin2.sha256)
    assert_error(client.delete(f"/v2/handles/acme/files/{twin2.id}"), 404, fc.FILE_NOT_FOUND)


def test_magic_links_are_listed_with_last_use_and_revocable_one_by_one(api, users, link_file):
    first, token = mint(link_file)
    second, _ = mint(link_file, "bo@agency.example")
    assert api().get(f"/v2/public/files/{link_file.id}?token={token}").status_code == 200
    client = api(users["partnerships"])
    body = client.get(f"/v2/handles/acme/files/{link_file.id}/magic-links").json()
    rows = {r["id"]: r for r in body["results"]}
    assert rows[first.id]["last_used_at"] is not None and rows[first.id]["use_count"] == 1
    assert rows[second.id]["last_used_at"] is None
    assert "token" not in rows[first.id] and "token_hash" not in rows[first.id]
    assert client.delete(f"/v2/handles/acme/files/{link_file.id}/magic-links/{second.id}").status_code == 204
    assert client.get(f"/v2/handles/acme/files/{link_file.id}/magic-links").json()["results"][0]["revoked_reason"] == fc.REVOKE_BY_MEMBER
    assert_error(client.delete(f"/v2/handles/acme/files/{link_file.id}/magic-links/ml_nope"), 404, fc.MAGIC_LINK_NOT_FOUND)


def test_uploads_count_against_the_daily_quota(api, users, settings):
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, "file_uploads": 1}
    client = api(users["owner"])
    assert upload(client).status_code == 201
    assert_error(upload(client, name="second.pdf"), 429, c.DAILY_WRITE_LIMIT_EXCEEDED)
