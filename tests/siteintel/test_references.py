"""Every reference a page makes (HTML, CSS, srcset, meta refresh, SVG...), and fragments."""

import pytest

from gharart import constants as gc
from siteintel import crawler, selectors
from tests.siteintel.test_crawler import run

BASE_URL = "https://shop.test/dir/page.html"


def refs(html, base=BASE_URL):
    return [(r["url"], r["kind"]) for r in crawler.parse_html(html.encode(), base).references]


def one(html, kind):
    """The URLs the page references with ``kind``."""
    return [url for url, k in refs(html) if k == kind]


@pytest.mark.parametrize(
    "html, kind, expected",
    [
        ('<a href="/x">x</a>', "a", ["https://shop.test/x"]),
        ('<map><area href="area.html"></map>', "area", ["https://shop.test/dir/area.html"]),
        ('<link rel="search" href="/opensearch.xml">', "link", ["https://shop.test/opensearch.xml"]),
        ('<link rel="alternate" type="application/rss+xml" href="/feed.xml">', "link", ["https://shop.test/feed.xml"]),
        ('<link rel="stylesheet" href="s.css">', "link", ["https://shop.test/dir/s.css"]),
        ('<img src="/i.png">', "img", ["https://shop.test/i.png"]),
        ('<script src="/app.js"></script>', "script", ["https://shop.test/app.js"]),
        ('<iframe src="/embed.html"></iframe>', "iframe", ["https://shop.test/embed.html"]),
        ('<video src="/v.mp4" poster="/poster.jpg"><track src="/subs.vtt"></video>', "video", ["https://shop.test/v.mp4", "https://shop.test/poster.jpg"]),
        ('<video><track src="/subs.vtt"></video>', "track", ["https://shop.test/subs.vtt"]),
        ('<audio src="/a.mp3"></audio>', "audio", ["https://shop.test/a.mp3"]),
        ('<video><source src="/v.webm"></video>', "source", ["https://shop.test/v.webm"]),
        ('<img src="/i.png" srcset="/i-1x.png 1x, /i-2x.png 2x">', "srcset", ["https://shop.test/i-1x.png", "https://shop.test/i-2x.png"]),
        ('<picture><source srcset="/w-320.webp 320w,/w-640.webp 640w"><img src="/w.jpg"></picture>', "srcset", ["https://shop.test/w-320.webp", "https://shop.test/w-640.webp"]),
        ('<meta http-equiv="refresh" content="0; url=/moved.html">', "meta_refresh", ["https://shop.test/moved.html"]),
        ("<meta http-equiv=Refresh content=\"3;URL='next.html'\">", "meta_refresh", ["https://shop.test/dir/next.html"]),
        ('<object data="/doc.pdf" type="application/pdf"></object>', "object", ["https://shop.test/doc.pdf"]),
        ('<embed src="/movie.swf">', "embed", ["https://shop.test/movie.swf"]),
        ('<svg><use href="/sprite.svg#cart"></use></svg>', "svg_use", ["https://shop.test/sprite.svg"]),
        ('<svg><use xlink:href="/old-sprite.svg#cart"></use></svg>', "svg_use", ["https://shop.test/old-sprite.svg"]),
        ('<style>@import url("/base.css"); @import \'theme.css\'; .hero{background:url(/hero.jpg)}</style>', "style_element",
         ["https://shop.test/base.css", "https://shop.test/dir/theme.css", "https://shop.test/hero.jpg"]),
        ("<div style=\"background-image: url('/bg.png')\">x</div>", "style_attribute", ["https://shop.test/bg.png"]),
    ],
)
def test_each_kind_of_reference_is_found(html, kind, expected):
    assert one(f"<!doctype html><html><head><title>t</title></head><body>{html}</body></html>", kind) == expected


def test_a_stylesheets_imports_and_urls_are_references_relative_to_the_sheet():
    css = b"""/* @import url(/commented.css); url(/commented.png) */
    @import url(reset.css);
    @import "print.css" print;
    @font-face { font-family: X; src: url("../fonts/x.woff2") format("woff2"), url(data:font/woff2;base64,AAAA); }
    .logo { background: url( '/img/logo.svg' ) no-repeat }"""
    parsed = crawler.parse_css(css, "https://shop.test/css/site.css", "text/css; charset=utf-8")
    assert [(r["url"], r["kind"]) for r in parsed.references] == [
        ("https://shop.test/css/reset.css", "css_import"),
        ("https://shop.test/css/print.css", "css_import"),
        ("https://shop.test/fonts/x.woff2", "css_url"),
        ("https://shop.test/img/logo.svg", "css_url"),
    ]


