"""Reads of custom domains."""

from domains import constants as domc
from domains.models import CustomDomain
from gharart.errors import ApplicationError


def domain_list(*, handle):
    return CustomDomain.objects.filter(handle=handle)


def domain_get(*, handle, domain: str) -> CustomDomain:
    """The handle's custom domain ``domain`` or 404 ``domain_not_found``."""
    found = CustomDomain.objects.filter(handle=handle, domain=(domain or "").strip().lower().rstrip(".")).first()
    if found is None:
        raise ApplicationError(domc.DOMAIN_NOT_FOUND, f"{domain} is not a custom domain of this handle.", status=404)
    return found


def domain_on_host(name: str) -> tuple[str, str] | None:
    """``(handle slug, status)`` of the custom domain ``name``, or None when no handle added it.

    Read from the database on every request to such a host (one indexed row), so removal
    and a lapsed verification take effect at once in every process.
    """
    return CustomDomain.objects.filter(domain=name).values_list("handle__slug", "status").first()


def serving_handle_slug(name: str) -> str | None:
    """The slug of the handle a verified custom domain ``name`` serves, else None."""
    found = domain_on_host(name)
    return found[0] if found is not None and found[1] in domc.SERVING_STATUSES else None
