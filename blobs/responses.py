"""``blob_response(request, blob, ...)``: the one byte-response (``blobs.http``) as a Django response.

The live site, previews, edge docs, replays and public files all answer through it, so
every conditional and Range case is answered alike. The hand-off to nginx
(``GHARART_ACCEL_REDIRECT``) is used only where nginx can follow it: a local blob goes to
the internal ``GHARART_ACCEL_REDIRECT_PREFIX`` location; on object storage only a caller
that allows it (``handoff="any"``: public files, whose headers the documented ``/_s3/``
location sets itself) gets the ``/_s3/`` target, every other caller streams.
"""

from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse

from blobs import http
from blobs.http import Blob, Plan  # noqa: F401 - the adapter's callers name them from here
from deployments import storage

HANDOFF_LOCAL = "local"  # nginx sends local blob files; on S3 Django streams
HANDOFF_ANY = "any"  # also the /_s3/ proxy location on object storage


def request_plan(request, blob, *, status=200, ranges=True) -> http.Plan:
    """The status (and byte range) that answers ``request`` for ``blob``."""
    return http.plan(request.method, request.META, blob, status=status, ranges=ranges)


def _accel_target(request, handoff, blob, disposition):
    if handoff is None or not settings.GHARART_ACCEL_REDIRECT or getattr(request, "gharart_in_process", False):
        return None

    def target(sha256):
        if storage.blob_path(sha256) is not None:
            return storage.blob_accel_redirect(sha256, content_type=blob.content_type)
        if handoff != HANDOFF_ANY:
            return None  # the /_s3/ location sets public files' headers, not a site's
        return storage.blob_accel_redirect(sha256, content_type=blob.content_type, disposition=disposition)

    return target


def blob_response(request, blob, *, headers=(), status=200, ranges=True, handoff=None, plan=None, stream=None, disposition=None):
    """The response that sends ``blob`` for ``request`` (see ``blobs.http``).

    ``headers`` are the caller's (Cache-Control, CSP, ...), set after the blob's own;
    ``plan`` a decision already made (``request_plan``), e.g. to count a download first;
    ``stream(plan)`` an iterator of the plan's bytes that replaces storage reads (metering);
    ``disposition`` the Content-Disposition object storage should send on a hand-off.
    Raises FileNotFoundError/OSError when the bytes cannot be opened (before any byte).
    """
    p = plan or request_plan(request, blob, status=status, ranges=ranges)
    lines = http.header_list(p, blob, list(headers), ranges=ranges)
    target = _accel_target(request, handoff, blob, disposition)
    if stream is not None and request.method != "HEAD" and p.status in (200, 206):
        carried = http.Body(chunks=stream(p))
    else:
        carried = http.body(p, blob, request.method, open_blob=storage.blob_open, local_path=storage.blob_path, accel_target=target)
    if carried.accel:
        response = HttpResponse(status=200 if p.status == 206 else p.status)
        lines = http.accel_headers(lines)
        lines.append(("X-Accel-Redirect", carried.accel))
    elif carried.file is not None:
        response = FileResponse(carried.file, status=p.status, content_type=blob.content_type)
        response.block_size = http.CHUNK
        if response.has_header("Content-Disposition"):
            del response["Content-Disposition"]
    elif carried.chunks is not None:
        response = StreamingHttpResponse(carried.chunks, status=p.status)
    else:
        response = HttpResponse(status=p.status)
    if not any(k.lower() == "content-type" for k, _ in lines) and response.has_header("Content-Type"):
        del response["Content-Type"]
    for name, value in lines:
        response[name] = value
    return response
