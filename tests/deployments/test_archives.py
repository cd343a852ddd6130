"""Archive validation: every invalid_artifact reason, zip-slip, links, bombs and limits.

Every archive is built in the test. A refused archive leaves nothing behind: no
deployment row and no blob counted as present.
"""

import io
import struct
import uuid
import zipfile

import pytest

from deployments import constants as dc
from deployments import storage as blob_storage
from deployments.archives import InvalidArtifact, content_type_for, safe_path
from deployments.models import Blob, Deployment, DeploymentFile
from deployments.services.ingest import deployment_create_from_archive
from tests.deployments.conftest import SITE, make_targz, make_zip, upload

# Each test runs on both blob backends: local files and S3 (SeaweedFS).
pytestmark = [pytest.mark.django_db, pytest.mark.blobs]


def unique(text="page"):
    return f"<!doctype html><title>{text}</title><p>{uuid.uuid4()}</p>".encode()


def refuse(handle, data, reason, name="site.zip", **kwargs):
    with pytest.raises(InvalidArtifact) as info:
        deployment_create_from_archive(handle=handle, upload=upload(data, name), **kwargs)
    assert info.value.status == 422
    assert info.value.code == dc.INVALID_ARTIFACT
    assert info.value.details["reason"] == reason, info.value.details
    assert not Deployment.objects.exists()
    assert not DeploymentFile.objects.exists()
    return info.value


def lying_zip(size_actual, size_declared):
    """A zip whose headers declare fewer bytes than the member really inflates to."""
    data = make_zip({"index.html": b"\0" * size_actual})
    buf = bytearray(data)
    local = buf.find(b"PK\x03\x04")
    struct.pack_into("<I", buf, local + 22, size_declared)
    central = buf.find(b"PK\x01\x02")
    struct.pack_into("<I", buf, central + 24, size_declared)
    return bytes(buf)


def test_a_zip_becomes_a_ready_deployment_with_every_file(handle, users):
    dep = deployment_create_from_archive(handle=handle, upload=upload(make_zip(SITE)), message="first", actor=users["web_manager"])
    assert dep.state == dc.READY and dep.version == 1 and dep.file_count == len(SITE)
    assert dep.total_bytes == sum(len(v) for v in SITE.values())
    assert dep.warnings == []
    paths = set(DeploymentFile.objects.filter(deployment=dep).values_list("path", flat=True))
    assert paths == {"/" + p for p in SITE}
    for f in DeploymentFile.objects.filter(deployment=dep):
        assert blob_storage.blob_exists(f.sha256)


def test_a_tar_gz_is_accepted_too(handle):
    dep = deployment_create_from_archive(handle=handle, upload=upload(make_targz(SITE), "site.tar.gz"))
    assert dep.state == dc.READY and dep.file_count == len(SITE)


@pytest.mark.parametrize(("maker", "name"), [(make_zip, "site.zip"), (make_targz, "site.tar.gz")])
def test_one_top_folder_becomes_the_site_root_and_macos_clutter_is_left_out(handle, maker, name):
    """What macOS "Compress" makes of a folder: everything under ``site/``, plus ``__MACOSX/``."""
    files = {f"spring-site/{p}": data for p, data in SITE.items()}
    files["__MACOSX/spring-site/._index.html"] = b"\x00\x05\x16\x07resource fork"
    files["spring-site/.DS_Store"] = b"Bud1"
    dep = deployment_create_from_archive(handle=handle, upload=upload(maker(files), name))
    assert dep.state == dc.READY and dep.warnings == []
    paths = set(DeploymentFile.objects.filter(deployment=dep).values_list("path", flat=True))
    assert paths == {"/" + p for p in SITE}
    assert dep.file_count == len(SITE)


def test_a_top_folder_beside_a_root_file_is_kept(handle):
    dep = deployment_create_from_archive(handle=handle, upload=upload(make_zip({"index.html": b"home", "blog/post.html": b"post"})))
    assert set(DeploymentFile.objects.filter(deployment=dep).values_list("path", flat=True)) == {"/index.html", "/blog/post.html"}
    dep = deployment_create_from_archive(handle=handle, upload=upload(make_zip({"a/index.html": b"a", "b/index.html": b"b"})))
    assert set(DeploymentFile.objects.filter(deployment=dep).values_list("path", flat=True)) == {"/a/index.html", "/b/index.html"}


