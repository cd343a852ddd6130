"""The Deployments page: history, filters, the upload form, errors in words, polling, access."""

import io
import os
import zipfile

from django.test import Client

from deployments import constants as dc
from deployments.models import Deployment
from deployments.services.ingest import deployment_process_archive
from deployments.services.releases import deployment_preview_report, deployment_promote

from .conftest import HX, SITE_V1, create, csrf_token_from, make_zip, zip_file

URL = "/h/acme/deployments/"
UPLOAD = "/h/acme/deployments/upload/"


def test_the_page_has_an_upload_form_with_a_real_progress_bar_and_a_drop_zone(manager, handle):
    html = manager.get(URL).content.decode()
    assert 'hx-encoding="multipart/form-data"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "<progress data-upload-progress hidden" in html
    assert "data-upload-progress-label" in html
    assert "data-dropzone" in html
    assert f'action="{UPLOAD}"' in html
    assert '<label for="upload-artifact">' in html


def test_uploading_a_zip_without_javascript_redirects_to_the_history_with_the_new_row(manager, handle, users):
    response = manager.post(UPLOAD, {"artifact": zip_file(SITE_V1), "target": "site", "message": "Spring sale"})
    dep = Deployment.objects.get(handle=handle)
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?created={dep.id}"
    html = manager.get(response["Location"]).content.decode()
    assert dep.state == dc.READY and dep.version == 1 and dep.created_by == users["web_manager"]
    assert "Uploaded v1" in html
    assert f'href="/h/acme/deployments/{dep.id}/"' in html
    assert 'id="dep-' + dep.id + '" class="highlight"' in html
    assert "Spring sale" in html and "Ready" in html and "acme-web_manager" in html


def test_uploading_with_htmx_swaps_in_the_section_with_the_new_row_and_a_link(manager, handle):
    response = manager.post(UPLOAD, {"artifact": zip_file(SITE_V1), "message": "First"}, **HX)
    html = response.content.decode()
    dep = Deployment.objects.get(handle=handle)
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div id="deployments-section">')
    assert "Uploaded v1" in html and "data-autofocus" in html
    assert f'href="/h/acme/deployments/{dep.id}/">Open v1' in html
    assert f'<tr id="dep-{dep.id}"' in html
    # A ready deployment does not poll.
    assert 'hx-trigger="every 2s"' not in html


def test_an_archive_escaping_the_site_folder_is_refused_in_words(manager, handle):
    bad = zip_file({"index.html": b"<h1>hi</h1>", "../x": b"evil"})
    for headers in ({}, HX):
        bad.seek(0)
        response = manager.post(UPLOAD, {"artifact": bad}, **headers)
        html = response.content.decode()
        assert response.status_code == 422
        assert "The archive contains a path that escapes the site folder: ../x" in html
        assert 'aria-invalid="true"' in html and 'aria-describedby="upload-artifact-help upload-artifact-error"' in html
    assert not Deployment.objects.filter(handle=handle).exists()


def test_other_invalid_archives_are_explained(manager, handle):
    response = manager.post(UPLOAD, {"artifact": io.BytesIO(b"this is not an archive")}, **HX)
    assert response.status_code == 422
    assert "not a .zip or .tar.gz archive" in response.content.decode()

    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("folder/", b"")
    empty.seek(0)
    empty.name = "empty.zip"
    response = manager.post(UPLOAD, {"artifact": empty}, **HX)
    assert response.status_code == 422
    assert "The archive holds no files." in response.content.decode()


def test_a_missing_archive_or_unknown_target_is_a_field_error(manager, handle):
    response = manager.post(UPLOAD, {"message": "nothing attached"}, **HX)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="upload-artifact-error"' in html and "Attach a .zip or .tar.gz archive" in html
    assert 'value="nothing attached"' in html  # what was typed is kept

    response = manager.post(UPLOAD, {"artifact": zip_file(SITE_V1), "target": "mars"}, **HX)
    assert response.status_code == 400
    assert 'id="upload-target-error"' in response.content.decode()


def test_history_shows_version_target_state_live_badge_and_file_count(manager, handle, users):
    first = create(handle, actor=users["web_manager"], message="Launch sale")
    deployment_preview_report(deployment=first)
    deployment_promote(deployment=first, actor=users["web_manager"], role="web_manager")
    create(handle, actor=users["admin"], message="Autumn refresh")
    html = manager.get(URL).content.decode()
    row = html.split(f'id="dep-{first.id}"')[1].split("</tr>")[0]
    assert "v1" in row and 'badge live">Live' in row and "Profile site" in row and "<td>4</td>" in row
    assert html.index("Autumn refresh") < html.index("Launch sale")  # newest first
    assert "acme-admin" in html


