"""Host names: which site a ``Host`` names, the names of live and preview hosts, and
which custom domain names may be added (pure: no database, no network).

``GHARART_SITES_DOMAIN`` may carry a port (``localhost:8000`` in the embedded default);
hosts are compared by name only, so a proxy that drops or changes the port still matches.
"""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from domains import constants as domc

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_DEPLOYMENT_KEY = re.compile(r"^[a-z0-9]{1,40}$")
# Names a Host header never needs a database look-up for (the dashboard answers them).
_LOCAL_NAMES = {"localhost", "testserver"}


class InvalidDomain(ValueError):
    pass


@dataclass(frozen=True)
class SiteHost:
    """What a request's host names: ``kind`` is live, preview, custom or unknown."""

    kind: str
    host: str
    handle_slug: str = ""
    deployment_id: str = ""


def host_name(value: str) -> str:
    """``"Acme.Example.:8000"`` -> ``"acme.example"`` (lowercase, no port, no trailing dot)."""
    value = (value or "").strip().lower()
    if value.startswith("["):  # an IPv6 literal, with or without a port
        return value.split("]", 1)[0] + "]"
    return value.rsplit(":", 1)[0].rstrip(".") if value.count(":") == 1 else value.rstrip(".")


def sites_domain() -> str:
    """The sites domain as a host name (its port, if any, dropped)."""
    return host_name(settings.GHARART_SITES_DOMAIN)


def _sites_netloc() -> str:
    return settings.GHARART_SITES_DOMAIN.strip().lower().rstrip("/")


def sites_scheme() -> str:
    return settings.GHARART_SITES_SCHEME


def live_host(slug: str) -> str:
    """``{handle}.{GHARART_SITES_DOMAIN}`` (with the domain's port, if it has one)."""
    return f"{slug}.{_sites_netloc()}"


def preview_host(deployment_id: str, slug: str) -> str:
    """``{id without dep_}--{handle}.{GHARART_SITES_DOMAIN}``."""
    return f"{deployment_id.removeprefix('dep_')}{domc.PREVIEW_SEPARATOR}{slug}.{_sites_netloc()}"


def site_url(host: str, path: str = "/") -> str:
    return f"{sites_scheme()}://{host}{path}"


def dashboard_hosts() -> set[str]:
    """Host names of the dashboard itself: its public URL, the content origin, the exact
    names in ``ALLOWED_HOSTS`` (not patterns) and local names."""
    names = set(_LOCAL_NAMES)
    for url in (settings.GHARART_PUBLIC_URL, settings.GHARART_CONTENT_ORIGIN):
        if url:
            names.add(host_name(urlsplit(url).netloc))
    names.update(host_name(h) for h in settings.ALLOWED_HOSTS if h and h[0] not in ".*")
    return names


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def classify(host: str) -> SiteHost | None:
    """The site a host names under the sites domain, or None when it is not under it.

    Every name *below* the sites domain is a site host (an unknown one answers 404, never
    the dashboard); the sites domain itself is not (with the embedded ``localhost:{port}``
    that is where the dashboard lives).
    """
    name = host_name(host)
    suffix = "." + sites_domain()
    if not name.endswith(suffix):
        return None
    label = name[: -len(suffix)]
    if "." in label or not label:
        return SiteHost(kind=domc.HOST_UNKNOWN, host=name)
    key, sep, slug = label.partition(domc.PREVIEW_SEPARATOR)
    if sep:
        if _DEPLOYMENT_KEY.match(key) and _SLUG.match(slug):
            return SiteHost(kind=domc.HOST_PREVIEW, host=name, handle_slug=slug, deployment_id=f"dep_{key}")
        return SiteHost(kind=domc.HOST_UNKNOWN, host=name)
    if _SLUG.match(label):
        return SiteHost(kind=domc.HOST_LIVE, host=name, handle_slug=label)
    return SiteHost(kind=domc.HOST_UNKNOWN, host=name)


def may_be_custom(name: str) -> bool:
    """False for names that can never be a custom domain (so no database look-up is made)."""
    return bool(name) and "." in name and not is_ip(name) and name not in dashboard_hosts()


def normalize_domain(raw) -> str:
    """A custom domain as stored (lowercase ASCII, IDNA) or ``InvalidDomain`` saying why.

    Refused: a name under ``GHARART_SITES_DOMAIN`` (or the domain itself), the dashboard's
    own host, an IP address, a single label, a port, a path, a wildcard.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidDomain("Enter a domain name, such as www.brand.example.")
    text = raw.strip().lower().rstrip(".")
    if "://" in text or "/" in text or "?" in text or "#" in text:
        raise InvalidDomain("Enter just the domain name, without http:// or a path.")
    if is_ip(text):
        raise InvalidDomain("An IP address cannot be a custom domain: enter a domain name.")
    if ":" in text:
        raise InvalidDomain("Enter the domain name without a port.")
    if "*" in text:
        raise InvalidDomain("Wildcard domains cannot be added: add each name on its own.")
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidDomain("This is not a valid domain name.")
    if len(text) > 253:
        raise InvalidDomain("A domain name has at most 253 characters.")
    labels = text.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise InvalidDomain("This is not a valid domain name.")
    if len(labels) < 2:
        raise InvalidDomain("Enter a full domain name with a dot, such as www.brand.example.")
    if labels[-1].isdigit():
        raise InvalidDomain("This is not a valid domain name.")
    base = sites_domain()
    if text == base or text.endswith("." + base):
        raise InvalidDomain(f"Names under {base} are already this platform's site hosts.")
    if text in dashboard_hosts():
        raise InvalidDomain("This is the dashboard's own host name.")
    return text


def challenge_name(domain: str) -> str:
    return f"{domc.CHALLENGE_LABEL}.{domain}"
