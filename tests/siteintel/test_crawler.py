"""The crawler against a real HTTP server on 127.0.0.1 (private networks allowed)."""

import hashlib

import httpx
import pytest

from siteintel import constants as c
from siteintel import crawler, netguard
from tests.siteintel.conftest import small_site


def run(site, path="/", **kwargs):
    records = []
    fetcher = crawler.HttpFetcher(allow_private=True)
    try:
        kwargs.setdefault("max_pages", 100)
        kwargs.setdefault("max_depth", 10)
        outcome = crawler.crawl(site.url(path), fetcher=fetcher, on_page=lambda r, done, found: records.append(r), **kwargs)
    finally:
        fetcher.close()
    return outcome, {r.path: r for r in records}, records


def test_crawl_is_breadth_first_same_host_and_records_every_field(site):
    small_site(site)
    outcome, pages, records = run(site, concurrency=1)
    assert [r.path for r in records] == ["/", "/a", "/b", "/missing", "/a/deep", "/gone", "/a/deeper"]
    assert outcome.stop_reason == c.STOP_COMPLETED
    assert outcome.pages_done == 7
    home = pages["/"]
    body = site.routes["/"][2]
    assert home.status == 200
    assert home.content_type.startswith("text/html")
    assert home.bytes == len(body)
    assert home.sha256 == hashlib.sha256(body).hexdigest()
    assert home.title == "Home"
    assert site.url("/a") in home.links and site.url("/private/secret") in home.links
    assert not any(link.startswith("mailto:") for link in home.links)
    assert home.response_ms is not None and home.redirect_chain == [] and home.error == ""
    assert [r.depth for r in records] == [0, 1, 1, 1, 2, 2, 3]
    # Never left the host.
    assert all(p.startswith("/") for p in site.hits)
    assert outcome.stats["external_links"] >= 1


def test_robots_txt_is_obeyed(site):
    small_site(site)
    outcome, pages, _ = run(site)
    assert "/private/secret" not in site.hits
    assert "/private/secret" not in pages
    assert outcome.stats["robots"] == "parsed"
    assert outcome.stats["robots_disallowed"] == 1


def test_robots_txt_that_errors_with_5xx_disallows_everything(site):
    small_site(site)
    site.routes["/robots.txt"] = (503, {}, b"down")
    outcome, pages, _ = run(site)
    assert pages == {}
    assert site.paths_hit() == []
    assert outcome.stats["robots"] == "unreachable"


def test_depth_limit(site):
    small_site(site)
    _, pages, _ = run(site, max_depth=1)
    assert set(pages) == {"/", "/a", "/b", "/missing"}
    assert "/a/deep" not in site.hits


def test_page_limit(site):
    small_site(site)
    outcome, pages, _ = run(site, max_pages=3, concurrency=1)
    assert list(pages) == ["/", "/a", "/b"]
    assert outcome.stop_reason == c.STOP_MAX_PAGES
    assert len(site.paths_hit()) == 3


def test_broken_links_are_recorded_with_their_status(site):
    small_site(site)
    _, pages, _ = run(site)
    assert pages["/missing"].status == 404 and pages["/missing"].is_broken
    assert pages["/gone"].status == 410 and pages["/gone"].is_broken
    assert not pages["/a"].is_broken


def test_redirects_are_followed_by_hand_and_recorded(site):
    site.page("/", "Home", ["/old"])
    site.redirect("/old", "/new", status=301)
    site.page("/new", "New", [])
    _, pages, _ = run(site)
    old = pages["/old"]
    assert old.status == 200 and old.title == "New"
    assert old.redirect_chain == [{"url": site.url("/old"), "status": 301, "location": site.url("/new")}]
    assert old.final_url == site.url("/new")


def test_a_redirect_loop_is_an_error_not_a_hang(site):
    site.page("/", "Home", ["/loop-a"])
    site.redirect("/loop-a", "/loop-b")
    site.redirect("/loop-b", "/loop-a")
    _, pages, _ = run(site)
    loop = pages["/loop-a"]
    assert loop.status is None and loop.error == c.PAGE_REDIRECT_LOOP and loop.is_broken
    assert [hop["status"] for hop in loop.redirect_chain] == [302, 302]


def test_at_most_n_redirects_are_followed(site, settings):
    settings.SITEINTEL_MAX_REDIRECTS = 3
    site.page("/", "Home", ["/r0"])
    for i in range(10):
        site.redirect(f"/r{i}", f"/r{i + 1}")
    _, pages, _ = run(site)
    assert pages["/r0"].error == c.PAGE_TOO_MANY_REDIRECTS
    assert site.hits.count("/r5") == 0


def test_a_body_over_the_limit_is_not_read_whole(site, settings):
    settings.SITEINTEL_MAX_BODY_BYTES = 1000
    site.page("/", "Home", ["/big"])
    site.routes["/big"] = (200, {"Content-Type": "text/html"}, b"<title>Big</title>" + b"x" * 50_000)
    _, pages, _ = run(site)
    big = pages["/big"]
    assert big.error == c.PAGE_BODY_TOO_LARGE and big.status == 200
    assert big.bytes <= 1000 and big.sha256 == ""


