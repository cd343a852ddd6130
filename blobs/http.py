"""One byte-response for a stored blob, framework-free (RFC 9110 throughout).

Every route that sends stored bytes (live sites, previews, edge docs, replays, public
files, and the WSGI fast path for site hosts) asks this module the same three things:

1. ``plan(method, environ, blob)``: which status answers, from the request's WSGI/META
   headers: ``If-Match`` / ``If-Unmodified-Since`` -> 412, ``If-None-Match`` (weak
   comparison) or, without it, ``If-Modified-Since`` -> 304 (GET and HEAD), then for GET
   only (RFC 9110 §14.2: range handling is defined for GET alone, so HEAD with ``Range``
   is 200) ``If-Range`` (strong ETag, or the exact ``Last-Modified`` date) and a single
   ``Range``: satisfiable -> 206, unsatisfiable -> 416 (``Content-Range: bytes */size``),
   malformed, reversed or several ranges -> ignored, 200 with the whole body.
2. ``header_list(plan, blob, headers)``: the response headers. A 304 keeps the
   caller's caching and platform headers but no body metadata (no ``Content-Type``,
   ``Content-Length``, ``Content-Disposition``, ``Content-Encoding``, ``Last-Modified``);
   412/416 likewise, with ``Content-Length: 0``.
3. ``body(plan, blob, method, ...)``: nothing (HEAD, 304, 412, 416), the nginx hand-off
   target, the whole local file (for ``wsgi.file_wrapper``/sendfile) or a bounded-chunk
   iterator (ranges, object storage), opened before the response starts so that missing
   bytes are an error the caller answers, never a cut body.
"""

import re
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime

CHUNK = 256 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
# Representation metadata a 304 (and the empty 412/416) does not carry (RFC 9110 §15.4.5).
BODY_HEADERS = frozenset(
    {"content-type", "content-length", "content-disposition", "content-encoding", "content-language", "content-range", "last-modified", "accept-ranges"}
)
UNSATISFIABLE = "unsatisfiable"


@dataclass(frozen=True, slots=True)
class Blob:
    """The bytes one response sends: ``sha256`` names them in storage."""

    sha256: str
    size: int
    content_type: str
    etag: str = ""  # quoted, strong; '"<sha256>"' when empty
    last_modified: float | None = None  # POSIX seconds

    @property
    def validator(self) -> str:
        return self.etag or f'"{self.sha256}"'


@dataclass(frozen=True, slots=True)
class Plan:
    status: int  # 200, 206, 304, 412, 416 (or the caller's own status, e.g. a 404 page)
    start: int = 0
    end: int = -1  # inclusive; -1 with start 0 and size 0 is the empty body

    @property
    def length(self) -> int:
        return self.end - self.start + 1


# --- 1. The decision ---------------------------------------------------------------------

def _tags(header: str):
    """The entity tags of an ``If-Match``/``If-None-Match`` list (``*`` as itself)."""
    out, rest = [], header.strip()
    while rest:
        if rest.startswith(","):
            rest = rest[1:].lstrip()
            continue
        weak = rest.startswith("W/")
        if weak:
            rest = rest[2:]
        if rest.startswith('"'):
            close = rest.find('"', 1)
            if close < 0:
                return out  # malformed: what came before still counts
            out.append((weak, rest[: close + 1]))
            rest = rest[close + 1 :].lstrip()
        else:
            token, _, rest = rest.partition(",")
            token = token.strip()
            if token:
                out.append((weak, token if token == "*" else f'"{token.strip(chr(34))}"'))
            rest = rest.lstrip()
    return out


def _http_date(value):
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def parse_range(header: str, size: int):
    """``(start, end)`` inclusive for one satisfiable range, ``UNSATISFIABLE``, or None (ignore).

    RFC 9110 §14.2: a server may ignore ``Range``; a malformed one (several ranges,
    another unit, ``last < first``) is ignored and the whole body is sent.
    """
    match = _RANGE.match(header or "")
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            return UNSATISFIABLE
        return max(0, size - suffix), size - 1
    start = int(first)
    if last != "" and int(last) < start:
        return None  # not a valid range-spec
    if start >= size:
        return UNSATISFIABLE
    end = min(int(last), size - 1) if last else size - 1
    return start, end


