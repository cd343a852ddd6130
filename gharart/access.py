"""Who may do what on a handle: membership, role and PAT scope, checked in one place.

Order of checks (so nothing leaks): unauthenticated -> 401; not a member (or a PAT bound
to another handle) -> 404 ``handle_not_found``; member without the role -> 403
``forbidden``; PAT without the scope -> 403 ``insufficient_scope``.
"""

from dataclasses import dataclass

from gharart import constants as c
from gharart.errors import ApplicationError
from gharart.models import PersonalAccessToken
from gharart.selectors import membership_get


@dataclass(frozen=True)
class Access:
    roles: frozenset
    scope: str | None


def handle_not_found(slug):
    return ApplicationError(c.HANDLE_NOT_FOUND, f"No handle '{slug}' is visible to you.", status=404)


def check_scope(auth, scope):
    """A PAT must carry ``scope``; JWTs and sessions act with the user's full role."""
    if scope and isinstance(auth, PersonalAccessToken) and scope not in auth.scopes:
        raise ApplicationError(
            c.INSUFFICIENT_SCOPE,
            f"This token lacks the '{scope}' scope.",
            status=403,
            details={"required_scope": scope},
        )


def refuse_personal_access_token(auth):
    """Managing credentials needs a session or a JWT: a PAT, whatever its scopes, is 403."""
    if isinstance(auth, PersonalAccessToken):
        raise ApplicationError(
            c.FORBIDDEN,
            "A personal access token cannot manage tokens. Sign in to the dashboard or use a JWT.",
            status=403,
            details={"reason": "personal_access_token"},
        )


def check_handle_access(*, user, auth, slug, access: Access):
    """Return the caller's membership on ``slug`` or raise the contract's error."""
    membership = membership_get(user=user, slug=slug)
    if membership is None:
        raise handle_not_found(slug)
    if isinstance(auth, PersonalAccessToken) and auth.handle_id is not None and auth.handle_id != membership.handle_id:
        raise handle_not_found(slug)
    if membership.role not in access.roles:
        raise ApplicationError(c.FORBIDDEN, "Your role on this handle does not allow this action.", status=403, details={"role": membership.role})
    check_scope(auth, access.scope)
    return membership


def role_allows(membership, roles):
    return membership is not None and membership.role in roles


def access_allows(*, membership, auth, access: Access) -> bool:
    """True when this membership and credential could perform an action needing ``access``."""
    if membership is None or membership.role not in access.roles:
        return False
    return not (access.scope and isinstance(auth, PersonalAccessToken) and access.scope not in auth.scopes)


def handle_access_allows(*, user, auth, handle, access: Access) -> bool:
    """True when this caller would pass ``check_handle_access`` on ``handle`` (for routes that
    answer something else instead of the error, e.g. an anonymous-looking reply)."""
    if not getattr(user, "is_authenticated", False):
        return False
    try:
        check_handle_access(user=user, auth=auth, slug=handle.slug, access=access)
    except ApplicationError:
        return False
    return True
