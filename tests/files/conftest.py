"""Fixtures for files, magic links and docs access: uploads and clients per role."""

import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from files import constants as fc
from files import services

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 200
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" + b"0" * 500 + b"\n%%EOF\n"


class Upload(io.BytesIO):
    """What Django hands a view: a named, sized, seekable upload."""

    def __init__(self, data, name):
        super().__init__(data)
        self.name = name
        self.size = len(data)


def make_file(handle, user, *, data=PDF, name="media-kit.pdf", **fields):
    return services.file_upload(handle=handle, actor=user, upload=Upload(data, name), **fields)


@pytest.fixture
def dashboard_manager(users):
    """A browser signed in as the partnerships manager."""
    client = Client()
    client.force_login(users["partnerships"])
    return client


@pytest.fixture
def partner_manager(users):
    return users["partnerships"]


@pytest.fixture
def link_file(handle, partner_manager):
    """A media kit in link mode for @agency.example, expiring in 10 days."""
    return make_file(
        handle,
        partner_manager,
        access=fc.ACCESS_LINK,
        recipients=["@agency.example", "pat@partner.example"],
        expires_at=timezone.now() + timedelta(days=10),
        title="Media kit 2026",
    )


@pytest.fixture
def public_file(handle, partner_manager):
    return make_file(handle, partner_manager, data=PNG, name="logo.png", access=fc.ACCESS_PUBLIC)


def mint(file, email="ana@agency.example", actor=None):
    link, token = services.magic_link_mint(file=file, email=email, actor=actor)
    return link, token


def url(file, token=None):
    base = f"/v2/public/files/{file.id}"
    return base + (f"?token={token}" if token else "")


def make_docs(handle, owner, pages):
    """Publish ``pages`` ({path: bytes}) as the handle's live docs deployment."""
    import zipfile

    from deployments.services.ingest import deployment_create_from_archive
    from deployments.services.releases import deployment_promote

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for path, body in pages.items():
            archive.writestr(path, body)
    deployment = deployment_create_from_archive(handle=handle, upload=Upload(buf.getvalue(), "docs.zip"), target="docs", actor=owner)
    deployment_promote(deployment=deployment, actor=owner, role="owner", reason="docs for tests", force=True)
    return deployment


CONFIDENTIAL_META = b'<html><head><meta name="gharart:classification" content="confidential"><title>Board</title></head><body>board minutes</body></html>'
DOCS_PAGES = {
    "index.html": b"<html><body>welcome partners</body></html>",
    "guide/brand.html": b"<html><body>brand guide</body></html>",
    "finance/q3.html": b"<html><body>q3 numbers</body></html>",
    "board.html": CONFIDENTIAL_META,
    "404.html": b"<html><body>no such doc</body></html>",
}
