"""The deployments dashboard in Chromium, without a worker (jobs run inline): drop an archive
onto the drop zone and watch its progress reach the end, open the preview in its sandboxed
frame, promote through the exact confirmation, then the site page at phone width: the mode
switch, the links editor (a field error kept next to what was typed) and the bindings form.
"""

import base64
import io
import os
import zipfile

import pytest

from deployments import constants as dc
from deployments.models import Deployment, FunctionBinding, Release
from gharart import constants as c
from tests.browser.conftest import MOBILE, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records every value the upload progress bar shows while HTMX reports upload progress.
RECORD_PROGRESS_JS = """() => {
  window.__progress = [];
  document.addEventListener('htmx:xhr:progress', () => {
    const bar = document.querySelector('progress[data-upload-progress]');
    if (bar && !bar.hidden) window.__progress.push(bar.value);
  });
}"""

# Drops a file onto [data-dropzone] the way a drag from the desktop does.
DROP_JS = """([b64, name, type]) => {
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, {type}));
  const zone = document.querySelector('[data-dropzone]');
  zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
  zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
}"""


def http_errors(page, base_url):
    """Every 4xx/5xx answer the page gets, as (status, path): a test says which it expects."""
    seen = []
    page.on("response", lambda r: seen.append((r.status, r.url.replace(base_url, ""))) if r.status >= 400 else None)
    return seen


def site_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("index.html", "<!doctype html><title>Acme</title><h1 id='hello'>Hello from Acme</h1>")
        zf.writestr("about.html", "<!doctype html><title>About</title><p>About us</p>")
        # Incompressible filler so the upload takes long enough to report progress.
        zf.writestr("img/noise.bin", os.urandom(3 * 1024 * 1024))
    return base64.b64encode(buf.getvalue()).decode()


def test_drop_upload_preview_and_promote(browser_session, users, handle):
    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    page = browser_session.page()
    refusals = http_errors(page, browser_session.base_url)
    log_in(page, "acme-web_manager", "pw-web_manager")
    page.goto("/h/acme/deployments/")
    page.evaluate(RECORD_PROGRESS_JS)
    page.evaluate(DROP_JS, [site_zip(), "site.zip", "application/zip"])
    assert page.locator("[data-dropzone-name]").inner_text() == "site.zip"
    page.fill("#upload-message", "Autumn landing page")
    page.get_by_role("button", name="Upload", exact=True).click()
    page.locator(".callout.success", has_text="Uploaded v1").wait_for()
    assert page.evaluate("window.__progress.length") > 0 and page.evaluate("Math.max(...window.__progress)") == 100
    assert page.evaluate("document.activeElement.classList.contains('callout')")
    dep = Deployment.objects.get()
    assert dep.state == dc.READY and dep.message == "Autumn landing page"
    screenshot(page, "flow-dropped-upload")

    page.get_by_role("link", name="Open v1: preview and promote").click()
    page.wait_for_url(f"**/h/acme/deployments/{dep.id}/")
    page.get_by_role("link", name="Open the preview").click()
    frame_el = page.locator("iframe.preview")
    frame_el.wait_for()
    assert frame_el.get_attribute("sandbox") == "allow-scripts allow-forms"
    assert page.evaluate("document.activeElement.textContent").startswith("Integrity OK")  # focus follows the swap
    assert page.frame_locator("iframe.preview").locator("#hello").inner_text() == "Hello from Acme"

    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    page.get_by_role("button", name="Promote v1 to live").click()
    page.locator(".callout.success", has_text="v1 is live").wait_for()
    assert dialogs == ["Promote v1 to live? Nothing is live on the profile site yet."]
    assert Release.objects.get().deployment_id == dep.id
    screenshot(page, "flow-promoted-first")
    page.goto("/profiles/acme/")
    assert page.locator("h1").inner_text() == "Hello from Acme"
    assert refusals == []
    browser_session.assert_clean()


