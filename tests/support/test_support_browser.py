"""The support flow in a real Chromium: error page -> prefilled form -> report, with and without JS."""

import os
import shutil

import pytest
from django.db import connections

from support.models import SupportReport

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API keeps an event loop running in this thread; the ORM calls the
    # test makes next to it are still plain synchronous calls.
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
            # Connections the test opened while Playwright's loop ran are not the ones
            # pytest-django closes; close them so the test database can be dropped.
            connections.close_all()


def session_context(browser, live_server, client, user, *, javascript=True):
    client.force_login(user)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=javascript)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    return context


def test_from_an_error_page_to_a_filed_report_with_htmx(live_server, client, users, browser):
    context = session_context(browser, live_server, client, users["owner"])
    page = context.new_page()
    page.goto("/h/acme/no-such-page/")
    failed_id = page.locator("code.request-id").inner_text()
    page.get_by_role("link", name="Report this").click()
    page.wait_for_url("**/support/?requestId=*")
    assert page.locator("#report-requestId").input_value() == failed_id

    # "Use this" fills the field in place (no navigation), from the recent requests list.
    page.fill("#report-requestId", "")
    page.locator("a[data-fill]").first.click()
    assert page.locator("#report-requestId").input_value() == failed_id
    assert "requestId=" in page.url  # still the page we came to, not reloaded

    # Field errors are swapped in by HTMX, focus moves to the first invalid field.
    page.get_by_role("button", name="Send report").click()
    page.locator("#report-summary-error").wait_for()
    assert page.locator("#report-summary").get_attribute("aria-invalid") == "true"
    page.wait_for_function("document.activeElement && document.activeElement.id === 'report-summary'", timeout=5000)

    page.fill("#report-summary", "Page missing")
    page.fill("#report-details", "The link from the overview is broken.")
    page.get_by_role("button", name="Send report").click()
    page.locator(".callout.success").wait_for()
    report = SupportReport.objects.get()
    assert report.id in page.locator(".callout.success").inner_text()
    assert report.linked_request["path"] == "/h/acme/no-such-page/"
    assert report.linked_request["status"] == 404
    context.close()


def test_the_form_works_without_javascript(live_server, client, users, browser):
    context = session_context(browser, live_server, client, users["viewer"], javascript=False)
    page = context.new_page()
    page.goto("/support/?handle=acme")
    page.get_by_role("button", name="Send report").click()
    assert page.locator("#report-summary-error").is_visible()
    page.fill("#report-summary", "Cannot see files")
    page.fill("#report-details", "The list is empty.")
    page.get_by_role("button", name="Send report").click()
    page.wait_for_url("**/support/")
    assert "sent" in page.locator(".messages").inner_text()
    assert SupportReport.objects.get().handle.slug == "acme"
    context.close()
