"""SSRF safety: which addresses a crawl may reach, checked on every connection and hop."""

import ipaddress

import pytest

from gharart import constants as gc
from siteintel import constants as c
from siteintel import crawler, netguard
from siteintel.models import Hostname
from tests.conftest import assert_error


@pytest.fixture
def fake_dns(monkeypatch):
    """Replace the resolver: ``fake_dns["name"] = ["addr", ...]``; other names use the real one."""
    table = {}
    real = netguard.resolve_host

    def resolve(host, port):
        if host in table:
            return list(table[host])
        return real(host, port)

    monkeypatch.setattr(netguard, "resolve_host", resolve)
    return table


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "10.255.1.2", "172.16.0.1", "192.168.1.1",
    "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "ff02::1",
])
def test_non_public_addresses_are_refused(address):
    assert not netguard.address_allowed(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert netguard.address_allowed(address)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/",
    "http://10.1.2.3:8080/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://localhost/",
])
def test_check_url_refuses_private_targets(url, settings):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(netguard.HostnameNotAllowed):
        netguard.check_url(url)


def test_a_hostname_resolving_to_a_private_address_is_refused(fake_dns, settings):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    fake_dns["intranet.example.com"] = ["10.0.0.7"]
    with pytest.raises(netguard.HostnameNotAllowed) as exc:
        netguard.check_url("https://intranet.example.com/")
    assert exc.value.address == "10.0.0.7"


def test_one_private_address_among_public_ones_is_enough_to_refuse(fake_dns, settings):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    fake_dns["mixed.example.com"] = ["93.184.216.34", "127.0.0.1"]
    with pytest.raises(netguard.HostnameNotAllowed):
        netguard.check_url("https://mixed.example.com/")


def test_only_http_and_https(settings):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = True
    for url in ("ftp://example.com/", "file:///etc/passwd", "gopher://example.com/"):
        with pytest.raises(netguard.HostnameNotAllowed):
            netguard.check_url(url)


def test_the_switch_allows_private_addresses(settings):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = True
    assert netguard.check_url("http://127.0.0.1:9/") == ["127.0.0.1"]


def test_a_crawl_records_the_refusal_as_a_page_error(site, settings):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    site.page("/", "Home", [])
    records = []
    fetcher = crawler.HttpFetcher()
    crawler.crawl(site.url("/"), fetcher=fetcher, max_pages=5, max_depth=2, on_page=lambda r, *a: records.append(r))
    assert [(r.path, r.status, r.error) for r in records] == [("/", None, c.PAGE_HOSTNAME_NOT_ALLOWED)]
    assert site.hits == []  # nothing reached the server, not even robots.txt


def test_the_transport_connects_to_the_checked_address_and_keeps_the_host_name(site, fake_dns, monkeypatch, settings):
    """The name resolves once; the connection goes to that address with the name as Host."""
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = True
    fake_dns["shop.test"] = ["127.0.0.1"]
    site.page("/", "Home", [])
    fetcher = crawler.HttpFetcher()
    fetched = fetcher.fetch(f"http://shop.test:{site.port}/")
    fetcher.close()
    assert fetched.status == 200
    assert site.host_headers == [f"shop.test:{site.port}"]


def test_a_redirect_from_a_public_host_to_a_private_address_is_refused(site, fake_dns, monkeypatch, settings):
    """With the switch off, a first hop that passes the check (a "public" name, made so by
    the test's resolver and address policy) redirects to private targets: every hop is
    checked again, so none of them is requested."""
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    real_allowed = netguard.address_allowed
    # The test server's own address stands in for a public one; nothing else is allowed.
    monkeypatch.setattr(netguard, "address_allowed", lambda a: a == "127.0.0.1" or real_allowed(a))
    fake_dns["public.test"] = ["127.0.0.1"]
    fake_dns["internal.test"] = ["10.0.0.5"]
    site.page("/", "Home", ["/to-metadata", "/to-loopback", "/to-internal-name", "/to-v6"])
    site.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/")
    site.redirect("/to-loopback", f"http://127.0.0.2:{site.port}/admin")
    site.redirect("/to-internal-name", "http://internal.test/")
    site.redirect("/to-v6", "http://[::1]/")
    records = {}
    fetcher = crawler.HttpFetcher()
    crawler.crawl(f"http://public.test:{site.port}/", fetcher=fetcher, max_pages=10, max_depth=2, on_page=lambda r, *a: records.setdefault(r.path, r))
    fetcher.close()
    assert records["/"].status == 200
    for path in ("/to-metadata", "/to-loopback", "/to-internal-name", "/to-v6"):
        page = records[path]
        assert page.error == c.PAGE_HOSTNAME_NOT_ALLOWED, path
        assert page.status is None
        assert page.redirect_chain[0]["status"] == 302
    assert "/admin" not in site.hits


def test_one_resolution_serves_both_the_check_and_the_connection(site, monkeypatch, settings):
    """DNS rebinding: a name that answers a public address to the check and a private one
    afterwards never gets the private one used, because the connection goes to the
    address that was checked."""
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    real_allowed = netguard.address_allowed
    monkeypatch.setattr(netguard, "address_allowed", lambda a: a == "127.0.0.1" or real_allowed(a))
    answers = [["127.0.0.1"], ["10.0.0.9"], ["10.0.0.9"]]
    calls = []

    def rebinding(host, port):
        calls.append(host)
        return answers[min(len(calls) - 1, 2)]

    monkeypatch.setattr(netguard, "resolve_host", rebinding)
    site.page("/", "Home", [])
    fetcher = crawler.HttpFetcher()
    first = fetcher.fetch(f"http://rebind.test:{site.port}/")
    second = fetcher.fetch(f"http://rebind.test:{site.port}/")
    fetcher.close()
    assert first.status == 200 and first.error == ""
    assert second.status is None and second.error == c.PAGE_HOSTNAME_NOT_ALLOWED
    assert calls == ["rebind.test", "rebind.test"]  # one lookup per request, none behind the check's back
    assert site.hits == ["/"]


