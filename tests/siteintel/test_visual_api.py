"""Visual replay requests that need no browser: validation, the 409 without Chromium, the
pixel diff itself, and which pages are chosen."""

import io

import pytest

from gharart import constants as gc
from siteintel import constants as c
from siteintel import jobs, visual
from siteintel.models import ReplayRun
from tests.conftest import assert_error
from tests.siteintel.test_replay import BASE, V1, deploy

pytestmark = pytest.mark.django_db


@pytest.fixture
def crawled_site(api, users, handle, run_jobs):
    with run_jobs():
        deploy(handle, V1, live=True)
    with run_jobs():
        assert api(users[gc.WEB_MANAGER]).post(f"{BASE}/crawl-runs", {}, format="json").status_code == 202
    return deploy(handle, V1)


def test_a_visual_replay_without_chromium_is_409_and_queues_nothing(api, users, crawled_site, settings, tmp_path):
    settings.SITEINTEL_CHROMIUM_PATH = str(tmp_path / "no-chromium-here")
    client = api(users[gc.WEB_MANAGER])
    err = assert_error(client.post(f"{BASE}/replay-runs", {"deployment_id": crawled_site.id, "visual": True}, format="json"), 409, c.VISUAL_REPLAY_UNAVAILABLE)
    assert err["details"]["chromium_path"] == settings.SITEINTEL_CHROMIUM_PATH
    assert "Chromium is not installed" in err["message"]
    assert not ReplayRun.objects.exists()
    # A replay that does not ask for pictures still works.
    assert client.post(f"{BASE}/replay-runs", {"deployment_id": crawled_site.id}, format="json").status_code == 202


def test_a_file_that_is_not_executable_is_not_a_chromium(settings, tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("not a browser")
    settings.SITEINTEL_CHROMIUM_PATH = str(fake)
    assert "not installed" in visual.unavailable_reason()
    with pytest.raises(visual.VisualUnavailable):
        visual.Renderer("https://x.test/", {}).__enter__()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"visual": "maybe"}, "visual"),
        ({"visual": True, "visual_max_pages": 0}, "visual_max_pages"),
        ({"visual": True, "visual_max_pages": c.VISUAL_MAX_PAGES_LIMIT + 1}, "visual_max_pages"),
        ({"visual": True, "visual_threshold": 1.5}, "visual_threshold"),
        ({"visual": True, "visual_threshold": "lots"}, "visual_threshold"),
        ({"visual": True, "visual_gate": "sometimes"}, "visual_gate"),
        ({"visual_gate": True}, "visual_gate"),
        ({"visual_max_pages": 5}, "visual_max_pages"),
    ],
)
def test_malformed_visual_options_are_400_naming_the_field(api, users, crawled_site, body, field):
    response = api(users[gc.WEB_MANAGER]).post(f"{BASE}/replay-runs", {"deployment_id": crawled_site.id, **body}, format="json")
    err = assert_error(response, 400, gc.VALIDATION_ERROR)
    assert field in err["details"]
    assert not ReplayRun.objects.exists()


def test_viewers_cannot_start_a_visual_replay(api, users, crawled_site):
    response = api(users[gc.VIEWER]).post(f"{BASE}/replay-runs", {"deployment_id": crawled_site.id, "visual": True}, format="json")
    assert_error(response, 403, gc.FORBIDDEN)


def test_a_visual_replay_whose_browser_cannot_start_fails_with_the_reason(api, users, crawled_site, run_jobs, settings, monkeypatch):
    # Chromium was there when the replay was asked for and is gone when the worker runs it.
    def gone(*args, **kwargs):
        raise visual.VisualUnavailable("Chromium is not installed at /gone.")

    monkeypatch.setattr(visual.Renderer, "__enter__", gone)
    with run_jobs():
        response = api(users[gc.WEB_MANAGER]).post(f"{BASE}/replay-runs", {"deployment_id": crawled_site.id, "visual": True}, format="json")
    run = ReplayRun.objects.get(pk=response.json()["id"])
    assert run.state == c.FAILED and run.error["code"] == c.RUN_VISUAL_ERROR
    assert "/gone" in run.error["message"]
    crawled_site.refresh_from_db()
    assert crawled_site.gate_status != c.GATE_PASSED


def png(width, height, colour=(255, 255, 255), box=None):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), colour)
    if box:
        ImageDraw.Draw(image).rectangle(box, fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_the_pixel_diff_counts_changed_pixels_beyond_a_small_tolerance():
    same = visual.compare(png(100, 100), png(100, 100))
    assert same.changed_pixels == 0 and same.changed_ratio == 0
    # Anti-aliasing noise (a channel off by a few levels) is not a change.
    assert visual.compare(png(100, 100), png(100, 100, (250, 252, 255))).changed_pixels == 0
    boxed = visual.compare(png(100, 100), png(100, 100, box=(0, 0, 9, 9)))
    assert boxed.changed_pixels == 100 and boxed.changed_ratio == pytest.approx(0.01)
    from PIL import Image

    diff = Image.open(io.BytesIO(boxed.diff_png)).convert("RGB")
    assert diff.getpixel((5, 5)) == (220, 20, 60) and diff.getpixel((50, 50)) != (220, 20, 60)


def test_a_page_that_grew_counts_its_new_area_as_changed():
    grown = visual.compare(png(100, 100), png(100, 150))
    assert (grown.width, grown.height) == (100, 150)
    assert grown.changed_pixels == 100 * 50


def test_the_most_linked_html_pages_are_chosen():
    class P:
        def __init__(self, pk, url, links, depth=1, content_type="text/html", status=200):
            self.id, self.url, self.links, self.depth, self.content_type, self.status = pk, url, links, depth, content_type, status

    pages = [
        P(1, "/", ["/b", "/a", "/img.png"], depth=0),
        P(2, "/a", ["/b", "/"]),
        P(3, "/b", ["/", "/b"]),  # a link to itself does not count
        P(4, "/img.png", [], content_type="image/png"),
        P(5, "/c", ["/b"], status=404),
    ]
    assert [p.url for p in jobs.visual_pages(pages, 10)] == ["/b", "/", "/a"]
    assert [p.url for p in jobs.visual_pages(pages, 1)] == ["/b"]


def test_the_replay_panel_offers_screenshots_and_says_when_it_cannot(users, crawled_site, settings, tmp_path):
    from django.test import Client

    client = Client()
    client.force_login(users[gc.WEB_MANAGER])
    url = f"/h/acme/site-intel/replay/{crawled_site.id}/"
    settings.SITEINTEL_CHROMIUM_PATH = "/bin/sh"  # any executable: the panel only checks it is there
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="visual"' in html and 'name="visual_gate"' in html
    settings.SITEINTEL_CHROMIUM_PATH = str(tmp_path / "none")
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Screenshot comparison is not available on this server" in html and 'name="visual"' not in html
    # A visual request posted anyway (an old form) is refused with the reason, nothing queued.
    response = client.post(url, {"hostname": "acme.sites.gharart.com", "visual": "on", "visual_gate": "on"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "Visual replays are not available on this server" in response.content.decode()
    assert not ReplayRun.objects.exists()
