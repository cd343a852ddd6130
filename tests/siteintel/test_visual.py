"""Visual replay in a real headless Chromium: what a visitor would see change is caught.

These tests need Debian's Chromium at /usr/bin/chromium (and Playwright); without it they
are skipped with that message. The error paths that need no browser are in
``test_visual_api.py``.
"""

import io
import os

import pytest

from gharart import constants as gc
from siteintel import constants as c
from siteintel import visual
from siteintel.models import ReplayScreenshot
from tests.conftest import assert_error
from tests.siteintel.test_replay import BASE, deploy

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.visual,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium not found at {CHROMIUM}; install the 'chromium' package to run visual replay tests"),
]


def html(title, body, css="/base.css"):
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title><link rel="stylesheet" href="{css}"></head>'
        f"<body><h1>{title}</h1>{body}</body></html>"
    )


BASE_CSS = "body{font-family:sans-serif;margin:40px;background:#fff}h1{color:#123}.buy{display:inline-block;padding:20px 40px;background:#c00;color:#fff;font-size:24px}"
SITE = {
    "/index.html": html("Shop", '<a href="/a.html">A</a> <a href="/b.html">B</a> <a href="/c.html">C</a>'),
    "/a.html": html("Styled", '<p>Some text.</p><a href="/">Home</a>', css="/a.css"),
    "/b.html": html("Plain", '<p>Plain text.</p><a href="/">Home</a>'),
    "/c.html": html("Product", '<p>A vase.</p><a class="buy" href="/">Buy now</a>'),
    "/base.css": BASE_CSS,
    "/a.css": "body{font-family:sans-serif;margin:40px}h1{color:#123;background:#fff}",
}


@pytest.fixture
def visual_site(api, users, handle, run_jobs):
    with run_jobs():
        deploy(handle, SITE, live=True)
    with run_jobs():
        response = api(users[gc.WEB_MANAGER]).post(f"{BASE}/crawl-runs", {}, format="json")
    assert response.status_code == 202, response.content


def candidate():
    v2 = dict(SITE)
    v2["/a.css"] = SITE["/a.css"].replace("background:#fff", "background:#fd0")  # CSS only: the heading turns yellow
    v2["/b.html"] = SITE["/b.html"].replace("<p>Plain text.</p>", "<p>Plain text.</p><!-- reviewed by legal -->")
    v2["/base.css"] = BASE_CSS + ".buy{visibility:hidden}"  # the buy button is hidden
    return v2


def visual_replay(api, user, deployment, run_jobs, **options):
    with run_jobs():
        response = api(user).post(f"{BASE}/replay-runs", {"deployment_id": deployment.id, "visual": True, **options}, format="json")
    assert response.status_code == 202, response.content
    return api(user).get(f"{BASE}/replay-runs/{response.json()['id']}").json()


def test_a_gated_visual_replay_catches_css_only_changes_and_hidden_elements_but_not_comments(api, users, handle, visual_site, run_jobs, outsider):
    deployment = deploy(handle, candidate())
    run = visual_replay(api, users[gc.WEB_MANAGER], deployment, run_jobs, visual_gate=True)
    assert run["state"] == c.SUCCEEDED, run["error"]
    assert run["visual"] is True and run["visual_gate"] is True and run["visual_max_pages"] == 25
    visual_diffs = {d["path"]: d for d in run["diffs"] if d["kind"] == c.DIFF_VISUAL_CHANGED}
    assert set(visual_diffs) == {"/a.html", "/c.html"}  # not /b.html (a comment), not / (unchanged)
    kinds = {(d["path"], d["kind"]) for d in run["diffs"]}
    assert ("/b.html", c.DIFF_CONTENT_CHANGED) in kinds  # the bytes did change
    for d in visual_diffs.values():
        assert d["regression"] is True
        assert d["visual"]["changed_ratio"] > c.VISUAL_THRESHOLD_DEFAULT
        assert set(d["visual"]) == {"changed_ratio", "before", "after", "diff"}
    assert run["summary"]["visual"]["pages"] == 4 and run["summary"]["visual"]["changed"] == 2
    assert run["summary"]["regressions"] == 2 and run["gate_status"] == c.GATE_FAILED
    deployment.refresh_from_db()
    assert deployment.gate_status == c.GATE_FAILED

    # The three PNGs are readable by members, and by nobody else.
    shot = visual_diffs["/c.html"]["visual"]
    from PIL import Image

    for name in ("before", "after", "diff"):
        response = api(users[gc.VIEWER]).get(shot[name])
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
        assert image.width == 1280 and image.height >= 800
    assert api(outsider).get(shot["before"]).status_code in (403, 404)
    assert api(None).get(shot["before"]).status_code in (401, 403)
    # A blob of another run (or any other blob) is not reachable through this run.
    other = ReplayScreenshot.objects.exclude(replay_run_id=run["id"]).first()
    assert other is None
    assert_error(api(users[gc.VIEWER]).get(shot["before"].replace(run["id"], "replay_nope")), 404, c.SCREENSHOT_NOT_FOUND)
    assert_error(api(users[gc.VIEWER]).get(shot["before"].rsplit("/", 1)[0] + "/" + "0" * 64 + ".png"), 404, c.SCREENSHOT_NOT_FOUND)
    # Their bytes are kept while the run refers to them.
    from deployments import storage

    assert storage.blob_is_referenced(shot["diff"].rsplit("/", 1)[1][:-4])