def test_an_archive_of_nothing_but_clutter_is_empty(handle):
    refuse(handle, make_zip({"__MACOSX/._x": b"fork", ".DS_Store": b"Bud1"}), dc.REASON_EMPTY)


def test_a_site_without_index_html_is_accepted_with_a_warning(handle):
    dep = deployment_create_from_archive(handle=handle, upload=upload(make_zip({"about.html": b"x"})))
    assert dep.state == dc.READY
    assert dep.warnings == [dc.WARNING_NO_INDEX_HTML]


def test_docs_pages_declaring_confidential_are_flagged_at_ingest(handle):
    files = {
        "index.html": b"<html><head><title>Docs</title></head><body>Hi</body></html>",
        "finance/q3.html": b'<html><head><meta name="gharart:classification" content="confidential"></head><body>Numbers</body></html>',
        "notes.html": b"<html><body><p>gharart:classification confidential (just words)</p></body></html>",
    }
    dep = deployment_create_from_archive(handle=handle, upload=upload(make_zip(files)), target=dc.TARGET_DOCS)
    flagged = set(DeploymentFile.objects.filter(deployment=dep, confidential=True).values_list("path", flat=True))
    assert flagged == {"/finance/q3.html"}


def test_versions_count_per_handle_and_target(handle):
    a = deployment_create_from_archive(handle=handle, upload=upload(make_zip(SITE)))
    b = deployment_create_from_archive(handle=handle, upload=upload(make_zip(SITE)))
    d = deployment_create_from_archive(handle=handle, upload=upload(make_zip(SITE)), target=dc.TARGET_DOCS)
    assert (a.version, b.version, d.version) == (1, 2, 1)


def test_identical_files_are_stored_once(handle):
    deployment_create_from_archive(handle=handle, upload=upload(make_zip(SITE)))
    before = Blob.objects.count()
    deployment_create_from_archive(handle=handle, upload=upload(make_zip(SITE)))
    assert Blob.objects.count() == before


@pytest.mark.parametrize("data", [b"", b"just some text, not an archive", b"PK\x03\x04broken zip", b"\x1f\x8b\x08\x00garbage gzip"])
def test_not_an_archive(handle, data):
    refuse(handle, data, dc.REASON_NOT_AN_ARCHIVE)


@pytest.mark.parametrize(
    "name",
    ["../evil.html", "a/../../evil.html", "/etc/passwd", "C:/windows/evil.html", "c:evil.html", "dir\\..\\evil.html", "a/..", "x\x01.html"],
)
def test_zip_slip_and_unsafe_paths_are_refused(handle, name):
    refuse(handle, make_zip({"index.html": unique(), name: b"evil"}), dc.REASON_UNSAFE_PATH)


@pytest.mark.parametrize("name", ["../evil.html", "/abs.html", "a\\b.html"])
def test_unsafe_paths_in_tar_gz_are_refused_and_earlier_blobs_removed(handle, name):
    first = unique()
    refuse(handle, make_targz({"index.html": first, name: b"evil"}), dc.REASON_UNSAFE_PATH, name="site.tar.gz")
    import hashlib

    sha = hashlib.sha256(first).hexdigest()
    assert not Blob.objects.filter(sha256=sha).exists()
    assert not blob_storage.blob_exists(sha)


def test_symlinks_in_zip_are_refused(handle):
    refuse(handle, make_zip({"index.html": unique()}, symlinks={"passwd": "/etc/passwd"}), dc.REASON_SYMLINK)


def test_symlinks_and_hard_links_in_tar_gz_are_refused(handle):
    refuse(handle, make_targz({"index.html": unique()}, symlinks={"passwd": "/etc/passwd"}), dc.REASON_SYMLINK, name="s.tar.gz")
    refuse(handle, make_targz({"index.html": unique()}, hardlinks={"copy.html": "index.html"}), dc.REASON_SYMLINK, name="s.tar.gz")


