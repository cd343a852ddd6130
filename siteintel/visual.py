"""Visual replay: pages rendered in headless Chromium, live and candidate, compared pixel by pixel.

``Renderer`` starts one Chromium (Debian's, driven by Playwright) for a job and reuses it
for every page. The browser never reaches the network: every request it makes goes
through route interception, and only URLs of the site's own origin are answered, with
bytes from a fetcher the caller gives per side (the in-process deployment resolver for
the candidate, the live site's fetcher for the live side); everything else is aborted.

Playwright runs an event loop in the thread that drives it, where Django's ORM refuses to
run; the in-process fetchers need the ORM (and, in a job, the job's database connection).
So the browser lives in its own thread (Playwright's async API, a few pages rendered at a
time) and *asks* the job's thread for each response: ``render_all()`` serves those
requests until the screenshots are ready.

Each response reaches the browser with the site's own headers (``browser_headers``): a
``_headers`` rule, a Content-Security-Policy included, shows in the picture as it would for
a visitor. The live side is what the live site's host serves (its own hostname, or the
in-process live host ``{handle}.{GHARART_SITES_DOMAIN}``), the candidate what its preview
host serves (``inprocess.preview_fetcher``), never the sandboxed ``/profiles/`` route;
both are shown at the crawl's origin, so the two pictures differ only by what the site does.

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
# A constructed stylesheet first: a site's Content-Security-Policy (forwarded to the
# browser) may forbid inline <style>, and the freeze must not change what it allows.
FREEZE_SCRIPT = """
(() => {
  const css = CSS_TEXT;
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    return;
  } catch (e) { /* an old engine: the <style> element below */ }
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


# Headers of a site's response the browser is not given: how the bytes travelled (they
# arrive decoded and whole), caching and validators (every render starts cold), cookies
# (no page's render depends on an earlier one).
NOT_FORWARDED = frozenset({
    "connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "content-range",
    "accept-ranges", "etag", "last-modified", "expires", "age", "cache-control", "vary", "set-cookie", "date",
})


def browser_headers(fetched):
    """The headers the browser renders a response with: the site's own (its ``_headers``,
    a Content-Security-Policy included, so what it allows or forbids shows in the picture),
    minus ``NOT_FORWARDED``."""
    headers = {k: v for k, v in (fetched.headers or {}).items() if k.lower() not in NOT_FORWARDED}
    headers["content-type"] = fetched.content_type or "application/octet-stream"
    headers["cache-control"] = "no-store"
    return headers


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
    """One headless Chromium for one job.

    ``with Renderer(origin, {"live": f1, "candidate": f2}) as r: r.render("live", url)``, or
    ``for url, shots in r.render_all(urls): ...`` (``shots`` maps each side to a ``Shot``;
    pages are rendered ``concurrency`` at a time, every side of one URL together).
    ``fetchers`` map a side to a ``crawler.Fetcher``; fetches run in the thread that calls
    ``render``/``render_all``, and a URL is fetched once per side per job (a stylesheet
    every page loads is read once).
    """

    def __init__(self, origin, fetchers, *, page_timeout=None, concurrency=2, cache_bytes=64 * 1024 * 1024):
        self.origin = crawler.origin_of(crawler.normalize_url(origin))
        self.fetchers = fetchers
        self.page_timeout = settings.SITEINTEL_VISUAL_PAGE_TIMEOUT if page_timeout is None else page_timeout
        self.concurrency = max(1, concurrency)
        self.commands = queue.Queue()
        self.events = queue.Queue()
        self.thread = None
        self.requests_served = 0
        self.requests_blocked = 0
        self._cache = {}
        self._cache_room = cache_bytes

    # --- the caller's thread ---------------------------------------------------------
    def __enter__(self):
        reason = unavailable_reason()
        if reason:
            raise VisualUnavailable(reason)
        self.thread = threading.Thread(target=self._browser_thread, name="visual-replay", daemon=True)
        self.thread.start()
        kind, payload = self._next_event(timeout=90)
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
        for _, shots in self.render_all([url], sides=[side]):
            return shots[side]
        return Shot(error="the browser is not running")

    def render_all(self, urls, sides=None):
        """Yield ``(url, {side: Shot})`` as each URL is rendered on every side."""
        sides = list(sides or self.fetchers)
        if self.thread is None or not self.thread.is_alive():
            for url in urls:
                yield url, {side: Shot(error="the browser is not running") for side in sides}
            return
        urls = list(urls)
        self.commands.put((urls, sides))
        pending = len(urls)
        # The browser asks for each response while it loads a page; answer until all are done.
        while pending:
            kind, payload = self._next_event(timeout=self.page_timeout * 2 + 30)
            if kind == "fetch":
                side, url, deliver = payload
                deliver(self._respond(side, url))
            elif kind == "shots":
                pending -= 1
                yield payload
            else:
                error = Shot(error=str(payload))
                for url in urls[len(urls) - pending:]:
                    yield url, {side: error for side in sides}
                return

    def _respond(self, side, url):
        """``(status, headers, body)`` for the browser, or None to abort the request."""
        normalized = crawler.normalize_url(url)
        if normalized is None or crawler.origin_of(normalized) != self.origin:
            return None
        key = (side, normalized)
        if key in self._cache:
            return self._cache[key]
        fetched = self.fetchers[side].fetch(normalized)
        if fetched.status is None or fetched.error:
            answer = None
        else:
            answer = (fetched.status, browser_headers(fetched), fetched.body)
        size = len(answer[2]) if answer else 0
        if size <= self._cache_room:
            self._cache[key] = answer
            self._cache_room -= size
        return answer

    # --- the browser's thread (its own asyncio loop) -----------------------------------
    def _browser_thread(self):
        import asyncio

        try:
            asyncio.run(self._browser_main())
        except Exception as exc:  # reported to the job, which records it
            self.events.put(("error", f"{type(exc).__name__}: {exc}"))

    async def _browser_main(self):
        import asyncio

        from playwright.async_api import async_playwright

        loop = asyncio.get_running_loop()
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=settings.SITEINTEL_CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True, timeout=60_000,
            )
            try:
                pages = {}
                for side in self.fetchers:
                    context = await self._context(browser, side, loop)
                    pool = asyncio.Queue()
                    for _ in range(self.concurrency):
                        pool.put_nowait(await context.new_page())
                    pages[side] = pool
                self.events.put(("ready", None))
                while True:
                    command = await asyncio.to_thread(self.commands.get)
                    if command is None:
                        break
                    urls, sides = command
                    slots = asyncio.Semaphore(self.concurrency)

                    async def one(url, sides=sides, slots=slots):
                        async with slots:
                            shots = await asyncio.gather(*(self._shoot(pages[side], url) for side in sides))
                            self.events.put(("shots", (url, dict(zip(sides, shots, strict=True)))))

                    await asyncio.gather(*(one(url) for url in urls))
            finally:
                await browser.close()

    async def _context(self, browser, side, loop):
        context = await browser.new_context(
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
        await context.add_init_script(FREEZE_SCRIPT)

        async def route(route):
            await self._route(side, route, loop)

        await context.route("**/*", route)
        return context

    async def _route(self, side, route, loop):
        request = route.request
        parts = urlsplit(request.url)
        if request.method not in ("GET", "HEAD") or f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.requests_blocked += 1
            await route.abort("blockedbyclient")
            return
        answer = loop.create_future()

        def deliver(value):
            loop.call_soon_threadsafe(lambda: answer.done() or answer.set_result(value))

        self.events.put(("fetch", (side, request.url, deliver)))
        response = await answer
        if response is None:
            self.requests_blocked += 1
            await route.abort("failed")
            return
        self.requests_served += 1
        status, headers, body = response
        await route.fulfill(status=status, headers=headers, body=body)

    async def _shoot(self, pool, url):
        page = await pool.get()
        try:
            await page.goto(url, wait_until="load")
            height = await page.evaluate(SETTLE_SCRIPT) or VIEWPORT["height"]
            height = max(VIEWPORT["height"], min(int(height), MAX_HEIGHT))
            png = await page.screenshot(
                type="png", full_page=True, animations="disabled", caret="hide",
                clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height},
            )
            return Shot(png=png)
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else ""
            return Shot(error=f"{type(exc).__name__}: {message}"[:300])
        finally:
            # The page is reused for the next URL: leave it blank, so nothing of this one
            # (timers, a late request) runs on.
            try:
                await page.goto("about:blank")
            except Exception:
                pass
            pool.put_nowait(page)


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


def compare(before_png, after_png, *, tolerance=TOLERANCE, threshold=None) -> Comparison:
    """The share of changed pixels of two screenshots (sizes may differ: the smaller is
    padded with white, so a page that grew counts its new area as changed) and the diff
    PNG: the before image faded to grey with every changed pixel red (made only when the
    share exceeds ``threshold``, if one is given)."""
    from PIL import Image, ImageChops

    if before_png == after_png:
        width, height = Image.open(io.BytesIO(before_png)).size
        return Comparison(changed_ratio=0.0, changed_pixels=0, width=width, height=height, diff_png=b"")
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
    ratio = changed / float(width * height)
    diff_png = b""
    if threshold is None or ratio > threshold:
        faded = before.convert("L").point(lambda v: 170 + v // 3).convert("RGB")
        faded.paste(Image.new("RGB", (width, height), (220, 20, 60)), mask=mask)
        out = io.BytesIO()
        faded.save(out, format="PNG", compress_level=1)
        diff_png = out.getvalue()
    return Comparison(changed_ratio=ratio, changed_pixels=changed, width=width, height=height, diff_png=diff_png)
