"""Signed, expiring preview URLs: ``/previews/{token}/...``, viewable without login.

Docs deployments preview under the edge docs instead (see ``preview_url``).

The token is a ``django.core.signing`` timestamped signature of the deployment ID, so
it cannot be forged or altered, and it stops working ``PREVIEW_URL_TTL`` after issue.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.utils import timezone

from deployments import constants as dc
from gharart.errors import ApplicationError

SALT = "deployments.preview"


def content_base_url() -> str:
    """Where deployed content is served: a separate content origin when configured."""
    return (settings.GHARART_CONTENT_ORIGIN or settings.GHARART_PUBLIC_URL).rstrip("/")


def preview_token(deployment_id: str) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object({"d": deployment_id})


def docs_preview_path(slug: str, token: str) -> str:
    return f"/_edge/docs/{slug}/_preview/{token}/"


def preview_url(deployment) -> tuple[str, datetime]:
    """A fresh signed preview URL for ``deployment`` and when it expires.

    A ``docs`` deployment previews under its handle's edge docs (``/_edge/docs/{handle}/
    _preview/{token}/``), where the docs access policy applies exactly as to the live docs:
    a preview link shows no one a page they could not read once it is live.
    """
    token = preview_token(deployment.id)
    expires_at = timezone.now() + settings.PREVIEW_URL_TTL
    if deployment.target == dc.TARGET_DOCS:
        return settings.GHARART_PUBLIC_URL.rstrip("/") + docs_preview_path(deployment.handle.slug, token), expires_at
    return f"{content_base_url()}/previews/{token}/", expires_at


def preview_host_url(deployment) -> str | None:
    """``{scheme}://{id}--{handle}.{sites domain}/?preview_token=...`` for a ready site deployment."""
    from domains import names

    if deployment.state != dc.READY or deployment.target != dc.TARGET_SITE:
        return None
    host = names.preview_host(deployment.id, deployment.handle.slug)
    return names.site_url(host, f"/?preview_token={preview_token(deployment.id)}")


def preview_grant(token: str) -> tuple[str, datetime]:
    """The deployment ID a valid token grants and when the grant ends (errors as below)."""
    deployment_id = preview_deployment_id(token)
    issued = signing.b62_decode(token.rsplit(":", 2)[-2])
    return deployment_id, datetime.fromtimestamp(issued, tz=UTC) + settings.PREVIEW_URL_TTL


def preview_deployment_id(token: str) -> str:
    """The deployment ID a token grants, or 404 ``preview_not_found`` / 403 ``preview_expired``."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        data = signer.unsign_object(token, max_age=settings.PREVIEW_URL_TTL)
    except signing.SignatureExpired:
        raise ApplicationError(dc.PREVIEW_EXPIRED, "This preview link has expired. Open the preview report again for a new one.", status=403)
    except (signing.BadSignature, ValueError, TypeError, UnicodeDecodeError):
        raise ApplicationError(dc.PREVIEW_NOT_FOUND, "No such preview.", status=404)
    if not isinstance(data, dict) or not isinstance(data.get("d"), str):
        raise ApplicationError(dc.PREVIEW_NOT_FOUND, "No such preview.", status=404)
    return data["d"]
