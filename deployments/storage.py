"""Content-addressed blob storage, shared by deployments and files.

A blob is stored once, under its sha256, through Django's storage API (the ``blobs``
storage: local files by default, S3-compatible with django-storages). Writes are atomic:
on a filesystem bytes are streamed to a temporary file while being hashed, then moved
into place (``os.replace``). On object storage they go to S3 as they are hashed, with at
most one part (``S3_PART_SIZE``) in memory and nothing on local disk: a small blob is one
PUT under its final name once its hash is known, a large one a multipart upload (under
its final name when the hash is announced, verified before the upload is completed;
under ``tmp/`` and copied server-side otherwise). A ``Blob`` row is written only after
the bytes are in place, so a crash never leaves a half blob that counts as present.

Reads from object storage stream with constant memory (``S3BlobReader``: ranged GETs,
never django-storages' ``S3File``, which downloads the whole object first). Object
storage that is down, refuses or times out raises ``StorageUnavailable`` (503
``service_unavailable`` with ``Retry-After``).
"""

import ctypes
import ctypes.util
import errno
import hashlib
import io
import logging
import os
import re
import secrets
import tempfile
import threading
import uuid
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from gharart import constants as c
from gharart.degraded import StorageUnavailable  # noqa: F401 - raised here, caught by callers as storage.StorageUnavailable
from gharart.errors import ApplicationError
from gharart.object_storage import is_unreachable as _is_unavailable

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
# Object storage: one multipart part (the only bytes of an upload held in memory).
S3_PART_SIZE = 8 * 1024 * 1024
# A ranged read asks for this much first and doubles per request up to the maximum, so a
# small file or a short Range costs one small GET and a long stream a handful.
S3_FIRST_WINDOW = 256 * 1024
S3_MAX_WINDOW = 64 * 1024 * 1024
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
    code = c.FILE_TOO_LARGE


def insufficient_storage():
    return ApplicationError(
        "insufficient_storage",
        "The server is out of storage space; nothing was kept. Try again later.",
        status=507,
        headers={"Retry-After": "60"},
    )


def _not_found(exc) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    return error.get("Code") in ("NoSuchKey", "404", "NotFound") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404


class _guard:
    """``with _guard(what):`` turns object-storage outages into ``StorageUnavailable``."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and not isinstance(exc, StorageUnavailable) and _is_unavailable(exc):
            logger.warning("object storage unavailable, %s: %s: %s", self.what, type(exc).__name__, exc)
            raise StorageUnavailable() from exc
        return False


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int


def blob_storage():
    return storages["blobs"]


def blob_name(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: str) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def is_object_storage(storage=None) -> bool:
    return not isinstance(storage or blob_storage(), FileSystemStorage)


_CLIENTS = {}
_CLIENTS_LOCK = threading.Lock()


def _s3(storage=None):
    """``(client, bucket, key_of(name))`` of the S3 blob storage (django-storages' own client)."""
    from storages.utils import clean_name

    storage = storage or blob_storage()
    # One client per endpoint and key, shared by all threads (boto3 clients are
    # thread-safe); django-storages' own connection is per thread, and building one
    # costs ~0.5 s of CPU.
    ident = (storage.endpoint_url, storage.access_key, storage.region_name, storage.bucket_name)
    client = _CLIENTS.get(ident)
    if client is None:
        with _CLIENTS_LOCK:
            client = _CLIENTS.get(ident)
            if client is None:
                client = _CLIENTS[ident] = storage.connection.meta.client
    return client, storage.bucket_name, lambda name: storage._normalize_name(clean_name(name))


def _s3_exists(client, bucket, key) -> bool:
    try:
        client.head_object(Bucket=bucket, Key=key)
        return True
    except Exception as exc:
        if _not_found(exc):
            return False
        raise


def blob_exists(sha256: str) -> bool:
    """True when the bytes are in storage (not just recorded)."""
    storage = blob_storage()
    if not is_object_storage(storage):
        return storage.exists(blob_name(sha256))
    client, bucket, key = _s3(storage)
    with _guard("exists"):
        return _s3_exists(client, bucket, key(blob_name(sha256)))


def blobs_missing(shas, *, workers: int = 16) -> set:
    """The sha256s of ``shas`` whose bytes are not in storage (object storage: parallel HEADs)."""
    shas = list(dict.fromkeys(shas))
    if not is_object_storage() or len(shas) < 2:
        return {sha for sha in shas if not blob_exists(sha)}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(workers, len(shas))) as pool:
        present = list(pool.map(blob_exists, shas))
    return {sha for sha, ok in zip(shas, present, strict=True) if not ok}


