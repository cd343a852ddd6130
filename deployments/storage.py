"""Content-addressed blob storage, shared by deployments and files.

A blob is stored once, under its sha256, through Django's storage API (the ``blobs``
storage: local files by default, S3-compatible with django-storages). Writes are atomic:
bytes are streamed to a temporary file while being hashed, then moved into place
(``os.replace`` on a filesystem, one PUT on object storage). A ``Blob`` row is written
only after the bytes are in place, so a crash never leaves a half blob that counts as
present.
"""

import errno
import hashlib
import os
import tempfile
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, storages
from django.db import IntegrityError, transaction

from gharart.errors import ApplicationError

CHUNK = 1024 * 1024
# Models whose rows keep a blob alive: (app_label.Model, field holding the sha256).
BLOB_REFERENCES = [
    ("deployments.DeploymentFile", "sha256"),
    ("files.File", "sha256"),
    ("deployments.CompressedBlob", "sha256"),
    ("siteintel.ReplayScreenshot", "sha256"),
]


class BlobHashMismatch(ApplicationError):
    status = 422
    code = "blob_hash_mismatch"


class BlobTooLarge(ApplicationError):
    status = 413
    code = "file_too_large"


def insufficient_storage():
    return ApplicationError(
        "insufficient_storage",
        "The server is out of storage space; nothing was kept. Try again later.",
        status=507,
        headers={"Retry-After": "60"},
    )


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int


def blob_storage():
    return storages["blobs"]


