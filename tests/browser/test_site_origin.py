"""In Chromium: sites on their own origin ({handle}.localhost:{port}, as `make run` serves them).

A real third-party site, built here with MkDocs (its theme, search worker, dark-mode
switch in localStorage, the root-relative 404 page), runs on its live host with no console
error, no failed request and nothing loaded from elsewhere; its root-relative links and
stylesheets resolve. A storefront script's localStorage, cookie and fetch('/data.json')
work on the live host and stay blocked on the sandboxed /profiles/ route. Preview hosts
take the grant from their link, and the dashboard's session never reaches a site host.
"""

import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from deployments import previews
from gharart import constants as gc
from tests.browser.conftest import (
    DESKTOP,
    MOBILE,
    log_in,
    no_horizontal_scroll,
    screenshot,
    unlabelled_controls,
)
from tests.deployments.conftest import publish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MKDOCS_YML = """site_name: Acme Handbook
nav:
  - Home: index.md
  - Guide: guide/install.md
  - Reporting bugs: bugs.md
theme:
  name: mkdocs
  # The theme loads highlight.js from a CDN by default; a self-contained site does not.
  highlightjs: false
"""
MKDOCS_PAGES = {
    "index.md": "# Welcome to Acme\n\nStart with the [install guide](guide/install.md), or read about [reporting bugs](/bugs/) (a root-relative link).\n",
    "guide/install.md": "# Install\n\nUnpack the lamp. Back to the [home page](/).\n\n```\nplug in; switch on\n```\n",
    "bugs.md": "# Reporting bugs\n\nWrite to bugs@acme.example with what you saw.\n",
}

STOREFRONT = {
    "index.html": b"""<!doctype html><html lang=en><head><meta charset=utf-8><title>Acme store</title>
<link rel=icon href="data:,"><link rel=stylesheet href=/css/site.css></head><body><h1>Acme store</h1><pre id=out>pending</pre>
<a href=/cart.html>Cart</a>
<script>
const out = {};
try { localStorage.setItem("cart", "3 lamps"); out.storage = localStorage.getItem("cart"); } catch (e) { out.storage = "blocked " + e.name; }
try { document.cookie = "consent=yes; path=/; SameSite=Lax"; out.cookie = document.cookie.includes("consent=yes") ? "set" : "missing"; } catch (e) { out.cookie = "blocked " + e.name; }
fetch("/data.json").then(r => r.ok ? r.json() : Promise.reject(new Error("status " + r.status)))
  .then(d => { out.fetch = "items " + d.items.length; }, e => { out.fetch = "blocked " + e.name; })
  .finally(() => { document.getElementById("out").textContent = JSON.stringify(out); document.body.dataset.done = "yes"; });
</script></body></html>""",
    "cart.html": b"""<!doctype html><html lang=en><head><meta charset=utf-8><title>Cart</title><link rel=icon href="data:,"><link rel=stylesheet href=/css/site.css></head>
<body><h1>Cart</h1><p id=cart></p><script>document.getElementById("cart").textContent = localStorage.getItem("cart");</script></body></html>""",
    "css/site.css": b"h1 { color: rgb(200, 30, 60); }\n",
    "data.json": b'{"items": [{"sku": "lamp"}, {"sku": "rug"}]}',
}


class SiteWatch:
    """Everything that goes wrong in one context: console errors, page errors, failed
    requests, 4xx/5xx answers (except those a test expects) and requests to other origins."""

    def __init__(self, context, origins, *, left_early=()):
        self.origins = set(origins)
        # Origins whose loads a test may cut short by navigating on (the dashboard's favicon
        # while the test moves from the login page to the site): ERR_ABORTED there is no fault.
        self.left_early = set(left_early)
        self.problems = []
        self.expected = []  # (path, status)
        self.responses = []
        context.on("console", lambda m: m.type == "error" and not self._expected_text(m.text) and self.problems.append(f"console: {m.text}"))
        context.on("weberror", lambda e: self.problems.append(f"page error: {e.error}"))
        context.on("requestfailed", self._failed)
        context.on("request", self._request)
        context.on("response", self._response)

    def _failed(self, request):
        parts = urlsplit(request.url)
        if request.failure == "net::ERR_ABORTED" and f"{parts.scheme}://{parts.netloc}" in self.left_early:
            return
        self.problems.append(f"failed: {request.url} {request.failure}")

    def _expected_text(self, text):
        return any(f"status of {status}" in text for _, status in self.expected)

    def _request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob") and f"{parts.scheme}://{parts.netloc}" not in self.origins:
            self.problems.append(f"foreign request: {request.url}")

    def _response(self, response):
        path = urlsplit(response.url).path
        self.responses.append((path, response.status))
        if response.status >= 400 and (path, response.status) not in self.expected:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def assert_clean(self):
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def sites(live, settings):
    """The sites domain on the live server's port, as `make run` sets it: localhost:{port}."""
    port = urlsplit(live.url).port
    settings.GHARART_SITES_DOMAIN = f"localhost:{port}"
    settings.GHARART_SITES_SCHEME = "http"
    return {"port": port, "dashboard": live.url, "live": f"http://acme.localhost:{port}"}


