"""Property: archive validation never accepts anything unsafe and keeps nothing it refuses.

Archives (.zip and .tar.gz) are generated with arbitrary member names (``..``, absolute
paths, drive letters, backslashes, control characters, unicode, empty and dot
segments), sizes around the limits, and symlink / hardlink / device members. For each:

- refused: 422 ``invalid_artifact`` with a contract reason, and no deployment, no file
  row, no blob row, no blob bytes and no temporary file is left behind;
- accepted: every manifest path is canonical (``/a/b``: no empty, ``.`` or ``..``
  segment, no backslash or control character) and names a member of the archive, and
  each path's blob holds exactly the bytes of the last member with that name;
- an archive with a dangerous member (climbing, absolute, drive letter, backslash,
  control character, link, device) is always refused; one whose names are all plain and
  whose sizes are within the limits is always accepted.
"""

import gzip
import io
import os
import re
import tarfile
import tempfile
import zipfile

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from deployments import constants as dc
from deployments import storage as blob_storage
from deployments.archives import InvalidArtifact
from deployments.models import Blob, Deployment, DeploymentFile
from deployments.services.ingest import deployment_create_from_archive
from tests.deployments.conftest import upload

pytestmark = pytest.mark.django_db

MAX_FILES, MAX_FILE_BYTES, MAX_TOTAL_BYTES = 6, 48, 160
PLAIN = st.text(alphabet="abcXYZ019_-.é字", min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))
SEGMENT = st.one_of(
    PLAIN,
    st.sampled_from(["..", ".", "", "C:", "c:\\x", "a\\b", "..\\..", "\x01", "a\x1fb", "\x7f", "\n", "%2e%2e", "~", " "]),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00/"), min_size=1, max_size=6),
)
PLAIN_NAME = st.lists(PLAIN, min_size=1, max_size=3).map("/".join)
ODD_NAME = st.tuples(st.sampled_from(["", "/", "./", "../", "C:/", "\\\\srv\\", "//"]), st.lists(SEGMENT, min_size=1, max_size=4)).map(
    lambda t: t[0] + "/".join(t[1])
)
NAME = st.integers(0, 5).flatmap(lambda i: ODD_NAME if i == 0 else PLAIN_NAME)  # mostly plain: limits get reached too
KIND = st.sampled_from(["file"] * 24 + ["dir", "symlink", "hardlink", "fifo"])
BODY = st.one_of(st.binary(max_size=16), st.binary(min_size=MAX_FILE_BYTES - 2, max_size=MAX_FILE_BYTES + 2))  # around the limit
MEMBER = st.tuples(NAME, BODY, KIND)
ARCHIVE = st.tuples(st.sampled_from(["zip", "tar.gz"]), st.lists(MEMBER, min_size=0, max_size=MAX_FILES + 2))

_DRIVE = re.compile(r"^[A-Za-z]:")


def dangerous(name, kind):
    """True for a member that must never be accepted (an independent statement of the rules)."""
    if kind in ("symlink", "hardlink", "fifo"):
        return True
    if "\\" in name or any(ord(ch) < 32 or ord(ch) == 127 for ch in name) or _DRIVE.match(name):
        return True
    return name.startswith("/") or ".." in name.split("/")


def plain(name):
    return all(seg and seg not in (".", "..") and not any(ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in seg) for seg in name.split("/")) and not _DRIVE.match(name)


def headers_fit(fmt, data):
    """A .tar.gz stream may inflate to the content limit plus ~1.5 KB of headers per file."""
    return fmt == "zip" or len(gzip.decompress(data)) <= MAX_TOTAL_BYTES + (MAX_FILES + 2) * 1536


