"""Sharing in Chromium: the sharing panel at 375 px (fields follow the access mode, link mode
offers a magic link instead of an address that cannot work alone), and a recipient's view of
a password-protected public file: password form, landing page with its image preview, Download."""

import struct
import zlib

import pytest
from playwright.sync_api import expect

from files import constants as fc
from files import services
from tests.browser.conftest import (
    MOBILE,
    log_in,
    no_horizontal_scroll,
    overflowing_cards,
    screenshot,
)
from tests.files.conftest import make_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tiny_png(width=40, height=20):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xc0\x60\x30" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_the_sharing_panel_at_375px_follows_the_access_mode(browser_session, handle, users):
    manager = users["partnerships"]
    kit = make_file(handle, manager, access=fc.ACCESS_LINK, recipients=["@agency.example"], title="A media kit with a rather long title for a phone")
    make_file(handle, manager, data=tiny_png(), name="logo-with-a-long-file-name-for-phones.png", access=fc.ACCESS_PUBLIC)
    page = browser_session.page(viewport=MOBILE, is_mobile=True, has_touch=True)
    log_in(page, "acme-partnerships", "pw-partnerships")
    page.goto("/h/acme/files/")
    card = page.locator(f"#file-{kit.id}")
    # Link mode: no address to copy, an offer to create a magic link that opens the panel.
    expect(card.get_by_role("button", name="Copy link")).to_have_count(0)
    card.get_by_role("link", name="Create a magic link").click()
    expect(card.locator("details")).to_have_attribute("open", "")
    expect(card.locator(f"#ml-email-{kit.id}")).to_be_focused()
    for details in page.locator("details").all():
        details.evaluate("d => { d.open = true; }")
    no_horizontal_scroll(page)
    assert not overflowing_cards(page)
    screenshot(page, "mobile-files-sharing-open")
    recipients = card.locator(f"#recipients-{kit.id}")
    expect(recipients).to_be_visible()
    card.locator(f"#access-{kit.id}").select_option("private")
    expect(recipients).to_be_hidden()
    expect(card.locator(f"#password-{kit.id}")).to_be_hidden()
    card.locator(f"#access-{kit.id}").select_option("public")
    expect(recipients).to_be_hidden()
    expect(card.locator(f"#password-{kit.id}")).to_be_visible()
    card.locator(f"#access-{kit.id}").select_option("link")
    expect(recipients).to_be_visible()
    no_horizontal_scroll(page)


def test_a_recipient_unlocks_previews_and_downloads_a_protected_file(browser_session, handle, users):
    data = tiny_png()
    file = make_file(handle, users["partnerships"], data=data, name="moodboard.png", access=fc.ACCESS_PUBLIC)
    services.file_update(file=file, actor=users["partnerships"], password="spring secret")
    context = browser_session.context(viewport=MOBILE, is_mobile=True, has_touch=True, accept_downloads=True)
    browser_session.watch_of(context).expect_status(f"/v2/public/files/{file.id}", 403)
    page = context.new_page()
    response = page.goto(f"/v2/public/files/{file.id}")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This file is protected by a password")
    page.get_by_label("Password").fill("wrong one")
    page.get_by_role("button", name="Open the file").click()
    expect(page.get_by_role("alert")).to_contain_text("The password is not right.")
    page.get_by_label("Password").fill("spring secret")
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("moodboard.png")
    preview = page.get_by_role("img", name="Preview of moodboard.png")
    expect(preview).to_be_visible()
    page.wait_for_function("document.querySelector('.file-preview img').naturalWidth === 40")
    no_horizontal_scroll(page)
    screenshot(page, "mobile-share-landing")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "moodboard.png"
    with open(download.path(), "rb") as fh:
        assert fh.read() == data