@pytest.fixture
def contexts(chromium, live):
    opened = []

    def new(viewport=DESKTOP):
        context = chromium.new_context(viewport=viewport, base_url=live.url)
        opened.append(context)
        return context

    yield new
    for context in opened:
        context.close()


def mkdocs_site(tmp_path):
    """The MkDocs build of a small handbook, as a {path: bytes} map ready to deploy."""
    if shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("mkdocs is not installed in this environment (pip install 'mkdocs>=1.6')")
    src = tmp_path / "handbook"
    (src / "docs" / "guide").mkdir(parents=True)
    (src / "mkdocs.yml").write_text(MKDOCS_YML)
    for name, text in MKDOCS_PAGES.items():
        (src / "docs" / name).write_text(text)
    subprocess.run([str(Path(sys.executable).parent / "mkdocs"), "build", "--quiet", "--site-dir", str(src / "site")], cwd=src, check=True, timeout=120)
    site = src / "site"
    return {str(p.relative_to(site)): p.read_bytes() for p in site.rglob("*") if p.is_file() and not p.name.endswith((".map", ".gz"))}


SWAGGER_SPEC = b"""{"openapi": "3.0.3", "info": {"title": "Acme Store API", "version": "1.0"},
 "paths": {"/data.json": {"get": {"summary": "The catalogue", "responses": {"200": {"description": "Products"}}}}}}"""


def swagger_ui_site(tmp_path):
    """swagger-ui-dist from npm (its own files, minus source maps and the ES bundles),
    pointed at the site's own /openapi.json instead of the petstore."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed (apt-get install npm)")
    packed = subprocess.run([npm, "pack", "swagger-ui-dist@5", "--silent"], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    if packed.returncode != 0:
        pytest.skip(f"npm pack swagger-ui-dist failed (no registry access?): {packed.stderr[-300:]}")
    import tarfile

    with tarfile.open(tmp_path / packed.stdout.strip().splitlines()[-1]) as tf:
        tf.extractall(tmp_path, filter="data")
    package = tmp_path / "package"
    files = {
        p.name: p.read_bytes()
        for p in package.iterdir()
        if p.is_file() and p.suffix in (".html", ".js", ".css", ".png") and "-es-bundle" not in p.name
    }
    initializer = files["swagger-initializer.js"].decode()
    assert "https://petstore.swagger.io/v2/swagger.json" in initializer
    files["swagger-initializer.js"] = initializer.replace(
        '"https://petstore.swagger.io/v2/swagger.json"', '"/openapi.json", validatorUrl: null'
    ).encode()
    files["openapi.json"] = SWAGGER_SPEC
    files["data.json"] = STOREFRONT["data.json"]
    return files


PYTHON_DOCS = Path("/usr/share/doc/python3/html")


def python_docs_site():
    """Debian's python3-doc HTML (minus the reST sources and downloads, never opened here)."""
    if not (PYTHON_DOCS / "index.html").exists():
        pytest.skip("Debian's python3-doc is not installed (apt-get install python3-doc)")
    root = PYTHON_DOCS.resolve()
    files = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if rel.parts[0] in ("_sources", "_downloads") or not path.is_file():
            continue
        files[str(rel)] = path.read_bytes()  # follows Debian's symlinks to jquery/underscore
    return files


def live_big_site(handle, files):
    """Like ``live_handle`` for an archive large enough to be unpacked by the (eager) job."""
    from deployments.services.ingest import deployment_create_from_archive
    from deployments.services.releases import deployment_preview_report, deployment_promote
    from tests.deployments.conftest import make_zip, upload

    handle.site_mode = gc.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    dep = deployment_create_from_archive(handle=handle, upload=upload(make_zip(files)), target="site", message="docs", actor=None)
    dep.refresh_from_db()
    assert dep.state == "ready", dep.error
    deployment_preview_report(deployment=dep)
    deployment_promote(deployment=dep, actor=None, role="owner", reason="test")
    return dep


def live_handle(handle, files):
    handle.site_mode = gc.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    return publish(handle, files)