def blob_path(sha256: str) -> str | None:
    """The local filesystem path of a blob, or None for remote storage."""
    storage = blob_storage()
    if isinstance(storage, FileSystemStorage):
        return storage.path(blob_name(sha256))
    return None


def blob_open(sha256: str):
    """A binary, seekable file of the blob's bytes (FileNotFoundError when they are missing)."""
    storage = blob_storage()
    if not is_object_storage(storage):
        return storage.open(blob_name(sha256), "rb")
    client, bucket, key = _s3(storage)
    return S3BlobReader(client, bucket, key(blob_name(sha256)))


def blob_size(sha256: str) -> int:
    storage = blob_storage()
    if not is_object_storage(storage):
        return storage.size(blob_name(sha256))
    client, bucket, key = _s3(storage)
    with _guard("size"):
        try:
            return client.head_object(Bucket=bucket, Key=key(blob_name(sha256)))["ContentLength"]
        except Exception as exc:
            if _not_found(exc):
                raise FileNotFoundError(sha256) from exc
            raise


def blob_presigned_url(sha256: str, *, filename: str, content_type: str, disposition: str, expires: int | None = None) -> str | None:
    """A short-lived GET URL of the blob that answers with these headers (None on local files)."""
    storage = blob_storage()
    if not is_object_storage(storage):
        return None
    client, bucket, key = _s3(storage)
    params = {"Bucket": bucket, "Key": key(blob_name(sha256)), "ResponseContentType": content_type, "ResponseContentDisposition": disposition}
    return client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires or storage.querystring_expire)


def blob_accel_redirect(sha256: str, *, content_type: str, disposition: str | None = None) -> str:
    """The ``X-Accel-Redirect`` target that makes nginx send the blob (it handles Range).

    Local files: ``GHARART_ACCEL_REDIRECT_PREFIX`` + the blob's name, an internal
    location aliased to the blob directory. Object storage: ``GHARART_ACCEL_S3_PREFIX``
    + the path and query of a short-lived presigned URL, an internal location that
    proxies to the S3 endpoint (docs/deploy: the nginx hand-off on S3). Never a local path
    that does not exist.
    """
    from urllib.parse import quote, urlsplit

    storage = blob_storage()
    if not is_object_storage(storage):
        return quote(settings.GHARART_ACCEL_REDIRECT_PREFIX + blob_name(sha256))
    client, bucket, key = _s3(storage)
    params = {"Bucket": bucket, "Key": key(blob_name(sha256)), "ResponseContentType": content_type}
    if disposition:
        params["ResponseContentDisposition"] = disposition
    url = urlsplit(client.generate_presigned_url("get_object", Params=params, ExpiresIn=storage.querystring_expire))
    return settings.GHARART_ACCEL_S3_PREFIX.rstrip("/") + url.path + "?" + url.query


_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


