"""``GET/HEAD /v2/public/files/{fileId}``: who may download, and streaming the bytes.

Checks, in order: the file exists (else 404); a private file is 404 unless the request
carries a link of this file revoked by an access change (403 ``magic_link_revoked``: its
holder already knew the file); link mode needs a valid token (required / invalid /
revoked / expired); then the file's own expiry (410) and download limit (410); then a
password, when the file has one (403 ``file_password_required`` / ``file_password_invalid``).

A browser (``Accept: text/html``) asking for the file gets its share landing page (name,
size, type, expiry, who shared it, a preview of safe images, a password form when one is
needed, a Download button); the button asks again with ``?download=1`` and gets the bytes.
Any other client gets the bytes at once, so scripts keep using the same address.

Bytes are streamed from the blob store in fixed chunks (constant memory; on S3 ranged
GETs), handed to nginx with ``X-Accel-Redirect`` (the blob directory, or on S3 an internal
location proxying to the object), or, with S3 and ``GHARART_S3_REDIRECT``, answered with
302 to a short-lived presigned URL that carries the file's Content-Type and
Content-Disposition: always after every access check and the download count. A file with
``max_downloads`` is metered in bytes per download (``files.services``, "Download
accounting"): a split or resumed download costs one, a new download is counted with one
conditional UPDATE, so ``max_downloads`` is never exceeded however many requests race, and
a counted download may finish after the limit.
"""

from datetime import UTC

from django.conf import settings
from django.core import signing
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.csrf import csrf_protect

from blobs.responses import HANDOFF_ANY, Blob, blob_response, request_plan
from deployments import storage
from files import constants as fc
from files import links, services
from files.models import File, MagicLink
from gharart import constants as c
from gharart import throttles
from gharart.errors import ApplicationError, envelope, error_response
from gharart.request_id import request_id_for

CHUNK = 256 * 1024
# Bytes of a metered download (a file with max_downloads) charged per database update.
METER_WINDOW = 1024 * 1024
# Wrong magic-link tokens per client address: settings.GHARART_THROTTLES.
MAGIC_LINK_FAILURES = c.THROTTLE_MAGIC_LINK_FAILURES
# Wrong file passwords: per client address and per file (settings.GHARART_THROTTLES).
PASSWORD_IP_FAILURES = c.THROTTLE_FILE_PASSWORD_IP_FAILURES
PASSWORD_FILE_FAILURES = c.THROTTLE_FILE_PASSWORD_FILE_FAILURES
# Previewed on the landing page with an <img> of the same bytes (never SVG: it is a document).
PREVIEW_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}

NEXT_STEPS = {
    fc.FILE_NOT_FOUND: "The address may be mistyped, or the file was deleted or made private. Ask the person who shared it for a new link.",
    fc.FILE_EXPIRED: "Sharing of this file has ended. Ask the person who shared it to extend it; your link works again as soon as they do.",
    fc.FILE_NOT_YET_AVAILABLE: "It is shared for a campaign that has not started. Come back when it starts; your link will work then.",
    fc.DOWNLOAD_LIMIT_REACHED: "This file was downloaded as many times as the owner allowed. Ask them to raise the limit.",
    fc.MAGIC_LINK_REQUIRED: "This file is shared with named recipients. Enter your email address and, if it is on the list, we will send you a personal link.",
    fc.MAGIC_LINK_INVALID: "The link is incomplete or was changed. Copy the whole link from your email, or ask for a new one below.",
    fc.MAGIC_LINK_REVOKED: "This link no longer works. Ask the person who shared the file for a new link.",
    fc.MAGIC_LINK_EXPIRED: "Personal links only last a few days. Ask for a new one below.",
    fc.FILE_PASSWORD_REQUIRED: "The person who shared this file gave it a password. Enter it on this page.",
    fc.FILE_PASSWORD_INVALID: "Check the password with the person who shared the file and try again.",
}
TITLES = {
    fc.FILE_NOT_FOUND: "File not found",
    fc.FILE_EXPIRED: "This file has expired",
    fc.FILE_NOT_YET_AVAILABLE: "This file is not available yet",
    fc.DOWNLOAD_LIMIT_REACHED: "Download limit reached",
    fc.MAGIC_LINK_REQUIRED: "A personal link is needed",
    fc.MAGIC_LINK_INVALID: "This link is not valid",
    fc.MAGIC_LINK_REVOKED: "This link was revoked",
    fc.MAGIC_LINK_EXPIRED: "This link has expired",
    fc.FILE_PASSWORD_REQUIRED: "This file is protected by a password",
    fc.FILE_PASSWORD_INVALID: "The password is not right",
}
# Errors after which asking for a new link by email can help.
OFFER_REQUEST_FORM = {fc.MAGIC_LINK_REQUIRED, fc.MAGIC_LINK_INVALID, fc.MAGIC_LINK_EXPIRED}


