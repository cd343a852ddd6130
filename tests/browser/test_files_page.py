"""The Files page in Chromium, without a worker: a file dropped onto the drop zone uploads
with its progress reaching the end and its type sniffed, a magic link is minted from the
card, and switching the file to private warns first, then revokes that link."""

import pytest

from files import constants as fc
from files.models import File, MagicLink
from tests.browser.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_PROGRESS_JS = """() => {
  window.__progress = [];
  document.addEventListener('htmx:xhr:progress', () => {
    const bar = document.querySelector('progress[data-upload-progress]');
    if (bar && !bar.hidden) window.__progress.push(bar.value);
  });
}"""

# A 3 MB "PDF" dropped onto the drop zone, as a user dragging from the desktop would.
DROP_PDF_JS = """() => {
  const bytes = new Uint8Array(3 * 1024 * 1024);
  bytes.set(new TextEncoder().encode('%PDF-1.7\\n'));
  const data = new DataTransfer();
  data.items.add(new File([bytes], 'media-kit.pdf', {type: 'application/pdf'}));
  const zone = document.querySelector('[data-dropzone]');
  zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
  zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
}"""


def test_drop_a_file_watch_it_upload_then_share_and_revoke(browser_session, users):
    page = browser_session.page()
    log_in(page, "acme-partnerships", "pw-partnerships")
    page.goto("/h/acme/files/")
    page.evaluate(RECORD_PROGRESS_JS)
    page.evaluate(DROP_PDF_JS)
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
    screenshot(page, "flow-file-link-minted")

    # Switching to private warns, then revokes the link; the list offers to regenerate later.
    card = page.locator(f"#file-{file.id}")
    assert "Changing access revokes every magic link" in card.inner_text()
    card.locator(f"#access-{file.id}").select_option("private")
    card.get_by_role("button", name="Save sharing").click()
    page.locator(f"#file-{file.id} .badge.bad", has_text="revoked").wait_for()
    assert MagicLink.objects.get().revoked_reason == fc.REVOKE_FILE_ACCESS_CHANGED
    browser_session.assert_clean()
