"""The Files and Docs access pages in a real Chromium: drag-and-drop upload with progress,
inline access change with its warning, a magic link minted and revoked, the docs policy form."""

import os
import shutil

import pytest
from django.db import connections

from files import constants as fc
from files.models import File, MagicLink

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = os.environ.get("GHARART_SCREENSHOTS")


@pytest.fixture
def browser(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed")
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM)
        try:
            yield instance
        finally:
            instance.close()
            connections.close_all()


def page_for(browser, live_server, client, user):
    client.force_login(user)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1100, "height": 1400})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    return context.new_page()


def shot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


def test_drop_a_file_watch_it_upload_then_share_and_revoke(live_server, client, users, browser):
    page = page_for(browser, live_server, client, users["partnerships"])
    page.goto("/h/acme/files/")
    page.evaluate(
        """() => {
          window.__progress = [];
          document.addEventListener('htmx:xhr:progress', () => {
            const bar = document.querySelector('progress[data-upload-progress]');
            if (bar && !bar.hidden) window.__progress.push(bar.value);
          });
        }"""
    )
    # Drop a 3 MB "PDF" onto the drop zone, as a user dragging from the desktop would.
    page.evaluate(
        """() => {
          const bytes = new Uint8Array(3 * 1024 * 1024);
          bytes.set(new TextEncoder().encode('%PDF-1.7\\n'));
          const data = new DataTransfer();
          data.items.add(new File([bytes], 'media-kit.pdf', {type: 'application/pdf'}));
          const zone = document.querySelector('[data-dropzone]');
          zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
          zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
        }"""
    )
    assert page.locator("[data-dropzone-name]").inner_text() == "media-kit.pdf"
    page.select_option("#upload-access", "link")
    page.fill("#upload-recipients", "@agency.example")
    page.fill("#upload-title", "Media kit 2026")
    page.get_by_role("button", name="Upload", exact=True).click()
    page.locator(".callout.success", has_text="Uploaded").wait_for()
    assert page.evaluate("window.__progress.length") > 0 and page.evaluate("Math.max(...window.__progress)") == 100
    file = File.objects.get()
    assert file.content_type == "application/pdf" and file.size == 3 * 1024 * 1024 and file.access == fc.ACCESS_LINK

    card = page.locator(f"#file-{file.id}")
    card.locator("details").evaluate("d => { d.open = true; }")
    card.locator(f"#ml-email-{file.id}").fill("ana@agency.example")
    card.get_by_role("button", name="Create link").click()
    page.locator(f"#minted-{file.id}").wait_for()
    assert "?token=" in page.locator(f"#minted-{file.id}").input_value()
    shot(page, "files.png")

    # Switching to private warns, then revokes the link; the list offers to regenerate later.
    card = page.locator(f"#file-{file.id}")
    assert "Changing access revokes every magic link" in card.inner_text()
    card.locator(f"#access-{file.id}").select_option("private")
    card.get_by_role("button", name="Save sharing").click()
    page.locator(f"#file-{file.id} .badge.bad", has_text="revoked").wait_for()
    assert MagicLink.objects.get().revoked_reason == fc.REVOKE_FILE_ACCESS_CHANGED


def test_docs_access_form_shows_field_errors_then_saves(live_server, client, users, browser):
    page = page_for(browser, live_server, client, users["partnerships"])
    page.goto("/h/acme/docs-access/")
    page.check("input[name=visibility][value=partners]")
    page.get_by_role("button", name="Save policy").click()
    page.locator("#partner-emails-error").wait_for()
    assert page.locator("#partner-emails").get_attribute("aria-invalid") == "true"
    page.fill("#partner-domains", "agency.example\ngmail.com")
    page.fill("#confidential-paths", "/finance/*")
    page.get_by_role("button", name="Save policy").click()
    page.locator(".callout.success", has_text="Policy version 1").wait_for()
    shot(page, "docs-access.png")