def test_without_the_visual_gate_a_visual_change_is_reported_but_passes(api, users, handle, visual_site, run_jobs):
    v2 = dict(SITE)
    v2["/base.css"] = BASE_CSS + ".buy{visibility:hidden}"
    deployment = deploy(handle, v2)
    run = visual_replay(api, users[gc.WEB_MANAGER], deployment, run_jobs, visual_max_pages=2)
    assert run["state"] == c.SUCCEEDED, run["error"]
    # Only the 2 most linked pages are rendered: / (linked from every page) and then the
    # shallowest of the rest in crawl order, /a.html; /c.html is not among them.
    assert run["summary"]["visual"]["pages"] == 2
    assert [d for d in run["diffs"] if d["kind"] == c.DIFF_VISUAL_CHANGED] == []
    run = visual_replay(api, users[gc.WEB_MANAGER], deployment, run_jobs)
    visual_diffs = [d for d in run["diffs"] if d["kind"] == c.DIFF_VISUAL_CHANGED]
    assert [d["path"] for d in visual_diffs] == ["/c.html"] and visual_diffs[0]["regression"] is False
    assert run["summary"]["regressions"] == 0 and run["gate_status"] == c.GATE_PASSED


def test_the_browser_is_offline_apart_from_the_site(handle, settings):
    """Requests to other origins are aborted; the site's own are served by the fetcher."""
    from siteintel import crawler

    served = []

    class Fetcher(crawler.Fetcher):
        def _request(self, url):
            served.append(url)
            if url.endswith("/"):
                body = b'<html><body style="margin:0;background:#fff"><img src="https://tracker.example/p.gif"><img src="/dot.png"></body></html>'
                return 200, {"content-type": "text/html"}, body, False
            return 404, {"content-type": "text/plain"}, b"", False

    with visual.Renderer("https://shop.test/", {"live": Fetcher()}) as renderer:
        shot = renderer.render("live", "https://shop.test/")
        assert shot.error == "" and shot.png.startswith(b"\x89PNG")
        assert renderer.requests_blocked >= 1
    assert served == ["https://shop.test/", "https://shop.test/dot.png"]


def test_the_candidate_is_rendered_as_its_preview_host_serves_it_with_the_sites_own_headers(api, users, handle, visual_site, run_jobs):
    """The pages reach the browser with the site's headers: a candidate whose only change is
    a ``_headers`` policy that blocks its stylesheets is caught, although no page's bytes
    changed."""
    v2 = dict(SITE)
    v2["/_headers"] = "/*\n  Content-Security-Policy: style-src 'none'\n"
    deployment = deploy(handle, v2)
    run = visual_replay(api, users[gc.WEB_MANAGER], deployment, run_jobs, visual_gate=True)
    assert run["state"] == c.SUCCEEDED, run["error"]
    assert [d for d in run["diffs"] if d["kind"] != c.DIFF_VISUAL_CHANGED] == []  # the bytes are the same
    assert {d["path"] for d in run["diffs"]} == {"/", "/a.html", "/b.html", "/c.html"}
    assert run["gate_status"] == c.GATE_FAILED


def test_a_script_using_its_own_origin_renders_the_same_live_and_as_the_candidate(api, users, handle, run_jobs):
    """Neither side is the sandboxed profile route (an opaque origin, where localStorage
    throws): the live side is the live host, the candidate its preview host."""
    script = (
        "<script>let text;try{localStorage.setItem('k','1');text='Stored on this origin'}"
        "catch(e){text='Sandboxed: '+e.name}document.getElementById('out').textContent=text</script>"
    )
    site = {
        "/index.html": html("Origin", f'<p id="out" style="font-size:40px">waiting</p>{script}<a href="/next.html">Next</a>'),
        "/next.html": html("Next", '<a href="/">Home</a>'),
        "/base.css": BASE_CSS,
    }
    with run_jobs():
        deploy(handle, site, live=True)
    with run_jobs():
        assert api(users[gc.WEB_MANAGER]).post(f"{BASE}/crawl-runs", {}, format="json").status_code == 202
    v2 = dict(site)
    v2["/next.html"] = site["/next.html"].replace("Home</a>", 'Home</a><p style="font-size:60px">Back soon</p>')
    deployment = deploy(handle, v2)
    run = visual_replay(api, users[gc.WEB_MANAGER], deployment, run_jobs, visual_gate=True)
    assert run["state"] == c.SUCCEEDED, run["error"]
    assert run["summary"]["visual"]["pages"] == 2
    changed = {d["path"] for d in run["diffs"] if d["kind"] == c.DIFF_VISUAL_CHANGED}
    assert changed == {"/next.html"}  # the page that changed, and not the one whose script uses its origin


def test_both_sides_are_fetched_from_the_sites_own_hosts(handle, run_jobs):
    """Live: the live host ``{handle}.{domain}``, no sandbox; candidate: its preview host."""
    from siteintel import inprocess

    with run_jobs():
        deploy(handle, {"/index.html": html("Live", "")}, live=True)
    candidate = deploy(handle, {"/index.html": html("Candidate", "")})
    start = f"http://{inprocess.own_hostname(handle)}/"
    live = inprocess.profile_fetcher(handle, start).fetch(start)
    shown = inprocess.preview_fetcher(candidate, start).fetch(start)
    assert live.status == 200 and b"<title>Live</title>" in live.body
    assert shown.status == 200 and b"<title>Candidate</title>" in shown.body
    assert shown.headers["x-gharart-deployment"] == candidate.id
    for fetched in (live, shown):
        assert "sandbox" not in fetched.headers.get("content-security-policy", "")
    assert "noindex" in shown.headers["x-robots-tag"]  # what the preview host adds