class S3BlobReader(io.RawIOBase):
    """An object read with ranged GETs: constant memory, ``seek`` costs nothing until read.

    Opening fetches the first window (one request for a small file, and the object's
    size and existence: FileNotFoundError when it is missing). A read after a seek
    elsewhere starts a new ranged GET there; windows double up to ``S3_MAX_WINDOW``.
    """

    def __init__(self, client, bucket, key):
        super().__init__()
        self.client, self.bucket, self.key = client, bucket, key
        self.name = key
        self.size = None
        self._pos = 0
        self._body = None
        self._body_pos = 0
        self._body_end = 0
        self._window = S3_FIRST_WINDOW
        self._fetch(0)

    def _close_body(self):
        if self._body is not None:
            try:
                self._body.close()
            except Exception:
                pass
            self._body = None

    def _fetch(self, start):
        self._close_body()
        end = start + self._window - 1
        with _guard("read"):
            try:
                resp = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{end}")
            except Exception as exc:
                if _not_found(exc):
                    raise FileNotFoundError(self.key) from exc
                code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
                if code != "InvalidRange":
                    raise
                # An empty object has no byte 0: read it whole (it is empty).
                resp = self.client.get_object(Bucket=self.bucket, Key=self.key)
        match = _CONTENT_RANGE.match(resp.get("ContentRange") or "")
        length = resp["ContentLength"]
        self.size = int(match.group(3)) if match else length
        self._body = resp["Body"]
        self._body_pos = int(match.group(1)) if match else 0
        self._body_end = self._body_pos + length
        self._window = min(self._window * 2, S3_MAX_WINDOW)

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        if pos != self._pos:
            self._window = S3_FIRST_WINDOW  # a jump: start small again
        self._pos = pos
        return pos

    def read(self, size=-1):
        if self.closed:
            raise ValueError("read of closed file")
        if size is None or size < 0:
            out = bytearray()
            while chunk := self.read(CHUNK):
                out += chunk
            return bytes(out)
        out = bytearray()
        while len(out) < size and self._pos < self.size:
            # Like a buffered file: ``size`` bytes unless the end comes first.
            if self._body is None or self._body_pos != self._pos or self._body_pos >= self._body_end:
                self._fetch(self._pos)
            with _guard("read"):
                data = self._body.read(min(size - len(out), self._body_end - self._body_pos))
            if not data:
                raise OSError(f"object storage ended {self.key} early at byte {self._pos} of {self.size}")
            self._pos += len(data)
            self._body_pos += len(data)
            out += data
        return bytes(out)

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        self._close_body()
        super().close()


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
    with BlobWriter(expected_sha256=expected_sha256, max_bytes=max_bytes) as writer:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            writer.write(chunk)
        writer.finish()
        return writer.commit()


# The first bytes of every written blob are kept, to name its type without reading it back.
HEAD_BYTES = 8192


