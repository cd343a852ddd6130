"""Any user: hit an error, read its request ID, file a support report from it (with and without JS)."""

import pytest
from playwright.sync_api import expect

from support.models import SupportReport
from tests.browser.conftest import assert_same_page, log_in, mark_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_from_an_error_page_to_a_filed_report_with_htmx(browser_session, users):
    page = browser_session.page()
    log_in(page, "acme-owner", "pw-owner")
    browser_session.watch.expect_status("/h/acme/no-such-page/", 404)
    browser_session.watch.expect_status("/support/", 400)  # the empty form, answered with its errors
    page.goto("/h/acme/no-such-page/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    failed_id = page.locator("code.request-id").inner_text()
    assert failed_id.startswith("req_")
    expect(page.locator("#footer-request-id")).to_have_text(failed_id)
    page.get_by_role("link", name="Report this").click()
    page.wait_for_url("**/support/?requestId=*")
    expect(page.locator("#report-requestId")).to_have_value(failed_id)
    expect(page.locator("#report-requestId-help")).to_contain_text("/h/acme/no-such-page/")

    # "Use this" fills the field in place (no navigation), from the recent requests list.
    mark_page(page)
    page.fill("#report-requestId", "")
    page.get_by_role("link", name=f"Use request {failed_id} in the report").click()
    expect(page.locator("#report-requestId")).to_have_value(failed_id)
    assert_same_page(page)

    # Field errors are swapped in by HTMX; focus moves to the first invalid field.
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#report-summary-error")).to_be_visible()
    expect(page.locator("#report-summary")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#report-summary")).to_be_focused()

    page.fill("#report-summary", "Page missing")
    page.fill("#report-details", "The link from the overview is broken.")
    page.get_by_role("button", name="Send report").click()
    sent = page.locator(".callout.success")
    expect(sent).to_be_visible()
    expect(sent).to_be_focused()
    assert_same_page(page)
    report = SupportReport.objects.get()
    expect(sent).to_contain_text(report.id)
    assert report.linked_request["path"] == "/h/acme/no-such-page/"
    assert report.linked_request["status"] == 404
    screenshot(page, "flow-support-report")
    browser_session.assert_clean()


def test_a_viewer_reports_an_error_page_without_javascript(browser_session, users):
    # A viewer may open every page of the handle; what they can still meet is an error page.
    page = browser_session.page(java_script_enabled=False)
    log_in(page, "acme-viewer", "pw-viewer")
    browser_session.watch.expect_status("/h/acme/deployments/dep_gone/", 404)
    browser_session.watch.expect_status("/support/", 400)  # the empty form, re-rendered with its errors
    page.goto("/h/acme/deployments/dep_gone/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    refused_id = page.locator("code.request-id").inner_text()
    page.get_by_role("link", name="Report this").click()
    expect(page.locator("#report-requestId")).to_have_value(refused_id)
    expect(page.get_by_label("Handle (optional)")).to_have_value("acme")  # carried by the link

    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#report-summary-error")).to_be_visible()
    page.fill("#report-summary", "A deployment link is broken")
    page.fill("#report-details", "The link in the release email opens nothing.")
    page.get_by_label("Handle (optional)").select_option("acme")
    page.get_by_role("button", name="Send report").click()
    page.wait_for_url("**/support/")
    expect(page.locator(".messages")).to_contain_text("sent")
    report = SupportReport.objects.get()
    assert report.handle.slug == "acme"
    assert report.linked_request["status"] == 404
    browser_session.assert_clean()
