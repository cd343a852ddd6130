"""The pure path resolver: static-host rules, and no path ever escapes the manifest."""

from hypothesis import given, settings
from hypothesis import strategies as st

from deployments.resolver import ManifestEntry, candidates, dict_lookup, resolve


def entry(path):
    return ManifestEntry(path=path, sha256="0" * 64, size=1, content_type="text/html")


MANIFEST = {p: entry(p) for p in ["/index.html", "/about.html", "/docs/index.html", "/docs/a.html", "/404.html", "/a b.html", "/%2e%2e.html"]}
LOOKUP = dict_lookup(MANIFEST)


def served(path):
    found = resolve(path, LOOKUP)
    return (found.entry.path, found.status) if found else None


def test_rules():
    assert served("") == ("/index.html", 200)
    assert served("index.html") == ("/index.html", 200)
    assert served("about") == ("/about.html", 200)
    assert served("docs") == ("/docs/index.html", 301)  # a folder without its slash: redirect to docs/
    assert served("docs/") == ("/docs/index.html", 200)
    assert served("docs/a") == ("/docs/a.html", 200)
    assert served("a b.html") == ("/a b.html", 200)
    assert served("nope") == ("/404.html", 404)
    assert served("%2e%2e.html") == ("/%2e%2e.html", 200)  # a literal name, decoded once only


def test_dot_segments_backslashes_and_control_characters_never_match():
    for path in ["..", "../index.html", "docs/../about.html", "./index.html", "docs\\a.html", "index.html\x00", "docs/./a.html"]:
        assert candidates(path) is None
        assert served(path) == ("/404.html", 404)


def test_without_a_404_page_it_is_none():
    assert resolve("missing", dict_lookup({"/index.html": entry("/index.html")})) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "", "a", "docs", "index.html", "\\", "%2e", "\x00", "..\\.."]), max_size=8))
def test_generated_paths_resolve_only_to_manifest_entries_without_dot_segments(parts):
    path = "/".join(parts)
    tries = candidates(path)
    if tries is not None:
        for t in tries:
            assert t.startswith("/")
            assert ".." not in t.split("/") and "." not in t.split("/") and "\\" not in t
    found = resolve(path, LOOKUP)
    assert found is None or found.entry.path in MANIFEST