def test_filter_by_target_and_state_with_a_real_href_and_an_htmx_partial(manager, handle):
    site = create(handle, message="the site")
    docs = create(handle, target="docs", message="the docs")
    html = manager.get(URL + "?target=docs").content.decode()
    assert docs.id in html and site.id not in html
    assert 'href="/h/acme/deployments/?target=docs" hx-get="/h/acme/deployments/?target=docs" aria-current="page"' in html

    partial = manager.get(URL + "?target=site&state=ready", **HX)
    text = partial.content.decode()
    assert partial.status_code == 200 and "<html" not in text and text.startswith('<section id="history"')
    assert site.id in text and docs.id not in text
    assert manager.get(URL + "?state=failed", **HX).content.decode().count("<tr id=") == 0


def test_processing_deployments_poll_until_they_are_ready(manager, handle, settings):
    settings.DEPLOY_INLINE_MAX_BYTES = 0  # every archive goes to the worker
    response = manager.post(UPLOAD, {"artifact": zip_file(SITE_V1)}, **HX)
    dep = Deployment.objects.get(handle=handle)
    assert dep.state == dc.PROCESSING
    row_url = f"/h/acme/deployments/{dep.id}/row/"
    assert f'hx-get="{row_url}" hx-trigger="every 2s"' in response.content.decode()

    polled = manager.get(row_url, **HX).content.decode()
    assert "every 2s" in polled and "Processing" in polled

    deployment_process_archive(deployment_id=dep.id)  # the worker's job
    polled = manager.get(row_url, **HX).content.decode()
    assert "every 2s" not in polled and "Ready" in polled and "<td>4</td>" in polled
    # Without HTMX the row URL leads to the deployment.
    assert manager.get(row_url)["Location"] == f"/h/acme/deployments/{dep.id}/"


def test_a_failed_deployment_shows_why(manager, handle):
    dep = create(handle)
    Deployment.objects.filter(pk=dep.pk).update(state=dc.FAILED, error={"code": "upload_incomplete", "message": "Not every blob was uploaded.", "details": {}})
    html = manager.get(URL).content.decode()
    assert "Failed" in html and "Not every blob was uploaded." in html


def test_viewers_see_the_history_but_cannot_upload(login, handle):
    create(handle)
    viewer = login("viewer")
    html = viewer.get(URL).content.decode()
    assert "v1" in html and 'id="upload-form"' not in html
    assert "can see this page but not upload deployments" in html
    assert viewer.post(UPLOAD, {"artifact": zip_file(SITE_V1)}).status_code == 403
    assert not Deployment.objects.filter(handle=handle, version=2).exists()


def test_partnerships_managers_cannot_upload_either(login, handle):
    assert login("partnerships").post(UPLOAD, {"artifact": zip_file(SITE_V1)}).status_code == 403


def test_non_members_get_404_and_anonymous_users_are_sent_to_sign_in(outsider, handle):
    client = Client()
    client.force_login(outsider)
    assert client.get(URL).status_code == 404
    assert client.post(UPLOAD, {"artifact": zip_file(SITE_V1)}).status_code == 404
    response = Client().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_uploads_need_the_csrf_token(login, handle):
    client = login("web_manager", enforce_csrf_checks=True)
    response = client.post(UPLOAD, {"artifact": zip_file(SITE_V1)})
    assert response.status_code == 403
    assert not Deployment.objects.filter(handle=handle).exists()
    token = csrf_token_from(client.get(URL).content.decode())
    response = client.post(UPLOAD, {"artifact": zip_file(SITE_V1), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Deployment.objects.filter(handle=handle, state=dc.READY).count() == 1


def test_an_upload_larger_than_the_cap_is_refused_while_streaming(manager, handle, settings):
    settings.DEPLOY_MAX_TOTAL_BYTES = 2000  # the cap is this plus 1 MB of archive overhead
    big = zip_file({"index.html": b"x", "noise.bin": os.urandom(1_200_000)})  # incompressible
    response = manager.post(UPLOAD, {"artifact": big}, **HX)
    assert response.status_code == 400
    assert "The archive is larger than the upload limit of" in response.content.decode()
    response = manager.post(UPLOAD, {"artifact": zip_file({"index.html": b"x", "noise.bin": os.urandom(1_200_000)})})
    assert response.status_code == 413
    # Small enough to upload, too large once unpacked.
    response = manager.post(UPLOAD, {"artifact": zip_file({"index.html": b"x" * 5000})}, **HX)
    assert response.status_code == 422
    assert "The site is larger than the limit of" in response.content.decode()
    assert not Deployment.objects.filter(handle=handle).exists()


def test_the_daily_deployments_quota_counts_dashboard_uploads(manager, handle, settings):
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, "deployments": 1}
    assert manager.post(UPLOAD, {"artifact": zip_file({"index.html": b"nope", "../x": b"y"})}, **HX).status_code == 422
    assert manager.post(UPLOAD, {"artifact": zip_file(SITE_V1)}, **HX).status_code == 200  # the refused one was refunded
    response = manager.post(UPLOAD, {"artifact": zip_file(SITE_V1)}, **HX)
    assert response.status_code == 429
    assert "daily limit" in response.content.decode()


def test_make_zip_builds_a_real_archive():
    assert zipfile.is_zipfile(io.BytesIO(make_zip(SITE_V1)))