def test_site_page_at_phone_width_mode_switch_and_links_editor(browser_session, users, handle):
    page = browser_session.page(viewport=MOBILE)
    refusals = http_errors(page, browser_session.base_url)
    browser_session.watch.expect_status("/h/acme/site/links/", 400)  # the links form's field errors
    log_in(page, "acme-web_manager", "pw-web_manager")
    page.goto("/h/acme/site/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.once("dialog", lambda d: d.accept())
    page.check("#mode-maintenance")
    page.get_by_role("button", name="Switch site mode").click()
    page.locator("#site-mode .callout.success", has_text="maintenance").wait_for()
    handle.refresh_from_db()
    assert handle.site_mode == c.SITE_MODE_MAINTENANCE

    page.fill("#link-label-1", "Shop")
    page.fill("#link-url-1", "https://shop.acme.example")
    page.get_by_role("button", name="Add a link").click()
    page.locator("#link-label-2").wait_for()
    assert page.locator("#link-label-1").input_value() == "Shop"  # what was typed survives
    page.fill("#link-label-2", "Blog")
    page.fill("#link-url-2", "not a url")
    page.locator("#link-url-2").press("Enter")  # Enter saves; it does not remove row 1
    page.locator("#links-errors").wait_for()
    assert "Link 2 needs a label" in page.locator("#links-errors").inner_text()
    assert page.evaluate("document.activeElement.id") == "links-errors"
    assert page.locator("#link-url-2").get_attribute("aria-invalid") == "true"
    page.get_by_role("button", name="Remove link 2").click()
    page.locator("#links-editor", has_text="Removed “Blog”").wait_for()
    page.get_by_role("button", name="Save the links page").click()
    page.locator("#links-editor .callout.success").wait_for()
    handle.refresh_from_db()
    assert handle.links == [{"label": "Shop", "url": "https://shop.acme.example"}]

    # The binding form shows the chosen function's settings only.
    assert page.locator("fieldset[data-function=redirect]").is_hidden()
    page.select_option("#binding-function", "redirect")
    assert page.locator("fieldset[data-function=redirect]").is_visible()
    assert page.locator("fieldset[data-function=form-capture]").is_hidden()
    page.fill("#binding-route", "/old-sale")
    page.uncheck("input[name=methods][value=POST]")
    page.check("input[name=methods][value=GET]")
    page.fill("#binding-redirect-location", "/")
    page.get_by_role("button", name="Add the binding").click()
    page.locator("#bindings .callout.success", has_text="GET /old-sale").wait_for()
    assert page.locator("fieldset[data-function=json]").is_hidden()  # still in step after the swap
    assert FunctionBinding.objects.get().config == {"location": "/", "status": 302}

    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "flow-site-375")
    assert refusals == [(400, "/h/acme/site/links/")]
    browser_session.assert_clean()


def test_site_rules_card_at_phone_width_tests_a_path_from_the_keyboard(browser_session, users, handle):
    from tests.deployments_dashboard.conftest import SITE_V1, create

    rules = "/old /about 301\n" + "".join(f"/a-very-long-legacy-path-number-{i}/with/segments/* /the/new/home/of/everything/{i}/:splat 302\n" for i in range(12)) + "broken line here\n"
    dep = create(handle, {**SITE_V1, "_redirects": rules.encode()}, actor=users["web_manager"])
    page = browser_session.page(viewport=MOBILE)
    log_in(page, "acme-viewer", "pw-viewer")
    page.goto(f"/h/acme/deployments/{dep.id}/")
    card = page.locator("#site-rules")
    assert "13 redirect rules" in card.inner_text() and "Line 14" in card.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.focus("#rules-test-path")
    page.keyboard.type("/old?x=1")
    page.keyboard.press("Enter")
    page.locator("#rules-test-result", has_text="Redirected with status 301 to /about?x=1").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "deployment-site-rules-375")
    browser_session.assert_clean()
