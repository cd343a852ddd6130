"""Keyboard only: log in, upload a site and promote it with Tab, Enter and Space, no mouse.

Focus must land somewhere sensible after every HTMX swap, so the next Tab continues from
the result instead of from the top of the page.
"""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import active_element, assert_same_page, mark_page, tab_to
from tests.browser.sites import storefront, write_zip

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_and_promote_with_the_keyboard_only(browser_session, users, tmp_path):
    archive = write_zip(tmp_path, "acme-site.zip", storefront(1))
    page = browser_session.page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    # Intercept file choosers from the start: the first listener switches interception on
    # without waiting, and a Space pressed right after it could open an unseen native one.
    page.on("filechooser", lambda chooser: None)

    # Log in: the username field has focus when the page opens.
    page.goto("/accounts/login/?next=/h/acme/deployments/")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("acme-web_manager")
    page.keyboard.press("Tab")
    page.keyboard.type("pw-web_manager")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlsplit(url).path == "/h/acme/deployments/")
    mark_page(page)

    # The skip link is the first stop and takes focus to the content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")

    # Upload: Space on the file input opens the file chooser.
    tab_to(page, "#upload-artifact")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(archive))
    expect(page.locator("[data-dropzone-name]")).to_have_text("acme-site.zip")
    tab_to(page, "#upload-message")
    page.keyboard.type("Typed, not clicked")
    tab_to(page, "#upload-form button[type=submit]")
    page.keyboard.press("Enter")
    created = page.locator("#deployments-section .callout.success")
    expect(created).to_contain_text("Uploaded v1")
    expect(created).to_be_focused()
    assert_same_page(page)

    # The next Tab reaches the link inside the result.
    page.keyboard.press("Tab")
    expect(created.get_by_role("link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("v1")
    mark_page(page)

    # Open the preview, then promote.
    tab_to(page, "#deployment-main a.button.primary")
    expect(page.locator("*:focus")).to_have_text("Open the preview")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Integrity OK")).to_be_visible()
    after_preview = active_element(page)
    tab_to(page, "#deployment-main form button.primary")
    expect(page.locator("*:focus")).to_have_text("Promote v1 to live")
    page.keyboard.press("Enter")
    live = page.locator("#deployment-main .callout.success")
    expect(live).to_contain_text("v1 is live")
    expect(live).to_be_focused()
    assert dialogs and dialogs[-1].startswith("Promote v1 to live?"), dialogs
    assert_same_page(page)
    assert after_preview["tag"] != "BODY", f"focus fell back to <body> after opening the preview: {after_preview}"
    browser_session.assert_clean()