def test_srcset_candidates_follow_the_html_parsing_rules():
    assert crawler.srcset_urls("a.png") == ["a.png"]
    assert crawler.srcset_urls(" a.png 1x ,b.png 2x, c.png") == ["a.png", "b.png", "c.png"]
    assert crawler.srcset_urls("img,1.png 1x, img,2.png 2x") == ["img,1.png", "img,2.png"]
    assert crawler.srcset_urls("a.png 100w (x, y), b.png 200w") == ["a.png", "b.png"]
    assert crawler.srcset_urls("") == []


def test_what_is_not_a_checkable_reference_is_skipped():
    html = """<a href="mailto:a@b.c">m</a><a href="tel:1">t</a><a href="javascript:go()">j</a>
    <img src="data:image/png;base64,AAAA"><div style="background:url(data:image/gif;base64,R0)"></div>
    <meta http-equiv="refresh" content="30"><meta name="description" content="url=/not-a-link">
    <!-- <a href="/commented">c</a> --><a href="#local">here</a>"""
    assert refs(f"<html><body>{html}</body></html>") == []


def test_a_url_referenced_twice_the_same_way_is_one_reference_and_one_link():
    html = '<a href="/x">1</a><a href="/x#part">2</a><img src="/x"><img srcset="/x 2x">'
    parsed = crawler.parse_html(html.encode(), BASE_URL)
    assert parsed.links == ["https://shop.test/x"]
    assert [r["kind"] for r in parsed.references] == ["a", "img", "srcset"]


def test_anchors_and_fragment_links_are_recorded():
    html = '<h2 id="specs">Specs</h2><a name="legacy"></a><a href="#specs">s</a><a href="/other.html#buy">b</a><a href="#top">t</a>'
    parsed = crawler.parse_html(html.encode(), BASE_URL)
    assert parsed.anchors == ["specs", "legacy"]
    assert parsed.fragment_links == [
        {"url": BASE_URL, "fragment": "specs"},
        {"url": "https://shop.test/other.html", "fragment": "buy"},
        {"url": BASE_URL, "fragment": "top"},
    ]
    # Links to a place in the same document do not make the page link to itself.
    assert parsed.links == ["https://shop.test/other.html"]


def test_a_crawl_checks_every_kind_of_reference_once_and_reads_stylesheets(site):
    site.page("/", "Home", ["/about", "/about#team"], extra=(
        '<link rel="stylesheet" href="/site.css"><link rel="search" href="/opensearch.xml">'
        '<img srcset="/hero-1x.png 1x, /hero-2x.png 2x" src="/hero-1x.png">'
        '<object data="/brochure.pdf"></object><embed src="/tour.swf">'
        '<svg><use href="/sprite.svg#cart"></use></svg>'
        '<style>.a{background:url(/inline-bg.png)}</style><p style="background:url(/attr-bg.png)">x</p>'
        '<meta http-equiv="refresh" content="600; url=/refreshed.html">'
    ))
    site.page("/about", "About", ["/"], extra='<h2 id="team">Team</h2><link rel="stylesheet" href="/site.css">')
    site.page("/refreshed.html", "Refreshed")
    site.routes["/site.css"] = (200, {"Content-Type": "text/css"}, b'@import url("/theme.css"); body{background:url(/missing-bg.png)}')
    site.routes["/theme.css"] = (200, {"Content-Type": "text/css"}, b"h1{background:url(/fonts-bg.png)}")
    for path in ("/hero-1x.png", "/hero-2x.png", "/brochure.pdf", "/tour.swf", "/sprite.svg", "/inline-bg.png", "/attr-bg.png", "/fonts-bg.png"):
        site.routes[path] = (200, {"Content-Type": "application/octet-stream"}, b"ok")
    _, pages, _ = run(site, concurrency=1)
    expected = {"/", "/about", "/site.css", "/opensearch.xml", "/hero-1x.png", "/hero-2x.png", "/brochure.pdf", "/tour.swf",
                "/sprite.svg", "/inline-bg.png", "/attr-bg.png", "/refreshed.html", "/theme.css", "/missing-bg.png", "/fonts-bg.png"}
    assert set(pages) == expected
    hits = site.paths_hit()
    assert sorted(hits) == sorted(expected)  # each fetched once, though /site.css is on two pages
    assert pages["/missing-bg.png"].status == 404 and pages["/opensearch.xml"].status == 404
    assert {"url": site.url("/theme.css"), "kind": "css_import"} in pages["/site.css"].references


