"""Server-side field errors on the main forms: shown next to the field, the field marked
invalid and focused, the rest of what was typed kept, the page not reloaded."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_same_page, log_in, mark_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_file_that_is_not_an_archive_is_refused_next_to_the_upload_field(browser_session, users, tmp_path):
    not_an_archive = tmp_path / "site.zip"
    not_an_archive.write_bytes(b"<!doctype html><title>not zipped</title>")
    page = browser_session.page()
    browser_session.watch.expect_status("/h/acme/deployments/upload/", 422)
    log_in(page, "acme-web_manager", "pw-web_manager")
    page.goto("/h/acme/deployments/")
    mark_page(page)
    page.get_by_label(re.compile("Drop a .zip or .tar.gz here")).set_input_files(str(not_an_archive))
    page.get_by_label("Message (optional)").fill("Typo fix")
    page.get_by_role("button", name="Upload", exact=True).click()
    field = page.locator("#upload-artifact")
    expect(page.locator("#upload-artifact-error")).to_contain_text("not a .zip or .tar.gz archive")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(page.get_by_label("Message (optional)")).to_have_value("Typo fix")
    assert_same_page(page)
    browser_session.assert_clean()


def test_a_bad_recipient_is_refused_next_to_the_recipients_field(browser_session, users, tmp_path):
    kit = tmp_path / "kit.pdf"
    kit.write_bytes(b"%PDF-1.4\n% media kit\n")
    page = browser_session.page()
    browser_session.watch.expect_status("/h/acme/files/upload/", 400)
    log_in(page, "acme-partnerships", "pw-partnerships")
    page.goto("/h/acme/files/")
    mark_page(page)
    page.get_by_label(re.compile("Drop a file here")).set_input_files(str(kit))
    page.get_by_label("Title (optional)").fill("Press kit")
    page.get_by_label(re.compile("Recipients for magic links")).fill("not-an-address")
    page.get_by_role("button", name="Upload", exact=True).click()
    field = page.get_by_label(re.compile("Recipients for magic links"))
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#files-section .field-error")).to_contain_text("not-an-address")
    expect(page.get_by_label("Title (optional)")).to_have_value("Press kit")
    assert_same_page(page)
    focused = page.evaluate("document.activeElement && document.activeElement.getAttribute('aria-invalid')")
    assert focused == "true", "focus did not move to the invalid field"
    browser_session.assert_clean()


def test_a_bad_hostname_is_refused_next_to_the_hostname_field(browser_session, users):
    page = browser_session.page()
    browser_session.watch.expect_status("/h/acme/site-intel/hostnames/", 400)
    log_in(page, "acme-admin", "pw-admin")
    page.goto("/h/acme/site-intel/")
    mark_page(page)
    page.get_by_label("Hostname", exact=True).fill("shop.example.com/path")
    page.get_by_role("button", name="Register").click()
    field = page.get_by_label("Hostname", exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#hostname-error")).to_contain_text("without a path")
    expect(field).to_be_focused()
    expect(field).to_have_value("shop.example.com/path")
    assert_same_page(page)
    browser_session.assert_clean()