class AbortOnExit:
    """A context manager for a write in progress: leaving the block calls ``abort()``, which
    drops whatever was not committed (a no-op after a commit)."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.abort()
        return False


class BlobWriter(AbortOnExit):
    """A blob written as its bytes arrive, hashed on the way; nothing counts until ``commit``.

    ``write`` as the bytes come (an upload handler's chunks, a stream), ``finish`` once
    they are all there (the hash is known, checked against ``expected_sha256``), then
    ``commit`` puts them under their hash and records the ``Blob`` row, or ``abort``
    leaves nothing behind (idempotent, a no-op once committed; leaving the ``with``
    block without a commit aborts).

    Local files: one temporary file in the blob directory (the only copy), fsynced by
    ``finish`` and renamed into place by ``commit``. Object storage: at most one part
    (``S3_PART_SIZE``) in memory and nothing on local disk; past one part a multipart
    upload (under ``tmp/``, or under the final name when the hash is announced), which
    ``commit`` completes and copies into place server-side; a blob smaller than one part
    is a single PUT under its final name at ``commit``. ``abort`` aborts the multipart
    upload, so no part is left in the bucket.
    """

    def __init__(self, *, expected_sha256: str | None = None, max_bytes: int | None = None):
        self.expected_sha256 = expected_sha256
        self.max_bytes = max_bytes
        self.size = 0
        self.sha256 = None
        self.head = b""
        self.committed = False
        self._digest = hashlib.sha256()
        self._done = False
        self._object = is_object_storage()
        # Local files
        self._tmp_path = None
        self._tmp = None
        # Object storage: the part being filled (a BytesIO handed to botocore as it is,
        # so a part is in memory once, not once more as a joined copy).
        self._part = io.BytesIO()
        self._buffered = 0
        self._parts = []
        self._upload_key = None
        self._upload_id = None
        if not self._object:
            fd, self._tmp_path = tempfile.mkstemp(dir=_tmp_dir(), prefix="upload-")
            self._tmp = os.fdopen(fd, "wb")
            os.fchmod(fd, _file_mode())

    def write(self, data):
        if self._done:
            raise ValueError("write to a finished blob")
        if not data:
            return
        try:
            self.size += len(data)
            if self.max_bytes is not None and self.size > self.max_bytes:
                raise BlobTooLarge(message=f"The file is larger than the limit of {self.max_bytes} bytes.", details={"max_bytes": self.max_bytes})
            self._digest.update(data)
            if len(self.head) < HEAD_BYTES:
                self.head += bytes(data[: HEAD_BYTES - len(self.head)])
            if not self._object:
                self._tmp.write(data)
                return
            self._part.write(data)
            self._buffered += len(data)
            if self._buffered >= S3_PART_SIZE:
                self._send_part()
        except BaseException as exc:
            self.abort()
            _raise_disk_full(exc)
            raise

    def _take_part(self):
        body, self._part = self._part, io.BytesIO()
        body.seek(0)
        self._buffered = 0
        return body

    def _send_part(self):
        client, bucket, key_of = _s3()
        with _guard("upload"):
            if self._upload_id is None:
                # An announced hash is the final name (completed only once verified).
                name = blob_name(self.expected_sha256) if self.expected_sha256 else f"tmp/{uuid.uuid4().hex}"
                self._upload_key = key_of(name)
                self._upload_id = client.create_multipart_upload(Bucket=bucket, Key=self._upload_key)["UploadId"]
            body = self._take_part()
            number = len(self._parts) + 1
            etag = client.upload_part(Bucket=bucket, Key=self._upload_key, UploadId=self._upload_id, PartNumber=number, Body=body)["ETag"]
            del body
            self._parts.append({"PartNumber": number, "ETag": etag})

    def finish(self) -> BlobInfo:
        """All bytes are in: flush them (fsync, or the last part) and check the hash."""
        if self._done:
            return BlobInfo(sha256=self.sha256, size=self.size)
        try:
            self.sha256 = self._digest.hexdigest()
            if self.expected_sha256 is not None and self.sha256 != self.expected_sha256:
                raise BlobHashMismatch(
                    message="The uploaded bytes do not match the sha256 in the URL.",
                    details={"expected": self.expected_sha256, "actual": self.sha256},
                )
            if not self._object:
                self._tmp.flush()
                os.fsync(self._tmp.fileno())
                self._tmp.close()
            elif self._upload_id is not None and self._buffered:
                self._send_part()
            self._done = True
        except BaseException as exc:
            self.abort()
            _raise_disk_full(exc)
            raise
        return BlobInfo(sha256=self.sha256, size=self.size)

    def commit(self) -> BlobInfo:
        """Put the bytes under their hash (once) and record the row; returns what was stored."""
        if self.committed:
            return BlobInfo(sha256=self.sha256, size=self.size)
        self.finish()
        try:
            _blob_touch([self.sha256])
            if not self._object:
                _move_into_place(self._tmp_path, self.sha256)
                self._tmp_path = None
            else:
                self._s3_commit()
        except BaseException:
            self.abort()
            raise
        self.committed = True
        _blob_row_stored(self.sha256, self.size)
        return BlobInfo(sha256=self.sha256, size=self.size)

    def _s3_commit(self):
        client, bucket, key_of = _s3()
        final_key = key_of(blob_name(self.sha256))
        with _guard("upload"):
            if self._upload_id is None:
                body = self._take_part()
                if not _s3_exists(client, bucket, final_key):
                    client.put_object(Bucket=bucket, Key=final_key, Body=body)
                return
            if self._upload_key != final_key and _s3_exists(client, bucket, final_key):
                self.abort()  # the same bytes are already stored
                return
            client.complete_multipart_upload(Bucket=bucket, Key=self._upload_key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts})
            self._upload_id = None
            if self._upload_key != final_key:
                try:
                    _s3_copy(client, bucket, self._upload_key, final_key, self.size)
                finally:
                    client.delete_object(Bucket=bucket, Key=self._upload_key)

    def abort(self):
        """Leave nothing behind (no temp file, no multipart upload); a no-op once committed."""
        self._done = True
        self._part = io.BytesIO()
        self._buffered = 0
        if self._tmp is not None and not self._tmp.closed:
            try:
                self._tmp.close()
            except OSError:
                pass
        if self._tmp_path is not None:
            try:
                os.unlink(self._tmp_path)
            except FileNotFoundError:
                pass
            self._tmp_path = None
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            try:
                client, bucket, _ = _s3()
                client.abort_multipart_upload(Bucket=bucket, Key=self._upload_key, UploadId=upload_id)
            except Exception as exc:  # the bucket's lifecycle rule removes it later
                logger.warning("could not abort multipart upload %s: %s", self._upload_key, exc)


def _raise_disk_full(exc):
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        raise insufficient_storage()


def _blob_touch(shas):
    """Mark existing rows as just stored again, BEFORE their bytes are checked or written.

    The sweep (``blob_orphans_remove``) leaves blobs stored within its grace period, and
    re-checks this under the row lock: an upload of bytes that are about to be swept
    either waits for the sweep (and then writes the bytes again) or wins (and is kept).
    """
    Blob = apps.get_model("deployments", "Blob")
    Blob.objects.filter(sha256__in=list(shas)).update(last_put_at=timezone.now())


def _blob_row_stored(sha256, size):
    Blob = apps.get_model("deployments", "Blob")
    try:
        with transaction.atomic():
            _, created = Blob.objects.get_or_create(sha256=sha256, defaults={"size": size})
        if not created:
            _blob_touch([sha256])
    except IntegrityError:
        pass  # stored concurrently by another request: same bytes


S3_COPY_PART = 32 * 1024 * 1024


def _s3_copy(client, bucket, source, target, size):
    """Server-side copy in parts of ``S3_COPY_PART``: each call stays within the read timeout
    (one CopyObject of a large object can take longer than any sane timeout)."""
    if size <= S3_COPY_PART:
        client.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source})
        return
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=target)["UploadId"]
    try:
        parts = []
        for number, start in enumerate(range(0, size, S3_COPY_PART), start=1):
            end = min(start + S3_COPY_PART, size) - 1
            result = client.upload_part_copy(
                Bucket=bucket, Key=target, UploadId=upload_id, PartNumber=number,
                CopySource={"Bucket": bucket, "Key": source}, CopySourceRange=f"bytes={start}-{end}",
            )
            parts.append({"PartNumber": number, "ETag": result["CopyPartResult"]["ETag"]})
        client.complete_multipart_upload(Bucket=bucket, Key=target, UploadId=upload_id, MultipartUpload={"Parts": parts})
        upload_id = None
    finally:
        if upload_id is not None:
            try:
                client.abort_multipart_upload(Bucket=bucket, Key=target, UploadId=upload_id)
            except Exception as exc:
                logger.warning("could not abort multipart copy to %s: %s", target, exc)


def blob_put_bytes(data: bytes, **kwargs) -> BlobInfo:
    import io

    return blob_put_stream(io.BytesIO(data), **kwargs)


def _move_into_place(tmp_path, sha256):
    storage = blob_storage()
    name = blob_name(sha256)
    if isinstance(storage, FileSystemStorage):
        # ``name`` is made of a checked hex digest: no path of its own can escape the root.
        final = os.path.join(storage.location, name)
        try:
            try:
                # Atomic on one filesystem; a blob already there has these same bytes.
                os.replace(tmp_path, final)
            except FileNotFoundError:
                if not os.path.exists(tmp_path):
                    raise
                os.makedirs(os.path.dirname(final), exist_ok=True)  # the first blob of its folder
                os.replace(tmp_path, final)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise insufficient_storage()
            raise
        return
    client, bucket, key_of = _s3(storage)
    with _guard("upload"):
        if not _s3_exists(client, bucket, key_of(name)):
            with open(tmp_path, "rb") as fh:
                client.put_object(Bucket=bucket, Key=key_of(name), Body=fh)
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


def blob_delete_if_unreferenced(sha256: str, *, stored_before=None) -> bool:
    """Remove a blob's bytes and row when nothing refers to it any more.

    ``stored_before`` (the sweep): keep a blob stored or stored again since then, checked
    under the row lock, so an upload of the same bytes on another node is never undone.
    """
    Blob = apps.get_model("deployments", "Blob")
    with transaction.atomic():
        row = Blob.objects.select_for_update().filter(sha256=sha256).first()
        if stored_before is not None and (row is None or row.last_put_at >= stored_before):
            return False
        if blob_is_referenced(sha256):
            return False
        if row is not None:
            row.delete()
        storage = blob_storage()
        if not is_object_storage(storage):
            if storage.exists(blob_name(sha256)):
                storage.delete(blob_name(sha256))
        else:
            client, bucket, key_of = _s3(storage)
            with _guard("delete"):
                client.delete_object(Bucket=bucket, Key=key_of(blob_name(sha256)))
    return True


def _syncfs_function():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return libc.syncfs
    except (OSError, AttributeError):
        return None


_syncfs = _syncfs_function()


def _sync_filesystem(path):
    """Make every byte and rename written so far on the filesystem holding ``path`` durable:
    one ``syncfs(2)`` (``os.sync`` where it is missing) for a whole batch of files."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _syncfs is None or _syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _files_put_durably(items):
    """Put many ``(sha256, bytes)`` blobs into the blob directory with two filesystem syncs
    in all, where an fsync per file would cost one each: every file is written under a
    temporary name, the filesystem is synced (so no blob can ever take its final name
    with bytes that did not reach the disk), the files are renamed into place, and the
    filesystem is synced again (so the renames are durable before any row says the blobs
    exist). On any failure the temporary files are removed."""
    tmp_dir = _tmp_dir()
    mode = _file_mode()
    prefix = os.path.join(tmp_dir, f"upload-{secrets.token_hex(8)}-")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    staged = []
    try:
        try:
            for i, (sha, data) in enumerate(items):
                tmp_path = f"{prefix}{i}"
                fd = os.open(tmp_path, flags, 0o600)
                staged.append((sha, tmp_path))
                try:
                    os.fchmod(fd, mode)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                finally:
                    os.close(fd)
            _sync_filesystem(tmp_dir)
        except OSError as exc:
            _raise_disk_full(exc)
            raise
        while staged:
            sha, tmp_path = staged[-1]
            _move_into_place(tmp_path, sha)
            staged.pop()
        _sync_filesystem(tmp_dir)
    finally:
        for _, tmp_path in staged:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)