# IPv6 forms that carry an IPv4 address are judged by that address (issue 12, item 11).
TRANSITION_TO_PRIVATE = [
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254 (cloud metadata)
    "2002:c0a8:101::",  # 6to4 of 192.168.1.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
    "64:ff9b::10.0.0.1",  # NAT64, dotted form
    "64:ff9b:1::808:808",  # local-use NAT64: refused whatever it carries
    "64:ff9b:1:7f00:1::",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001:0:808:808::3f57:fefe",  # Teredo, client 192.168.1.1
    "2001:0:a00:1::f7f7:f7f7",  # Teredo, server 10.0.0.1
    "::127.0.0.1",  # IPv4-compatible
    "::8.8.8.8",  # IPv4-compatible: deprecated, refused whatever it carries
    "::ffff:169.254.169.254",  # IPv4-mapped
    "::ffff:0:7f00:1",  # SIIT IPv4-translated
    "2606:4700::5efe:7f00:1",  # ISATAP interface of 127.0.0.1
    "192.88.99.1",  # the 6to4 relay anycast range itself
    "2002:c058:6301::1",  # 6to4 of that relay range
]
TRANSITION_TO_PUBLIC = ["2002:808:808::1", "64:ff9b::808:808", "2001:0:808:808::f7f7:f7f7", "::ffff:8.8.8.8", "2606:4700::200:5efe:808:808"]


@pytest.mark.parametrize("address", TRANSITION_TO_PRIVATE)
def test_transition_forms_of_private_addresses_are_refused(address):
    assert not netguard.address_allowed(address)


@pytest.mark.parametrize("address", TRANSITION_TO_PUBLIC)
def test_transition_forms_of_public_addresses_are_judged_by_what_they_carry(address):
    assert netguard.address_allowed(address)


@pytest.mark.parametrize("address", ["2002:7f00:1::1", "64:ff9b::a9fe:a9fe", "2001:0:4136:e378:8000:63bf:80ff:fffe", "192.88.99.1"])
def test_transition_forms_are_refused_at_registration(api, users, fake_dns, settings, address):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    fake_dns["relay.example.com"] = [address]
    literal = f"[{address}]" if ":" in address else address
    for raw in (literal, "relay.example.com"):
        response = api(users[gc.OWNER]).post("/v2/handles/acme/site-intel/hostnames", {"hostname": raw}, format="json")
        err = assert_error(response, 422, c.HOSTNAME_NOT_ALLOWED)
        assert err["details"]["address"] == str(ipaddress.ip_address(address))
    assert not Hostname.objects.exists()


def test_transition_forms_are_refused_on_every_connection(site, fake_dns, settings):
    """A name that passed at registration and later resolves to a 6to4 form of loopback:
    the transport checks again and connects nowhere."""
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    fake_dns["moved.test"] = ["2002:7f00:1::1"]
    fetcher = crawler.HttpFetcher()
    try:
        with pytest.raises(netguard.HostnameNotAllowed) as exc:
            fetcher.client.get(f"http://moved.test:{site.port}/")
    finally:
        fetcher.close()
    assert exc.value.address == "2002:7f00:1::1"
    assert site.hits == []


def test_a_crawl_resolves_and_checks_its_host_once_and_connects_only_there(site, monkeypatch, settings):
    """Within one crawl the checked answer is kept: every page goes to the address that was
    checked, a later (rebound) answer is never asked for nor used, and the next crawl
    resolves and checks again."""
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    real_allowed = netguard.address_allowed
    monkeypatch.setattr(netguard, "address_allowed", lambda a: a == "127.0.0.1" or real_allowed(a))
    calls = []

    def resolve(host, port):
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["10.0.0.9"]

    monkeypatch.setattr(netguard, "resolve_host", resolve)
    site.page("/", "Home", ["/a", "/b"])
    site.page("/a", "A", ["/b"])
    site.page("/b", "B", [])
    fetcher = crawler.HttpFetcher()
    records = []
    crawler.crawl(f"http://cached.test:{site.port}/", fetcher=fetcher, max_pages=10, max_depth=3, on_page=lambda r, *a: records.append(r))
    assert sorted((r.path, r.status) for r in records) == [("/", 200), ("/a", 200), ("/b", 200)]
    assert calls == ["cached.test"]  # robots.txt and three pages: one lookup
    # A new crawl asks again, and refuses the private answer it now gets.
    records.clear()
    crawler.crawl(f"http://cached.test:{site.port}/", fetcher=fetcher, max_pages=10, max_depth=3, on_page=lambda r, *a: records.append(r))
    fetcher.close()
    assert calls == ["cached.test"] * 3  # robots.txt and the start page: a refusal is not kept
    assert [(r.path, r.status, r.error) for r in records] == [("/", None, c.PAGE_HOSTNAME_NOT_ALLOWED)]


def test_a_refused_answer_is_not_kept_for_the_rest_of_the_crawl(site, fake_dns, settings):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    fake_dns["private.test"] = ["10.0.0.4"]
    fetcher = crawler.HttpFetcher()
    with fetcher.crawl_session():
        assert fetcher.fetch(f"http://private.test:{site.port}/").error == c.PAGE_HOSTNAME_NOT_ALLOWED
        assert fetcher.fetch(f"http://private.test:{site.port}/").error == c.PAGE_HOSTNAME_NOT_ALLOWED
    fetcher.close()
    assert site.hits == []
