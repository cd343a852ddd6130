"""SSRF guard: which addresses a crawl may connect to, and a transport that connects there.

A hostname is allowed only when EVERY address it resolves to (A and AAAA) is a public
unicast address. The transport resolves once, checks, and connects to that very address
(keeping the Host header and TLS SNI of the name), so a DNS answer that changes between
the check and the connection (rebinding) cannot redirect the request. Each request through
the transport is checked, so every redirect hop is checked too.

``SITEINTEL_ALLOW_PRIVATE_NETWORKS`` turns the address check off (dev and tests only).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

import httpx
from django.conf import settings

ALLOWED_SCHEMES = ("http", "https")


class HostnameNotAllowed(Exception):
    """The URL may not be fetched: wrong scheme, or a non-public address."""

    def __init__(self, host, reason, address=None):
        self.host = host
        self.reason = reason
        self.address = address
        super().__init__(f"{host}: {reason}" + (f" ({address})" if address else ""))


class ResolutionFailed(Exception):
    """The hostname does not resolve."""


def resolve_host(host, port):
    """Every address ``host`` resolves to (A and AAAA), as strings. Tests may replace this."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolutionFailed(str(exc)) from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def address_allowed(address) -> bool:
    """True only for a public unicast address."""
    ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return False
    # Catches what the flags above leave out (shared address space 100.64/10, 6to4 relays...).
    return ip.is_global


def _allow_private(allow_private):
    return settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS if allow_private is None else allow_private


def checked_addresses(host, port, *, allow_private=None):
    """Resolve ``host`` and return its addresses, or raise if any is not allowed.

    Raises ``ResolutionFailed`` when it does not resolve, ``HostnameNotAllowed`` when one
    of its addresses is private, loopback, link-local, reserved, multicast or unspecified.
    """
    host = (host or "").strip("[]").lower()
    if not host:
        raise HostnameNotAllowed(host, "no host")
    try:
        literal = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        literal = None
    addresses = [str(literal)] if literal is not None else resolve_host(host, port)
    if not addresses:
        raise ResolutionFailed(f"{host} has no addresses")
    if not _allow_private(allow_private):
        for address in addresses:
            if not address_allowed(address):
                raise HostnameNotAllowed(host, "non-public address", address)
    return addresses


def check_url(url, *, allow_private=None):
    """Check a URL's scheme and host; returns the addresses it may be fetched from."""
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES:
        raise HostnameNotAllowed(parts.hostname or "", f"scheme '{parts.scheme}' is not allowed")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise HostnameNotAllowed(parts.hostname or "", "invalid port")
    return checked_addresses(parts.hostname, port, allow_private=allow_private)


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport that connects only to checked addresses.

    The request URL's host is replaced by the checked address; the Host header (set by
    httpx from the original URL) and the TLS server name (``sni_hostname``) keep the name,
    so virtual hosting and certificate verification work as usual.
    """

    def __init__(self, *, allow_private=None, **transport_kwargs):
        self.allow_private = allow_private
        self._inner = httpx.HTTPTransport(**transport_kwargs)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ALLOWED_SCHEMES:
            raise HostnameNotAllowed(url.host, f"scheme '{url.scheme}' is not allowed")
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = checked_addresses(url.host, port, allow_private=self.allow_private)
        # Every address was checked; try them in the resolver's order (e.g. IPv6 then IPv4).
        for index, address in enumerate(addresses):
            pinned = httpx.Request(
                request.method,
                url.copy_with(host=address),
                headers=request.headers,
                stream=request.stream,
                extensions={**request.extensions, "sni_hostname": url.host},
            )
            try:
                return self._inner.handle_request(pinned)
            except httpx.ConnectError:
                if index == len(addresses) - 1:
                    raise

    def close(self):
        self._inner.close()
