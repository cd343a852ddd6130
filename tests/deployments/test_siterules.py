"""The site-rules engine (pure): _redirects and _headers parsing, deciding what answers a path.

Rule examples follow Netlify's documentation of ``_redirects`` (redirect options, splats,
placeholders, shadowing, rewrites, custom 404s) and of ``_headers``.
"""

from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from deployments import compression, siterules
from deployments.resolver import ManifestEntry, dict_lookup
from deployments.siterules import (
    RuleSet,
    compile_site_rules,
    decide,
    parse_headers,
    parse_redirects,
)


def entry(path):
    return ManifestEntry(path=path, sha256="0" * 64, size=1, content_type="text/html")


FILES = ["/index.html", "/about.html", "/blog/index.html", "/blog/my-post.html", "/app/index.html", "/en/404.html", "/404.html", "/store-closed.html", "/docs/index.html", "/guide/index.html", "/guide.html", "/_redirects", "/_headers"]
LOOKUP = dict_lookup({p: entry(p) for p in FILES})

NETLIFY = """\
# Redirects from what the browser requests to what we serve
/home              /
/blog/my-post.php  /blog/my-post
/news              /blog
/cuties            https://www.petsofnetlify.com
/my-redirect       /                302
/see-other         /about           303
/temporary         /about           307
/permanent         /about           308
/pass-through      /index.html      200
/ecommerce         /store-closed    404
/news/*            /blog/:splat
/posts/:year/:month/:slug  /blog/:year/:month/:slug.html
/app/*             /app/index.html  200
/en/*              /en/404.html     404
/about             /blog            301
/forced/about      /blog            301!
/index.html        /blog            302!
"""


def rules(text=NETLIFY, headers=""):
    compiled = compile_site_rules(redirects=text.encode(), headers=headers.encode())
    return RuleSet(compiled.as_json())


RULES = rules()


def d(path, query="", ruleset=RULES):
    return decide(path, LOOKUP, ruleset, query=query)


def test_the_documented_examples_parse_with_their_line_numbers():
    parsed, problems = parse_redirects(NETLIFY)
    assert problems == []
    assert len(parsed) == 17
    first = parsed[0]
    assert (first["line"], first["from"], first["to"], first["status"], first["force"]) == (2, "/home", "/", 301, False)
    assert parsed[-1]["force"] is True and parsed[-1]["status"] == 302


def test_redirect_statuses_default_to_301_and_keep_the_query():
    assert (d("home").kind, d("home").status, d("home").location) == ("redirect", 301, "/")
    assert d("my-redirect").status == 302
    assert d("see-other").status == 303
    assert d("temporary").status == 307
    assert d("permanent").status == 308
    assert d("news", query="a=1&b=2").location == "/blog?a=1&b=2"


def test_absolute_targets_are_redirects_kept_as_written():
    decision = d("cuties", query="x=1")
    assert decision.status == 301 and decision.location == "https://www.petsofnetlify.com?x=1"


def test_a_200_rule_is_a_rewrite_serving_the_target_at_the_same_address():
    decision = d("pass-through")
    assert (decision.kind, decision.status, decision.entry.path, decision.location) == ("rewrite", 200, "/index.html", None)
    assert decision.rule["line"] == 10


def test_a_404_rule_serves_the_targets_content_with_status_404():
    decision = d("ecommerce")
    assert (decision.status, decision.entry.path) == (404, "/store-closed.html")
    localized = d("en/some/missing/page")
    assert (localized.status, localized.entry.path) == (404, "/en/404.html")


def test_splats_and_placeholders_fill_the_target():
    assert d("news/2024/hello").location == "/blog/2024/hello"
    assert d("news").location == "/blog"  # "/news /blog" comes before "/news/*"
    assert d("posts/2024/05/hello").location == "/blog/2024/05/hello.html"


def test_placeholder_values_are_percent_encoded_in_the_location():
    ruleset = rules("/p/:name /q/:name 302\n/s/* /t/:splat 302\n")
    assert decide("p/a?b", dict_lookup({}), ruleset).location == "/q/a%3Fb"
    assert decide("p/ü", dict_lookup({}), ruleset).location == "/q/%C3%BC"
    assert decide("s/x y/%2F", dict_lookup({}), ruleset).location == "/t/x%20y/%252F"


