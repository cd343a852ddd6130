"""A loopback authoritative DNS server (dnslib) and site-host clients for the domains tests."""

import threading

import pytest
from django.test import Client

from gharart import constants as gc
from tests.deployments.conftest import SITE, publish  # noqa: F401  (shared site builders)

SITES = "sites.gharart.com"


class Zone:
    """TXT records the server answers, editable while it runs: ``zone.txt[name] = [values]``."""

    def __init__(self):
        self.txt = {}
        self.queries = []
        self._lock = threading.Lock()

    def resolve(self, request, handler):
        from dnslib import QTYPE, RCODE, RR, TXT

        reply = request.reply()
        reply.header.aa = 1
        qname = str(request.q.qname).rstrip(".").lower()
        with self._lock:
            self.queries.append(qname)
            values = self.txt.get(qname)
        if values is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for value in values:
                reply.add_answer(RR(qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
        return reply


@pytest.fixture
def dns_zone(settings):
    """An authoritative DNS server on a free loopback UDP port; lookups go to it."""
    from dnslib.server import DNSLogger, DNSServer

    zone = Zone()
    server = DNSServer(zone, address="127.0.0.1", port=0, logger=DNSLogger(logf=lambda s: None))
    port = server.server.server_address[1]
    server.start_thread()
    settings.GHARART_DNS_NAMESERVERS = f"127.0.0.1:{port}"
    try:
        yield zone
    finally:
        server.stop()
        server.server.server_close()
        server.thread.join(5)


def host_client(host, **kwargs):
    """A test client whose requests carry ``Host: host``."""
    return Client(HTTP_HOST=host, **kwargs)


@pytest.fixture
def live_site(handle):
    handle.site_mode = gc.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    return publish(handle, ROOT_SITE)


ROOT_SITE = {
    "index.html": b"<!doctype html><title>Acme home</title><link rel=stylesheet href=/css/site.css><a href='/about.html'>About</a><a href='/products/'>Products</a>",
    "about.html": b"<!doctype html><title>About Acme</title><p>We make things.</p>",
    "products/index.html": b"<!doctype html><title>Products</title><ul><li>Lamp</li></ul>",
    "404.html": b"<!doctype html><title>Not here</title><p>Lost?</p>",
    "css/site.css": b"body { color: #222; }\n",
    "data.json": b'{"items": [1, 2, 3]}',
    "admin/index.html": b"<!doctype html><title>The site's own admin page</title>",
}
