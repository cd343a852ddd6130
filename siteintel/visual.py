"""Visual replay: pages rendered in headless Chromium, live and candidate, compared pixel by pixel.

``Renderer`` starts one Chromium (Debian's, driven by Playwright) for a job and reuses it
for every page. The browser never reaches the network: every request it makes goes
through route interception, and only URLs of the site's own origin are answered, with
bytes from a fetcher the caller gives per side (the in-process deployment resolver for
the candidate, the live site's fetcher for the live side); everything else is aborted.

Playwright's sync API runs an event loop in the thread that drives it, where Django's ORM
refuses to run; the in-process fetchers need the ORM (and, in a job, the job's database
connection). So the browser lives in its own thread and *asks* the job's thread for each
response: ``render()`` serves those requests until the screenshot is ready.

Rendering is made deterministic: a fixed 1280x800 viewport at scale 1, UTC, en-US, light
colour scheme, reduced motion, animations and transitions and the caret off, fonts
settled, two animation frames waited, service workers blocked. ``compare()`` is the pixel
diff (Pillow): the share of pixels whose colour differs beyond a small tolerance, and a
diff image (the page greyed, changed pixels red).
"""

import io
import json
import os
import queue
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from siteintel import crawler

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--font-render-hinting=none",
]
VIEWPORT = {"width": 1280, "height": 800}
# Long pages are compared down to this height (a full page of a long catalogue would be
# tens of megapixels for little gain).
MAX_HEIGHT = 4000
# A channel difference up to this is not a change (anti-aliasing noise).
TOLERANCE = 8
FREEZE_CSS = (
    "*, *::before, *::after { animation: none !important; transition: none !important; "
    "caret-color: transparent !important; scroll-behavior: auto !important; }"
)
FREEZE_SCRIPT = """
(() => {
  const css = CSS_TEXT;
  const add = () => {
    const style = document.createElement('style');
    style.setAttribute('data-gharart-visual', '');
    style.textContent = css;
    (document.head || document.documentElement).appendChild(style);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', add); else add();
})();
""".replace("CSS_TEXT", json.dumps(FREEZE_CSS))
SETTLE_SCRIPT = """
async () => {
  if (document.fonts && document.fonts.ready) { await document.fonts.ready; }
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const el = document.scrollingElement || document.documentElement;
  return Math.ceil(Math.max(el ? el.scrollHeight : 0, document.body ? document.body.scrollHeight : 0));
}
"""


class VisualUnavailable(Exception):
    """No Chromium (or no Playwright) on this server."""


def unavailable_reason():
    """Why visual replays cannot run here, or None when they can."""
    path = settings.SITEINTEL_CHROMIUM_PATH
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        return f"Chromium is not installed at {path or '(no path set)'}."
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed."
    return None


@dataclass
class Shot:
    png: bytes | None = None
    error: str = ""