def test_placeholders_match_exactly_one_segment():
    ruleset = rules("/posts/:year/:slug /blog/:year/:slug\n")
    assert decide("posts/2024/hello", dict_lookup({}), ruleset).location == "/blog/2024/hello"
    assert decide("posts/2024", dict_lookup({}), ruleset).kind == "not_found"
    assert decide("posts/2024/hello/more", dict_lookup({}), ruleset).kind == "not_found"


def test_a_splat_matches_its_parent_and_any_depth():
    ruleset = rules("/news/* /blog/:splat 302\n")
    empty = dict_lookup({})
    assert decide("news", empty, ruleset).location == "/blog/"
    assert decide("news/", empty, ruleset).location == "/blog/"
    assert decide("news/a/b/c.html", empty, ruleset).location == "/blog/a/b/c.html"
    assert decide("newsletter", empty, ruleset).kind == "not_found"


def test_the_first_matching_rule_wins():
    ruleset = rules("/a /first 302\n/a /second 302\n/* /third 302\n")
    assert decide("a", dict_lookup({}), ruleset).location == "/first"
    assert decide("b", dict_lookup({}), ruleset).location == "/third"
    assert decide("a", dict_lookup({}), ruleset).rule["line"] == 1


def test_without_bang_a_file_that_answers_shadows_the_rule():
    # /about.html exists, so "/about /blog 301" does not apply; /app/ exists for the SPA rule.
    assert (d("about").kind, d("about").entry.path) == ("file", "/about.html")
    assert d("app/").kind == "file"
    assert (d("app/settings/profile").kind, d("app/settings/profile").entry.path) == ("rewrite", "/app/index.html")


def test_with_bang_the_rule_applies_even_over_a_file():
    assert d("index.html").location == "/blog"
    forced = rules("/about /blog 301!\n")
    assert decide("about", LOOKUP, forced).location == "/blog"


def test_a_trailing_slash_in_the_rule_or_the_path_does_not_matter():
    ruleset = rules("/old/ /new 302\n")
    assert decide("old", dict_lookup({}), ruleset).location == "/new"
    assert decide("old/", dict_lookup({}), ruleset).location == "/new"


def test_a_single_page_app_falls_back_to_its_index_only_where_no_file_answers():
    spa = rules("/*    /index.html   200\n")
    assert decide("", LOOKUP, spa).kind == "file"
    assert decide("about", LOOKUP, spa).entry.path == "/about.html"
    fallback = decide("some/client/route", LOOKUP, spa)
    assert (fallback.kind, fallback.status, fallback.entry.path) == ("rewrite", 200, "/index.html")


def test_a_rewrite_to_a_missing_target_is_a_404():
    ruleset = rules("/x /nothing-here 200\n")
    decision = decide("x", LOOKUP, ruleset)
    assert (decision.status, decision.entry.path) == (404, "/404.html")
    assert decide("x", dict_lookup({}), ruleset).entry is None


def test_a_folder_named_without_its_slash_redirects_with_its_query():
    decision = decide("docs", LOOKUP, query="v=2")
    assert (decision.kind, decision.status, decision.location) == ("trailing_slash", 301, "/docs/?v=2")
    # /guide.html exists, so /guide is that file, not the folder.
    assert decide("guide", LOOKUP).entry.path == "/guide.html"
    assert decide("docs/", LOOKUP).kind == "file"


def test_the_rule_files_are_never_served():
    for path in ["_redirects", "_headers", "/_redirects", "_redirects/"]:
        decision = d(path)
        assert decision.status == 404 and (decision.entry is None or decision.entry.path == "/404.html"), path
    ruleset = rules("/rules /_redirects 200\n")
    assert decide("rules", LOOKUP, ruleset).entry.path == "/404.html"


def test_unparseable_lines_are_skipped_and_reported_with_line_numbers():
    text = "\n".join(
        [
            "/ok /fine",  # 1
            "/only-from",  # 2
            "/a /b 299",  # 3
            "/a/*/b /c",  # 4
            "/proxy https://example.com/ 200",  # 5
            "/store id=:id /blog/:id 301",  # 6
            "relative /b",  # 7
            "/a /b 301 Country=us",  # 8
            "/a relative-target",  # 9
            "/a /../etc/passwd",  # 10
            "/go/:host https://:host/ 302",  # 11
            "/a //evil.example/ 302",  # 12
            "# a comment",  # 13
            "/fine /ok 302! # with a trailing comment",  # 14
        ]
    )
    parsed, problems = parse_redirects(text)
    assert [r["line"] for r in parsed] == [1, 14]
    assert [p["line"] for p in problems] == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert all(p["reason"] for p in problems)