def _not_found():
    return ApplicationError(fc.FILE_NOT_FOUND, "No such file, or it is not shared.", status=404)


def _revoked(reason):
    message = {
        fc.REVOKE_FILE_ACCESS_CHANGED: "This link was revoked because the file's access mode changed.",
        fc.REVOKE_BY_MEMBER: "This link was revoked by the file's owner.",
        fc.REVOKE_RECIPIENT_REMOVED: "This link was revoked because your address is no longer among the file's recipients.",
    }.get(reason, "This link was revoked.")
    return ApplicationError(fc.MAGIC_LINK_REVOKED, message, status=403, details={"reason": reason})


def authorize(*, file_id, token):
    """``(file, link)`` when the download may go ahead, else the contract's ApplicationError."""
    file = File.objects.select_related("handle", "campaign").filter(pk=file_id).first()
    if file is None:
        raise _not_found()
    link = None
    if token:
        link = MagicLink.objects.filter(token_hash=links.token_hash(token)).first()
        if link is not None and link.file_id != file.id:
            link = None  # a token of another file is no token for this one
    if file.access == fc.ACCESS_PRIVATE:
        if link is not None and (link.revoked_reason == fc.REVOKE_FILE_ACCESS_CHANGED or link.access_at_issue != file.access):
            raise _revoked(fc.REVOKE_FILE_ACCESS_CHANGED)
        raise _not_found()
    if file.access == fc.ACCESS_LINK:
        if not token:
            raise ApplicationError(fc.MAGIC_LINK_REQUIRED, "This file needs a personal magic link (?token=).", status=403)
        if link is None:
            raise ApplicationError(fc.MAGIC_LINK_INVALID, "The magic link is not valid.", status=403)
        if link.revoked_at is not None:
            raise _revoked(link.revoked_reason or fc.REVOKE_BY_MEMBER)
        if link.access_at_issue != file.access:
            raise _revoked(fc.REVOKE_FILE_ACCESS_CHANGED)
        if link.expires_at <= timezone.now():
            raise ApplicationError(
                fc.MAGIC_LINK_EXPIRED, "The magic link has expired.", status=403, details={"expired_at": _iso(link.expires_at)}
            )
    else:
        link = None  # public: a token changes nothing
    # Before its campaign starts 403 file_not_yet_available; past its (campaign's) end 410 file_expired.
    services.file_window_check(file=file)
    # The download limit is checked per client when bytes are asked for (a download
    # already counted may resume after the limit is reached).
    return file, link


