"""Idempotency keys for every POST under /v2.

The first response (status and body) for (caller, key) is kept for 24 hours. A retry with
the same key, route and body gets it again with ``Idempotent-Replayed: true`` and does
nothing twice. The same key on another route or with another body is 422
``idempotency_key_reused``; while the first request is still running, 409
``idempotency_request_in_progress``. The unique (caller, key) row is claimed before the
view runs, so two concurrent identical requests cannot both act.

Only completed business answers are kept (2xx and 4xx other than 429): a 429 or a 5xx
releases the key, so the retry runs again. A replay happens before quotas are charged, so
it costs nothing.

Callers: a signed-in user is ``user:<id>``. Anonymous callers have no identity of their
own, so their keys are scoped to the address *and* the body: another caller on the same
address (a NAT, a proxy) only ever meets a record of the exact request it sends itself.

Stored bodies are encrypted (Fernet, with a key derived from ``SECRET_KEY``, which the
database does not hold): answers that carry a secret (a new PAT, a JWT pair, a magic link)
are never readable in the database. A body that no key opens any more (``SECRET_KEY``
rotated without ``SECRET_KEY_FALLBACKS``) is treated as a lost record.
"""

import base64
import hashlib
import json
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from gharart import constants as c
from gharart.errors import ApplicationError
from gharart.models import IdempotencyRecord
from gharart.throttles import client_ip

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# A claimed key whose request never finished (the process died) is released after this.
ABANDONED_AFTER = timedelta(minutes=5)
_KEPT_HEADERS = ("Content-Type", "Location", "Retry-After", "WWW-Authenticate")


class IdempotentReplay(Exception):
    def __init__(self, record):
        self.record = record


def caller_of(request, fingerprint=""):
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"

    scoped = hashlib.sha256(f"{client_ip(request)}\0{request.path}\0{fingerprint}".encode()).hexdigest()
    return f"anon:{scoped}"


_KEY_SALT = "gharart.idempotency.response_body"


def _fernet():
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    keys = [Fernet(base64.urlsafe_b64encode(salted_hmac(_KEY_SALT, "fernet", secret=s, algorithm="sha256").digest())) for s in secrets]
    return MultiFernet(keys)


def seal(body: bytes) -> bytes:
    return _fernet().encrypt(body)


def unseal(stored) -> bytes | None:
    """The stored body, or None when no current key opens it."""
    try:
        return _fernet().decrypt(bytes(stored or b""))
    except InvalidToken:
        return None


def body_fingerprint(request) -> str:
    """A hash of what the request asks for, independent of JSON spacing or multipart boundaries."""
    digest = hashlib.sha256()
    content_type = (request.content_type or "").split(";")[0].strip()
    if content_type.startswith("multipart/") or content_type == "application/x-www-form-urlencoded":
        fields = {k: request.data.getlist(k) for k in sorted(request.data.keys()) if k not in request.FILES}
        digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
        for name in sorted(request.FILES.keys()):
            for upload in request.FILES.getlist(name):
                digest.update(f"\0{name}\0{upload.name}\0{upload.size}\0".encode())
                if getattr(upload, "sha256", None):  # streamed into storage: hashed on the way
                    digest.update(upload.sha256.encode())
                    continue
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
    else:
        data = request.data
        digest.update(json.dumps(data, sort_keys=True, default=str).encode() if data not in (None, {}) else b"")
    return digest.hexdigest()


def claim(request, key: str):
    """Claim ``key`` for this request, or raise: replay, reuse (422) or in progress (409)."""
    if not 1 <= len(key) <= 255:
        raise ApplicationError(
            c.VALIDATION_ERROR,
            "The Idempotency-Key header must be 1-255 characters.",
            details={HEADER: ["Must be 1-255 characters."]},
        )
    path = request.path
    fingerprint = body_fingerprint(request)
    caller = caller_of(request, fingerprint)
    for _ in range(3):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    caller=caller, key=key, method=request.method, path=path, fingerprint=fingerprint
                )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(caller=caller, key=key).first()
        if existing is None:
            continue
        now = timezone.now()
        expired = existing.created_at < now - settings.GHARART_IDEMPOTENCY_TTL
        abandoned = not existing.completed and existing.created_at < now - ABANDONED_AFTER
        if expired or abandoned:
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.path != path or existing.method != request.method or existing.fingerprint != fingerprint:
            raise ApplicationError(
                c.IDEMPOTENCY_KEY_REUSED,
                "This Idempotency-Key was already used for a different request.",
                status=422,
                details={"original_path": existing.path},
            )
        if not existing.completed:
            raise ApplicationError(
                c.IDEMPOTENCY_REQUEST_IN_PROGRESS,
                "A request with this Idempotency-Key is still being processed. Retry shortly.",
                status=409,
                headers={"Retry-After": "1"},
            )
        body = unseal(existing.response_body)
        if body is None:
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        existing.replay_body = body
        raise IdempotentReplay(existing)
    raise ApplicationError(c.IDEMPOTENCY_REQUEST_IN_PROGRESS, "Retry shortly.", status=409, headers={"Retry-After": "1"})


def is_stored(status_code: int) -> bool:
    """Only completed business answers are replayed: 2xx and 4xx, never 429 or 5xx."""
    return 200 <= status_code < 500 and status_code != 429


def complete(record, response):
    """Store the response (body encrypted) for replay, or release the key.

    A 429 (a limit, not an answer) and any 5xx (the server failed; for a 503 nothing was
    done) release the key, so the same retry runs again later.
    """
    if not is_stored(response.status_code):
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    headers = {h: response[h] for h in _KEPT_HEADERS if response.has_header(h)}
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        completed=True,
        status_code=response.status_code,
        response_body=seal(bytes(response.content)),
        response_headers=headers,
    )


def release(record):
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def replay_response(record):
    body = getattr(record, "replay_body", None)
    if body is None:
        body = unseal(record.response_body) or b""
    response = HttpResponse(body, status=record.status_code)
    for name, value in (record.response_headers or {}).items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def prune():
    cutoff = timezone.now() - settings.GHARART_IDEMPOTENCY_TTL
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
