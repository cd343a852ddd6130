"""Receiving an uploaded file: a streaming upload handler, a safe name, a detected type."""

import mimetypes
import os
import re
import unicodedata

import filetype
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from files import constants as fc
from gharart import errors

# Multipart framing and the other form fields ride on top of the file bytes.
MULTIPART_OVERHEAD = 1024 * 1024
SNIFF_BYTES = 8192
# Text types we name from the extension once the bytes are known to be text.
TEXT_EXTENSIONS = {
    ".txt": "text/plain", ".csv": "text/csv", ".md": "text/markdown", ".json": "application/json",
    ".html": "text/html", ".htm": "text/html", ".css": "text/css", ".js": "text/javascript",
    ".xml": "application/xml", ".svg": "image/svg+xml", ".ics": "text/calendar", ".vtt": "text/vtt",
    ".yaml": "application/yaml", ".yml": "application/yaml", ".tsv": "text/tab-separated-values",
}


def too_large(max_bytes):
    return errors.too_large(fc.FILE_TOO_LARGE, f"The file is larger than the limit of {max_bytes} bytes.", max_bytes=max_bytes)


class StreamedUpload(UploadedFile):
    """A file that arrived through ``StreamingUploadHandler``: its bytes are already in the
    receiver (hashed, in blob storage or a bounded spool), not in a local file.

    ``receiver`` is what took the bytes (``sha256``, ``size``, ``head``, ``commit()``,
    ``abort()``); the service that keeps the file commits it. Closing the upload (Django
    closes every uploaded file at the end of the request) aborts whatever was not
    committed, so a refused upload leaves nothing behind.
    """

    def __init__(self, receiver, *, name, content_type, size, charset=None, content_type_extra=None):
        super().__init__(file=None, name=name, content_type=content_type, size=size, charset=charset, content_type_extra=content_type_extra)
        self.receiver = receiver

    @property
    def sha256(self):
        return self.receiver.sha256

    def chunks(self, chunk_size=None):
        raise ValueError("A streamed upload is not read back; use its receiver.")

    def read(self, *args):
        raise ValueError("A streamed upload is not read back; use its receiver.")

    def close(self):
        self.receiver.abort()


class StreamingUploadHandler(FileUploadHandler):
    """Hands each chunk of the file field ``field`` to a receiver as it arrives.

    Nothing is spooled whole: ``receiver()`` makes the sink of the file (a
    ``storage.BlobWriter`` streams it into blob storage, hashing on the way), which
    holds at most a bounded buffer. The declared Content-Length is checked before a
    byte is read and the running size while streaming; past ``max_bytes`` (or on any
    failure) the receiver is aborted at once. Other file fields are dropped. Views call
    ``abort()`` when the request ends: no temp file or multipart upload outlives it.
    """

    chunk_size = 256 * 1024

    def __init__(self, request=None, *, field, receiver, max_bytes=None, refuse=None):
        super().__init__(request)
        self.field = field
        self.make_receiver = receiver
        self.max_bytes = max_bytes
        self.refuse = refuse or too_large
        self.received = 0
        self.receiver = None
        self.receivers = []

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if self.max_bytes is not None and content_length and content_length > self.max_bytes + MULTIPART_OVERHEAD:
            raise self.refuse(self.max_bytes)
        return None

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        self.receiver = None
        if field_name == self.field:
            self.receiver = self.make_receiver()
            self.receivers.append(self.receiver)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.max_bytes is not None and self.received > self.max_bytes:
            self.abort()
            raise self.refuse(self.max_bytes)
        if self.receiver is not None:
            try:
                self.receiver.write(raw_data)
            except BaseException:
                self.abort()
                raise
        return None

    def file_complete(self, file_size):
        if self.receiver is None:
            return None
        try:
            self.receiver.finish()
        except BaseException:
            self.abort()
            raise
        return StreamedUpload(
            self.receiver, name=self.file_name, content_type=self.content_type, size=file_size,
            charset=self.charset, content_type_extra=self.content_type_extra,
        )

    def upload_interrupted(self):
        self.abort()

    def abort(self):
        """Drop every file this request streamed that nothing committed (idempotent)."""
        for receiver in self.receivers:
            receiver.abort()


def content_length_too_large(request, max_bytes) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > max_bytes + MULTIPART_OVERHEAD


_RESERVED = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def sanitize_filename(raw: str) -> str:
    """A name safe for any filesystem and any Content-Disposition header.

    Drops directory parts, control and reserved characters, leading dots, keeps the
    extension, and caps the length at 200 characters.
    """
    name = unicodedata.normalize("NFC", str(raw or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _RESERVED.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if not name:
        return "file"
    if len(name) > 200:
        stem, ext = os.path.splitext(name)
        ext = ext[:20]
        name = stem[: 200 - len(ext)].rstrip() + ext
    return name


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed window is still text.
        return exc.start >= len(head) - 4


def detect_content_type(head: bytes, filename: str) -> str:
    """The content type from the bytes themselves; the extension only names text formats."""
    kind = filetype.guess(head) if head else None
    if kind is not None:
        return kind.mime
    if head and _looks_like_text(head):
        ext = os.path.splitext(filename)[1].lower()
        if ext in TEXT_EXTENSIONS:
            guessed = TEXT_EXTENSIONS[ext]
            if guessed == "image/svg+xml" and b"<svg" not in head[:4096].lower():
                return "text/plain"
            return guessed
        return "text/plain"
    if not head:
        return mimetypes.types_map.get(".txt", "text/plain") if filename.endswith(".txt") else "application/octet-stream"
    return "application/octet-stream"


class StreamedUploadView:
    """A DRF view mixin whose POST body streams through ``StreamingUploadHandler``.

    ``streaming_upload_handler(request)`` names the field, the receiver and the cap; the
    handler is installed before anything reads the body (CSRF, idempotency), and aborted
    once the request is answered, so a refused or failed upload leaves nothing in storage.
    """

    upload_handler = None

    def streaming_upload_handler(self, request):  # pragma: no cover - each view names its own
        raise NotImplementedError

    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST":
            self.upload_handler = self.streaming_upload_handler(request)
            request.upload_handlers = [self.upload_handler]
        return super().initialize_request(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self.upload_handler is not None:
                self.upload_handler.abort()
