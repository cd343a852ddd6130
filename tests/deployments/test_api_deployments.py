"""The deployments API: create (archive and digest), history, detail, preview, promote, rollback."""

import hashlib
import io
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments import constants as dc
from deployments.models import Blob, Deployment, DeploymentFile, LivePointer, Release
from deployments.services.ingest import deployment_create_from_archive, deployment_sweep_stale
from deployments.services.releases import deployment_gate_set
from gharart import constants as c
from gharart.models import AuditEvent
from tests.conftest import assert_error
from tests.deployments.conftest import SITE, make_zip, publish, remove_blob_bytes

# Each test runs on both blob backends: local files and S3 (SeaweedFS).
pytestmark = [pytest.mark.django_db, pytest.mark.blobs]
BASE = "/v2/handles/acme/site-deployments"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def post_archive(client, data, **fields):
    return client.post(BASE, {"artifact": io.BytesIO(data), **fields}, format="multipart")


def unique_site():
    files = dict(SITE)
    files["index.html"] = f"<!doctype html><title>Home</title><p>{uuid.uuid4()}</p>".encode()
    return files


# --- Create by archive ------------------------------------------------------------------

def test_upload_an_archive_and_get_a_ready_deployment(api, users):
    r = post_archive(api(users["web_manager"]), make_zip(SITE), message="Spring")
    assert r.status_code == 201, r.content
    body = r.json()
    for key in ("id", "handle", "target", "version", "state", "message", "file_count", "total_bytes", "artifact_sha256", "created_at", "created_by", "is_live", "preview_url", "warnings", "error"):
        assert key in body
    assert body["id"].startswith("dep_")
    assert body["handle"] == "acme" and body["target"] == "site" and body["version"] == 1
    assert body["state"] == "ready" and body["message"] == "Spring" and body["file_count"] == len(SITE)
    assert body["created_by"] == "acme-web_manager" and body["is_live"] is False and body["error"] is None
    assert body["artifact_sha256"] == sha(make_zip(SITE)) or len(body["artifact_sha256"]) == 64
    assert body["preview_url"].startswith("http://testserver/previews/")
    assert body["created_at"].endswith("Z")


def test_a_bad_archive_is_422_invalid_artifact_and_nothing_is_kept(api, users):
    err = assert_error(post_archive(api(users["web_manager"]), make_zip({"../x.html": b"x"})), 422, dc.INVALID_ARTIFACT)
    assert err["details"]["reason"] == dc.REASON_UNSAFE_PATH
    assert not Deployment.objects.exists()


def test_missing_artifact_and_bad_target_are_validation_errors(api, users):
    client = api(users["web_manager"])
    assert_error(client.post(BASE, {"message": "no file"}, format="multipart"), 400, c.VALIDATION_ERROR)
    err = assert_error(post_archive(client, make_zip(SITE), target="blog"), 400, c.VALIDATION_ERROR)
    assert "target" in err["details"]


def test_deployment_creation_counts_against_the_daily_quota(api, users, settings):
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, "deployments": 2}
    client = api(users["web_manager"])
    assert post_archive(client, make_zip(SITE)).status_code == 201
    # A refused archive is refunded.
    assert post_archive(client, b"not a zip").status_code == 422
    assert post_archive(client, make_zip(SITE)).status_code == 201
    r = post_archive(client, make_zip(SITE))
    assert_error(r, 429, c.DAILY_WRITE_LIMIT_EXCEEDED)
    assert int(r["Retry-After"]) > 0


