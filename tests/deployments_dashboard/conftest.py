"""Clients per role, real archives and shortcuts for the deployments dashboard tests."""

import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from deployments.services.ingest import deployment_create_from_archive
from deployments.services.releases import deployment_preview_report, deployment_promote

SITE_V1 = {
    "index.html": b"<!doctype html><title>Acme v1</title><h1>Version one</h1>",
    "about.html": b"<!doctype html><title>About</title><p>About Acme</p>",
    "css/site.css": b"body { color: #222; }\n",
    "img/logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/>",
}
SITE_V2 = {**SITE_V1, "index.html": b"<!doctype html><title>Acme v2</title><h1>Version two</h1>"}
HX = {"HTTP_HX_REQUEST": "true"}


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def zip_file(files, name="site.zip"):
    return SimpleUploadedFile(name, make_zip(files), content_type="application/zip")


def create(handle, files=SITE_V1, *, actor=None, message="", target="site"):
    """A ready deployment made through the service (what the API and dashboard both call)."""
    return deployment_create_from_archive(handle=handle, upload=zip_file(files), target=target, message=message, actor=actor)


def go_live(handle, files=SITE_V1, *, actor=None, message=""):
    dep = create(handle, files, actor=actor, message=message)
    deployment_preview_report(deployment=dep, actor=actor)
    deployment_promote(deployment=dep, actor=actor, role="web_manager", reason="test")
    dep.refresh_from_db()
    return dep


def body(response):
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def csrf_token_from(html):
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture
def login(users):
    """``login(role)`` -> a Django test client signed in as the acme member with that role."""

    def make(role, *, enforce_csrf_checks=False):
        client = Client(enforce_csrf_checks=enforce_csrf_checks)
        client.force_login(users[role])
        return client

    return make


@pytest.fixture
def manager(login):
    return login("web_manager")


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run on-commit work (cache invalidation, queued jobs) as a real commit would."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run
