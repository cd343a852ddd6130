"""Writes for files, magic links and the internal docs access policy.

The API and the dashboard call these same functions. Validation lives here, so both
report the same field errors (``ApplicationError(validation_error, details={field: [...]})``).
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from deployments import storage
from deployments.models import Blob
from files import constants as fc
from files import links, ranges
from files.models import Campaign, DocsAccessPolicy, File, FileDownload, MagicLink
from files.uploads import StreamedUpload, detect_content_type, sanitize_filename
from gharart import constants as c
from gharart import throttles
from gharart.access import Access, handle_access_allows
from gharart.clock import db_now, parse_time
from gharart.errors import ApplicationError
from gharart.jobs import dispatch_on_commit
from gharart.services import audit_record

logger = logging.getLogger("gharart.files")

UNSET = object()


def _invalid(message, errors):
    return ApplicationError(c.VALIDATION_ERROR, message, details=errors)


def _clean_max_downloads(value, errors):
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors["max_downloads"] = ["A whole number of at least 1, or empty for no limit."]
        return None
    if number < 1 or number > 10_000_000:
        errors["max_downloads"] = ["A whole number of at least 1, or empty for no limit."]
        return None
    return number


def _clean_password(value, errors):
    """A hash for a new password; '' for none (None or '' clears it)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        errors["password"] = ["A password is text, or empty to remove it."]
        return ""
    if not fc.FILE_PASSWORD_MIN_LENGTH <= len(value) <= fc.FILE_PASSWORD_MAX_LENGTH:
        errors["password"] = [f"Use {fc.FILE_PASSWORD_MIN_LENGTH} to {fc.FILE_PASSWORD_MAX_LENGTH} characters, or leave it empty for no password."]
        return ""
    return make_password(value)


def _clean_campaign_id(value, *, handle, errors):
    """The handle's campaign named by ``value`` ('' / None: no campaign)."""
    if value is None or value == "":
        return None
    campaign = Campaign.objects.filter(handle=handle, pk=str(value)[:40]).first() if isinstance(value, str) else None
    if campaign is None:
        errors["campaign_id"] = ["No such campaign on this handle."]
    return campaign


def _clean_file_fields(*, handle=None, current=None, access=UNSET, expires_at=UNSET, recipients=UNSET, title=UNSET, max_downloads=UNSET, campaign_id=UNSET, password=UNSET):
    """Validated values for the fields that were given (UNSET ones are left out).

    A file follows a campaign *or* has its own ``expires_at``: attaching a campaign clears
    the file's own expiry, and giving both is a validation error.
    """
    errors, out = {}, {}
    if password is not UNSET:
        out["password_hash"] = _clean_password(password, errors)
    if campaign_id is not UNSET:
        out["campaign"] = _clean_campaign_id(campaign_id, handle=handle, errors=errors)
        if out["campaign"] is not None:
            if expires_at not in (UNSET, None, ""):
                errors["expires_at"] = ["A file that follows a campaign expires when the campaign ends: leave the expiry empty."]
            expires_at = UNSET
            out["expires_at"] = None
    elif current is not None and current.campaign_id and expires_at not in (UNSET, None, ""):
        errors["expires_at"] = ["This file follows a campaign and expires when it ends. Set campaign_id to null to give it its own expiry."]
    if access is not UNSET:
        access = (access or "").strip() if isinstance(access, str) else access
        if access not in fc.ACCESS_VALUES:
            errors["access"] = [f"Choose one of: {', '.join(fc.ACCESS_VALUES)}."]
        out["access"] = access
    if expires_at is not UNSET:
        when = parse_time(expires_at, field="expires_at", errors=errors)
        if when is not None and when <= timezone.now():
            errors["expires_at"] = ["The expiry must be in the future. To stop sharing now, make the file private."]
        out["expires_at"] = when
    if recipients is not UNSET:
        cleaned, problems = links.clean_recipients(recipients)
        if problems:
            errors["recipients"] = problems
        out["recipients"] = cleaned
    if title is not UNSET:
        title = str(title or "").strip()
        if len(title) > 200:
            errors["title"] = ["At most 200 characters."]
        out["title"] = title
    if max_downloads is not UNSET:
        out["max_downloads"] = _clean_max_downloads(max_downloads, errors)
    return out, errors