def test_at_most_1000_rules_are_kept():
    text = "\n".join(f"/r{i} /t{i} 302" for i in range(1005))
    parsed, problems = parse_redirects(text)
    assert len(parsed) == 1000
    assert [p["line"] for p in problems] == [1001, 1002, 1003, 1004, 1005]
    assert "first 1000" in problems[0]["reason"]


def test_an_oversized_rule_file_is_cut_and_reported():
    big = ("/a /b 302\n" * (siterules.MAX_FILE_BYTES // 10 + 10)).encode()
    compiled = compile_site_rules(redirects=big, headers=None)
    assert compiled.redirect_problems[0]["line"] == 0 and "larger than" in compiled.redirect_problems[0]["reason"]


# --- _headers -------------------------------------------------------------------------------

HEADERS = """\
# a path:
/templates/index.html
  # headers for that path:
  X-Frame-Options-Custom: DENY
  X-XSS-Protection: 1; mode=block
/templates/*
  X-Extra: yes
# multi-value header:
/*
  cache-control: max-age=0
  cache-control: no-cache
  Content-Security-Policy: img-src 'self'
"""


def test_header_blocks_add_up_across_matching_patterns():
    blocks, problems = parse_headers(HEADERS)
    assert problems == [] and len(blocks) == 3
    ruleset = rules("", HEADERS)
    got = ruleset.headers_for("/templates/index.html")
    assert ["X-XSS-Protection", "1; mode=block"] in got and ["X-Extra", "yes"] in got
    assert got.count(["cache-control", "max-age=0"]) == 1 and ["cache-control", "no-cache"] in got
    assert ruleset.headers_for("/other") == [["cache-control", "max-age=0"], ["cache-control", "no-cache"], ["Content-Security-Policy", "img-src 'self'"]]


def test_a_star_in_a_header_pattern_matches_any_run_of_characters():
    ruleset = rules("", "/assets/*.css\n  X-Css: 1\n/exact\n  X-Exact: 1\n")
    assert ruleset.headers_for("/assets/a/b/site.css") == [["X-Css", "1"]]
    assert ruleset.headers_for("/assets/site.js") == []
    assert ruleset.headers_for("/exact") == [["X-Exact", "1"]]
    assert ruleset.headers_for("/exact/more") == []


def test_platform_hop_by_hop_and_unsafe_headers_are_refused_with_line_numbers():
    text = "\n".join(
        [
            "/*",  # 1
            "  X-Gharart-Deployment: dep_fake",  # 2
            "  X-Content-Type-Options: none",  # 3
            "  Connection: close",  # 4
            "  Transfer-Encoding: chunked",  # 5
            "  Set-Cookie: sessionid=stolen",  # 6
            "  Content-Encoding: gzip",  # 7
            "  Strict-Transport-Security: max-age=0",  # 8
            "  Bad Name: x",  # 9
            "  no colon here",  # 10
            "  Referrer-Policy: no-referrer",  # 11
            "  X-Frame-Options: ALLOWALL",  # 12
            "no-slash-pattern",  # 13
            "/api/*",  # 14
            "  Access-Control-Allow-Credentials: true",  # 15
            "  Service-Worker-Allowed: /",  # 16
            "  Access-Control-Allow-Origin: *",  # 17
        ]
    )
    blocks, problems = parse_headers(text)
    assert [p["line"] for p in problems] == [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 16]
    assert blocks[1]["headers"] == [["Access-Control-Allow-Origin", "*"]]
    assert blocks[0]["headers"] == [["Referrer-Policy", "no-referrer"]]
    reasons = {p["line"]: p["reason"] for p in problems}
    assert "hop-by-hop" in reasons[4] and "platform" in reasons[2]


def test_a_header_line_before_any_pattern_is_reported():
    _, problems = parse_headers("  X-A: 1\n/*\n  X-B: 2\n")
    assert [p["line"] for p in problems] == [1]


# --- Compression negotiation -------------------------------------------------------------------

def test_accept_encoding_is_negotiated_by_q_value():
    assert compression.negotiate("") is None
    assert compression.negotiate("identity") is None
    assert compression.negotiate("gzip, deflate, br") == "br"
    assert compression.negotiate("gzip, br;q=0.5") == "gzip"
    assert compression.negotiate("br;q=0, gzip") == "gzip"
    assert compression.negotiate("br;q=0, gzip;q=0") is None
    assert compression.negotiate("*") == "br"
    assert compression.negotiate("*;q=0.2, br;q=0") == "gzip"
    assert compression.negotiate("gzip;q=abc") is None
    assert compression.negotiate("x-gzip") == "gzip"
    assert compression.negotiate("BR;Q=0.9, GZIP;Q=0.8") == "br"


def test_only_text_types_are_compressed():
    for ctype in ["text/html; charset=utf-8", "text/css", "text/javascript", "application/json", "image/svg+xml", "application/xml", "application/manifest+json", "text/plain"]:
        assert compression.is_compressible(ctype), ctype
    for ctype in ["application/gzip", "application/x-brotli", "application/zip", "image/png", "image/avif", "font/woff2", "application/wasm", "application/octet-stream", ""]:
        assert not compression.is_compressible(ctype), ctype


# --- Properties: the engine never escapes the deployment ------------------------------------------

HOSTS = ["https://shop.example", "http://old.example:8080"]
SEGMENT = st.sampled_from(["a", "b", "blog", "news", ":x", ":y", "..", ".", "%2e", "evil.com", "a?b", "%2F", "ü"])
FROM = st.builds(lambda segs, splat: "/" + "/".join(segs) + ("/*" if splat else ""), st.lists(SEGMENT, max_size=3), st.booleans())
TO_PATH = st.builds(lambda segs: "/" + "/".join(segs), st.lists(st.sampled_from(["a", "blog", ":x", ":y", ":splat", ":splat.html", "..", "//", "\\"]), max_size=3))
TO = st.one_of(TO_PATH, st.builds(lambda h, p: h + p, st.sampled_from(HOSTS), TO_PATH), st.sampled_from(["//evil.example/", "https://:x/", "javascript:alert(1)"]))
STATUS = st.sampled_from(["", "301", "302", "200", "404", "200!", "301!", "999"])
RULE = st.builds(lambda f, t, s: f"{f} {t} {s}".strip(), FROM, TO, STATUS)
PATH_PART = st.sampled_from(["a", "b", "blog", "news", "..", ".", "", "evil.com", "//evil.com", "\\", "a?b", "%2F", "index.html", "_redirects", "\x00", "ü"])
MANIFEST = {p: entry(p) for p in ["/index.html", "/a.html", "/blog/index.html", "/404.html", "/_redirects"]}


@settings(max_examples=400, deadline=None)
@given(st.lists(RULE, max_size=8), st.lists(PATH_PART, max_size=5), st.sampled_from(["", "q=1", "a=%2F%2Fevil"]))
def test_no_rule_ever_leads_outside_the_deployment_or_to_a_host_it_does_not_name(lines, parts, query):
    text = "\n".join(lines)
    parsed, _ = parse_redirects(text)
    literal_hosts = {urlsplit(r["to"]).netloc for r in parsed if r["to"].startswith(("http://", "https://"))}
    decision = decide("/".join(parts), dict_lookup(MANIFEST), RuleSet({"redirects": parsed}), query=query)
    if decision.entry is not None:
        assert decision.entry.path in MANIFEST and decision.entry.path != "/_redirects"
    if decision.location is not None:
        location = decision.location
        if location.startswith(("http://", "https://")):
            assert urlsplit(location).netloc in literal_hosts
        else:
            path = location.split("?", 1)[0]
            assert path.startswith("/") and not path.startswith("//")
            assert "\\" not in location and not any(ord(ch) < 33 for ch in location)
            assert ".." not in path.split("/") and "." not in path.split("/")


@settings(max_examples=400, deadline=None)
@given(st.lists(RULE, max_size=12), st.lists(st.sampled_from(["a", "b", "blog", "news", "evil.com", "a?b", "ü", "x.html"]), max_size=5), st.booleans())
def test_the_index_finds_the_same_first_rule_as_trying_every_rule_in_order(lines, segments, forced_only):
    parsed, _ = parse_redirects("\n".join(lines))
    ruleset = RuleSet({"redirects": parsed})
    expected = None
    for rule in ruleset.rules:
        if forced_only and not rule.force:
            continue
        params = rule.match(segments)
        if params is not None:
            expected = (rule.index, params)
            break
    hit = ruleset.first_match(segments, forced_only=forced_only)
    assert (None if hit is None else (hit[0].index, hit[1])) == expected


def test_a_folder_redirect_percent_encodes_what_the_request_decoded():
    lookup = dict_lookup({"/a?b c/index.html": entry("/a?b c/index.html")})
    assert decide("a?b c", lookup, query="x=1").location == "/a%3Fb%20c/?x=1"