def test_a_mkdocs_site_works_on_its_own_origin(sites, contexts, handle, tmp_path):
    live_handle(handle, mkdocs_site(tmp_path))
    context = contexts()
    watch = SiteWatch(context, {sites["live"]})
    page = context.new_page()

    def visit(go):
        """Navigate, and wait until the search plugin's worker has loaded lunr and its index
        from the site's own origin (a navigation in the middle would abort them)."""
        with context.expect_event("requestfinished", lambda r: r.url.endswith("/search/search_index.json")) as index:
            with context.expect_event("requestfinished", lambda r: r.url.endswith("/search/lunr.js")):
                result = go()
        assert index.value.url.startswith(sites["live"] + "/") and index.value.response().status == 200
        return result

    visit(lambda: page.goto(sites["live"] + "/"))
    expect(page.get_by_role("heading", name="Welcome to Acme")).to_be_visible()
    # The theme's stylesheets applied: Bootstrap lays out the navbar.
    assert page.evaluate("getComputedStyle(document.querySelector('.navbar')).display") == "flex"
    # The theme's dark-mode switch keeps its choice in localStorage (sandboxed, this throws).
    assert page.evaluate("(() => { localStorage.setItem('probe', '1'); return localStorage.getItem('probe'); })()") == "1"
    screenshot(page, "site-own-origin")
    # A root-relative link goes to the site's root, not the dashboard's.
    visit(lambda: page.get_by_role("main").get_by_role("link", name="reporting bugs").click())
    expect(page).to_have_url(sites["live"] + "/bugs/")
    expect(page.get_by_role("heading", name="Reporting bugs")).to_be_visible()
    visit(lambda: page.goto(sites["live"] + "/guide/install/"))
    visit(lambda: page.get_by_role("main").get_by_role("link", name="home page").click())
    expect(page).to_have_url(sites["live"] + "/")
    # MkDocs' 404 page links its stylesheets root-relative (/css/base.css): they load.
    watch.expected.append(("/no/such/page/", 404))
    response = visit(lambda: page.goto(sites["live"] + "/no/such/page/"))
    assert response.status == 404
    expect(page.get_by_role("heading", name="404")).to_be_visible()
    assert ("/css/base.css", 200) in watch.responses
    assert page.evaluate("getComputedStyle(document.querySelector('.navbar')).display") == "flex"
    watch.assert_clean()


def test_debians_python_docs_work_on_their_own_origin(sites, contexts, handle):
    live_big_site(handle, python_docs_site())
    context = contexts()
    watch = SiteWatch(context, {sites["live"]})
    page = context.new_page()
    page.goto(sites["live"] + "/")
    expect(page.get_by_role("heading", name="Python 3.11")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('div.related')).display") != "none"
    # "Found a bug?" is root-relative (href="/bugs.html"): the site's own page, not the dashboard's.
    page.get_by_role("link", name="Found a bug").click()
    expect(page).to_have_url(sites["live"] + "/bugs.html")
    expect(page.get_by_role("heading", name="Dealing with Bugs")).to_be_visible()
    # The sidebar keeps its state in a cookie (in the sandbox, document.cookie throws).
    page.get_by_title("Collapse sidebar").click()
    expect(page.get_by_title("Expand sidebar")).to_be_visible()
    assert "sidebar" in {c["name"] for c in context.cookies(sites["live"])}
    watch.assert_clean()


def test_swagger_ui_from_npm_fetches_its_spec_and_tries_the_api_on_its_own_origin(sites, contexts, handle, tmp_path):
    live_handle(handle, swagger_ui_site(tmp_path))
    context = contexts()
    watch = SiteWatch(context, {sites["live"]})
    page = context.new_page()
    page.goto(sites["live"] + "/")
    expect(page.locator(".info .title")).to_contain_text("Acme Store API")
    page.get_by_text("The catalogue").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    expect(page.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    assert ("/openapi.json", 200) in watch.responses and ("/data.json", 200) in watch.responses
    watch.assert_clean()


def test_a_storefront_script_works_on_the_live_host_and_stays_blocked_on_profiles(sites, contexts, handle, users):
    live_handle(handle, STOREFRONT)
    context = contexts()
    watch = SiteWatch(context, {sites["live"], sites["dashboard"]}, left_early={sites["dashboard"]})
    page = context.new_page()
    page.goto(sites["dashboard"] + "/accounts/login/")
    log_in(page, "acme-owner", "pw-owner")
    page.goto(sites["live"] + "/")
    page.wait_for_selector("body[data-done=yes]")
    result = page.evaluate("JSON.parse(document.getElementById('out').textContent)")
    assert result == {"storage": "3 lamps", "cookie": "set", "fetch": "items 2"}
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).color") == "rgb(200, 30, 60)"
    page.get_by_role("link", name="Cart").click()
    expect(page.locator("#cart")).to_have_text("3 lamps")  # same origin, same storage
    # Host-only cookies: the dashboard's never reach the site, the site's never the dashboard.
    site_cookies = {c["name"] for c in context.cookies(sites["live"])}
    dashboard_cookies = {c["name"] for c in context.cookies(sites["dashboard"])}
    assert site_cookies == {"consent"}
    assert "sessionid" in dashboard_cookies and "consent" not in dashboard_cookies
    watch.assert_clean()

    # The same page on the sandboxed profile route: storage, cookie and fetch are blocked.
    sandboxed = contexts().new_page()
    sandboxed.goto(sites["dashboard"] + "/profiles/acme/")
    sandboxed.wait_for_selector("body[data-done=yes]")
    blocked = sandboxed.evaluate("JSON.parse(document.getElementById('out').textContent)")
    assert blocked["storage"].startswith("blocked") and blocked["cookie"].startswith("blocked")
    assert blocked["fetch"].startswith("blocked")
    # Its root-relative stylesheet points at the dashboard's root: not the site's.
    assert sandboxed.evaluate("getComputedStyle(document.querySelector('h1')).color") != "rgb(200, 30, 60)"