# --- Files ------------------------------------------------------------------------------------


def file_upload_receiver():
    """What an upload's bytes stream into as they arrive (hashed, capped, nothing kept until commit)."""
    return storage.BlobWriter(max_bytes=settings.FILES_MAX_UPLOAD_BYTES)


def file_upload(*, handle, actor, upload, access=None, expires_at=None, recipients=None, title="", max_downloads=None, campaign_id=None):
    """Store an uploaded file and create its row, charged to the handle's daily upload quota.

    Every way in (the API, the dashboard, the demo seed) comes through here, so every
    upload costs one unit of ``file_uploads``: over the limit it is refused with 429
    ``daily_write_limit_exceeded`` before anything is stored, and a refused upload (bad
    fields, too large) gives its unit back.

    ``upload`` is a ``StreamedUpload`` (its bytes went into blob storage as they arrived,
    through ``file_upload_receiver``) or any Django ``UploadedFile`` (streamed into it
    here). The bytes are put under their hash only together with the file's row, so a
    file never appears half stored, and a refused upload leaves nothing behind. The name
    is sanitized and the content type detected from the bytes.
    """
    with throttles.quota_charged(c.QUOTA_FILE_UPLOADS, handle.slug):
        return _file_store(
            handle=handle,
            actor=actor,
            upload=upload,
            access=access,
            expires_at=expires_at,
            recipients=recipients,
            title=title,
            max_downloads=max_downloads,
            campaign_id=campaign_id,
        )


def _file_store(*, handle, actor, upload, access, expires_at, recipients, title, max_downloads, campaign_id):
    fields, errors = _clean_file_fields(
        handle=handle,
        campaign_id=campaign_id,
        access=access or fc.ACCESS_PRIVATE,
        expires_at=expires_at,
        recipients=recipients or [],
        title=title,
        max_downloads=max_downloads,
    )
    if upload is None:
        errors["file"] = ["Choose a file to upload."]
    if errors:
        raise _invalid("The file could not be uploaded.", errors)
    max_bytes = settings.FILES_MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > max_bytes:
        raise storage.BlobTooLarge(message=f"The file is larger than the limit of {max_bytes} bytes.", details={"max_bytes": max_bytes})
    name = sanitize_filename(upload.name)
    receiver = getattr(upload, "receiver", None)
    with receiver or file_upload_receiver() as receiver:
        if not isinstance(upload, StreamedUpload):
            if hasattr(upload, "seek"):
                upload.seek(0)
            while chunk := upload.read(storage.CHUNK):
                receiver.write(chunk)
        receiver.finish()
        content_type = detect_content_type(receiver.head, name)
        committed = False
        try:
            with transaction.atomic():
                # A concurrent delete of another file with the same bytes may be removing
                # them: the row lock orders us against it, then the bytes go into place.
                Blob.objects.select_for_update().filter(sha256=receiver.sha256).first()
                info = receiver.commit()
                committed = True
                file = File(
                    handle=handle,
                    name=name,
                    size=info.size,
                    sha256=info.sha256,
                    content_type=content_type,
                    created_by=actor if getattr(actor, "is_authenticated", False) else None,
                    **fields,
                )
                file.save()
        except BaseException:
            if committed:  # the row was not kept: neither are bytes nothing else refers to
                storage.blob_delete_if_unreferenced(receiver.sha256)
            raise
    return file


# Sharing fields whose changes are audited (before/after), besides access and the password.
AUDITED_SHARING_FIELDS = ("expires_at", "max_downloads", "recipients")


def _audit_value(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime) else value


