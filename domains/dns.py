"""Reading a TXT record with dnspython, from ``GHARART_DNS_NAMESERVERS`` when it is set.

``GHARART_DNS_NAMESERVERS`` is comma-separated ``ip`` or ``ip:port`` (``[v6]:port`` for
IPv6); without it the system resolver configuration is used. Lookups are bounded in time.
"""

import dns.exception
import dns.nameserver
import dns.resolver
from django.conf import settings

from domains import constants as domc


class LookupFailed(Exception):
    """The TXT record could not be read (no such name, no answer, timeout, bad server)."""


def parse_nameservers(value: str) -> list[tuple[str, int]]:
    servers = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else 53
        elif item.count(":") == 1:
            host, port = item.split(":")
            port = int(port)
        else:
            host, port = item, 53
        servers.append((host, port))
    return servers


def _resolver() -> dns.resolver.Resolver:
    servers = parse_nameservers(settings.GHARART_DNS_NAMESERVERS)
    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in servers]
    else:
        resolver = dns.resolver.Resolver()
    resolver.timeout = domc.DNS_TIMEOUT_SECONDS
    resolver.lifetime = domc.DNS_TIMEOUT_SECONDS
    resolver.cache = None  # a record just added must be seen at once
    return resolver


def txt_values(name: str) -> list[str]:
    """Every TXT string at ``name`` (the character-strings of one record joined), or LookupFailed."""
    try:
        answer = _resolver().resolve(name, "TXT", raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        raise LookupFailed(f"{name} does not exist in DNS")
    except (dns.exception.Timeout, dns.resolver.LifetimeTimeout):
        raise LookupFailed(f"the DNS look-up of {name} timed out")
    except (dns.resolver.NoNameservers, dns.resolver.YXDOMAIN, dns.exception.DNSException) as exc:
        raise LookupFailed(f"the DNS look-up of {name} failed ({exc.__class__.__name__})")
    if answer.rrset is None:
        return []
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer.rrset]