def blob_put_many(items, *, workers: int = 16) -> list[BlobInfo]:
    """Store many small blobs given as ``(sha256, bytes)`` (each hash is verified).

    For archive ingest: blobs already present (row and bytes) are skipped, the new ones
    are written (local files: ``_files_put_durably``; object storage: parallel PUTs) and
    their rows are inserted in one transaction afterwards, so the "row only once the bytes
    are in place" rule holds while a 10,000-file archive costs a handful of commits and
    filesystem syncs instead of 10,000.
    """
    from concurrent.futures import ThreadPoolExecutor

    wanted = {}
    for sha256, data in items:
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise BlobHashMismatch(message="The bytes do not match their sha256.", details={"expected": sha256, "actual": actual})
        wanted[sha256] = data
    present = _blobs_present(wanted)
    _blob_touch(present)
    # A row whose bytes went missing is healed by writing the bytes again.
    missing = blobs_missing(present, workers=workers) if present else set()
    todo = [(sha, data) for sha, data in wanted.items() if sha not in present or sha in missing]

    def put_object(item):
        sha, data = item
        client, bucket, key_of = _s3()
        with _guard("upload"):
            client.put_object(Bucket=bucket, Key=key_of(blob_name(sha)), Body=data)

    if todo:
        if is_object_storage():
            with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
                list(pool.map(put_object, todo))
        else:
            _files_put_durably(todo)
        _blob_rows_insert([(sha, len(data)) for sha, data in todo])
    return [BlobInfo(sha256=sha, size=len(data)) for sha, data in wanted.items()]


