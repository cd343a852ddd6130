"""Reading uploaded archives (.zip, .tar.gz) safely into content-addressed blobs.

Every ``invalid_artifact`` reason of the contract is checked here: ``not_an_archive``,
``unsafe_path``, ``symlink``, ``too_many_files``, ``file_too_large``,
``archive_too_large``, ``compression_ratio`` and ``empty``. Zip bombs are caught twice:
by the sizes the archive *declares* (before anything is unpacked) and by the bytes it
*actually* inflates to (a member that inflates past its declared size, or a stream whose
inflated/compressed ratio passes the limit). If anything fails, the blobs this ingest
created are removed again, so a bad archive leaves nothing behind.
"""

import gzip
import hashlib
import io
import logging
import mimetypes
import os
import re
import stat
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.utils import timezone
from selectolax.lexbor import LexborHTMLParser

from deployments import constants as dc
from deployments import storage
from deployments.models import Blob
from gharart.errors import ApplicationError

logger = logging.getLogger(__name__)
CHUNK = 1024 * 1024
# The classification meta tag lives in <head>; this much of a page is enough to find it.
HTML_HEAD_BYTES = 256 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}

_EXTRA_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".xml": "application/xml",
    ".csv": "text/csv",
    ".pdf": "application/pdf",
    # Compressed files are their own type, never the type of what they hold
    # (mimetypes says changelog.html.gz is text/html with a gzip encoding).
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".br": "application/x-brotli",
    ".zip": "application/zip",
    ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz",
    ".zst": "application/zstd",
    ".7z": "application/x-7z-compressed",
    ".tar": "application/x-tar",
    ".eot": "application/vnd.ms-fontobject",
}
_CHARSET_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "application/manifest+json", "image/svg+xml")


class InvalidArtifact(ApplicationError):
    status = 422
    code = dc.INVALID_ARTIFACT

    def __init__(self, reason, message, **details):
        super().__init__(dc.INVALID_ARTIFACT, message, status=422, details={"reason": reason, **details})
        self.reason = reason


@dataclass
class IngestedFile:
    path: str
    sha256: str
    size: int
    content_type: str
    confidential: bool = False


@dataclass
class Limits:
    max_files: int
    max_file_bytes: int
    max_total_bytes: int
    max_ratio: int
    ratio_min_bytes: int

    @classmethod
    def from_settings(cls):
        return cls(
            max_files=settings.DEPLOY_MAX_FILES,
            max_file_bytes=settings.DEPLOY_MAX_FILE_BYTES,
            max_total_bytes=settings.DEPLOY_MAX_TOTAL_BYTES,
            max_ratio=settings.DEPLOY_MAX_COMPRESSION_RATIO,
            ratio_min_bytes=getattr(settings, "DEPLOY_COMPRESSION_RATIO_MIN_BYTES", 1024 * 1024),
        )

    def ratio_exceeded(self, inflated, compressed):
        return inflated > self.ratio_min_bytes and inflated > self.max_ratio * max(compressed, 1)


@dataclass
class IngestResult:
    files: list = field(default_factory=list)
    total_bytes: int = 0


# --- Paths and content types -------------------------------------------------------------

_BACKSLASH_OR_CONTROL = re.compile(r"[\\\x00-\x1f\x7f]")


def safe_path(name: str) -> str:
    """The manifest path (``/a/b.html``) of an archive member or digest entry, or InvalidArtifact."""
    if not isinstance(name, str) or not name or len(name) > 1000:
        raise InvalidArtifact(dc.REASON_UNSAFE_PATH, "A path is empty or too long.", path=str(name)[:200])
    if _BACKSLASH_OR_CONTROL.search(name):
        raise InvalidArtifact(dc.REASON_UNSAFE_PATH, f"The path {name!r} contains a backslash or a control character.", path=name)
    if _DRIVE.match(name):
        raise InvalidArtifact(dc.REASON_UNSAFE_PATH, f"The path {name!r} starts with a drive letter.", path=name)
    stripped = name
    while stripped.startswith("./"):
        stripped = stripped[2:]
    if stripped.startswith("/"):
        raise InvalidArtifact(dc.REASON_UNSAFE_PATH, f"The path {name!r} is absolute.", path=name)
    segments = stripped.split("/")
    if any(s == ".." for s in segments):
        raise InvalidArtifact(dc.REASON_UNSAFE_PATH, f"The path {name!r} climbs out of the archive.", path=name)
    segments = [s for s in segments if s not in ("", ".")]
    if not segments:
        raise InvalidArtifact(dc.REASON_UNSAFE_PATH, f"The path {name!r} names no file.", path=name)
    return "/" + "/".join(segments)


