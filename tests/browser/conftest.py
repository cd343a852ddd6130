"""The browser harness: Debian's Chromium driven by Playwright against pytest-django's live server.

Every page a test opens is watched: console errors, uncaught exceptions and any request
that leaves the live server's origin fail the test (``session.assert_clean()``, also run at
teardown). Screenshots go to ``test-artifacts/screenshots/`` or to ``$GHARART_SCREENSHOTS``.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
SKIP_REASON = "Chromium not found at /usr/bin/chromium; install the 'chromium' package to run browser tests"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 740}
# How long auto-waiting assertions wait: long enough for a Celery round trip on a busy CI box.
EXPECT_TIMEOUT_MS = 20_000
# How long to wait for what a real worker does in the background (an archive processed, a
# crawl that waits a second between pages, a replay): its queue wait and its own duration
# both grow on a loaded machine (seen: a crawl still queued after 20 s with five suites
# running on two cores), and the step asserts what the page shows, not how fast it came.
WORKER_TIMEOUT_MS = 90_000


def _skip_reason():
    if not os.path.exists(CHROMIUM):
        return SKIP_REASON
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed; pip install -e '.[dev]' to run browser tests"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    reason = _skip_reason()
    return f"browser tests: {'skipped: ' + reason if reason else 'Chromium at ' + CHROMIUM}"


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("GHARART_SCREENSHOTS") or REPO / "test-artifacts" / "screenshots")
    if not folder.is_absolute():
        folder = REPO / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page, name):
    """The visible viewport (not the full page), so committed images stay small."""
    page.screenshot(path=str(screenshot_dir() / f"{name}.png"), animations="disabled", caret="hide")


@pytest.fixture(scope="package")
def chromium():
    # Playwright's sync API keeps an event loop running on this thread while the browser is
    # open; the ORM calls tests make next to it are still plain synchronous calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Watch:
    """Console errors, page errors and off-origin requests of one browser context."""

    def __init__(self, context, origin):
        self.origin = origin
        self.console_errors = []
        self.page_errors = []
        self.foreign_requests = []
        self.expected_statuses = []  # (path substring, status) answers a test provokes on purpose
        context.on("console", self._console)
        context.on("weberror", lambda error: self.page_errors.append(str(error.error)))
        context.on("request", self._request)

    def _console(self, msg):
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        for path, status in self.expected_statuses:
            if path in url and f"status of {status}" in msg.text:
                return
        self.console_errors.append(f"{msg.text} ({url})")

    def _request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign_requests.append(request.url)

    def expect_status(self, path, status):
        """The test provokes ``status`` at a URL containing ``path``: Chromium's log line is expected."""
        self.expected_statuses.append((path, status))

    def problems(self):
        out = []
        if self.console_errors:
            out.append(f"console errors: {self.console_errors}")
        if self.page_errors:
            out.append(f"uncaught page errors: {self.page_errors}")
        if self.foreign_requests:
            out.append(f"requests outside {self.origin}: {self.foreign_requests}")
        return out


class BrowserSession:
    """Browser contexts on the live server, each watched; ``assert_clean()`` checks them all."""

    def __init__(self, browser, base_url):
        self.browser = browser
        self.base_url = base_url.rstrip("/")
        self.watches = []
        self.contexts = []

    def context(self, *, viewport=DESKTOP, **kwargs):
        context = self.browser.new_context(base_url=self.base_url, viewport=viewport, **kwargs)
        self.contexts.append(context)
        self.watches.append(Watch(context, self.base_url))
        return context

    def page(self, **kwargs):
        return self.context(**kwargs).new_page()

    @property
    def watch(self):
        return self.watches[0]

    def watch_of(self, context):
        return self.watches[self.contexts.index(context)]

    def assert_clean(self):
        problems = [p for w in self.watches for p in w.problems()]
        assert not problems, "\n".join(problems)

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def live(live_server, settings):
    """The live server, with the public URL (magic links, preview links) pointing at it."""
    settings.GHARART_PUBLIC_URL = live_server.url
    return live_server


@pytest.fixture
def browser_session(chromium, live, request):
    session = BrowserSession(chromium, live.url)
    try:
        yield session
        failed = getattr(request.node, "rep_call", None)
        if failed is None or failed.passed:
            session.assert_clean()
    finally:
        session.close()
        # Connections opened while Playwright's loop ran are not the ones pytest-django
        # closes; close them so the test database can be flushed and dropped.
        connections.close_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


# --- Page helpers --------------------------------------------------------------------------


def log_in(page, username, password):
    """Through the real login form."""
    from playwright.sync_api import expect

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=f"Log out {username}")).to_be_visible()


def mark_page(page):
    """Set a marker on the current document: it survives HTMX swaps but not a navigation."""
    page.evaluate("window.__stillThisPage = true")


def assert_same_page(page):
    assert page.evaluate("window.__stillThisPage === true"), "the page navigated (full reload)"


def active_element(page):
    """A short description of the focused element: tag, id and classes."""
    return page.evaluate(
        "(() => { const e = document.activeElement; return e ? {tag: e.tagName, id: e.id, cls: e.className, text: (e.innerText || e.value || '').slice(0, 200)} : null })()"
    )


def tab_to(page, selector, *, max_presses=80):
    """Press Tab until the element matching ``selector`` has focus (keyboard only, no clicks)."""
    for _ in range(max_presses):
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got focus after {max_presses} Tab presses (focused: {active_element(page)})")


OVERFLOWING_CARDS_JS = """() => Array.from(document.querySelectorAll('.card, .callout'))
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => (el.id ? '#' + el.id + ' ' : '') + el.className + ': ' + (el.innerText || '').slice(0, 80).replace(/\\s+/g, ' '))"""


def overflowing_cards(page):
    """Cards and callouts whose content sticks out past their edge (a word too long to wrap)."""
    return page.evaluate(OVERFLOWING_CARDS_JS)


def no_horizontal_scroll(page):
    sizes = page.evaluate("({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert sizes["scroll"] <= sizes["inner"], f"{page.url} scrolls sideways at {sizes['inner']}px: content is {sizes['scroll']}px wide"


UNLABELLED_CONTROLS_JS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && !el.closest('[hidden]'))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 160))"""


def unlabelled_controls(page):
    """Form controls a screen reader would announce without a name."""
    return page.evaluate(UNLABELLED_CONTROLS_JS)
