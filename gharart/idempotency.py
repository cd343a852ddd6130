"""Idempotency keys for every POST under /v2.

The first response (status and body) for (caller, key) is kept for 24 hours. A retry with
the same key, route and body gets it again with ``Idempotent-Replayed: true`` and does
nothing twice. The same key on another route or with another body is 422
``idempotency_key_reused``; while the first request is still running, 409
``idempotency_request_in_progress``. The unique (caller, key) row is claimed before the
view runs, so two concurrent identical requests cannot both act. A 503 releases the key.
"""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from gharart import constants as c
from gharart.errors import ApplicationError
from gharart.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# A claimed key whose request never finished (the process died) is released after this.
ABANDONED_AFTER = timedelta(minutes=5)
_KEPT_HEADERS = ("Content-Type", "Location", "Retry-After", "WWW-Authenticate")


class IdempotentReplay(Exception):
    def __init__(self, record):
        self.record = record


def caller_of(request):
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    from gharart.throttles import client_ip

    return f"ip:{client_ip(request)}"


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
    caller = caller_of(request)
    path = request.path
    fingerprint = body_fingerprint(request)
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
        raise IdempotentReplay(existing)
    raise ApplicationError(c.IDEMPOTENCY_REQUEST_IN_PROGRESS, "Retry shortly.", status=409, headers={"Retry-After": "1"})


def complete(record, response):
    """Store the response for replay.

    Every outcome is kept, server errors included: a 500 may have come after the action
    committed, and replaying it is the only answer that never acts twice. The exception is
    503, which promises that nothing was done (e.g. the broker was down): the key is
    released so the same retry can succeed later.
    """
    if response.status_code == 503:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    headers = {h: response[h] for h in _KEPT_HEADERS if response.has_header(h)}
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        completed=True,
        status_code=response.status_code,
        response_body=bytes(response.content),
        response_headers=headers,
    )


def release(record):
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def replay_response(record):
    response = HttpResponse(bytes(record.response_body or b""), status=record.status_code)
    for name, value in (record.response_headers or {}).items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def prune():
    cutoff = timezone.now() - settings.GHARART_IDEMPOTENCY_TTL
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