def is_os_clutter(path: str) -> bool:
    """Files an archiver adds that are no part of the site: macOS's ``__MACOSX/`` resource
    forks and ``.DS_Store`` folder settings. They are left out of the deployment."""
    return path.startswith("/__MACOSX/") or path.rsplit("/", 1)[-1] == ".DS_Store"


def strip_single_top_folder(files: list) -> list:
    """Files that all sit in one top folder (``site/index.html``, ``site/css/a.css``: what
    macOS "Compress" and ``zip -r site.zip site`` make) are served from that folder: it
    becomes the site root. A root-level file, or two top folders, leaves the paths as they are."""
    tops = {f.path.split("/", 2)[1] for f in files}
    if len(tops) != 1 or any(f.path.count("/") < 2 for f in files):
        return files
    cut = len(tops.pop()) + 1
    return [replace(f, path=f.path[cut:]) for f in files]


def digest_path(name: str) -> str:
    """A digest-deploy key: like an archive path, but a leading ``/`` is expected."""
    if isinstance(name, str) and name.startswith("/") and not name.startswith("//"):
        name = name[1:]
    return safe_path(name)


def content_type_for(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    ctype = _EXTRA_TYPES.get(ext) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    if ctype.startswith(_CHARSET_TYPES) and "charset" not in ctype:
        ctype += "; charset=utf-8"
    return ctype


def is_html(path: str) -> bool:
    return path.lower().endswith((".html", ".htm"))


def html_is_confidential(head: bytes) -> bool:
    """True when the page declares <meta name="gharart:classification" content="confidential">."""
    if not head:
        return False
    tree = LexborHTMLParser(head.decode("utf-8", errors="replace"))
    for meta in tree.css("meta"):
        attrs = meta.attributes
        if (attrs.get("name") or "").strip().lower() == dc.CLASSIFICATION_META and (attrs.get("content") or "").strip().lower() == dc.CLASSIFICATION_CONFIDENTIAL:
            return True
    return False


def blob_is_confidential(sha256: str) -> bool:
    with storage.blob_open(sha256) as fh:
        return html_is_confidential(fh.read(HTML_HEAD_BYTES))


# --- Temporary files of an upload -------------------------------------------------------

def _tmp_dir():
    path = settings.FILE_UPLOAD_TEMP_DIR or os.path.join(tempfile.gettempdir(), "gharart-deploy")
    os.makedirs(path, exist_ok=True)
    return path


def archive_kind(path) -> str:
    """``zip`` or ``tar.gz`` (``path``, or a seekable binary file); else ``not_an_archive``."""
    if hasattr(path, "read"):
        path.seek(0)
        magic = path.read(4)
        path.seek(0)
    else:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    if magic[:2] == b"\x1f\x8b":
        return "tar.gz"
    if zipfile.is_zipfile(path):
        return "zip"
    raise InvalidArtifact(dc.REASON_NOT_AN_ARCHIVE, "The artifact is neither a .zip nor a .tar.gz archive.")


# --- Readers that enforce limits on the actual bytes --------------------------------------

class _CountingReader(io.RawIOBase):
    def __init__(self, raw):
        self.raw = raw
        self.count = 0

    def readable(self):
        return True

    def read(self, n=-1):
        data = self.raw.read(n)
        self.count += len(data)
        return data

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


class _InflatedReader:
    """Counts the bytes a gzip stream inflates to; stops a bomb while it expands."""

    def __init__(self, inflated, compressed: _CountingReader, limits: Limits, overhead_bytes: int):
        self.inflated = inflated
        self.compressed = compressed
        self.limits = limits
        self.count = 0
        self.cap = limits.max_total_bytes + overhead_bytes

    def read(self, n=-1):
        data = self.inflated.read(n if n and n > 0 else CHUNK)
        self.count += len(data)
        if self.limits.ratio_exceeded(self.count, self.compressed.count):
            raise InvalidArtifact(
                dc.REASON_COMPRESSION_RATIO,
                f"The archive inflates more than {self.limits.max_ratio} times its compressed size.",
                max_ratio=self.limits.max_ratio,
                measured="actual",
            )
        if self.count > self.cap:
            raise InvalidArtifact(dc.REASON_ARCHIVE_TOO_LARGE, f"The archive unpacks to more than {self.limits.max_total_bytes} bytes.", max_bytes=self.limits.max_total_bytes, measured="actual")
        return data


class _MemberReader:
    """Reads one member, refusing more bytes than it declared or than the file limit."""

    def __init__(self, raw, *, path, declared, limits: Limits, compressed_size=None, keep_head=False):
        self.raw = raw
        self.path = path
        self.declared = declared
        self.limits = limits
        self.compressed_size = compressed_size
        self.count = 0
        self.head = bytearray() if keep_head else None

    def read(self, n=-1):
        data = self.raw.read(n if n and n > 0 else CHUNK)
        self.count += len(data)
        if self.count > self.limits.max_file_bytes:
            raise InvalidArtifact(dc.REASON_FILE_TOO_LARGE, f"{self.path} is larger than the limit of {self.limits.max_file_bytes} bytes.", path=self.path, max_bytes=self.limits.max_file_bytes, measured="actual")
        if self.count > self.declared:
            raise InvalidArtifact(
                dc.REASON_COMPRESSION_RATIO,
                f"{self.path} inflates to more bytes than its header declares.",
                path=self.path,
                declared_bytes=self.declared,
                measured="actual",
            )
        if self.compressed_size is not None and self.limits.ratio_exceeded(self.count, self.compressed_size):
            raise InvalidArtifact(dc.REASON_COMPRESSION_RATIO, f"{self.path} inflates more than {self.limits.max_ratio} times its compressed size.", path=self.path, max_ratio=self.limits.max_ratio, measured="actual")
        if self.head is not None and len(self.head) < HTML_HEAD_BYTES:
            self.head.extend(data[: HTML_HEAD_BYTES - len(self.head)])
        return data


# --- Ingest ------------------------------------------------------------------------------

class _Tally:
    def __init__(self, limits: Limits, archive_size: int):
        self.limits = limits
        self.archive_size = archive_size
        self.count = 0
        self.total = 0

    def add(self, path, declared, compressed=None):
        lim = self.limits
        self.count += 1
        if self.count > lim.max_files:
            raise InvalidArtifact(dc.REASON_TOO_MANY_FILES, f"The archive holds more than {lim.max_files} files.", max_files=lim.max_files)
        if declared > lim.max_file_bytes:
            raise InvalidArtifact(dc.REASON_FILE_TOO_LARGE, f"{path} is larger than the limit of {lim.max_file_bytes} bytes.", path=path, max_bytes=lim.max_file_bytes, measured="declared")
        self.total += declared
        if self.total > lim.max_total_bytes:
            raise InvalidArtifact(dc.REASON_ARCHIVE_TOO_LARGE, f"The archive unpacks to more than {lim.max_total_bytes} bytes.", max_bytes=lim.max_total_bytes, measured="declared")
        if compressed is not None and lim.ratio_exceeded(declared, compressed):
            raise InvalidArtifact(dc.REASON_COMPRESSION_RATIO, f"{path} declares more than {lim.max_ratio} times its compressed size.", path=path, max_ratio=lim.max_ratio, measured="declared")
        if lim.ratio_exceeded(self.total, self.archive_size):
            raise InvalidArtifact(dc.REASON_COMPRESSION_RATIO, f"The archive declares more than {lim.max_ratio} times its own size.", max_ratio=lim.max_ratio, measured="declared")


def _zip_is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def _zip_scan(zf: zipfile.ZipFile, limits: Limits, archive_size: int):
    """Check every member by what the archive declares, before unpacking anything."""
    tally = _Tally(limits, archive_size)
    members = []
    for info in zf.infolist():
        if _zip_is_symlink(info):
            raise InvalidArtifact(dc.REASON_SYMLINK, f"{info.filename} is a symbolic link; links are not allowed.", path=info.filename)
        path = safe_path(info.filename)
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise InvalidArtifact(dc.REASON_NOT_AN_ARCHIVE, f"{info.filename} is encrypted.", path=info.filename)
        if info.compress_type not in _ZIP_METHODS:
            raise InvalidArtifact(dc.REASON_NOT_AN_ARCHIVE, f"{info.filename} uses an unsupported compression method.", path=info.filename)
        tally.add(path, info.file_size, info.compress_size)
        members.append((path, info))
    if not members:
        raise InvalidArtifact(dc.REASON_EMPTY, "The archive holds no files.")
    return members


def validate_zip_declared(path, *, limits: Limits | None = None, archive_size: int):
    """The cheap checks of a zip (central directory only; ``path`` or a seekable file), before queueing a large one."""
    limits = limits or Limits.from_settings()
    try:
        with zipfile.ZipFile(path) as zf:
            _zip_scan(zf, limits, archive_size)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise InvalidArtifact(dc.REASON_NOT_AN_ARCHIVE, f"The zip archive is damaged: {exc}.")


class _Sink:
    """Stores member bytes as blobs and remembers what it created, to undo on failure.

    Small members are hashed in memory and stored in batches (``blob_put_many``: two
    filesystem syncs and one commit per batch); large ones are streamed to storage one by one.
    """

    SMALL_BYTES = 256 * 1024
    BATCH_FILES = 2048
    BATCH_BYTES = 16 * 1024 * 1024

    def __init__(self, target, limits):
        self.target = target
        self.limits = limits
        self.result = IngestResult()
        self.by_path = {}
        self.started_at = timezone.now()
        self.written = set()
        self.batch = []  # (path, sha256, data, confidential)
        self.batch_bytes = 0

    def store(self, path, raw, *, declared, compressed_size=None):
        if is_os_clutter(path):
            return
        keep_head = self.target == dc.TARGET_DOCS and is_html(path)
        reader = _MemberReader(raw, path=path, declared=declared, limits=self.limits, compressed_size=compressed_size, keep_head=keep_head)
        if declared <= self.SMALL_BYTES:
            chunks = []
            while chunk := reader.read(CHUNK):
                chunks.append(chunk)
            data = b"".join(chunks)
            confidential = keep_head and html_is_confidential(data[:HTML_HEAD_BYTES])
            self.batch.append((path, hashlib.sha256(data).hexdigest(), data, confidential))
            self.batch_bytes += len(data)
            if len(self.batch) >= self.BATCH_FILES or self.batch_bytes >= self.BATCH_BYTES:
                self.flush()
            return
        try:
            info = storage.blob_put_stream(reader, max_bytes=self.limits.max_file_bytes)
        except storage.BlobTooLarge:
            raise InvalidArtifact(dc.REASON_FILE_TOO_LARGE, f"{path} is larger than the limit of {self.limits.max_file_bytes} bytes.", path=path, max_bytes=self.limits.max_file_bytes, measured="actual")
        self.written.add(info.sha256)
        confidential = keep_head and html_is_confidential(bytes(reader.head))
        self._record(path, info.sha256, info.size, confidential)

    def _record(self, path, sha256, size, confidential):
        # A later member with the same path replaces an earlier one, as unpacking would.
        self.by_path[path] = IngestedFile(path=path, sha256=sha256, size=size, content_type=content_type_for(path), confidential=confidential)

    def flush(self):
        if not self.batch:
            return
        batch, self.batch, self.batch_bytes = self.batch, [], 0
        storage.blob_put_many([(sha, data) for _, sha, data, _ in batch])
        for path, sha, data, confidential in batch:
            self.written.add(sha)
            self._record(path, sha, len(data), confidential)

    def finish(self):
        self.flush()
        if not self.by_path:
            raise InvalidArtifact(dc.REASON_EMPTY, "The archive holds no files of a site (only an archiver's own clutter).")
        files = strip_single_top_folder(list(self.by_path.values()))
        self.result.files = files
        self.result.total_bytes = sum(f.size for f in files)
        return self.result

    def undo(self):
        fresh = set(Blob.objects.filter(sha256__in=self.written, created_at__gte=self.started_at).values_list("sha256", flat=True))
        for sha in fresh:
            try:
                storage.blob_delete_if_unreferenced(sha)
            except Exception:  # cleanup must not hide the original error
                logger.exception("Could not remove blob %s of a failed ingest", sha)


def _ingest_zip(path, sink: _Sink, limits: Limits, archive_size: int):
    try:
        with zipfile.ZipFile(path) as zf:
            members = _zip_scan(zf, limits, archive_size)
            for member_path, info in members:
                # Read past the declared size (up to the file limit) so a member whose header
                # lies about its size is caught by what it actually inflates to.
                # (The scan is done with each member's header: this one is not read again.)
                declared = info.file_size
                info.file_size = limits.max_file_bytes + 1
                with zf.open(info) as raw:
                    sink.store(member_path, raw, declared=declared, compressed_size=info.compress_size)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, ValueError, NotImplementedError) as exc:
        raise InvalidArtifact(dc.REASON_NOT_AN_ARCHIVE, f"The zip archive is damaged: {exc}.")