def test_large_archives_are_processed_by_a_job_and_the_state_says_so(api, users, settings, django_capture_on_commit_callbacks):
    settings.DEPLOY_INLINE_MAX_BYTES = 100
    client = api(users["web_manager"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = post_archive(client, make_zip(unique_site()))
    assert r.status_code == 201, r.content
    assert r.json()["state"] == "processing" and r.json()["preview_url"] is None
    dep = Deployment.objects.get(pk=r.json()["id"])
    assert dep.pending_archive_sha256
    # The job is queued on commit; run it (eager Celery) and the deployment is ready.
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    dep.refresh_from_db()
    assert dep.state == dc.READY and dep.file_count == len(SITE)
    assert not dep.pending_archive_sha256
    assert not Blob.objects.filter(sha256=sha(make_zip(unique_site()))).exists()


def test_a_bad_large_archive_fails_in_the_job_with_its_reason(api, users, settings, django_capture_on_commit_callbacks):
    from tests.deployments.conftest import make_targz

    settings.DEPLOY_INLINE_MAX_BYTES = 10
    with django_capture_on_commit_callbacks(execute=True):
        r = post_archive(api(users["web_manager"]), make_targz({"index.html": b"ok", "../evil": b"x"}))
    assert r.status_code == 201 and r.json()["state"] == "processing"
    dep = Deployment.objects.get(pk=r.json()["id"])
    assert dep.state == dc.FAILED
    assert dep.error["code"] == dc.INVALID_ARTIFACT and dep.error["details"]["reason"] == dc.REASON_UNSAFE_PATH
    assert not DeploymentFile.objects.filter(deployment=dep).exists()
    assert not Blob.objects.exists()
    detail = api(users["viewer"]).get(f"{BASE}/{dep.id}").json()
    assert detail["state"] == "failed" and detail["error"]["code"] == dc.INVALID_ARTIFACT


def test_large_zip_archives_are_refused_at_once_when_their_declared_sizes_are_bad(api, users, settings):
    settings.DEPLOY_INLINE_MAX_BYTES = 10
    err = assert_error(post_archive(api(users["web_manager"]), make_zip({"/abs.html": b"x"})), 422, dc.INVALID_ARTIFACT)
    assert err["details"]["reason"] == dc.REASON_UNSAFE_PATH
    assert not Deployment.objects.exists()


# --- Digest deploys -----------------------------------------------------------------------

def digest(client, files, **extra):
    return client.post(BASE, {"files": {"/" + k: sha(v) for k, v in files.items()}, **extra}, format="json")


def put_blob(client, dep_id, data, digest_hex=None):
    return client.put(f"{BASE}/{dep_id}/blobs/{digest_hex or sha(data)}", data=data, content_type="application/octet-stream")


def test_digest_deploy_lists_required_blobs_and_turns_ready_when_the_last_arrives(api, users):
    client = api(users["web_manager"])
    files = unique_site()
    r = digest(client, files, message="digest")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["state"] == "uploading" and body["preview_url"] is None
    assert sorted(body["required"]) == sorted({sha(v) for v in files.values()})
    items = list(files.values())
    for data in items[:-1]:
        r = put_blob(client, body["id"], data)
        assert r.status_code == 200, r.content
        assert r.json()["state"] == "uploading"
        assert "required" not in r.json()  # the count, never the list, on every PUT
    assert r.json()["required_count"] == 1
    r = put_blob(client, body["id"], items[-1])
    assert r.json()["state"] == "ready" and r.json()["required_count"] == 0
    # A retried PUT of a complete deployment is a no-op.
    assert put_blob(client, body["id"], items[-1]).status_code == 200
    dep = Deployment.objects.get(pk=body["id"])
    assert dep.file_count == len(files) and dep.total_bytes == sum(len(v) for v in files.values())


def test_a_redeploy_that_changes_one_file_uploads_one_blob(api, users):
    client = api(users["web_manager"])
    files = unique_site()
    first = digest(client, files).json()
    for data in files.values():
        put_blob(client, first["id"], data)
    changed = dict(files)
    changed["about.html"] = b"<!doctype html><title>About</title><p>changed " + uuid.uuid4().bytes.hex().encode() + b"</p>"
    second = digest(client, changed).json()
    assert second["required"] == [sha(changed["about.html"])]
    assert second["version"] == 2
    r = put_blob(client, second["id"], changed["about.html"])
    assert r.json()["state"] == "ready"
    # Redeploying exactly the same files needs no upload at all.
    third = digest(client, changed).json()
    assert third["required"] == [] and third["state"] == "ready"


def test_a_blob_whose_bytes_do_not_match_is_422_and_not_kept(api, users):
    client = api(users["web_manager"])
    files = {"index.html": b"<p>" + uuid.uuid4().hex.encode()}
    dep = digest(client, files).json()
    err = assert_error(put_blob(client, dep["id"], b"other bytes", digest_hex=sha(files["index.html"])), 422, dc.BLOB_HASH_MISMATCH)
    assert err["details"]["expected"] == sha(files["index.html"])
    assert not Blob.objects.filter(sha256=sha(files["index.html"])).exists()
    assert Deployment.objects.get(pk=dep["id"]).state == dc.UPLOADING


def test_a_blob_the_deployment_does_not_list_is_refused(api, users):
    client = api(users["web_manager"])
    dep = digest(client, {"index.html": b"a" + uuid.uuid4().bytes}).json()
    assert_error(put_blob(client, dep["id"], b"not listed"), 422, dc.BLOB_NOT_REQUIRED)
    assert_error(client.put(f"{BASE}/{dep['id']}/blobs/xyz", data=b"x", content_type="application/octet-stream"), 400, c.VALIDATION_ERROR)
    assert_error(put_blob(client, "dep_nope", b"x"), 404, dc.DEPLOYMENT_NOT_FOUND)


def test_digest_deploy_validation(api, users, settings):
    client = api(users["web_manager"])
    assert_error(client.post(BASE, {"files": {"/a.html": "nothex"}}, format="json"), 400, c.VALIDATION_ERROR)
    err = assert_error(client.post(BASE, {"files": {"/../a.html": "a" * 64}}, format="json"), 422, dc.INVALID_ARTIFACT)
    assert err["details"]["reason"] == dc.REASON_UNSAFE_PATH
    err = assert_error(client.post(BASE, {"files": {}}, format="json"), 422, dc.INVALID_ARTIFACT)
    assert err["details"]["reason"] == dc.REASON_EMPTY
    settings.DEPLOY_MAX_FILES = 1
    err = assert_error(client.post(BASE, {"files": {"/a": "a" * 64, "/b": "b" * 64}}, format="json"), 422, dc.INVALID_ARTIFACT)
    assert err["details"]["reason"] == dc.REASON_TOO_MANY_FILES
    assert_error(client.post(BASE, "{not json", content_type="application/json"), 400, c.MALFORMED_JSON)
    assert not Deployment.objects.exists()


def test_a_blob_over_the_file_limit_is_413(api, users, settings):
    settings.DEPLOY_MAX_FILE_BYTES = 10
    client = api(users["web_manager"])
    data = b"x" * 11 + uuid.uuid4().bytes
    dep = digest(client, {"big.bin": data}).json()
    assert_error(put_blob(client, dep["id"], data), 413, dc.FILE_TOO_LARGE)


def test_uploads_left_incomplete_for_24_hours_fail(api, users):
    client = api(users["web_manager"])
    dep = digest(client, {"index.html": b"never sent " + uuid.uuid4().bytes}).json()
    deployment_sweep_stale(now=timezone.now() + timedelta(hours=23))
    assert Deployment.objects.get(pk=dep["id"]).state == dc.UPLOADING
    result = deployment_sweep_stale(now=timezone.now() + timedelta(hours=25))
    assert result["failed"] == 1
    failed = Deployment.objects.get(pk=dep["id"])
    assert failed.state == dc.FAILED and failed.error["code"] == dc.UPLOAD_INCOMPLETE
    assert not DeploymentFile.objects.filter(deployment=failed).exists()
    err = assert_error(put_blob(client, dep["id"], b"late"), 409, dc.DEPLOYMENT_NOT_UPLOADING)
    assert err["details"]["state"] == "failed"


def test_the_sweep_is_scheduled_with_beat(settings):
    tasks = {v["task"] for v in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "deployments.deployment_sweep_stale" in tasks


# --- History and detail -------------------------------------------------------------------

def test_history_is_newest_first_filterable_and_marks_what_is_live(api, users, handle):
    live = publish(handle, actor=users["owner"])
    deployment_create_from_archive(handle=handle, upload=__import__("tests.deployments.conftest", fromlist=["upload"]).upload(make_zip(SITE)), target=dc.TARGET_DOCS)
    client = api(users["viewer"])
    r = client.get(BASE)
    results = r.json()["results"]
    assert [d["target"] for d in results] == ["docs", "site"]
    assert [d["is_live"] for d in results] == [False, True]
    assert [d["id"] for d in client.get(BASE + "?target=site").json()["results"]] == [live.id]
    assert client.get(BASE + "?state=failed").json()["results"] == []
    assert_error(client.get(BASE + "?state=nope"), 400, c.VALIDATION_ERROR)
    page = client.get(BASE + "?limit=1").json()
    assert len(page["results"]) == 1 and page["next"]


def test_detail_has_files_by_type_and_releases(api, users, handle):
    dep = publish(handle, actor=users["owner"])
    body = api(users["viewer"]).get(f"{BASE}/{dep.id}").json()
    assert body["files"]["text/html"] == 4 and body["files"]["text/css"] == 1
    assert [r["kind"] for r in body["releases"]] == ["promote"]
    assert body["gate"]["status"] == "pending"
    assert body["integrity"]["ok"] is True
    assert_error(api(users["viewer"]).get(f"{BASE}/dep_missing"), 404, dc.DEPLOYMENT_NOT_FOUND)


# --- Preview report ---------------------------------------------------------------------

def test_the_preview_report_checks_integrity_and_signs_a_url(api, users, handle, client):
    dep = deployment_create_from_archive(handle=handle, upload=__import__("tests.deployments.conftest", fromlist=["upload"]).upload(make_zip(SITE)))
    r = api(users["viewer"]).get(f"{BASE}/{dep.id}/preview")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["deployment_id"] == dep.id and body["state"] == "ready"
    assert body["integrity"] == {"ok": True, "missing_files": [], "checked_at": body["integrity"]["checked_at"]}
    assert body["gate"]["status"] == "pending"
    assert {ch["name"] for ch in body["gate"]["checks"]} >= {"preview_opened", "integrity", "replay"}
    assert body["expires_at"].endswith("Z")
    dep.refresh_from_db()
    assert dep.preview_opened_at is None  # a viewer's look does not open the gate
    path = body["preview_url"].replace("http://testserver", "")
    page = client.get(path)
    assert page.status_code == 200 and b"".join(page.streaming_content) == SITE["index.html"]


def test_a_missing_artifact_file_is_409_naming_the_files(api, users, handle):
    files = unique_site()
    dep = deployment_create_from_archive(handle=handle, upload=__import__("tests.deployments.conftest", fromlist=["upload"]).upload(make_zip(files)))
    remove_blob_bytes(sha(files["index.html"]))
    err = assert_error(api(users["viewer"]).get(f"{BASE}/{dep.id}/preview"), 409, dc.DEPLOYMENT_ARTIFACT_MISSING)
    assert err["details"]["missing_files"] == ["/index.html"]
    # The gate stays shut and promote says why.
    err = assert_error(api(users["web_manager"]).post(f"{BASE}/{dep.id}/promote", {}, format="json"), 409, dc.DEPLOYMENT_ARTIFACT_MISSING)
    assert err["details"]["missing_files"] == ["/index.html"]
    detail = api(users["viewer"]).get(f"{BASE}/{dep.id}").json()
    assert detail["integrity"] == {"ok": False, "missing_files": ["/index.html"], "checked_at": detail["integrity"]["checked_at"]}


def test_preview_of_a_deployment_that_is_not_ready_is_409(api, users):
    client = api(users["web_manager"])
    dep = client.post(BASE, {"files": {"/index.html": "a" * 64}}, format="json").json()
    assert_error(client.get(f"{BASE}/{dep['id']}/preview"), 409, dc.DEPLOYMENT_NOT_READY)
    assert_error(client.post(f"{BASE}/{dep['id']}/promote", {}, format="json"), 409, dc.DEPLOYMENT_NOT_READY)


# --- Promote and rollback -------------------------------------------------------------------

def make_ready(handle, files=None, open_preview=True):
    return publish(handle, files or unique_site(), open_preview=open_preview, promote=False)


def test_promote_needs_the_preview_opened(api, users, handle):
    dep = make_ready(handle, open_preview=False)
    client = api(users["web_manager"])
    err = assert_error(client.post(f"{BASE}/{dep.id}/promote", {"reason": "go"}, format="json"), 409, dc.PREVIEW_GATE_PENDING)
    assert err["details"]["preview_opened"] is False
    client.get(f"{BASE}/{dep.id}/preview")
    r = client.post(f"{BASE}/{dep.id}/promote", {"reason": "go"}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["live_deployment_id"] == dep.id
    rel = body["release"]
    assert rel["id"].startswith("rel_") and rel["kind"] == "promote" and rel["deployment_id"] == dep.id
    assert rel["previous_deployment_id"] is None and rel["reason"] == "go" and rel["actor"] == "acme-web_manager"
    assert AuditEvent.objects.filter(action=c.AUDIT_PROMOTE, target=dep.id).exists()


def test_a_failed_replay_shuts_the_gate_until_a_newer_one_passes(api, users, handle):
    dep = make_ready(handle)
    deployment_gate_set(deployment=dep, status=dc.GATE_FAILED, replay_run_id="replay_1", summary={"regressions": 2})
    client = api(users["web_manager"])
    err = assert_error(client.post(f"{BASE}/{dep.id}/promote", {}, format="json"), 409, dc.PREVIEW_GATE_PENDING)
    assert err["details"]["gate_status"] == "failed" and err["details"]["replay_run_id"] == "replay_1"
    deployment_gate_set(deployment=dep, status=dc.GATE_PASSED, replay_run_id="replay_2", summary={"regressions": 0})
    assert client.post(f"{BASE}/{dep.id}/promote", {}, format="json").status_code == 200


def test_forced_promote_is_for_owners_and_admins_with_a_reason(api, users, handle):
    dep = make_ready(handle, open_preview=False)
    url = f"{BASE}/{dep.id}/promote"
    assert_error(api(users["web_manager"]).post(url, {"force": True, "reason": "hotfix"}, format="json"), 403, c.FORBIDDEN)
    err = assert_error(api(users["admin"]).post(url, {"force": True}, format="json"), 400, c.VALIDATION_ERROR)
    assert "reason" in err["details"]
    r = api(users["admin"]).post(url, {"force": True, "reason": "hotfix"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["release"]["kind"] == "forced_promote"
    assert AuditEvent.objects.filter(action=c.AUDIT_FORCED_PROMOTE, target=dep.id).exists()


def test_forced_promote_still_refuses_missing_files(api, users, handle):
    files = unique_site()
    dep = make_ready(handle, files, open_preview=False)
    remove_blob_bytes(sha(files["about.html"]))
    err = assert_error(api(users["owner"]).post(f"{BASE}/{dep.id}/promote", {"force": True, "reason": "x"}, format="json"), 409, dc.DEPLOYMENT_ARTIFACT_MISSING)
    assert err["details"]["missing_files"] == ["/about.html"]


def test_promote_warns_when_the_site_mode_does_not_serve_it(api, users, handle):
    dep = make_ready(handle)
    body = api(users["web_manager"]).post(f"{BASE}/{dep.id}/promote", {}, format="json").json()
    assert body["warnings"] == [dc.WARNING_SITE_MODE_NOT_DEPLOYMENT]
    assert body["warning_details"][0]["code"] == dc.WARNING_SITE_MODE_NOT_DEPLOYMENT


def test_rollback_makes_an_earlier_release_live_again(api, users, handle, site_mode_deployment):
    first = publish(handle, unique_site(), actor=users["owner"])
    second = publish(handle, unique_site(), actor=users["owner"])
    client = api(users["web_manager"])
    r = client.post(f"{BASE}/{first.id}/rollback", {"reason": "broken checkout"}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["live_deployment_id"] == first.id and body["warnings"] == []
    assert body["release"]["kind"] == "rollback" and body["release"]["previous_deployment_id"] == second.id
    assert LivePointer.objects.get(handle=handle, target="site").deployment_id == first.id
    assert AuditEvent.objects.filter(action=c.AUDIT_ROLLBACK, target=first.id).exists()
    # Live now, and one never live: both are not previous releases.
    assert_error(client.post(f"{BASE}/{first.id}/rollback", {}, format="json"), 409, dc.NOT_A_PREVIOUS_RELEASE)
    never = make_ready(handle)
    assert_error(client.post(f"{BASE}/{never.id}/rollback", {}, format="json"), 409, dc.NOT_A_PREVIOUS_RELEASE)
    releases = client.get("/v2/handles/acme/site-releases").json()["results"]
    assert [r["kind"] for r in releases] == ["rollback", "promote", "promote"]
    assert releases[0]["deployment_id"] == first.id
    for key in ("id", "target", "deployment_id", "previous_deployment_id", "kind", "reason", "actor", "created_at"):
        assert key in releases[0]
    assert client.get("/v2/handles/acme/site-releases?target=docs").json()["results"] == []


def test_promote_and_rollback_of_unknown_deployments_are_404(api, users):
    client = api(users["web_manager"])
    assert_error(client.post(f"{BASE}/dep_nope/promote", {}, format="json"), 404, dc.DEPLOYMENT_NOT_FOUND)
    assert_error(client.post(f"{BASE}/dep_nope/rollback", {}, format="json"), 404, dc.DEPLOYMENT_NOT_FOUND)


def test_another_handles_deployment_is_not_found(api, users, outsider, other_handle):
    theirs = publish(other_handle, unique_site(), promote=False)
    client = api(users["owner"])
    assert_error(client.get(f"{BASE}/{theirs.id}"), 404, dc.DEPLOYMENT_NOT_FOUND)
    assert_error(client.post(f"{BASE}/{theirs.id}/promote", {"force": True, "reason": "x"}, format="json"), 404, dc.DEPLOYMENT_NOT_FOUND)
    assert Release.objects.count() == 0


def test_promote_is_the_same_pointer_swap_for_docs(api, users, handle):
    dep = publish(handle, unique_site(), target=dc.TARGET_DOCS, promote=False)
    body = api(users["web_manager"]).post(f"{BASE}/{dep.id}/promote", {}, format="json").json()
    assert body["warnings"] == []
    assert LivePointer.objects.get(handle=handle, target="docs").deployment_id == dep.id