def plan(method: str, environ, blob: Blob, *, status: int = 200, ranges: bool = True) -> Plan:
    """The answer to ``method`` with the headers in ``environ`` (WSGI keys: ``HTTP_RANGE``).

    ``status`` other than 200 (a site's own 404 page) is sent as is: no conditionals, no
    ranges. ``ranges=False`` answers 200 whatever ``Range`` asks.
    """
    whole = Plan(status, 0, blob.size - 1)
    if status != 200:
        return whole
    etag = blob.validator
    last_modified = int(blob.last_modified) if blob.last_modified is not None else None
    if_match = environ.get("HTTP_IF_MATCH")
    if if_match is not None:
        tags = _tags(if_match)
        if not any(t == "*" or (not weak and t == etag) for weak, t in tags):
            return Plan(412)
    elif last_modified is not None:
        since = _http_date(environ.get("HTTP_IF_UNMODIFIED_SINCE"))
        if since is not None and last_modified > since:
            return Plan(412)
    if method in ("GET", "HEAD"):
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match is not None:
            if any(t == "*" or t == etag for _, t in _tags(if_none_match)):
                return Plan(304)
        elif last_modified is not None:
            since = _http_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
            if since is not None and last_modified <= since:
                return Plan(304)
    range_header = environ.get("HTTP_RANGE")
    if method != "GET" or not ranges or not range_header:
        return whole
    if_range = environ.get("HTTP_IF_RANGE")
    if if_range:
        if_range = if_range.strip()
        if if_range.startswith(('"', "W/")):
            if if_range != etag:  # strong comparison: a weak tag never matches
                return whole
        elif last_modified is None or _http_date(if_range) != last_modified:
            return whole
    byte_range = parse_range(range_header, blob.size)
    if byte_range is None:
        return whole
    if byte_range == UNSATISFIABLE:
        return Plan(416)
    return Plan(206, *byte_range)


# --- 2. The headers ----------------------------------------------------------------------

def http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


def header_list(p: Plan, blob: Blob, headers=(), *, ranges: bool = True) -> list:
    """``[(name, value), ...]`` for the response: the blob's own, then the caller's ``headers``."""
    if p.status in (304, 412, 416):
        out = [(k, v) for k, v in headers if k.lower() not in BODY_HEADERS]
        if p.status == 304:
            out.insert(0, ("ETag", blob.validator))
        else:
            out.append(("Content-Length", "0"))
            if p.status == 416:
                out.append(("Content-Range", f"bytes */{blob.size}"))
        return out
    out = [("Content-Type", blob.content_type), ("ETag", blob.validator)]
    if blob.last_modified is not None:
        out.append(("Last-Modified", http_date(blob.last_modified)))
    if p.status == 206:
        out.append(("Content-Range", f"bytes {p.start}-{p.end}/{blob.size}"))
        out.append(("Content-Length", str(p.length)))
    else:
        out.append(("Content-Length", str(blob.size)))
    if ranges and p.status in (200, 206):
        out.append(("Accept-Ranges", "bytes"))
    out.extend(headers)
    return out


# --- 3. The body -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Body:
    """What carries the bytes: ``file`` (whole, seekable), ``chunks`` (an iterator) or neither."""

    file: object = None
    chunks: object = None
    accel: str | None = None  # an X-Accel-Redirect target: nginx sends the bytes


EMPTY = Body()


def chunks(fh, start: int, length: int, chunk: int = CHUNK):
    """``length`` bytes of ``fh`` from ``start`` in bounded chunks; closes ``fh``."""
    try:
        fh.seek(start)
        left = length
        while left > 0:
            data = fh.read(min(chunk, left))
            if not data:
                break
            left -= len(data)
            yield data
    finally:
        fh.close()


def body(p: Plan, blob: Blob, method: str, *, open_blob, local_path=None, accel_target=None) -> Body:
    """The body of ``p``: opened now (FileNotFoundError/OSError propagate to the caller).

    ``open_blob(sha256)`` gives a seekable binary file; ``local_path(sha256)`` the blob's
    path on this machine, or None (object storage); ``accel_target(sha256)`` an
    ``X-Accel-Redirect`` target nginx can follow, or None (then Python sends the bytes).
    """
    if method == "HEAD" or p.status in (304, 412, 416):
        return EMPTY
    if accel_target is not None and p.status in (200, 206):
        target = accel_target(blob.sha256)
        if target:
            return Body(accel=target)
    path = local_path(blob.sha256) if local_path is not None else None
    if path is not None and p.status != 206:
        return Body(file=open(path, "rb"))  # noqa: SIM115 - closed by the server
    fh = open(path, "rb") if path is not None else open_blob(blob.sha256)  # noqa: SIM115
    return Body(chunks=chunks(fh, p.start, p.length))


def accel_headers(headers: list) -> list:
    """Headers of a hand-off: nginx sets the length and ranges of the bytes it sends."""
    return [(k, v) for k, v in headers if k.lower() not in ("content-length", "accept-ranges", "content-range")]