@pytest.mark.django_db
def test_the_snapshot_says_where_each_broken_reference_was_found_and_lists_broken_fragments(api, users, site, registered, run_jobs):
    site.page("/", "Home", ["/guide.html#install", "/guide.html#gone", "/guide.html#legacy", "/guide.html#top", "#nowhere", "/logo.png#x"],
              extra='<link rel="search" href="/opensearch.xml"><link rel="stylesheet" href="/site.css">')
    site.page("/guide.html", "Guide", ["/#nowhere"], extra='<h2 id="install">Install</h2><a name="legacy"></a>')
    site.routes["/site.css"] = (200, {"Content-Type": "text/css"}, b".x{background:url(/missing.png)}")
    site.routes["/logo.png"] = (200, {"Content-Type": "image/png"}, b"png")
    with run_jobs():
        response = api(users[gc.WEB_MANAGER]).post(f"/v2/handles/acme/site-intel/{registered}/crawl-runs", {}, format="json")
    assert response.status_code == 202, response.content
    snap = api(users[gc.VIEWER]).get(f"/v2/handles/acme/site-intel/{registered}/snapshot").json()
    broken = {b["url"]: b for b in snap["broken_links"]}
    assert set(broken) == {site.url("/opensearch.xml"), site.url("/missing.png")}
    assert broken[site.url("/opensearch.xml")]["kinds"] == ["link"]
    assert broken[site.url("/opensearch.xml")]["references"] == [{"page": site.url("/"), "kind": "link"}]
    assert broken[site.url("/missing.png")]["linked_from"] == [site.url("/site.css")]
    assert broken[site.url("/missing.png")]["references"] == [{"page": site.url("/site.css"), "kind": "css_url"}]
    fragments = sorted((f["url"], f["fragment"], tuple(f["linked_from"])) for f in snap["broken_fragments"])
    # #install and #legacy exist, #top always does, a PNG has no fragments to check.
    assert fragments == [
        (site.url("/"), "nowhere", (site.url("/"), site.url("/guide.html"))),
        (site.url("/guide.html"), "gone", (site.url("/"),)),
    ]
    pages = {p["path"]: p for p in snap["pages"]}
    assert pages["/guide.html"]["anchors"] == ["install", "legacy"]


def test_fragment_matching_accepts_percent_encoding_and_the_implicit_ones():
    assert selectors.fragment_exists("caf%C3%A9", {"café"})
    assert selectors.fragment_exists("Top", set())
    assert selectors.fragment_exists(":~:text=hello", set())
    assert not selectors.fragment_exists("Specs", {"specs"})  # ids are case-sensitive


def test_links_shared_by_pages_of_a_directory_resolve_against_each_page():
    """Resolutions are reused across pages of one directory; what depends on the page itself
    (a query or fragment of its own, a <base>) still resolves against that page."""
    page = '<a href="next.html">n</a><a href="?sort=price">q</a><a href="#top">t</a><a href="../up.html">u</a>'
    one = crawler.parse_html(page.encode(), "https://shop.test/dir/one.html?x=1")
    two = crawler.parse_html(page.encode(), "https://shop.test/dir/two.html")
    assert one.links == ["https://shop.test/dir/next.html", "https://shop.test/dir/one.html?sort=price", "https://shop.test/up.html"]
    assert two.links == ["https://shop.test/dir/next.html", "https://shop.test/dir/two.html?sort=price", "https://shop.test/up.html"]
    assert one.fragment_links == [{"url": "https://shop.test/dir/one.html?x=1", "fragment": "top"}]
    assert two.fragment_links == [{"url": "https://shop.test/dir/two.html", "fragment": "top"}]
    based = crawler.parse_html(('<base href="https://cdn.test/v2/">' + page).encode(), "https://shop.test/dir/one.html")
    assert based.links[0] == "https://cdn.test/v2/next.html" and based.links[2] == "https://cdn.test/up.html"


def test_one_pass_keeps_the_first_title_and_every_anchor_once():
    parsed = crawler.parse_html(
        b'<title> Shop \n home </title><div id="a"><a name="b" id="a">x</a><a name="c"></a></div><svg><title>icon</title></svg><p id="b">',
        "https://shop.test/",
    )
    assert parsed.title == "Shop home"
    assert parsed.anchors == ["a", "b", "c"]
