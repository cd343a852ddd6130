"""SSRF guard: which addresses a crawl may connect to, and a transport that connects there.

A hostname is allowed only when EVERY address it resolves to (A and AAAA) is a public
unicast address. The transport resolves once, checks, and connects to that very address
(keeping the Host header and TLS SNI of the name), so a DNS answer that changes between
the check and the connection (rebinding) cannot redirect the request. Each request through
the transport is checked, so every redirect hop is checked too.

During a crawl (``GuardedTransport.resolution_cache()``), a name's checked addresses are
kept for ``RESOLUTION_CACHE_SECONDS``: the crawl's pages connect to the addresses that
were checked once, instead of asking the resolver (and checking) again for every URL. Only
checked answers are kept, so a later answer (a rebinding included) is never used; outside a
crawl every request resolves and checks again.

``SITEINTEL_ALLOW_PRIVATE_NETWORKS`` turns the address check off (dev and tests only).
"""

import contextlib
import ipaddress
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings

ALLOWED_SCHEMES = ("http", "https")
# How long a crawl keeps a name's checked addresses.
RESOLUTION_CACHE_SECONDS = 60.0


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


# Ranges the flags of ``ipaddress`` call global that a crawl must still not reach.
_BLOCKED_V4 = (
    ipaddress.ip_network("192.88.99.0/24"),  # 6to4 relay anycast (RFC 7526): a relay, not a site
)
# IPv6 forms that carry an IPv4 address: the IPv4 decides.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix, IPv4 in the last 32 bits
_V4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT (RFC 2765)
# IPv6 forms refused whatever they embed.
_REFUSED_V6 = (
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215): a private translator
    ipaddress.ip_network("::/96"),  # IPv4-compatible (deprecated, RFC 4291), :: and ::1 included
)


def _flags_allowed(ip) -> bool:
    if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return False
    # Catches what the flags above leave out (shared address space 100.64/10, ...).
    return ip.is_global


def _v4_allowed(ip) -> bool:
    return _flags_allowed(ip) and not any(ip in net for net in _BLOCKED_V4)


def embedded_ipv4(ip) -> list:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64, SIIT, ISATAP)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)  # the Teredo server and the (de-obfuscated) client
    if ip in _NAT64 or ip in _V4_TRANSLATED:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if (int(ip) >> 32) & 0xFDFFFFFF == 0x00005EFE:  # ISATAP interface ID (::0:5efe:a.b.c.d, ::200:5efe:...)
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def address_allowed(address) -> bool:
    """True only for a public unicast address.

    An IPv6 address that embeds an IPv4 one (IPv4-mapped, 6to4 ``2002::/16``, Teredo
    ``2001::/32``, NAT64 ``64:ff9b::/96``, SIIT, ISATAP) is judged by every IPv4 it
    carries, since a relay or translator would connect there. IPv4-compatible ``::/96``
    and local-use NAT64 ``64:ff9b:1::/48`` are refused whatever they carry.
    """
    ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_allowed(ip)
    if any(ip in net for net in _REFUSED_V6):
        return False
    carried = embedded_ipv4(ip)
    if not carried:
        return _flags_allowed(ip)
    if not all(_v4_allowed(v4) for v4 in carried):
        return False
    # Mapped, 6to4, Teredo, NAT64 and SIIT are judged by what they carry; an ISATAP
    # address must also be a public IPv6 address itself.
    interface_form = ip.ipv4_mapped is None and ip.sixtofour is None and ip.teredo is None and ip not in _NAT64 and ip not in _V4_TRANSLATED
    return _flags_allowed(ip) if interface_form else True


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
        self._cache = None  # {(host, port, allow_private): (expires, addresses)} during a crawl
        self._cache_lock = threading.Lock()

    @contextlib.contextmanager
    def resolution_cache(self, seconds=RESOLUTION_CACHE_SECONDS):
        """Keep each name's checked addresses for ``seconds`` while the block runs (a crawl)."""
        with self._cache_lock:
            self._cache = {}
        self._cache_seconds = seconds
        try:
            yield self
        finally:
            with self._cache_lock:
                self._cache = None

    def _addresses(self, host, port):
        allow = _allow_private(self.allow_private)
        with self._cache_lock:
            cache = self._cache
            hit = cache.get((host, port, allow)) if cache is not None else None
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        addresses = checked_addresses(host, port, allow_private=allow)  # raises for what is refused
        if cache is not None:
            with self._cache_lock:
                cache[(host, port, allow)] = (time.monotonic() + self._cache_seconds, addresses)
        return addresses

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ALLOWED_SCHEMES:
            raise HostnameNotAllowed(url.host, f"scheme '{url.scheme}' is not allowed")
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = self._addresses(url.host, port)
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
