"""``gharart replay --visual`` against a live server, rendering in a real headless Chromium."""

import os

import pytest

from tests.cli.test_cli_live import gharart, make_site, server  # noqa: F401 (fixtures)

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.visual,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium not found at {CHROMIUM}; install the 'chromium' package to run visual replay tests"),
]

PAGE = '<!doctype html><html><head><title>{title}</title><link rel="stylesheet" href="/site.css"></head><body><h1>{title}</h1><a class="buy" href="/about.html">Buy</a></body></html>'
SITE = {
    "index.html": PAGE.format(title="Acme"),
    "about.html": PAGE.format(title="About"),
    "site.css": "body{margin:40px;font-family:sans-serif}.buy{display:inline-block;padding:30px 60px;background:#c00;color:#fff}",
}


def test_replay_visual_prints_the_changed_pages_and_the_gate_fails_ci(gharart, server, tmp_path):  # noqa: F811
    assert gharart("site-mode", "set", "deployment", "--handle", "acme").code == 0
    site = make_site(tmp_path / "public", SITE)
    assert gharart("deploy", site, "--handle", "acme", "--promote").code == 0
    assert gharart("crawl", "--handle", "acme", "--wait").code == 0

    # The stylesheet hides the buy button: every HTTP check passes, the pixels do not.
    make_site(site, {"site.css": SITE["site.css"] + ".buy{visibility:hidden}"})
    v2 = gharart("deploy", site, "--handle", "acme", "--json").json["deployment_id"]

    reported = gharart("replay", "--handle", "acme", "--deployment", v2, "--visual")
    assert reported.code == 0, reported.err  # no gate: reported, not failed
    assert "2 of 2 pages look different (gate off)" in reported.out
    assert "  /: " in reported.out and "  /about.html: " in reported.out and "% of the pixels changed" in reported.out

    gated = gharart("replay", "--handle", "acme", "--deployment", v2, "--visual", "--visual-gate", "--json")
    assert gated.code == 1, gated.err
    assert "The visual gate failed: 2 page(s) look different." in gated.err
    body = gated.json
    assert body["regressions"] == 2 and body["gate_status"] == "failed"
    assert {d["path"] for d in body["diffs"] if d["kind"] == "visual_changed"} == {"/", "/about.html"}
