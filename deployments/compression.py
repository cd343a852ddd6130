"""Brotli and gzip forms of text blobs: negotiated per request, made once per blob.

A text blob (HTML, CSS, JavaScript, JSON, SVG, XML, ``text/*``) asked for with
``Accept-Encoding: br`` or ``gzip`` is compressed the first time, stored as a blob of its
own (``storage.blob_put_bytes``, so ``verify_blobs`` re-hashes it like any other) and
recorded as a ``CompressedBlob``; every later request only looks the mapping up (cached
forever, in the shared cache and per process: blobs never change). A form that is not
smaller than the original is recorded as "not worth it" and the original is sent.
Files that are compressed already (``.gz``, ``.br``, ``.zip``, images, fonts) are not
text types, so they are never compressed again and never get a ``Content-Encoding``.
"""

import gzip
import logging
from dataclasses import dataclass

import brotli
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction

from deployments import storage
from deployments.models import CompressedBlob, DeploymentFile
from gharart.degraded import CACHE_ERRORS, cache_guard, cache_unavailable

logger = logging.getLogger(__name__)

BR = "br"
GZIP = "gzip"
ENCODINGS = (BR, GZIP)  # preferred first on equal q-values
ETAG_SUFFIX = {BR: "br", GZIP: "gz"}
MIN_BYTES = 256  # below this, headers cost more than compression saves
_NONE = "-"
CACHE_TTL = 30 * 86400

_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/ld+json",
    "application/manifest+json",
    "application/javascript",
    "application/xml",
    "application/xhtml+xml",
    "application/rss+xml",
    "application/atom+xml",
    "image/svg+xml",
)


@dataclass(frozen=True)
class Variant:
    encoding: str
    sha256: str
    size: int


def is_compressible(content_type: str) -> bool:
    """Only text types are compressed; everything else is sent as it is stored."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    return base.startswith(_TEXT_TYPES) or base.endswith(("+json", "+xml"))


def negotiate(accept_encoding: str) -> str | None:
    """``br``, ``gzip`` or None (identity) for an ``Accept-Encoding`` header, by q-value.

    ``*`` stands for every coding not named; ``q=0`` refuses one; on equal q-values br wins.
    """
    if not accept_encoding:
        return None
    named, star = {}, None
    for item in accept_encoding.split(","):
        token, *params = (p.strip() for p in item.split(";"))
        token = token.lower()
        if not token:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        if token == "*":
            star = q
        elif token == "x-gzip":
            named.setdefault(GZIP, q)
        else:
            named[token] = q
    best, best_q = None, 0.0
    for encoding in ENCODINGS:
        q = named.get(encoding, star if star is not None else 0.0)
        if q > best_q:
            best, best_q = encoding, q
    return best


def etag_for(sha256: str, encoding: str | None) -> str:
    """A strong ETag per representation: the identity bytes' hash, plus the coding."""
    return f'"{sha256}"' if encoding is None else f'"{sha256}-{ETAG_SUFFIX[encoding]}"'


def compress(data: bytes, encoding: str) -> bytes:
    if encoding == BR:
        return brotli.compress(data, quality=settings.COMPRESS_BROTLI_QUALITY)
    return gzip.compress(data, compresslevel=9, mtime=0)


# --- Lookup (cached) and first-use creation ---------------------------------------------

_local: dict = {}
_LOCAL_MAX = 50_000


def forget():
    """Drop this process's memo of compressed forms (tests; after restoring a database)."""
    _local.clear()


def _key(sha256, encoding):
    return f"deployments:enc:{encoding}:{sha256}"


def _remember(sha256, encoding, value):
    if len(_local) > _LOCAL_MAX:
        _local.clear()
    _local[(sha256, encoding)] = value
    try:
        cache_guard()
        cache.set(_key(sha256, encoding), value, CACHE_TTL)
    except CACHE_ERRORS as exc:
        cache_unavailable("compressed form not cached", exc)


def _as_variant(encoding, value):
    if value is None or value == _NONE:
        return None
    sha, size = value
    return Variant(encoding=encoding, sha256=sha, size=size)


def variant(sha256: str, size: int, encoding: str) -> Variant | None:
    """The stored ``encoding`` form of blob ``sha256``, made now if it is the first ask.

    None when the blob is too small or too large to compress, compressing does not pay,
    or the original cannot be read.
    """
    if encoding not in ENCODINGS or size < MIN_BYTES or size > settings.COMPRESS_MAX_BYTES:
        return None
    hit = _local.get((sha256, encoding))
    if hit is not None:
        return _as_variant(encoding, hit)
    try:
        cache_guard()
        cached = cache.get(_key(sha256, encoding))
    except CACHE_ERRORS as exc:
        cache_unavailable("compressed form read from the database", exc)
        cached = None
    if cached is not None:
        _local[(sha256, encoding)] = cached
        return _as_variant(encoding, cached)

    row = CompressedBlob.objects.filter(source_sha256=sha256, encoding=encoding).values_list("sha256", "size").first()
    if row is not None and (not row[0] or storage.blob_exists(row[0])):
        value = (row[0], row[1]) if row[0] else _NONE
        _remember(sha256, encoding, value)
        return _as_variant(encoding, value)
    return _as_variant(encoding, _make(sha256, encoding))


def _make(sha256, encoding):
    try:
        with storage.blob_open(sha256) as fh:
            data = fh.read(settings.COMPRESS_MAX_BYTES + 1)
    except OSError:
        return None  # the serving code reports the missing original itself
    packed = compress(data, encoding)
    if len(packed) >= len(data):
        value = _NONE
        sha, size = "", 0
    else:
        info = storage.blob_put_bytes(packed)
        value = (info.sha256, info.size)
        sha, size = info.sha256, info.size
    try:
        with transaction.atomic():
            CompressedBlob.objects.update_or_create(source_sha256=sha256, encoding=encoding, defaults={"sha256": sha, "size": size})
    except IntegrityError:
        pass  # made at the same moment by another request: the same bytes
    _remember(sha256, encoding, value)
    return value


def make_all(sha256: str, size: int) -> list:
    """Both compressed forms of one blob (for warming or tests); the variants that pay."""
    return [v for v in (variant(sha256, size, e) for e in ENCODINGS) if v is not None]


def stale_query():
    """Compressed forms whose original no deployment file uses: an anti-join (``NOT EXISTS``)
    on the indexed sha256 of deployment files, never a whole-table ``NOT IN``."""
    from django.db.models import Exists, OuterRef

    return CompressedBlob.objects.filter(~Exists(DeploymentFile.objects.filter(sha256=OuterRef("source_sha256"))))


def orphans_remove() -> int:
    """Drop compressed forms whose original no deployment file uses any more."""
    removed = 0
    stale = stale_query()
    for pk, source, sha, encoding in list(stale.values_list("pk", "source_sha256", "sha256", "encoding")[:1000]):
        CompressedBlob.objects.filter(pk=pk).delete()
        _local.pop((source, encoding), None)
        try:
            cache.delete(_key(source, encoding))
        except CACHE_ERRORS:
            pass
        if sha:
            storage.blob_delete_if_unreferenced(sha)
        removed += 1
    return removed
