"""Writes for handles, memberships, personal access tokens and the audit log."""

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from gharart import constants as c
from gharart.errors import ApplicationError
from gharart.models import AuditEvent, Handle, Membership, PersonalAccessToken, hash_token
from gharart.request_id import current_request_id

PAT_PREFIX = "ghp_"


@transaction.atomic
def handle_create(*, slug, display_name="", owner=None, bio="", links=None):
    """Create a handle (and its owner's membership). Refuses an existing slug."""
    if Handle.objects.filter(slug=slug).exists():
        raise ApplicationError("handle_exists", f"The handle '{slug}' already exists.", status=409)
    handle = Handle(slug=slug, display_name=display_name or slug, bio=bio, links=links or [])
    handle.full_clean()
    handle.save()
    if owner is not None:
        membership_set(handle=handle, user=owner, role=c.OWNER)
    return handle


@transaction.atomic
def membership_set(*, handle, user, role):
    """Give ``user`` exactly ``role`` on ``handle`` (creating the membership if needed)."""
    if role not in c.ALL_ROLES:
        raise ApplicationError(c.VALIDATION_ERROR, f"Unknown role '{role}'.", details={"role": [f"Choose one of {sorted(c.ALL_ROLES)}."]})
    membership, _ = Membership.objects.update_or_create(handle=handle, user=user, defaults={"role": role})
    return membership


def user_get_or_create(*, username, password=None, email=""):
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    return user, created


def user_password_change(*, user, password):
    """Set a new password. Because sessions and JWTs carry a digest of the password hash,
    every other session and every token issued before ends with it (as after a change in
    the admin or ``manage.py changepassword``)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(action=c.AUDIT_PASSWORD_CHANGE, actor=user, target=f"user:{user.pk}")
    return user


def audit_record(*, action, actor=None, handle=None, target="", before=None, after=None):
    """Append one audit event, tagged with the current request ID."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        handle=handle,
        target=str(target)[:200],
        before=before,
        after=after,
        request_id=current_request_id() if current_request_id() != "-" else "",
    )


@transaction.atomic
def token_create(*, user, name, scopes, handle=None, expires_at=None):
    """Create a personal access token. Returns ``(token, secret)``; the secret is never stored."""
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["A token needs a name."]
    elif len(name) > 100:
        errors["name"] = ["At most 100 characters."]
    scopes = list(dict.fromkeys(scopes or []))
    unknown = [s for s in scopes if s not in c.ALL_SCOPES]
    if not scopes:
        errors["scopes"] = ["Pick at least one scope."]
    elif unknown:
        errors["scopes"] = [f"Unknown scope: {', '.join(unknown)}."]
    if handle is not None and not Membership.objects.filter(handle=handle, user=user).exists():
        errors["handle"] = ["You are not a member of this handle."]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = ["The expiry must be in the future."]
    if errors:
        raise ApplicationError(c.VALIDATION_ERROR, "The token could not be created.", details=errors)
    secret = PAT_PREFIX + secrets.token_urlsafe(32)
    token = PersonalAccessToken.objects.create(
        user=user,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:12],
        scopes=scopes,
        handle=handle,
        expires_at=expires_at,
    )
    audit_record(action=c.AUDIT_TOKEN_CREATE, actor=user, handle=handle, target=token.id, after={"name": name, "scopes": scopes})
    return token, secret


@transaction.atomic
def token_revoke(*, user, token_id):
    token = PersonalAccessToken.objects.select_for_update().filter(user=user, id=token_id).first()
    if token is None:
        raise ApplicationError(c.TOKEN_NOT_FOUND, "No such token.", status=404)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(action=c.AUDIT_TOKEN_REVOKE, actor=user, handle=token.handle, target=token.id, before={"name": token.name})
    return token


def _link_text(link):
    return str(link.get("label", "")).strip(), str(link.get("url", "")).strip()


def links_check(*, links) -> dict:
    """{row number (from 1): what is wrong} of the links page rows that cannot be saved."""
    problems = {}
    for i, link in enumerate(links or []):
        label, url = _link_text(link)
        if (label or url) and (not label or not url.startswith(("https://", "http://", "mailto:"))):
            problems[i + 1] = f"Link {i + 1} needs a label and an http(s) or mailto: URL."
    return problems


def handle_profile_update(*, handle, display_name, bio, links):
    """Update the links page content (display name, bio, links)."""
    problems = links_check(links=links)
    if problems:
        raise ApplicationError(c.VALIDATION_ERROR, "The links could not be saved.", details={"links": list(problems.values())})
    clean_links = [{"label": label[:80], "url": url[:500]} for label, url in map(_link_text, links or []) if label or url]
    handle.display_name = (display_name or "").strip()[:120] or handle.slug
    handle.bio = (bio or "").strip()[:2000]
    handle.links = clean_links
    handle.save(update_fields=["display_name", "bio", "links"])
    return handle
