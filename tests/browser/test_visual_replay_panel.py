"""The replay panel's visual comparison in Chromium: before, after and diff side by side,
one at a time from the keyboard, and nothing sideways at phone width."""

import io

import pytest

from gharart import constants as gc
from siteintel import constants as c
from siteintel.models import CrawlRun, ReplayDiff, ReplayRun, ReplayScreenshot
from tests.browser.conftest import MOBILE, log_in, no_horizontal_scroll, screenshot, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def png(colour):
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1280, 800), colour).save(out, format="PNG")
    return out.getvalue()


def visual_run(handle):
    from deployments import storage
    from tests.siteintel.test_replay import V1, deploy

    deployment = deploy(handle, V1)
    crawl = CrawlRun.objects.create(handle=handle, hostname="acme.sites.gharart.com", max_pages=10, max_depth=2, state=c.SUCCEEDED)
    run = ReplayRun.objects.create(
        handle=handle, hostname=crawl.hostname, crawl_run=crawl, deployment_id=deployment.id, state=c.SUCCEEDED, visual=True,
        visual_gate=True, gate_status=c.GATE_FAILED, summary={"total": 8, "unchanged": 7, "changed": 1, "regressions": 1},
    )
    shas = {}
    for name, colour in (("before", (255, 255, 255)), ("after", (250, 220, 0)), ("diff", (220, 20, 60))):
        info = storage.blob_put_bytes(png(colour))
        ReplayScreenshot.objects.create(replay_run=run, sha256=info.sha256, size=info.size)
        shas[name] = info.sha256
    ReplayDiff.objects.create(
        replay_run=run, path="/products/vase.html", kind=c.DIFF_VISUAL_CHANGED, regression=True,
        before={"status": 200, "sha256": "a" * 64, "title": "Vase"}, after={"status": 200, "sha256": "a" * 64, "title": "Vase"},
        visual={"changed_ratio": 0.034, **shas},
    )
    return deployment


def visible_figures(page):
    return page.evaluate("() => Array.from(document.querySelectorAll('.visual-figures figure')).filter(f => f.offsetParent !== null).map(f => f.className)")


def test_the_visual_comparison_switches_from_the_keyboard_and_fits_a_phone(browser_session, users, handle):
    deployment = visual_run(handle)
    page = browser_session.page(viewport=MOBILE)
    log_in(page, "acme-viewer", "pw-" + gc.VIEWER)
    page.goto(f"/h/acme/site-intel/replay/{deployment.id}/")
    page.get_by_text("looks different (3.4% of the page)").wait_for()
    assert visible_figures(page) == ["visual-before", "visual-after", "visual-diff"]
    # The three images load (members may read them). They are lazy, so each loads once it
    # nears the viewport: scroll to each and wait for it rather than reading them at once.
    images = page.locator(".visual-figures img")
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=images.nth(i).element_handle())
    loaded = page.evaluate("() => Array.from(document.querySelectorAll('.visual-figures img')).map(i => i.complete && i.naturalWidth)")
    assert loaded == [1280, 1280, 1280]
    page.evaluate("window.scrollTo(0, 0)")
    no_horizontal_scroll(page)
    screenshot(page, "visual-replay-side-by-side-375")
    tab_to(page, '.visual-modes input[value="side"]')
    page.keyboard.press("ArrowRight")
    assert visible_figures(page) == ["visual-before"]
    page.keyboard.press("ArrowRight")
    assert visible_figures(page) == ["visual-after"]
    page.keyboard.press("ArrowRight")
    assert visible_figures(page) == ["visual-diff"]
    no_horizontal_scroll(page)
    screenshot(page, "visual-replay-diff-375")
