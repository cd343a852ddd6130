"""Archive builders and publishing shortcuts for the deployments tests."""

import io
import tarfile
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from deployments.services.ingest import deployment_create_from_archive
from deployments.services.releases import deployment_preview_report, deployment_promote

SITE = {
    "index.html": b"<!doctype html><title>Acme home</title><h1>Acme</h1><a href='about.html'>About</a>",
    "about.html": b"<!doctype html><title>About Acme</title><p>We make things.</p>",
    "products/index.html": b"<!doctype html><title>Products</title><ul><li>Lamp</li></ul>",
    "404.html": b"<!doctype html><title>Not here</title><p>Lost?</p>",
    "css/site.css": b"body { color: #222; }\n",
    "img/logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
    "data/feed.json": b'{"items": []}',
}


def make_zip(files, *, symlinks=None, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    return buf.getvalue()


def make_targz(files, *, symlinks=None, hardlinks=None):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
        for name, target in (hardlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.LNKTYPE
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()


def upload(data, name="site.zip"):
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def publish(handle, files=None, *, actor=None, target="site", message="", open_preview=True, promote=True):
    """Create a deployment from ``files`` (dict name -> bytes), open its preview, promote it."""
    dep = deployment_create_from_archive(handle=handle, upload=upload(make_zip(files or SITE)), target=target, message=message, actor=actor)
    if open_preview:
        deployment_preview_report(deployment=dep, actor=actor)
        dep.refresh_from_db()
    if promote:
        deployment_promote(deployment=dep, actor=actor, role="owner", reason="test")
    return dep


def remove_blob_bytes(sha):
    """Delete a blob's bytes behind the database's back (the 'missing artifact' breakage)."""
    from tests.blobs import remove_blob_bytes as remove

    remove(sha)


@pytest.fixture
def site_mode_deployment(handle):
    from gharart import constants as c

    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    return handle