class Renderer:
    """One headless Chromium for one job: ``with Renderer(origin, {"live": f1, "candidate": f2}) as r:
    r.render("live", url)``. ``fetchers`` map a side to a ``crawler.Fetcher``; fetches run
    in the thread that calls ``render``."""

    def __init__(self, origin, fetchers, *, page_timeout=None):
        self.origin = crawler.origin_of(crawler.normalize_url(origin))
        self.fetchers = fetchers
        self.page_timeout = settings.SITEINTEL_VISUAL_PAGE_TIMEOUT if page_timeout is None else page_timeout
        self.commands = queue.Queue()
        self.events = queue.Queue()
        self.thread = None
        self.requests_served = 0
        self.requests_blocked = 0

    # --- the caller's thread ---------------------------------------------------------
    def __enter__(self):
        reason = unavailable_reason()
        if reason:
            raise VisualUnavailable(reason)
        self.thread = threading.Thread(target=self._browser_main, name="visual-replay", daemon=True)
        self.thread.start()
        kind, payload = self._next_event(timeout=60)
        if kind != "ready":
            self.thread.join(timeout=10)
            raise VisualUnavailable(f"Chromium did not start: {payload}")
        return self

    def __exit__(self, *exc):
        if self.thread is not None and self.thread.is_alive():
            self.commands.put(None)
            self.thread.join(timeout=30)
        return False

    def _next_event(self, timeout):
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return "error", "the browser stopped answering"

    def render(self, side, url) -> Shot:
        """A screenshot of ``url`` as ``side`` serves it (PNG bytes), or the error."""
        if self.thread is None or not self.thread.is_alive():
            return Shot(error="the browser is not running")
        self.commands.put((side, url))
        # The browser asks for each response while it loads the page; answer until it is done.
        while True:
            kind, payload = self._next_event(timeout=self.page_timeout * 2 + 10)
            if kind == "fetch":
                fetch_side, fetch_url, reply = payload
                reply.put(self._respond(fetch_side, fetch_url))
            elif kind == "shot":
                return payload
            else:
                return Shot(error=str(payload))

    def _respond(self, side, url):
        """``(status, headers, body)`` for the browser, or None to abort the request."""
        normalized = crawler.normalize_url(url)
        if normalized is None or crawler.origin_of(normalized) != self.origin:
            return None
        fetched = self.fetchers[side].fetch(normalized)
        if fetched.status is None or fetched.error:
            return None
        headers = {"content-type": fetched.content_type or "application/octet-stream", "cache-control": "no-store"}
        return fetched.status, headers, fetched.body

    # --- the browser's thread --------------------------------------------------------
    def _browser_main(self):
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            self.events.put(("error", str(exc)))
            return
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=settings.SITEINTEL_CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True, timeout=60_000,
                )
                try:
                    contexts = {side: self._context(browser, side) for side in self.fetchers}
                    self.events.put(("ready", None))
                    while True:
                        command = self.commands.get()
                        if command is None:
                            break
                        side, url = command
                        self.events.put(("shot", self._shoot(contexts[side], url)))
                finally:
                    browser.close()
        except Exception as exc:  # reported to the job, which records it
            self.events.put(("error", f"{type(exc).__name__}: {exc}"))

    def _context(self, browser, side):
        context = browser.new_context(
            viewport=VIEWPORT,
            device_scale_factor=1,
            locale="en-US",
            timezone_id="UTC",
            color_scheme="light",
            reduced_motion="reduce",
            service_workers="block",
            java_script_enabled=True,
        )
        context.set_default_timeout(self.page_timeout * 1000)
        context.add_init_script(FREEZE_SCRIPT)
        context.route("**/*", lambda route: self._route(side, route))
        return context

    def _route(self, side, route):
        request = route.request
        parts = urlsplit(request.url)
        if request.method not in ("GET", "HEAD") or f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.requests_blocked += 1
            route.abort("blockedbyclient")
            return
        reply = queue.Queue(maxsize=1)
        self.events.put(("fetch", (side, request.url, reply)))
        answer = reply.get()
        if answer is None:
            self.requests_blocked += 1
            route.abort("failed")
            return
        self.requests_served += 1
        status, headers, body = answer
        route.fulfill(status=status, headers=headers, body=body)

    def _shoot(self, context, url):
        page = context.new_page()
        try:
            page.goto(url, wait_until="load")
            height = page.evaluate(SETTLE_SCRIPT) or VIEWPORT["height"]
            height = max(VIEWPORT["height"], min(int(height), MAX_HEIGHT))
            png = page.screenshot(
                type="png", full_page=True, animations="disabled", caret="hide",
                clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height},
            )
            return Shot(png=png)
        except Exception as exc:
            return Shot(error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300])
        finally:
            page.close()


# --- The pixel diff -------------------------------------------------------------------------

@dataclass
class Comparison:
    changed_ratio: float
    changed_pixels: int
    width: int
    height: int
    diff_png: bytes


def _padded(image, width, height):
    from PIL import Image

    if image.size == (width, height):
        return image
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    canvas.paste(image, (0, 0))
    return canvas


def compare(before_png, after_png, *, tolerance=TOLERANCE) -> Comparison:
    """The share of changed pixels of two screenshots (sizes may differ: the smaller is
    padded with white, so a page that grew counts its new area as changed) and the diff
    PNG: the before image faded to grey with every changed pixel red."""
    from PIL import Image, ImageChops

    before = Image.open(io.BytesIO(before_png)).convert("RGB")
    after = Image.open(io.BytesIO(after_png)).convert("RGB")
    width, height = max(before.width, after.width), max(before.height, after.height)
    if before.size != after.size:
        # Outside the smaller image every pixel counts as changed, whatever its colour.
        grown = Image.new("L", (width, height), 255)
        grown.paste(Image.new("L", before.size, 0), (0, 0))
        grown_after = Image.new("L", (width, height), 255)
        grown_after.paste(Image.new("L", after.size, 0), (0, 0))
        outside = ImageChops.lighter(grown, grown_after)
    else:
        outside = None
    before, after = _padded(before, width, height), _padded(after, width, height)
    r, g, b = ImageChops.difference(before, after).split()
    strongest = ImageChops.lighter(ImageChops.lighter(r, g), b)
    mask = strongest.point(lambda v: 255 if v > tolerance else 0)
    if outside is not None:
        mask = ImageChops.lighter(mask, outside)
    changed = mask.histogram()[255]
    faded = before.convert("L").point(lambda v: 170 + v // 3).convert("RGB")
    faded.paste(Image.new("RGB", (width, height), (220, 20, 60)), mask=mask)
    out = io.BytesIO()
    faded.save(out, format="PNG", optimize=False)
    return Comparison(
        changed_ratio=changed / float(width * height), changed_pixels=changed, width=width, height=height, diff_png=out.getvalue(),
    )
