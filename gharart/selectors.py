"""Reads for handles, memberships and tokens."""

from gharart.models import AuditEvent, Membership, PersonalAccessToken


def membership_get(*, user, slug):
    """The user's membership on the handle ``slug``, or None (also for unknown handles)."""
    if user is None or not user.is_authenticated:
        return None
    return Membership.objects.select_related("handle").filter(user=user, handle__slug=slug).first()




def membership_list_for_user(*, user):
    return Membership.objects.filter(user=user).select_related("handle").order_by("handle__slug")


def token_list(*, user):
    return PersonalAccessToken.objects.filter(user=user).select_related("handle").order_by("-created_at")


def audit_list(*, handle, action=None):
    events = AuditEvent.objects.filter(handle=handle).select_related("actor").order_by("-created_at", "-pk")
    if action:
        events = events.filter(action=action)
    return events


def audit_actions(*, handle):
    """The actions that occur in the handle's audit log (for the filter)."""
    return sorted(set(AuditEvent.objects.filter(handle=handle).values_list("action", flat=True)))