def blob_name(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def is_sha256(value: str) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(ch in "0123456789abcdef" for ch in value)


def blob_exists(sha256: str) -> bool:
    """True when the bytes are in storage (not just recorded)."""
    return blob_storage().exists(blob_name(sha256))


def blob_path(sha256: str) -> str | None:
    """The local filesystem path of a blob, or None for remote storage."""
    storage = blob_storage()
    if isinstance(storage, FileSystemStorage):
        return storage.path(blob_name(sha256))
    return None


def blob_open(sha256: str):
    return blob_storage().open(blob_name(sha256), "rb")


def blob_size(sha256: str) -> int:
    return blob_storage().size(blob_name(sha256))


def _file_mode():
    # mkstemp creates 0600 files; blobs must be readable by the web server that sends them
    # (nginx via X-Accel-Redirect runs as another user). Django's upload setting decides.
    return getattr(settings, "FILE_UPLOAD_PERMISSIONS", None) or 0o644


def _tmp_dir():
    storage = blob_storage()
    if isinstance(storage, FileSystemStorage):
        path = os.path.join(storage.location, "tmp")
    else:
        path = os.path.join(tempfile.gettempdir(), "gharart-blobs")
    os.makedirs(path, exist_ok=True)
    return path


def blob_put_stream(stream, *, expected_sha256: str | None = None, max_bytes: int | None = None) -> BlobInfo:
    """Store the bytes read from ``stream`` (chunked, constant memory) and return their hash.

    Raises ``BlobHashMismatch`` (nothing kept) when ``expected_sha256`` differs, and
    ``BlobTooLarge`` past ``max_bytes``; a full disk is 507 ``insufficient_storage``.
    """
    Blob = apps.get_model("deployments", "Blob")
    digest = hashlib.sha256()
    size = 0
    fd, tmp_path = tempfile.mkstemp(dir=_tmp_dir(), prefix="upload-")
    try:
        try:
            with os.fdopen(fd, "wb") as tmp:
                os.fchmod(tmp.fileno(), _file_mode())
                while True:
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise BlobTooLarge(message=f"The file is larger than the limit of {max_bytes} bytes.", details={"max_bytes": max_bytes})
                    digest.update(chunk)
                    tmp.write(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise insufficient_storage()
            raise
        sha256 = digest.hexdigest()
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise BlobHashMismatch(
                message="The uploaded bytes do not match the sha256 in the URL.",
                details={"expected": expected_sha256, "actual": sha256},
            )
        _move_into_place(tmp_path, sha256)
        tmp_path = None
    finally:
        if tmp_path is not None and os.path.exists(tmp_path):
            os.unlink(tmp_path)
    try:
        with transaction.atomic():
            Blob.objects.get_or_create(sha256=sha256, defaults={"size": size})
    except IntegrityError:
        pass  # stored concurrently by another request: same bytes
    return BlobInfo(sha256=sha256, size=size)


def blob_put_bytes(data: bytes, **kwargs) -> BlobInfo:
    import io

    return blob_put_stream(io.BytesIO(data), **kwargs)


def _move_into_place(tmp_path, sha256):
    storage = blob_storage()
    name = blob_name(sha256)
    if isinstance(storage, FileSystemStorage):
        final = storage.path(name)
        if os.path.exists(final):
            os.unlink(tmp_path)
            return
        os.makedirs(os.path.dirname(final), exist_ok=True)
        try:
            os.replace(tmp_path, final)  # atomic on one filesystem
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise insufficient_storage()
            raise
        return
    if not storage.exists(name):
        with open(tmp_path, "rb") as fh:
            storage.save(name, File(fh, name=name))
    os.unlink(tmp_path)


def blob_is_referenced(sha256: str) -> bool:
    for model_label, field in BLOB_REFERENCES:
        try:
            model = apps.get_model(model_label)
        except LookupError:
            continue
        manager = getattr(model, "all_objects", model._default_manager)
        if manager.filter(**{field: sha256}).exists():
            return True
    return False


def blob_delete_if_unreferenced(sha256: str) -> bool:
    """Remove a blob's bytes and row when nothing refers to it any more."""
    Blob = apps.get_model("deployments", "Blob")
    with transaction.atomic():
        row = Blob.objects.select_for_update().filter(sha256=sha256).first()
        if blob_is_referenced(sha256):
            return False
        if row is not None:
            row.delete()
        storage = blob_storage()
        if storage.exists(blob_name(sha256)):
            storage.delete(blob_name(sha256))
    return True


def blob_put_many(items, *, workers: int = 16) -> list[BlobInfo]:
    """Store many small blobs given as ``(sha256, bytes)`` (each hash is verified).

    For archive ingest: blobs already present (row and bytes) are skipped, the new ones
    are written and fsynced in parallel threads, moved into place, and their rows are
    inserted in one transaction afterwards, so the "row only once the bytes are in place"
    rule holds while a 10,000-file archive costs a handful of commits instead of 10,000.
    """
    from concurrent.futures import ThreadPoolExecutor

    Blob = apps.get_model("deployments", "Blob")
    wanted = {}
    for sha256, data in items:
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise BlobHashMismatch(message="The bytes do not match their sha256.", details={"expected": sha256, "actual": actual})
        wanted[sha256] = data
    present = set(Blob.objects.filter(sha256__in=list(wanted)).values_list("sha256", flat=True))
    # A row whose bytes went missing is healed by writing the bytes again.
    todo = [(sha, data) for sha, data in wanted.items() if sha not in present or not blob_exists(sha)]

    def write(item):
        sha, data = item
        fd, tmp_path = tempfile.mkstemp(dir=_tmp_dir(), prefix="upload-")
        try:
            try:
                with os.fdopen(fd, "wb") as tmp:
                    os.fchmod(tmp.fileno(), _file_mode())
                    tmp.write(data)
                    tmp.flush()
                    os.fsync(tmp.fileno())
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise insufficient_storage()
                raise
            _move_into_place(tmp_path, sha)
            tmp_path = None
        finally:
            if tmp_path is not None and os.path.exists(tmp_path):
                os.unlink(tmp_path)

    if todo:
        with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            list(pool.map(write, todo))
        with transaction.atomic():
            Blob.objects.bulk_create([Blob(sha256=sha, size=len(data)) for sha, data in todo], ignore_conflicts=True)
    return [BlobInfo(sha256=sha, size=len(data)) for sha, data in wanted.items()]
