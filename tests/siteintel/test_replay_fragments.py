"""Replays and #fragments: a fragment the candidate loses is a ``missing_fragment`` regression."""

import pytest

from gharart import constants as gc
from siteintel import constants as c
from tests.siteintel.test_replay import BASE, deploy, page, replay

pytestmark = pytest.mark.django_db

SITE = {
    "/index.html": page("Home", ["/products.html#vases", "/products.html#bowls", "/about.html#team", "/faq.html#ghost", "#news"], '<h2 id="news">News</h2>'),
    "/products.html": page("Products", ["/"], '<h2 id="vases">Vases</h2><h2 id="bowls">Bowls</h2>'),
    "/about.html": page("About", [], '<h2 id="team">Team</h2>'),
    "/faq.html": page("FAQ", [], "<p>No ghosts here.</p>"),
}


@pytest.fixture
def crawled(api, users, handle, run_jobs):
    with run_jobs():
        deploy(handle, SITE, live=True)
    with run_jobs():
        response = api(users[gc.WEB_MANAGER]).post(f"{BASE}/crawl-runs", {}, format="json")
    assert response.status_code == 202
    snap = api(users[gc.VIEWER]).get(f"{BASE}/snapshot").json()
    # Already broken in the snapshot: reported there, so not news in a replay.
    assert [(f["url"].rsplit("/", 1)[1], f["fragment"]) for f in snap["broken_fragments"]] == [("faq.html", "ghost")]


def test_a_fragment_the_candidate_loses_is_a_missing_fragment_regression(api, users, handle, crawled, run_jobs):
    v2 = dict(SITE)
    # #vases is gone, #bowls moved to an <a name> (still there), #news is gone from the home page itself.
    v2["/products.html"] = page("Products", ["/"], '<h2>Vases</h2><a name="bowls"></a><h2>Bowls</h2>')
    v2["/index.html"] = SITE["/index.html"].replace('<h2 id="news">', "<h2>")
    del v2["/about.html"]  # the whole page is gone: a missing page, not a missing fragment
    run = replay(api, users[gc.WEB_MANAGER], deploy(handle, v2), run_jobs)
    assert run["state"] == c.SUCCEEDED, run["error"]
    lost = sorted((d["path"], d["fragment"], tuple(d["linked_from"]), d["regression"]) for d in run["diffs"] if d["kind"] == c.DIFF_MISSING_FRAGMENT)
    home = "https://acme.sites.gharart.com/"
    assert lost == [("/", "news", (home,), True), ("/products.html", "vases", (home,), True)]
    assert {(d["path"], d["kind"]) for d in run["diffs"]} >= {("/about.html", c.DIFF_MISSING)}
    assert not any(d["kind"] == c.DIFF_MISSING_FRAGMENT and d["path"] == "/about.html" for d in run["diffs"])
    assert run["summary"]["regressions"] == 3 and run["gate_status"] == c.GATE_FAILED


def test_a_candidate_that_keeps_every_fragment_passes(api, users, handle, crawled, run_jobs):
    v2 = dict(SITE)
    v2["/products.html"] = page("Products", ["/"], '<section id="vases"><h2>Vases, new</h2></section><h2 id="bowls">Bowls</h2>')
    run = replay(api, users[gc.WEB_MANAGER], deploy(handle, v2), run_jobs)
    assert not [d for d in run["diffs"] if d["kind"] == c.DIFF_MISSING_FRAGMENT]
    assert [d["kind"] for d in run["diffs"]] == [c.DIFF_CONTENT_CHANGED]
    assert run["gate_status"] == c.GATE_PASSED


def test_the_replay_panel_names_the_lost_fragment(users, handle, crawled, run_jobs):
    from django.test import Client

    v2 = dict(SITE)
    v2["/products.html"] = page("Products", ["/"], '<h2 id="bowls">Bowls</h2>')
    deployment = deploy(handle, v2)
    client = Client()
    client.force_login(users[gc.WEB_MANAGER])
    url = f"/h/acme/site-intel/replay/{deployment.id}/"
    with run_jobs():
        client.post(url, {"hostname": "acme.sites.gharart.com"}, HTTP_HX_REQUEST="true")
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Missing fragment" in html and "<code>#vases</code>" in html