def test_empty_archives_are_refused(handle):
    refuse(handle, make_zip({}), dc.REASON_EMPTY)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("only/a/dir/", b"")
    refuse(handle, buf.getvalue(), dc.REASON_EMPTY)
    refuse(handle, make_targz({}), dc.REASON_EMPTY, name="e.tar.gz")


def test_too_many_files(handle, settings):
    settings.DEPLOY_MAX_FILES = 3
    refuse(handle, make_zip({f"p{i}.html": unique() for i in range(4)}), dc.REASON_TOO_MANY_FILES)
    refuse(handle, make_targz({f"p{i}.html": unique() for i in range(4)}), dc.REASON_TOO_MANY_FILES, name="s.tar.gz")
    assert not Blob.objects.exists()


def test_file_too_large(handle, settings):
    settings.DEPLOY_MAX_FILE_BYTES = 1000
    refuse(handle, make_zip({"index.html": unique(), "big.bin": b"x" * 1001}), dc.REASON_FILE_TOO_LARGE)
    refuse(handle, make_targz({"big.bin": b"x" * 1001}), dc.REASON_FILE_TOO_LARGE, name="s.tar.gz")


def test_archive_too_large_by_contents_and_by_upload_size(handle, settings):
    settings.DEPLOY_MAX_TOTAL_BYTES = 3000
    refuse(handle, make_zip({"a.bin": b"a" * 1600, "b.bin": b"b" * 1600}), dc.REASON_ARCHIVE_TOO_LARGE)
    refuse(handle, make_targz({"a.bin": b"a" * 1600, "b.bin": b"b" * 1600}), dc.REASON_ARCHIVE_TOO_LARGE, name="s.tar.gz")
    # An upload far larger than any valid deployment is refused while it streams in.
    settings.DEPLOY_MAX_TOTAL_BYTES = 1000
    refuse(handle, __import__("os").urandom(1024 * 1024 + 5000), dc.REASON_ARCHIVE_TOO_LARGE)


def test_zip_bomb_caught_by_declared_sizes_before_unpacking(handle, settings):
    settings.DEPLOY_COMPRESSION_RATIO_MIN_BYTES = 10_000
    err = refuse(handle, make_zip({"index.html": unique(), "bomb.bin": b"\0" * 2_000_000}), dc.REASON_COMPRESSION_RATIO)
    assert err.details["measured"] == "declared"
    assert not Blob.objects.exists()


def test_zip_bomb_with_lying_headers_caught_by_actual_size(handle, settings):
    settings.DEPLOY_COMPRESSION_RATIO_MIN_BYTES = 10_000
    err = refuse(handle, lying_zip(2_000_000, 1000), dc.REASON_COMPRESSION_RATIO)
    assert err.details["measured"] == "actual"
    assert not Blob.objects.exists()


def test_tar_gz_bomb_is_refused(handle, settings):
    settings.DEPLOY_COMPRESSION_RATIO_MIN_BYTES = 10_000
    refuse(handle, make_targz({"index.html": unique(), "bomb.bin": b"\0" * 3_000_000}), dc.REASON_COMPRESSION_RATIO, name="b.tar.gz")
    assert not Blob.objects.exists()


def test_the_ratio_check_leaves_small_compressible_files_alone(handle):
    dep = deployment_create_from_archive(handle=handle, upload=upload(make_zip({"index.html": b" " * 200_000})))
    assert dep.state == dc.READY


def test_safe_path_normalizes_harmless_forms():
    assert safe_path("./a/./b.html") == "/a/b.html"
    assert safe_path("a//b.html") == "/a/b.html"
    with pytest.raises(InvalidArtifact):
        safe_path("a/../../b")


def test_content_types():
    assert content_type_for("/index.html") == "text/html; charset=utf-8"
    assert content_type_for("/a.css") == "text/css; charset=utf-8"
    assert content_type_for("/a.js") == "text/javascript; charset=utf-8"
    assert content_type_for("/a.svg") == "image/svg+xml; charset=utf-8"
    assert content_type_for("/a.png") == "image/png"
    assert content_type_for("/a.woff2") == "font/woff2"
    assert content_type_for("/a.unknownext") == "application/octet-stream"
