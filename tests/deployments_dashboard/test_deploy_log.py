"""Uploads in the history: each deployment's deploy log, refused archives kept in the upload
log (never as a deployment or blobs), and the upload banner following the row's state."""

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from deployments.models import Blob, Deployment, UploadRefusal
from deployments.services.ingest import deployment_process_archive
from tests.conftest import client_for

from .conftest import HX, SITE_V1, zip_file

UPLOAD = "/h/acme/deployments/upload/"


def page(dep):
    return f"/h/acme/deployments/{dep.id}/"


def test_a_deployment_keeps_a_deploy_log_shown_on_its_page(manager, handle):
    manager.post(UPLOAD, {"artifact": zip_file(SITE_V1), "message": "Spring"}, **HX)
    dep = Deployment.objects.get(handle=handle)
    assert [s["step"] for s in dep.log] == ["received", "validated and unpacked", "recorded", "warnings"]
    assert all(isinstance(s["ms"], int) and s["ms"] >= 0 for s in dep.log)
    assert dep.log[0]["detail"].startswith("zip archive, ") and f"{dep.file_count} files" in dep.log[2]["detail"]
    steps = HTMLParser(manager.get(page(dep)).content.decode()).css("ol.deploy-log li")
    assert [li.css_first("strong").text() for li in steps] == ["Received", "Validated and unpacked", "Recorded", "Warnings"]
    assert " ms)" in steps[1].text()


def test_a_background_deployment_logs_its_job_steps(manager, handle, settings):
    settings.DEPLOY_INLINE_MAX_BYTES = 0
    manager.post(UPLOAD, {"artifact": zip_file({"about.html": b"<p>no index</p>"})})
    dep = Deployment.objects.get(handle=handle)
    assert [s["step"] for s in dep.log] == ["received", "validated", "queued"]
    deployment_process_archive(deployment_id=dep.id)
    dep.refresh_from_db()
    assert [s["step"] for s in dep.log] == ["received", "validated", "queued", "validated and unpacked", "recorded", "warnings"]
    assert "no /index.html" in dep.log[-1]["detail"]


def test_the_banner_follows_the_row_instead_of_saying_processing(manager, handle, settings):
    settings.DEPLOY_INLINE_MAX_BYTES = 0
    html = manager.post(UPLOAD, {"artifact": zip_file(SITE_V1)}, **HX).content.decode()
    dep = Deployment.objects.get(handle=handle)
    summary = HTMLParser(html).css_first("#created-summary")
    assert summary.attributes["hx-trigger"] == "every 2s"
    assert summary.attributes["hx-get"] == f"/h/acme/deployments/{dep.id}/row/?part=summary"
    deployment_process_archive(deployment_id=dep.id)
    polled = manager.get(summary.attributes["hx-get"], **HX).content.decode()
    line = HTMLParser(polled).css_first("#created-summary")
    dep.refresh_from_db()
    assert "hx-trigger" not in line.attributes and f"— ready, {dep.file_count} files" in line.text()
    assert "processing" not in polled


def test_a_refused_upload_stays_in_the_upload_log_but_nothing_of_it_is_kept(manager, handle, users):
    blobs_before = Blob.objects.count()
    bad = zip_file({"index.html": b"<h1>hi</h1>", "../x": b"evil"}, name="spring-site.zip")
    assert manager.post(UPLOAD, {"artifact": bad}, **HX).status_code == 422
    assert not Deployment.objects.filter(handle=handle).exists() and Blob.objects.count() == blobs_before
    refusal = UploadRefusal.objects.get(handle=handle)
    assert refusal.filename == "spring-site.zip" and refusal.reason == "unsafe_path" and refusal.created_by == users["web_manager"]
    items = HTMLParser(manager.get("/h/acme/deployments/").content.decode()).css("ul.refusals li")
    assert len(items) == 1
    text = items[0].text()
    assert "spring-site.zip" in text and "climbs out of the archive" in text and "just now" in text and "unsafe_path" not in text
    # API uploads are logged the same way.
    api = client_for(users["web_manager"])
    response = api.post("/v2/handles/acme/site-deployments", {"artifact": zip_file({"../y": b"z"}, name="ci.zip")}, format="multipart")
    assert response.status_code == 422
    assert UploadRefusal.objects.filter(handle=handle, filename="ci.zip").exists()
    # The docs filter shows only docs refusals.
    assert "spring-site.zip" not in manager.get("/h/acme/deployments/?target=docs").content.decode()


def test_site_and_docs_versions_are_grouped_not_interleaved(manager, handle):
    from .conftest import create

    site1 = create(handle)
    docs1 = create(handle, target="docs")
    site2 = create(handle)
    docs2 = create(handle, target="docs")
    tree = HTMLParser(manager.get("/h/acme/deployments/").content.decode())
    rows = [r.attributes.get("id") or r.text().strip() for r in tree.css("#history tbody tr")]
    assert rows == [
        "Profile site versions", f"dep-{site2.id}", f"dep-{site1.id}",
        "Internal docs versions", f"dep-{docs2.id}", f"dep-{docs1.id}",
    ]
    # Filtered to one target: that target's rows only, no group heading.
    rows = [r.attributes.get("id") for r in HTMLParser(manager.get("/h/acme/deployments/?target=docs").content.decode()).css("#history tbody tr")]
    assert rows == [f"dep-{docs2.id}", f"dep-{docs1.id}"]
