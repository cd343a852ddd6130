"""Receiving an uploaded file: a size-capped upload handler, a safe name, a detected type."""

import mimetypes
import os
import re
import unicodedata

import filetype
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from files import constants as fc
from gharart.errors import ApplicationError

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
    return ApplicationError(
        fc.FILE_TOO_LARGE,
        f"The file is larger than the limit of {max_bytes} bytes.",
        status=413,
        details={"max_bytes": max_bytes},
    )


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Spools uploads to a temporary file on disk and stops at ``max_bytes``.

    The declared Content-Length is checked before a byte is read, and the running size
    while streaming (a chunked or lying client cannot get past the cap).
    """

    def __init__(self, request=None, *, max_bytes):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.max_bytes + MULTIPART_OVERHEAD:
            raise too_large(self.max_bytes)
        return None

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.file.close()  # the temporary file is deleted on close
            raise too_large(self.max_bytes)
        try:
            return super().receive_data_chunk(raw_data, start)
        except OSError:  # e.g. the disk is full: remove the partial spool file at once
            self.file.close()
            raise


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