def build(fmt, members):
    buf = io.BytesIO()
    if fmt == "zip":
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data, kind in members:
                info = zipfile.ZipInfo(name.rstrip("/") + "/" if kind == "dir" else name)
                info.create_system = 3
                if kind == "dir":
                    info.external_attr = (0o40755 << 16) | 0x10
                    zf.writestr(info, b"")
                elif kind in ("symlink", "hardlink", "fifo"):
                    # zip has one link type: a member whose mode says "symbolic link".
                    info.external_attr = 0o120777 << 16
                    zf.writestr(info, b"index.html")
                else:
                    info.external_attr = 0o100644 << 16
                    zf.writestr(info, data)
    else:
        with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
            for name, data, kind in members:
                info = tarfile.TarInfo(name)
                if kind == "file":
                    info.size = len(data)
                    tf.addfile(info, io.BytesIO(data))
                    continue
                info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
                if kind in ("symlink", "hardlink"):
                    info.linkname = "../../etc/passwd"
                tf.addfile(info)
    return buf.getvalue()


def canonical(path):
    segments = path.split("/")
    return (
        path.startswith("/")
        and all(s and s not in (".", "..") for s in segments[1:])
        and "\\" not in path
        and not any(ord(ch) < 32 or ord(ch) == 127 for ch in path)
    )


def normalized(name):
    """Where a plain-enough member name lands in the manifest: leading ./ and . segments dropped."""
    while name.startswith("./"):
        name = name[2:]
    return "/" + "/".join(s for s in name.split("/") if s not in ("", "."))


def snapshot():
    from django.conf import settings

    root = blob_storage.blob_storage().location
    on_disk = set()
    for folder, _, names in os.walk(root):
        on_disk.update(os.path.join(folder, n) for n in names)
    spooled = set(os.listdir(settings.FILE_UPLOAD_TEMP_DIR))
    return (Deployment.objects.count(), DeploymentFile.objects.count(), Blob.objects.count(), on_disk, spooled)


@pytest.fixture
def small_limits(settings):
    # A private spool folder: the default one under /tmp is shared with other processes.
    settings.FILE_UPLOAD_TEMP_DIR = tempfile.mkdtemp(prefix="gharart-spool-")
    settings.DEPLOY_MAX_FILES = MAX_FILES
    settings.DEPLOY_MAX_FILE_BYTES = MAX_FILE_BYTES
    settings.DEPLOY_MAX_TOTAL_BYTES = MAX_TOTAL_BYTES


@settings(max_examples=300, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(archive=ARCHIVE)
def test_archives_are_accepted_only_when_safe_and_refusals_keep_nothing(handle, small_limits, archive):
    fmt, members = archive
    data = build(fmt, members)
    before = snapshot()
    try:
        dep = deployment_create_from_archive(handle=handle, upload=upload(data, f"site.{fmt}"))
    except InvalidArtifact as exc:
        assert exc.status == 422 and exc.code == dc.INVALID_ARTIFACT
        assert exc.details["reason"] in dc.INVALID_ARTIFACT_REASONS
        event(f"refused: {exc.details['reason']}")
        assert snapshot() == before, "a refused archive left something behind"
        files = [m for m in members if m[2] == "file"]
        within_limits = len(files) <= MAX_FILES and all(len(d) <= MAX_FILE_BYTES for _, d, _ in files) and sum(len(d) for _, d, _ in files) <= MAX_TOTAL_BYTES
        all_plain = all(plain(n) and k in ("file", "dir") for n, _, k in members)
        assert not (files and within_limits and all_plain and headers_fit(fmt, data)), f"a plain archive within the limits was refused: {exc.details}"
        return
    # Accepted: nothing dangerous was in it, and the manifest is exactly the members' bytes.
    assert not any(dangerous(n, k) for n, _, k in members), f"accepted a dangerous member: {members!r}"
    assert dep.state == dc.READY
    event("accepted")
    last = {}
    for name, body, kind in members:
        if kind == "file" and not (fmt == "zip" and name.endswith("/")):  # zip: a trailing / is a folder
            last[normalized(name)] = body
    # Files that all sit in one top folder are served from it (it becomes the root).
    tops = {path.split("/")[1] for path in last}
    if len(tops) == 1 and all(path.count("/") >= 2 for path in last):
        cut = len(tops.pop()) + 1
        last = {path[cut:]: body for path, body in last.items()}
    rows = {f.path: f for f in DeploymentFile.objects.filter(deployment=dep)}
    assert set(rows) == set(last)
    for path, row in rows.items():
        assert canonical(path), path
        with blob_storage.blob_open(row.sha256) as fh:
            assert fh.read() == last[path]