def _ingest_targz(path, sink: _Sink, limits: Limits, archive_size: int):
    tally = _Tally(limits, archive_size)
    with open(path, "rb") as fh:
        compressed = _CountingReader(fh)
        try:
            gz = gzip.GzipFile(fileobj=compressed, mode="rb")
            inflated = _InflatedReader(gz, compressed, limits, overhead_bytes=(limits.max_files + 2) * 1536)
            with tarfile.open(fileobj=inflated, mode="r|") as tf:
                for member in tf:
                    if member.issym() or member.islnk():
                        raise InvalidArtifact(dc.REASON_SYMLINK, f"{member.name} is a link; links are not allowed.", path=member.name)
                    member_path = safe_path(member.name)
                    if member.isdir():
                        continue
                    if not member.isfile():
                        raise InvalidArtifact(dc.REASON_UNSAFE_PATH, f"{member.name} is not a regular file.", path=member.name)
                    tally.add(member_path, member.size)
                    raw = tf.extractfile(member)
                    sink.store(member_path, raw, declared=member.size)
        except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error, OSError, ValueError) as exc:
            if isinstance(exc, OSError) and getattr(exc, "errno", None) is not None:
                raise
            raise InvalidArtifact(dc.REASON_NOT_AN_ARCHIVE, f"The .tar.gz archive is damaged: {exc}.")
    if tally.count == 0:
        raise InvalidArtifact(dc.REASON_EMPTY, "The archive holds no files.")


def ingest_archive(path: str, *, target: str, limits: Limits | None = None) -> IngestResult:
    """Validate and unpack the archive at ``path`` into blobs. All or nothing."""
    limits = limits or Limits.from_settings()
    archive_size = os.path.getsize(path)
    kind = archive_kind(path)
    sink = _Sink(target, limits)
    try:
        if kind == "zip":
            _ingest_zip(path, sink, limits, archive_size)
        else:
            _ingest_targz(path, sink, limits, archive_size)
        return sink.finish()
    except BaseException:
        sink.undo()
        raise