def _iso(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def wants_html(request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "application/json" not in accept.split("text/html")[0]


def error_page(request, exc, *, file_id=None):
    """The error as JSON, or as a readable page (same status) for browsers."""
    if wants_html(request):
        context = {
            "code": exc.code,
            "title": TITLES.get(exc.code, "This file is not available"),
            "message": exc.message,
            "next_step": NEXT_STEPS.get(exc.code, ""),
            "details": exc.details,
            "request_id": request_id_for(request),
            "file_id": file_id,
            "offer_request": exc.code in OFFER_REQUEST_FORM and file_id is not None,
        }
        response = render(request, "files/public_error.html", context, status=exc.status)
    else:
        response = error_response(exc.code, exc.message, exc.status, request=request, details=exc.details)
        response.data = envelope(exc.code, exc.message, request_id=request_id_for(request), details=exc.details)
    for name, value in exc.headers.items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def _metered_stream(file, charge, start, end):
    """Bytes ``start..end`` (inclusive) of a metered file, charged window by window.

    ``charge`` is the first window's (charged when the download was chosen). Each further
    window is charged before it is sent; when the client goes away mid-window the part
    never handed to the server is given back. A chunk handed over counts as sent even if
    the connection then breaks (the server cannot know it arrived). A window the download
    may not be sent (re-sends past its allowance) ends the response early.
    """
    pos, stop = start, end + 1
    charge_download_id = charge.download_id
    with storage.blob_open(file.sha256) as fh:
        fh.seek(start)
        while pos < stop:
            if charge is None:
                charge = services.file_download_charge(download_id=charge_download_id, start=pos, end=min(stop, pos + METER_WINDOW), size=file.size)
                if charge is None:
                    return
            try:
                while pos < charge.end:
                    chunk = fh.read(min(CHUNK, charge.end - pos))
                    if not chunk:
                        return
                    pos += len(chunk)
                    yield chunk
            finally:
                if pos < charge.end:
                    services.file_download_refund(charge=charge, sent_until=pos)
            charge = None


def _disposition(file):
    inline = file.content_type in fc.INLINE_CONTENT_TYPES
    return content_disposition_header(not inline, file.name) or "attachment"


def _file_blob(file) -> Blob:
    return Blob(file.sha256, file.size, file.content_type, f'"{file.sha256}"', file.created_at.timestamp())


def _file_headers(file):
    return [
        # Expiry, limits and revocation apply at once: caches must revalidate every time.
        ("Cache-Control", "private, no-cache"),
        ("Content-Disposition", _disposition(file)),
        ("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"),
        ("X-Content-Type-Options", "nosniff"),
    ]


# --- Passwords ---------------------------------------------------------------------------


def _password_required():
    return ApplicationError(
        fc.FILE_PASSWORD_REQUIRED,
        f"This file is protected by a password: send it in the {fc.FILE_PASSWORD_HEADER} header, or enter it on the file's page.",
        status=403,
    )


def _password_invalid():
    return ApplicationError(fc.FILE_PASSWORD_INVALID, "The password is not right.", status=403)


def _cookie_name(file):
    return fc.FILE_UNLOCK_COOKIE_PREFIX + file.id


def _password_mark(file):
    # Bound to the current hash: a new or removed password ends every unlock at once.
    return salted_hmac("gharart.files.unlock", f"{file.id}:{file.password_hash}").hexdigest()[:32]


def _unlocked(request, file) -> bool:
    raw = request.COOKIES.get(_cookie_name(file))
    if not raw:
        return False
    try:
        value = signing.loads(raw, salt="gharart.files.unlock", max_age=fc.FILE_UNLOCK_MAX_AGE)
    except signing.BadSignature:
        return False
    return isinstance(value, dict) and value.get("f") == file.id and constant_time_compare(str(value.get("p", "")), _password_mark(file))


def password_check(request, file, password):
    """Check a password of ``file``; throttled per address and per file (429 over either).

    The gates are checked for every attempt, right or wrong, so a guesser over the limit
    learns nothing; a wrong password counts against both.
    """
    ip_ident = f"file-password:ip:{throttles.client_ip(request)}"
    file_ident = f"file-password:file:{file.id}"
    throttles.failures_gate(PASSWORD_IP_FAILURES, ip_ident)
    throttles.failures_gate(PASSWORD_FILE_FAILURES, file_ident)
    if services.file_password_matches(file=file, password=password):
        return
    for scope, ident in ((PASSWORD_IP_FAILURES, ip_ident), (PASSWORD_FILE_FAILURES, file_ident)):
        try:
            throttles.failure_record(scope, ident)
        except throttles.RateLimited:
            pass  # this answer stays "wrong password"; the next attempt meets the gate
    raise _password_invalid()


def password_gate(request, file):
    """Nothing when the file has no password or the request carries it (header or unlock cookie)."""
    if not file.password_hash or _unlocked(request, file):
        return
    password = request.headers.get(fc.FILE_PASSWORD_HEADER)
    if not password:
        raise _password_required()
    password_check(request, file, password)


def _file_url(file, token, **extra):
    query = {"token": token} if token else {}
    query.update(extra)
    base = f"/v2/public/files/{file.id}"
    return base + ("?" + urlencode(query) if query else "")


def landing_page(request, file, link, token, *, password_error=None, status=None):
    """The share landing page; with a password form (403) while the file is locked."""
    from gharart.humanize import relative_words

    locked = bool(file.password_hash) and not _unlocked(request, file)
    if locked and status is None:
        status = 403
    context = {
        "file": file,
        "link": link,
        "locked": locked,
        "password_error": password_error,
        "shared_by": file.handle.display_name or file.handle.slug,
        "expires_words": relative_words(file.expires_at),
        "download_url": _file_url(file, token, download="1"),
        "unlock_url": reverse("public-file-password", kwargs={"file_id": file.id}),
        "token": token or "",
        "downloads_left": max(0, file.max_downloads - file.download_count) if file.max_downloads else None,
        # A preview would use up a download of a limited file: only unlimited ones.
        "preview_image": not locked and file.content_type in PREVIEW_IMAGE_TYPES and file.max_downloads is None,
        "request_id": request_id_for(request),
        "code": fc.FILE_PASSWORD_REQUIRED if locked else "",
    }
    response = render(request, "files/public_landing.html", context, status=status or 200)
    response["Cache-Control"] = "no-store"
    # The token stays out of other sites' logs ("no-referrer" would send Origin: null on the form).
    response["Referrer-Policy"] = "same-origin"
    return response


@csrf_protect
def public_file_unlock(request, file_id):
    """``POST /v2/public/files/{fileId}/password``: check a password once, then a signed cookie.

    Form or JSON field ``password`` (and ``token`` for a file in link mode). A browser is
    sent back to the landing page (303); another client gets 204. The cookie is scoped to
    the file's address and ends with any change of the password.
    """
    if request.method != "POST":
        response = error_response("method_not_allowed", f'Method "{request.method}" not allowed.', 405, request=request)
        response["Allow"] = "POST"
        return response
    token = request.POST.get("token") or request.GET.get("token") or None
    password = request.POST.get("password", "")
    ip = f"ip:{throttles.client_ip(request)}"
    try:
        throttles.hit(c.THROTTLE_PUBLIC_DOWNLOAD, ip)
        file, link = authorize(file_id=file_id, token=token)
        if not file.password_hash:
            return HttpResponseRedirect(_file_url(file, token), status=303) if wants_html(request) else HttpResponse(status=204)
        if not password:
            raise _password_required()
        password_check(request, file, password)
    except ApplicationError as exc:
        if exc.code in (fc.FILE_PASSWORD_REQUIRED, fc.FILE_PASSWORD_INVALID) and wants_html(request):
            return landing_page(request, file, link, token, password_error=exc.message, status=exc.status)
        return error_page(request, exc, file_id=file_id)
    response = HttpResponseRedirect(_file_url(file, token), status=303) if wants_html(request) else HttpResponse(status=204)
    response.set_cookie(
        _cookie_name(file),
        signing.dumps({"f": file.id, "p": _password_mark(file)}, salt="gharart.files.unlock"),
        max_age=fc.FILE_UNLOCK_MAX_AGE,
        path=f"/v2/public/files/{file.id}",
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    response["Cache-Control"] = "no-store"
    return response


def public_file(request, file_id):
    """GET/HEAD of a shared file (see the module docstring for the rules)."""
    if request.method not in ("GET", "HEAD"):
        response = error_response("method_not_allowed", f'Method "{request.method}" not allowed.', 405, request=request)
        response["Allow"] = "GET, HEAD"
        return response
    token = request.GET.get("token") or None
    ip = f"ip:{throttles.client_ip(request)}"
    try:
        throttles.hit(c.THROTTLE_PUBLIC_DOWNLOAD, ip)
        if token:
            # Guessing tokens: after too many wrong ones from an address, every try is 429.
            throttles.failures_gate(MAGIC_LINK_FAILURES, ip)
        try:
            file, link = authorize(file_id=file_id, token=token)
        except ApplicationError as exc:
            if token and exc.code == fc.MAGIC_LINK_INVALID:
                throttles.failure_record(MAGIC_LINK_FAILURES, ip)
            raise
    except ApplicationError as exc:
        return error_page(request, exc, file_id=file_id)
    if request.method == "GET" and wants_html(request) and not request.GET.get("download"):
        if file.limit_reached:
            return error_page(request, services.download_limit_reached(file), file_id=file.id)
        return landing_page(request, file, link, token)
    try:
        password_gate(request, file)
    except ApplicationError as exc:
        if wants_html(request) and exc.code != c.RATE_LIMITED:
            return landing_page(request, file, link, token)
        return error_page(request, exc, file_id=file_id)
    client_key = services.download_client_key(link=link, ip=throttles.client_ip(request), user_agent=request.headers.get("User-Agent", ""))
    try:
        services.file_download_admit(file=file, client_key=client_key)
    except ApplicationError as exc:
        return error_page(request, exc, file_id=file.id)
    blob = _file_blob(file)
    plan = request_plan(request, blob)
    if plan.status in (304, 412) or request.method == "HEAD":
        return blob_response(request, blob, headers=_file_headers(file), plan=plan)
    if plan.status == 416:
        response = error_response("range_not_satisfiable", "The requested range is outside the file.", 416, request=request)
        response["Content-Range"] = f"bytes */{file.size}"
        return response
    start, end = plan.start, plan.end
    # nginx or object storage sends the bytes itself, unseen here: charge all it will send.
    handed_off = settings.GHARART_ACCEL_REDIRECT or (settings.GHARART_S3_REDIRECT and storage.is_object_storage())
    try:
        download_id, charge = services.file_download_open(
            file=file, client_key=client_key, link=link, start=start, end=end + 1, window=None if handed_off else METER_WINDOW
        )
    except ApplicationError as exc:
        return error_page(request, exc, file_id=file.id)
    if settings.GHARART_S3_REDIRECT and storage.is_object_storage():
        # The client fetches the bytes (and any Range) from object storage directly.
        url = storage.blob_presigned_url(file.sha256, filename=file.name, content_type=file.content_type, disposition=_disposition(file))
        response = HttpResponse(status=302)
        response["Location"] = url
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response
    stream = (lambda p: _metered_stream(file, charge, p.start, p.end)) if download_id and not settings.GHARART_ACCEL_REDIRECT else None
    return blob_response(request, blob, headers=_file_headers(file), plan=plan, handoff=HANDOFF_ANY, stream=stream, disposition=_disposition(file))
