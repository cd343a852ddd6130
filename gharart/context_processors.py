from django.db import DatabaseError

from gharart.dashboard import SWAPPED_STATUSES
from gharart.request_id import request_id_for
from gharart.selectors import membership_list_for_user


def dashboard(request):
    user = getattr(request, "user", None)
    memberships = []
    if user is not None and user.is_authenticated:
        try:
            memberships = list(membership_list_for_user(user=user))
        except DatabaseError:  # error pages must render even when the database is down
            memberships = []
    return {
        "request_id": request_id_for(request),
        "swapped_statuses": " ".join(str(status) for status in SWAPPED_STATUSES),
        "my_memberships": memberships,
        "current_handle": getattr(request, "handle", None),
        "current_membership": getattr(request, "membership", None),
    }
