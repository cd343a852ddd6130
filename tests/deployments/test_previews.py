"""Signed preview URLs: viewable without login, served like the live site, expiring, tamper-proof."""

import base64
from datetime import timedelta

import pytest
from freezegun import freeze_time

from deployments import constants as dc
from deployments import previews
from deployments.services.ingest import deployment_create_from_digest, deployment_fail
from tests.deployments.conftest import SITE, publish

# Each test runs on both blob backends: local files and S3 (SeaweedFS).
pytestmark = [pytest.mark.django_db, pytest.mark.blobs]


def body(r):
    return b"".join(r.streaming_content) if r.streaming else r.content


def preview_path(dep):
    url, _ = previews.preview_url(dep)
    return url.replace("http://testserver", "")


def test_a_preview_serves_the_deployment_with_the_live_rules(client, handle):
    dep = publish(handle, promote=False)
    base = preview_path(dep)
    assert base.startswith("/previews/") and base.endswith("/")
    r = client.get(base)
    assert r.status_code == 200 and body(r) == SITE["index.html"]
    assert r["X-Gharart-Deployment"] == dep.id
    assert r["Content-Security-Policy"] == "sandbox allow-scripts allow-forms allow-popups allow-downloads"
    assert r["Cache-Control"] == "private, max-age=0, must-revalidate"
    assert body(client.get(base + "about")) == SITE["about.html"]
    assert body(client.get(base + "products/")) == SITE["products/index.html"]
    r = client.get(base + "missing")
    assert r.status_code == 404 and body(r) == SITE["404.html"]
    assert client.get(base + "%2e%2e/%2e%2e/x").status_code == 404
    assert client.get(base + "about", HTTP_IF_NONE_MATCH=r'"' + client.get(base + "about")["ETag"].strip('"') + '"').status_code == 304
    assert client.get(base + "about.html", HTTP_RANGE="bytes=0-3").status_code == 206
    assert client.get(base.rstrip("/")).status_code == 302


def test_a_preview_url_expires(client, handle, settings):
    settings.PREVIEW_URL_TTL = timedelta(hours=24)
    dep = publish(handle, promote=False)
    with freeze_time("2026-01-01 12:00:00"):
        path = preview_path(dep)
        _, expires = previews.preview_url(dep)
        assert expires.isoformat().startswith("2026-01-02T12:00:00")
    with freeze_time("2026-01-02 11:59:00"):
        assert client.get(path).status_code == 200
    with freeze_time("2026-01-02 12:00:30"):
        r = client.get(path)
        assert r.status_code == 403 and r.json()["error"]["code"] == dc.PREVIEW_EXPIRED
        r = client.get(path, HTTP_ACCEPT="text/html")
        assert r.status_code == 403 and b"expired" in r.content


@pytest.mark.parametrize("mutate", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: "x" + t, lambda t: t.split(":")[0], lambda t: "garbage"])
def test_a_tampered_token_is_404(client, handle, mutate):
    dep = publish(handle, promote=False)
    token = preview_path(dep).split("/")[2]
    r = client.get(f"/previews/{mutate(token)}/")
    assert r.status_code == 404 and r.json()["error"]["code"] == dc.PREVIEW_NOT_FOUND


def test_a_token_for_another_deployment_id_cannot_be_forged(client, handle):
    dep = publish(handle, promote=False)
    other = publish(handle, promote=False)
    token = preview_path(dep).split("/")[2]
    payload, stamp, signature = token.split(":")
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert dep.id in decoded
    swapped = base64.urlsafe_b64encode(decoded.replace(dep.id, other.id).encode()).decode().rstrip("=")
    assert client.get(f"/previews/{swapped}:{stamp}:{signature}/").status_code == 404
    assert client.get(f"/previews/{token}/").status_code == 200


def test_deployments_that_are_not_ready_have_no_preview(client, handle):
    dep, required = deployment_create_from_digest(handle=handle, files={"/index.html": "a" * 64})
    assert dep.state == dc.UPLOADING and required
    assert client.get(f"/previews/{previews.preview_token(dep.id)}/").status_code == 404
    deployment_fail(deployment_id=dep.id, code=dc.UPLOAD_INCOMPLETE, message="gone")
    assert client.get(f"/previews/{previews.preview_token(dep.id)}/").status_code == 404


def test_a_content_origin_changes_the_preview_host(handle, settings):
    settings.GHARART_CONTENT_ORIGIN = "https://usercontent.example"
    dep = publish(handle, promote=False)
    assert previews.preview_url(dep)[0].startswith("https://usercontent.example/previews/")
