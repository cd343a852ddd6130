"""Reads of custom domains."""

from domains import constants as dc
from domains.models import CustomDomain
from gharart.errors import ApplicationError


def domain_list(*, handle):
    return CustomDomain.objects.filter(handle=handle)


def domain_get(*, handle, domain: str) -> CustomDomain:
    """The handle's custom domain ``domain`` or 404 ``domain_not_found``."""
    found = CustomDomain.objects.filter(handle=handle, domain=(domain or "").strip().lower().rstrip(".")).first()
    if found is None:
        raise ApplicationError(dc.DOMAIN_NOT_FOUND, f"{domain} is not a custom domain of this handle.", status=404)
    return found


def serving_handle_slug(name: str) -> str | None:
    """The slug of the handle a verified custom domain ``name`` serves, else None.

    Read from the database on every request (one indexed row), so removal and a lapsed
    verification take effect at once in every process.
    """
    return (
        CustomDomain.objects.filter(domain=name, status__in=dc.SERVING_STATUSES)
        .values_list("handle__slug", flat=True)
        .first()
    )
