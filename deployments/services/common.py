"""What the write modules share: refusals in the API's shape, the acting user and the
locked live pointer of a handle and target."""

from deployments.models import LivePointer
from gharart import constants as c
from gharart.errors import ApplicationError


def validation_error(message, **fields) -> ApplicationError:
    """A 400 ``validation_error`` with ``details`` ``{field: [messages]}``."""
    return ApplicationError(c.VALIDATION_ERROR, message, details={k: v if isinstance(v, list) else [v] for k, v in fields.items()})


def acting_user(actor):
    """The user to record as having acted: ``actor`` when signed in, else None."""
    return actor if getattr(actor, "is_authenticated", False) else None


def live_pointer_lock(*, handle, target) -> LivePointer:
    """The (handle, target) live pointer, created if needed and locked until commit."""
    LivePointer.objects.get_or_create(handle=handle, target=target)
    return LivePointer.objects.select_for_update().get(handle=handle, target=target)