@pytest.mark.parametrize(("exc", "code"), [
    (netguard.HostnameNotAllowed("h", "private address"), c.PAGE_HOSTNAME_NOT_ALLOWED),
    (netguard.ResolutionFailed("h"), c.PAGE_DNS_ERROR),
    (httpx.ReadTimeout("slow"), c.PAGE_TIMEOUT),
    (httpx.ConnectError("refused"), c.PAGE_CONNECT_ERROR),
    (httpx.InvalidURL("bad"), c.PAGE_INVALID_URL),
    (httpx.RemoteProtocolError("garbled"), c.PAGE_PROTOCOL_ERROR),
])
def test_a_failed_request_records_its_page_error(exc, code):
    class Failing(crawler.Fetcher):
        def _request(self, url):
            raise exc

    page = Failing().fetch("https://example.test/")
    assert (page.status, page.error) == (None, code)
    assert page.response_ms is not None


def test_both_fetchers_cut_a_body_the_same_way():
    fetcher = crawler.Fetcher(max_body_bytes=5)
    assert fetcher._answer(200, {}, [b"abc", b"de"]) == (200, {}, b"abcde", False)
    assert fetcher._answer(200, {}, [b"abc", b"def", b"g"]) == (200, {}, b"abc", True)
    assert fetcher._answer(302, {"location": "/x"}, [b"moved"]) == (302, {"location": "/x"}, b"", False)


def test_links_come_from_a_real_html_parser(site):
    html = """<!doctype html><html><head><title> Many
      links </title><base href="/docs/"><link rel="stylesheet" href="style.css"><link rel="canonical" href="/canon"></head>
      <body><!-- <a href="/commented">no</a> --><a href='guide.html#part'>g</a><img src="/img/logo.png">
      <script>var s = '<a href="/in-script">no</a>';</script><a href="javascript:void(0)">j</a></body></html>"""
    site.routes["/"] = (200, {"Content-Type": "text/html"}, html.encode())
    _, pages, _ = run(site, max_depth=0)
    home = pages["/"]
    assert home.title == "Many links"
    # Every <link href> is checked (API.md, "Beyond link checking"), canonical included.
    assert set(home.links) == {site.url("/docs/style.css"), site.url("/canon"), site.url("/docs/guide.html"), site.url("/img/logo.png")}


def test_should_stop_is_checked_between_pages(site):
    small_site(site)
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 2

    outcome, pages, _ = run(site, concurrency=1, should_stop=stop)
    assert outcome.stop_reason == c.STOP_CANCELLED
    assert len(pages) == 2


def test_time_limit_stops_new_requests(site):
    small_site(site)
    outcome, pages, _ = run(site, max_seconds=0)
    assert outcome.stop_reason == c.STOP_TIME_LIMIT
    assert pages == {}


def test_a_resumed_crawl_does_not_fetch_recorded_pages_again(site):
    small_site(site)
    _, _, first = run(site, concurrency=1, max_pages=3)
    site.hits.clear()
    resume = [{"url": r.url, "depth": r.depth, "links": r.links} for r in first]
    outcome, pages, _ = run(site, concurrency=1, resume=resume)
    assert set(pages) == {"/missing", "/a/deep", "/gone", "/a/deeper"}
    assert outcome.pages_done == 7
    assert "/" not in site.hits and "/a" not in site.hits


def test_concurrency_and_politeness_settings_are_honoured(site):
    site.page("/", "Home", [f"/p{i}" for i in range(8)])
    for i in range(8):
        site.page(f"/p{i}", f"P{i}", [])
    outcome, pages, _ = run(site, concurrency=3, delay=0.01)
    assert outcome.pages_done == 9 and len(set(site.paths_hit())) == 9


@pytest.mark.parametrize("raw,expected", [
    ("HTTP://Example.COM:80/a#frag", "http://example.com/a"),
    ("https://example.com:443", "https://example.com/"),
    ("https://example.com:8443/x?y=1", "https://example.com:8443/x?y=1"),
    ("ftp://example.com/", None),
])
def test_url_normalization(raw, expected):
    assert crawler.normalize_url(raw) == expected


def test_a_start_page_that_moves_to_another_origin_of_the_host_is_followed_there(site):
    """Like http://host/ -> https://host/: the crawl continues on the final origin."""
    from http.server import ThreadingHTTPServer

    from tests.siteintel.conftest import Site, _handler

    moved = Site()
    moved.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(moved))
    import threading

    threading.Thread(target=moved.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        site.redirect("/", moved.url("/"), status=301)
        moved.page("/", "Moved home", ["/inside"])
        moved.page("/inside", "Inside", [])
        _, pages, records = run(site)
        assert [r.url for r in records] == [site.url("/"), moved.url("/inside")]
        assert records[0].title == "Moved home"
    finally:
        moved.server.shutdown()
        moved.server.server_close()


def test_urls_over_2000_characters_are_not_followed(site):
    site.page("/", "Home", ["/" + "a" * 2100, "/ok"])
    site.page("/ok", "OK", [])
    _, pages, _ = run(site)
    assert set(pages) == {"/", "/ok"}