def test_a_preview_link_grants_its_preview_host_and_nothing_else(sites, contexts, handle, users):
    live_handle(handle, STOREFRONT)
    candidate = publish(handle, {**STOREFRONT, "cart.html": b"<!doctype html><title>New cart</title><link rel=icon href=\"data:,\"><h1>New cart page</h1>"}, promote=False)
    link = previews.preview_host_url(candidate)
    host = urlsplit(link).netloc
    assert host == f"{candidate.id.removeprefix('dep_')}--acme.localhost:{sites['port']}"
    context = contexts()
    watch = SiteWatch(context, {f"http://{host}"})
    page = context.new_page()
    page.goto(link)
    expect(page).to_have_url(f"http://{host}/")  # the token left the address bar
    page.wait_for_selector("body[data-done=yes]")
    page.get_by_role("link", name="Cart").click()
    expect(page.get_by_role("heading", name="New cart page")).to_be_visible()
    grant = next(c for c in context.cookies(f"http://{host}") if c["name"] == "gharart_preview")
    assert grant["httpOnly"] and grant["sameSite"] == "Lax" and grant["domain"] == host.split(":")[0]
    assert grant["expires"] > 0
    watch.assert_clean()
    # Without the link: a page saying what is needed, status 401.
    stranger = contexts().new_page()
    response = stranger.goto(f"http://{host}/cart.html")
    assert response.status == 401
    expect(stranger.get_by_text("preview link")).to_be_visible()


def test_the_deployments_page_links_each_ready_deployment_to_its_preview_host(sites, contexts, handle, users):
    live_handle(handle, STOREFRONT)
    publish(handle, {**STOREFRONT, "index.html": b"<!doctype html><title>Spring</title><h1>Spring collection</h1>"}, promote=False, message="Spring")
    context = contexts()
    page = context.new_page()
    page.goto(sites["dashboard"] + "/accounts/login/")
    log_in(page, "acme-viewer", "pw-viewer")
    page.goto(sites["dashboard"] + "/h/acme/deployments/")
    page.reload()  # the link is part of the page, not of a one-off response
    with context.expect_page() as opened:
        page.get_by_role("link", name="Preview v2 on its own host").click()
    preview = opened.value
    expect(preview.get_by_role("heading", name="Spring collection")).to_be_visible()
    assert urlsplit(preview.url).path == "/" and "preview_token" not in preview.url


def test_the_domains_page_at_375px_adds_shows_the_record_and_removes_after_confirming(sites, contexts, handle, users):
    context = contexts(viewport=MOBILE)
    page = context.new_page()
    page.goto(sites["dashboard"] + "/accounts/login/")
    log_in(page, "acme-owner", "pw-owner")
    page.goto(sites["dashboard"] + "/h/acme/domains/")
    expect(page.get_by_role("heading", name="Domains", exact=True)).to_be_visible()
    page.get_by_label("Add a domain").fill("a-rather-long-subdomain-name.brand-with-a-long-name.example")
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_text("_gharart-challenge.a-rather-long-subdomain-name.brand-with-a-long-name.example")).to_be_visible()
    expect(page.get_by_text("Pending", exact=True)).to_be_visible()
    no_horizontal_scroll(page)
    assert unlabelled_controls(page) == []
    screenshot(page, "mobile-domains")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Remove a-rather-long-subdomain-name.brand-with-a-long-name.example").click()
    expect(page.get_by_text("No custom domains yet.")).to_be_visible()