# On PostgreSQL a batch's digests travel as one comma-joined text (hex digests hold no
# comma): one parameter for the database to split, instead of thousands to adapt one by one.

def _blobs_present(shas) -> set:
    """Which of ``shas`` have a Blob row."""
    Blob = apps.get_model("deployments", "Blob")
    shas = list(shas)
    if not shas:
        return set()
    if connection.vendor != "postgresql":
        return set(Blob.objects.filter(sha256__in=shas).values_list("sha256", flat=True))
    table = connection.ops.quote_name(Blob._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT sha256 FROM {table} WHERE sha256 = ANY(string_to_array(%s, ','))", [",".join(shas)])
        return {row[0] for row in cursor.fetchall()}


def _blob_rows_insert(rows):
    """Insert Blob rows for ``(sha256, size)`` whose bytes are in place (a row already there stays)."""
    Blob = apps.get_model("deployments", "Blob")
    now = timezone.now()
    if connection.vendor != "postgresql":
        with transaction.atomic():
            Blob.objects.bulk_create([Blob(sha256=sha, size=size, created_at=now, last_put_at=now) for sha, size in rows], ignore_conflicts=True)
        return
    table = connection.ops.quote_name(Blob._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (sha256, size, created_at, last_put_at) "
            "SELECT sha, size::bigint, %s, %s FROM unnest(string_to_array(%s, ','), string_to_array(%s, ',')) AS batch(sha, size) "
            "ON CONFLICT (sha256) DO NOTHING",
            [now, now, ",".join(sha for sha, _ in rows), ",".join(str(size) for _, size in rows)],
        )
