"""Parsing and validating the hostnames a handle may crawl."""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from siteintel import constants as c

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidHostname(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    """A crawlable site: its netloc, scheme, and whether it is the handle's own profile site."""

    hostname: str
    scheme: str
    internal: bool

    @property
    def start_url(self):
        return f"{self.scheme}://{self.hostname}/"


def sites_hostname(handle):
    return f"{handle.slug}.{settings.GHARART_SITES_DOMAIN}".lower()


def is_sites_hostname(hostname):
    """True for any host under the platform's own profile-site domain."""
    host = hostname.split(":", 1)[0].lower()
    domain = settings.GHARART_SITES_DOMAIN.lower()
    return host == domain or host.endswith("." + domain)


def parse_hostname(raw):
    """``"shop.example.com"``, ``"https://shop.example.com"`` or ``"http://host:8080"`` ->
    ``(scheme, netloc)`` in canonical form (lowercase, IDNA, no default port)."""
    raw = (raw or "").strip()
    if not raw:
        raise InvalidHostname("Enter a hostname, such as shop.example.com.")
    if len(raw) > 255:
        raise InvalidHostname("At most 255 characters.")
    text = raw if "://" in raw else f"https://{raw}"
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://[::1"
        raise InvalidHostname("The hostname is not valid.")
    scheme = parts.scheme.lower()
    if scheme not in (c.SCHEME_HTTP, c.SCHEME_HTTPS):
        raise InvalidHostname("Only http and https sites can be crawled.")
    if parts.username or parts.password:
        raise InvalidHostname("A hostname cannot contain a user name or password.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidHostname("Enter just the hostname, without a path.")
    try:
        port = parts.port
    except ValueError:
        raise InvalidHostname("The port is not valid.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidHostname("Enter a hostname, such as shop.example.com.")
    if ":" in host:  # an IPv6 literal
        display = f"[{host}]"
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise InvalidHostname("The hostname is not valid.")
        if not all(_LABEL.match(label) for label in host.split(".")):
            raise InvalidHostname("The hostname is not valid.")
        if "." not in host:
            raise InvalidHostname("Enter a full hostname, such as shop.example.com.")
        display = host
    default_port = 443 if scheme == c.SCHEME_HTTPS else 80
    netloc = display if port in (None, default_port) else f"{display}:{port}"
    return scheme, netloc
