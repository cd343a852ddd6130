"""The support page on a phone with many recent requests and reports: the form and the first
rows fit in a few screens (the rest behind a disclosure), nothing scrolls sideways, and
"Use this" on a hidden row still fills the form."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from gharart.models import RequestLog
from support.models import SupportReport
from tests.browser.conftest import MOBILE, log_in, no_horizontal_scroll, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_support_page_stays_short_on_a_phone(browser_session, handle, users):
    user = users["web_manager"]
    now = timezone.now()
    for n in range(15):
        RequestLog.objects.create(
            request_id=f"req_phone{n:02d}abcdefghij", user=user, handle="acme", method="POST",
            path=f"/v2/handles/acme/site-deployments/dep_{n:02d}abcdefghijklmnop/promote", status_code=409 if n < 10 else 200,
            error_code="preview_gate_pending" if n < 10 else "", created_at=now,
        )
    for n in range(12):
        SupportReport.objects.create(user=user, handle=handle, summary=f"Promote refused number {n}", details="It said the gate is pending.")
    page = browser_session.page(viewport=MOBILE, is_mobile=True, has_touch=True)
    log_in(page, "acme-web_manager", "pw-web_manager")
    page.goto("/support/")
    no_horizontal_scroll(page)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4000, f"the support page is {height}px tall at 375px"
    more = page.get_by_text("Show 10 more requests")
    expect(more).to_be_visible()
    expect(page.get_by_text("Show 7 more reports")).to_be_visible()
    screenshot(page, "mobile-support-many")
    more.click()
    use = page.get_by_role("link", name="Use request req_phone14abcdefghij in the report")
    use.click()
    expect(page.locator("#report-requestId")).to_have_value("req_phone14abcdefghij")
    no_horizontal_scroll(page)