@transaction.atomic
def file_update(*, file, actor, **changes):
    """Change access, expiry, recipients, title, max_downloads, the campaign it follows or the password.

    Changing ``access`` revokes every magic link of the file (reason
    ``file_access_changed``) and is audited; removing an address or ``@domain`` from
    ``recipients`` revokes the links issued to the addresses it covered (reason
    ``recipient_removed``). A new ``expires_at`` (or campaign) applies at once to links
    already sent: links are always checked against the file's current expiry. Changes of
    expiry, download limit and recipients are audited with before/after; setting or
    removing the password is audited without it (``password`` '' or None removes it).
    """
    allowed = {"access", "expires_at", "recipients", "title", "max_downloads", "campaign_id", "password"}
    unknown = set(changes) - allowed
    if unknown:
        raise _invalid("The file could not be updated.", {k: ["This field cannot be changed."] for k in sorted(unknown)})
    fields, errors = _clean_file_fields(handle=file.handle, current=file, **changes)
    if errors:
        raise _invalid("The file could not be updated.", errors)
    file = File.objects.select_for_update().get(pk=file.pk)
    before_access = file.access
    before_recipients = list(file.recipients)
    before_sharing = {k: getattr(file, k) for k in AUDITED_SHARING_FIELDS if k in fields}
    had_password = bool(file.password_hash)
    for key, value in fields.items():
        setattr(file, key, value)
    file.updated_at = timezone.now()
    file.save()
    if "recipients" in fields:
        _revoke_removed_recipients(file=file, actor=actor, before=before_recipients)
    changed = {k: v for k, v in before_sharing.items() if v != getattr(file, k)}
    if changed:
        audit_record(
            action=c.AUDIT_FILE_SHARING,
            actor=actor,
            handle=file.handle,
            target=file.id,
            before={k: _audit_value(v) for k, v in changed.items()},
            after={k: _audit_value(getattr(file, k)) for k in changed},
        )
    if "password_hash" in fields and (fields["password_hash"] or had_password):
        audit_record(
            action=c.AUDIT_FILE_PASSWORD,
            actor=actor,
            handle=file.handle,
            target=file.id,
            before={"password": "set" if had_password else "none"},
            after={"password": "set" if file.password_hash else "none"},
        )
    if "access" in fields and fields["access"] != before_access:
        _revoke_links_audited(
            file=file, actor=actor, links=MagicLink.objects.filter(file=file), reason=fc.REVOKE_FILE_ACCESS_CHANGED,
            action=c.AUDIT_FILE_ACCESS, field="access", before=before_access,
        )
    return file


def _revoke_links_audited(*, file, actor, links, reason, action, field, before):
    """Revoke the live ones of ``links`` for ``reason`` and audit the change of the file's
    ``field`` that caused it, with how many links it revoked."""
    revoked = links.filter(revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_reason=reason)
    audit_record(
        action=action,
        actor=actor,
        handle=file.handle,
        target=file.id,
        before={field: before},
        after={field: getattr(file, field), "magic_links_revoked": revoked},
    )
    return revoked


def _revoke_removed_recipients(*, file, actor, before):
    """Revoke the live links of addresses that ``recipients`` covered before and no longer does.

    An exact address or an ``@domain`` entry may be removed; a link stays when another
    entry still covers its address, and links minted for addresses never on the list
    are not touched by a change of the list.
    """
    gone = [
        link.pk
        for link in MagicLink.objects.filter(file=file, revoked_at__isnull=True).only("pk", "email")
        if links.recipient_allowed(link.email, before) and not links.recipient_allowed(link.email, file.recipients)
    ]
    if not gone:
        return 0
    return _revoke_links_audited(
        file=file, actor=actor, links=MagicLink.objects.filter(pk__in=gone), reason=fc.REVOKE_RECIPIENT_REMOVED,
        action="file.recipients_change", field="recipients", before=before,
    )


def file_delete(*, file, actor):
    """Delete a file: public routes answer 404 at once; its bytes go unless shared."""
    sha256 = file.sha256
    with transaction.atomic():
        File.objects.filter(pk=file.pk).delete()
        audit_record(action="file.delete", actor=actor, handle=file.handle, target=file.id, before={"name": file.name, "access": file.access})
    storage.blob_delete_if_unreferenced(sha256)


def file_password_matches(*, file, password) -> bool:
    """Whether ``password`` opens ``file`` (always True for a file without a password)."""
    if not file.password_hash:
        return True
    return isinstance(password, str) and bool(password) and check_password(password, file.password_hash)


def file_count_download(*, file_id) -> bool:
    """Count one download, never past ``max_downloads`` (one conditional UPDATE)."""
    updated = (
        File.objects.filter(pk=file_id)
        .filter(Q(max_downloads__isnull=True) | Q(download_count__lt=F("max_downloads")))
        .update(download_count=F("download_count") + 1)
    )
    return updated == 1


# --- Download accounting (max_downloads) ------------------------------------------------------
#
# A file with ``max_downloads`` is metered in bytes. Each counted download (a FileDownload)
# is owed one copy: its ledger records the byte ranges it was sent. A request of the same
# client joins its open download when the bytes it asks for are new to the ledger (the
# other connections of a split download, a resume) or re-send at most the allowance
# (bytes lost in flight); otherwise it starts a new download, which counts and is refused
# once ``max_downloads`` are used. An open download keeps working after the limit is
# reached, for the bytes it was owed. Bytes are charged window by window as they are
# streamed, so a broken connection is charged for what was sent, not what was asked.


def download_client_key(*, link=None, ip="", user_agent="") -> str:
    """Who "the same download" is: the magic link, else the client address and user agent."""
    if link is not None:
        return f"link:{link.id}"
    digest = hashlib.sha256(f"{ip}\0{user_agent}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"client:{digest[:48]}"


def download_resend_allowance(size) -> int:
    """Bytes one download may be sent again: ``GHARART_DOWNLOAD_RESEND_BYTES``, at most half the file."""
    return max(0, min(settings.GHARART_DOWNLOAD_RESEND_BYTES, size // 2))


def _open_download(file_id, client_key, *, lock=False):
    qs = FileDownload.objects.filter(file_id=file_id, client_key=client_key, closed=False).order_by("-created_at", "-pk")
    return (qs.select_for_update() if lock else qs).first()


def download_limit_reached(file):
    """410 ``download_limit_reached``: every allowed download of ``file`` is used."""
    return ApplicationError(
        fc.DOWNLOAD_LIMIT_REACHED,
        "This file's download limit is used up.",
        status=410,
        details={"max_downloads": file.max_downloads},
    )


def file_download_admit(*, file, client_key):
    """Before any answer that could lead to bytes (HEAD and 304 too): 410 when this client has
    no open download left to finish and ``max_downloads`` are used up."""
    if not file_download_may_resume(file=file, client_key=client_key):
        raise download_limit_reached(file)


def file_download_open(*, file, client_key, link=None, start, end, window=None):
    """Count the download that sends bytes ``[start, end)`` and charge its first window.

    ``window`` is how many bytes are charged now (the rest as they are streamed, with
    ``file_download_charge``); None charges them all (nginx or object storage sends them
    unseen). Returns ``(download_id, charge)`` as ``file_download_start``; raises 410
    ``download_limit_reached`` when a new download is needed and none is left, or when the
    first window would re-send more than the download's allowance.
    """
    first_window = end if window is None else min(end, start + window)
    started = file_download_start(file=file, client_key=client_key, link=link, start=start, end=end, first_window=first_window)
    if started is None or (started[0] and started[1] is None):
        raise download_limit_reached(file)
    return started


def file_download_may_resume(*, file, client_key) -> bool:
    """True when bytes may be sent to this client now (HEAD and 304 send none, but answer alike)."""
    if file.max_downloads is None or not file.limit_reached:
        return True
    return _open_download(file.id, client_key) is not None


def file_download_start(*, file, client_key, link=None, start, end, first_window):
    """Start sending bytes ``[start, end)`` of ``file``: pick their download, charge the first window.

    Returns ``(download_id, charge)``: ``("", None)`` for a file without a limit (nothing
    is metered; a request from byte 0 counts one download), the download and the charge
    of ``[start, first_window)``, or None when a new download would be needed and
    ``max_downloads`` are used up (the caller answers 410). The choice and the first
    charge happen under the file's row lock, so concurrent requests of one client never
    both take the same bytes for free.
    """
    if file.max_downloads is None:
        if start == 0:
            file_count_download(file_id=file.id)
            if link is not None:
                magic_link_mark_used(link=link)
        return "", None
    allowance = download_resend_allowance(file.size)
    opened = False
    with transaction.atomic():
        # The file's row lock orders every start of a metered file, so two requests of one
        # client arriving together cannot both open a download, nor both take bytes free.
        File.objects.select_for_update().filter(pk=file.id).values_list("pk", flat=True).first()
        current = _open_download(file.id, client_key, lock=True)
        if current is None or current.bytes_resent + ranges.overlap(current.served, start, end) > allowance:
            # A new copy: counted with one conditional UPDATE, so the limit holds under races.
            if not file_count_download(file_id=file.id):
                return None
            if current is not None:
                FileDownload.objects.filter(pk=current.pk).update(closed=True, updated_at=timezone.now())
            current = FileDownload.objects.create(file_id=file.id, client_key=client_key, magic_link=link)
            opened = True
        charge = _download_charge(current, start, first_window, file.size)
    if opened and link is not None:
        magic_link_mark_used(link=link)
    return current.id, charge


@dataclass
class DownloadCharge:
    """Bytes ``[start, end)`` charged to a download: ``added`` were new to its ledger."""

    download_id: str
    file_id: str
    start: int
    end: int
    added: list
    resent: int


def _download_charge(download, start, end, size):
    resent = ranges.overlap(download.served, start, end)
    if download.bytes_resent + resent > download_resend_allowance(size):
        return None
    added = ranges.subtract([[start, end]], download.served)
    download.served = ranges.add(download.served, start, end)
    download.bytes_sent += end - start
    download.bytes_resent += resent
    download.updated_at = timezone.now()
    download.save(update_fields=["served", "bytes_sent", "bytes_resent", "updated_at"])
    File.objects.filter(pk=download.file_id).update(bytes_served=F("bytes_served") + (end - start))
    return DownloadCharge(download_id=download.id, file_id=download.file_id, start=start, end=end, added=added, resent=resent)


def file_download_charge(*, download_id, start, end, size):
    """Charge ``[start, end)`` to the download before they are sent.

    None (nothing charged) when re-sending them would pass the download's allowance;
    the stream stops there.
    """
    with transaction.atomic():
        download = FileDownload.objects.select_for_update().filter(pk=download_id).first()
        return None if download is None else _download_charge(download, start, end, size)


def file_download_refund(*, charge, sent_until):
    """Give back the part of a charge that was never sent (the client went away first)."""
    if sent_until >= charge.end:
        return
    unsent = max(0, charge.end - max(sent_until, charge.start))
    with transaction.atomic():
        download = FileDownload.objects.select_for_update().filter(pk=charge.download_id).first()
        if download is None:
            return
        new_unsent = ranges.intersect(charge.added, sent_until, charge.end)
        download.served = ranges.subtract(download.served, new_unsent)
        download.bytes_sent = max(0, download.bytes_sent - unsent)
        download.bytes_resent = max(0, download.bytes_resent - min(charge.resent, unsent - ranges.total(new_unsent)))
        download.updated_at = timezone.now()
        download.save(update_fields=["served", "bytes_sent", "bytes_resent", "updated_at"])
        File.objects.filter(pk=charge.file_id).update(bytes_served=F("bytes_served") - unsent)


# --- Magic links ------------------------------------------------------------------------------


def _clean_email(email):
    email = links.normalize_email(str(email or ""))
    if not email or len(email) > 254 or not links.is_email(email):
        raise _invalid("The email address is not valid.", {"email": ["Enter a valid email address."]})
    return email


# Minting a link directly (the dashboard's form, the API for members): partnerships+ and,
# on a personal access token, ``files:write`` for this handle.
MAGIC_LINK_MINT_ACCESS = Access(c.FILES_ROLES, c.SCOPE_FILES_WRITE)


def magic_link_mint_allowed(*, user, auth, file) -> bool:
    """Whether this caller mints links of ``file`` directly (else it may only ask for one)."""
    return file is not None and handle_access_allows(user=user, auth=auth, handle=file.handle, access=MAGIC_LINK_MINT_ACCESS)


@transaction.atomic
def magic_link_mint(*, file, email, actor=None, send=False):
    """Issue a new magic link for ``email``; returns ``(link, token)``.

    Older links stay valid until revoked. With ``send`` the link is also emailed (after
    commit, by a Celery task).
    """
    email = _clean_email(email)
    if file.access != fc.ACCESS_LINK:
        raise _invalid(
            "Magic links only work for files in link mode.",
            {"access": [f"This file is '{file.access}'. Switch it to 'link' to share it with magic links."]},
        )
    token = links.token_new()
    link = MagicLink.objects.create(
        file=file,
        email=email,
        token_hash=links.token_hash(token),
        access_at_issue=file.access,
        expires_at=timezone.now() + settings.MAGIC_LINK_TTL,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        action=c.AUDIT_MAGIC_LINK_CREATE,
        actor=actor,
        handle=file.handle,
        target=link.id,
        after={"file": file.id, "email": email, "emailed": bool(send), "requested_by_recipient": actor is None},
    )
    if send:
        # Broker down: the link (never shown or sent) is removed again and the request is 503.
        dispatch_on_commit("files.magic_link_send", link.id, token, undo=lambda: MagicLink.objects.filter(pk=link.pk).delete())
    return link, token


def magic_link_request(*, file_id, email):
    """An anonymous request for a link: the same work whoever asks.

    The email is validated and a job queued; the job alone decides whether the file may
    be sent to this address, so the response and its timing reveal nothing.
    """
    email = _clean_email(email)
    dispatch_on_commit("files.magic_link_request_process", str(file_id)[:40], email)
    return email


def magic_link_request_process(*, file_id, email):
    """Email a new link when the file is in link mode, not expired and ``email`` is a recipient."""
    file = File.objects.filter(pk=file_id).first()
    if file is None or file.access != fc.ACCESS_LINK or file.is_expired or file.limit_reached:
        return None
    if not links.recipient_allowed(email, file.recipients):
        return None
    link, _ = magic_link_mint(file=file, email=email, send=True)
    return link


def magic_link_send(*, link_id, token):
    """Email the link (plain text and HTML) once; a retry after success sends nothing."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    link = MagicLink.objects.select_related("file", "file__handle").filter(pk=link_id).first()
    if link is None or link.emailed_at is not None or link.revoked_at is not None:
        return False
    if links.token_hash(token) != link.token_hash:
        logger.warning("magic link %s: token does not match, not sending", link_id)
        return False
    context = {
        "link": link,
        "file": link.file,
        "handle": link.file.handle,
        "url": links.public_file_url(link.file_id, token),
        "file_expires_at": link.file.expires_at,
    }
    subject = f"{link.file.handle.display_name or link.file.handle.slug} shared “{link.file.display_title}” with you"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("files/email/magic_link.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[link.email],
    )
    message.attach_alternative(render_to_string("files/email/magic_link.html", context), "text/html")
    message.send()
    MagicLink.objects.filter(pk=link.pk).update(emailed_at=timezone.now())
    return True


@transaction.atomic
def magic_link_revoke(*, file, link_id, actor):
    link = MagicLink.objects.select_for_update().filter(file=file, pk=link_id).first()
    if link is None:
        raise ApplicationError(fc.MAGIC_LINK_NOT_FOUND, "No such magic link for this file.", status=404)
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.revoked_reason = fc.REVOKE_BY_MEMBER
        link.save(update_fields=["revoked_at", "revoked_reason"])
        audit_record(action="file.magic_link_revoke", actor=actor, handle=file.handle, target=link.id, before={"email": link.email})
    return link


def magic_link_mark_used(*, link):
    MagicLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now(), use_count=F("use_count") + 1)


# --- Internal docs access policy -------------------------------------------------------------


def _clean_list(value, field, errors):
    if value is None:
        return []
    if isinstance(value, str):
        return links.parse_entries(value)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        errors[field] = ["A list of strings."]
        return []
    return list(value)


def _clean_entries(data, field, errors, *, normalize, valid, complaint):
    """``data[field]`` as a list, each entry normalized, checked and kept once; what is wrong
    with the others (``complaint`` names the entry as ``{}``) goes to ``errors[field]``."""
    kept, bad = [], []
    for entry in _clean_list(data.get(field), field, errors):
        entry = normalize(entry)
        if not valid(entry):
            bad.append(complaint.format(entry[:100]))
        elif entry not in kept:
            kept.append(entry)
    if bad:
        errors[field] = bad
    return kept


def _clean_policy(data, handle):
    errors = {}
    campaign = _clean_campaign_id(data.get("campaign_id"), handle=handle, errors=errors)
    if campaign is not None and (data.get("starts_at") or data.get("ends_at")):
        message = "The policy follows the campaign's window: leave starts_at and ends_at empty."
        for key in ("starts_at", "ends_at"):
            if data.get(key):
                errors[key] = [message]
    visibility = data.get("visibility", fc.VISIBILITY_MEMBERS)
    if visibility not in fc.VISIBILITY_VALUES:
        errors["visibility"] = [f"Choose one of: {', '.join(fc.VISIBILITY_VALUES)}."]
    emails = _clean_entries(
        data, "partner_emails", errors, normalize=lambda e: links.normalize_email(e).lower(), valid=links.is_email,
        complaint="'{}' is not an email address.",
    )
    domains = _clean_entries(
        data, "partner_domains", errors, normalize=lambda d: d.strip().lower().lstrip("@"), valid=links.is_domain,
        complaint="'{}' is not a domain (like agency.example).",
    )
    starts_at = parse_time(data.get("starts_at"), field="starts_at", errors=errors)
    ends_at = parse_time(data.get("ends_at"), field="ends_at", errors=errors)
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = ["The window must end after it starts."]
    paths = _clean_entries(
        data, "confidential_paths", errors, normalize=str.strip, valid=lambda p: p.startswith("/") and len(p) <= 300,
        complaint="'{}' must start with '/' (a path such as /finance/*).",
    )
    if visibility == fc.VISIBILITY_PARTNERS and not emails and not domains and "partner_emails" not in errors and "partner_domains" not in errors:
        message = "Partners visibility needs at least one partner email or domain."
        errors["partner_emails"] = [message]
        errors["partner_domains"] = [message]
    if errors:
        raise _invalid("The docs access policy is not valid.", errors)
    return {
        "visibility": visibility,
        "partner_emails": emails,
        "partner_domains": domains,
        "starts_at": None if campaign else starts_at,
        "ends_at": None if campaign else ends_at,
        "confidential_paths": paths,
        "campaign": campaign,
    }


POLICY_FIELDS = ("visibility", "partner_emails", "partner_domains", "starts_at", "ends_at", "confidential_paths", "campaign_id")


def _policy_snapshot(policy):
    out = {}
    for f in POLICY_FIELDS:
        value = getattr(policy, f)
        out[f] = value.isoformat() if isinstance(value, datetime) else value
    out["version"] = policy.version
    return out


def docs_policy_preview(*, handle, data):
    """The policy ``data`` would make (validated, not saved): for showing its warnings live.

    Raises the same ``validation_error`` as saving would.
    """
    cleaned = _clean_policy(data, handle)
    return DocsAccessPolicy(handle=handle, **cleaned)


@transaction.atomic
def docs_policy_update(*, handle, actor, data):
    """Replace the handle's docs access policy; bumps ``version`` (signing partners out) and audits."""
    cleaned = _clean_policy(data, handle)
    policy, _ = DocsAccessPolicy.objects.select_for_update().get_or_create(handle=handle)
    before = _policy_snapshot(policy)
    for key, value in cleaned.items():
        setattr(policy, key, value)
    policy.version = policy.version + 1
    policy.updated_at = timezone.now()
    policy.updated_by = actor if getattr(actor, "is_authenticated", False) else None
    policy.save()
    audit_record(action=c.AUDIT_DOCS_POLICY, actor=actor, handle=handle, target=policy.id, before=before, after=_policy_snapshot(policy))
    return policy


# --- Campaigns --------------------------------------------------------------------------------


def _clean_campaign(data, *, current=None):
    """Validated name/starts_at/ends_at; on create (no ``current``) all three are required."""
    errors, out = {}, {}
    if "name" in data or current is None:
        name = data.get("name")
        name = name.strip() if isinstance(name, str) else ""
        if not name:
            errors["name"] = ["Give the campaign a name."]
        elif len(name) > 200:
            errors["name"] = ["At most 200 characters."]
        out["name"] = name
    for key in ("starts_at", "ends_at"):
        if key in data or current is None:
            value = data.get(key)
            if value in (None, ""):
                errors[key] = ["When the campaign starts." if key == "starts_at" else "When the campaign ends."]
            else:
                out[key] = parse_time(value, field=key, errors=errors)
    starts_at = out.get("starts_at", getattr(current, "starts_at", None))
    ends_at = out.get("ends_at", getattr(current, "ends_at", None))
    if starts_at and ends_at and ends_at <= starts_at and "ends_at" not in errors and "starts_at" not in errors:
        errors["ends_at"] = ["The campaign must end after it starts."]
    return out, errors


def _campaign_snapshot(campaign):
    return {"name": campaign.name, "starts_at": campaign.starts_at.isoformat(), "ends_at": campaign.ends_at.isoformat()}


def _name_taken(handle, name, exclude=None):
    qs = Campaign.objects.filter(handle=handle, name__iexact=name)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.exists()


@transaction.atomic
def campaign_create(*, handle, actor, data):
    """Create a campaign ``{"name","starts_at","ends_at"}``; 400 ``validation_error`` per field."""
    if not isinstance(data, dict):
        raise _invalid("Send a JSON object.", {"non_field_errors": ["Send a JSON object."]})
    fields, errors = _clean_campaign(data)
    if "name" not in errors and _name_taken(handle, fields["name"]):
        errors["name"] = ["Another campaign of this handle has this name."]
    if errors:
        raise _invalid("The campaign could not be created.", errors)
    campaign = Campaign.objects.create(handle=handle, created_by=actor if getattr(actor, "is_authenticated", False) else None, **fields)
    audit_record(action=c.AUDIT_CAMPAIGN_CREATE, actor=actor, handle=handle, target=campaign.id, after=_campaign_snapshot(campaign))
    return campaign


@transaction.atomic
def campaign_update(*, campaign, actor, data):
    """Rename, move or extend a campaign. Every file (and the docs policy) following it takes
    the new window at once, magic links included."""
    if not isinstance(data, dict):
        raise _invalid("Send a JSON object.", {"non_field_errors": ["Send a JSON object."]})
    unknown = set(data) - {"name", "starts_at", "ends_at"}
    if unknown:
        raise _invalid("The campaign could not be updated.", {k: ["This field cannot be changed."] for k in sorted(unknown)})
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    fields, errors = _clean_campaign(data, current=campaign)
    if "name" in fields and "name" not in errors and _name_taken(campaign.handle, fields["name"], exclude=campaign):
        errors["name"] = ["Another campaign of this handle has this name."]
    if errors:
        raise _invalid("The campaign could not be updated.", errors)
    before = _campaign_snapshot(campaign)
    for key, value in fields.items():
        setattr(campaign, key, value)
    campaign.updated_at = timezone.now()
    campaign.save()
    audit_record(action=c.AUDIT_CAMPAIGN_UPDATE, actor=actor, handle=campaign.handle, target=campaign.id, before=before, after=_campaign_snapshot(campaign))
    return campaign


@transaction.atomic
def campaign_delete(*, campaign, actor):
    """Delete a campaign nothing follows; 409 ``campaign_in_use`` while files or the docs policy do."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    file_count = File.objects.filter(campaign=campaign).count()
    docs_policy = DocsAccessPolicy.objects.filter(campaign=campaign).exists()
    if file_count or docs_policy:
        what = []
        if file_count:
            what.append(f"{file_count} file{'s' if file_count != 1 else ''}")
        if docs_policy:
            what.append("the internal docs policy")
        raise ApplicationError(
            fc.CAMPAIGN_IN_USE,
            f"This campaign is still followed by {' and '.join(what)}. Move them to another campaign or give them their own dates first.",
            status=409,
            details={"file_count": file_count, "docs_policy": docs_policy},
        )
    audit_record(action=c.AUDIT_CAMPAIGN_DELETE, actor=actor, handle=campaign.handle, target=campaign.id, before=_campaign_snapshot(campaign))
    campaign.delete()


def file_window_check(*, file, now=None):
    """Refuse a download outside the file's window, by the database's clock.

    403 ``file_not_yet_available`` (``details.available_at``) before its campaign starts;
    410 ``file_expired`` (``details.expired_at``) from its effective ``expires_at`` on.
    """
    available_at, expires_at = file.available_at, file.effective_expires_at
    if available_at is None and expires_at is None:
        return
    now = now or db_now()
    if available_at is not None and now < available_at:
        raise ApplicationError(
            fc.FILE_NOT_YET_AVAILABLE,
            f"This file is shared for a campaign that starts on {human_time(available_at)}.",
            status=403,
            details={"available_at": _iso(available_at)},
        )
    if expires_at is not None and expires_at <= now:
        raise ApplicationError(fc.FILE_EXPIRED, "This file has expired.", status=410, details={"expired_at": _iso(expires_at)})


def _iso(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def human_time(value):
    """``1 December 2026 at 12:00 UTC``: a time in words for messages and emails."""
    value = value.astimezone(UTC)
    return f"{value.day} {value:%B %Y} at {value:%H:%M} UTC"
