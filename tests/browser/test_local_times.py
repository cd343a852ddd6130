"""Local time in Chromium: a release scheduled and a campaign entered in the reader's time zone
(Asia/Kolkata, UTC+5:30) are stored in UTC and shown back in local time with a countdown."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from deployments.models import ScheduledRelease
from deployments.services.ingest import deployment_create_from_archive
from files.models import Campaign
from tests.browser.conftest import log_in, screenshot
from tests.browser.sites import make_zip, storefront

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
KOLKATA = ZoneInfo("Asia/Kolkata")


def test_schedule_a_release_in_local_time_and_see_it_counted_down(browser_session, users, handle):
    upload = SimpleUploadedFile("site.zip", make_zip(storefront(1)), content_type="application/zip")
    dep = deployment_create_from_archive(handle=handle, upload=upload, actor=users["web_manager"])
    page = browser_session.page(timezone_id="Asia/Kolkata", locale="en-GB")
    log_in(page, "acme-web_manager", "pw-web_manager")
    page.goto(f"/h/acme/deployments/{dep.id}/")
    day = (datetime.now(KOLKATA) + timedelta(days=30)).date()
    page.get_by_label("Go live at (your local time)").fill(f"{day.isoformat()}T09:30")
    page.get_by_label("Reason (optional)", exact=True).last.fill("New year launch")
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    page.get_by_role("button", name="Schedule the release").click()
    expect(page.locator(".messages")).to_contain_text("scheduled to go live on")
    assert dialogs and dialogs[0].startswith("Schedule v1 to go live")
    sched = ScheduledRelease.objects.get()
    assert sched.at == datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)  # 09:30 in Kolkata
    row = page.locator(f"#schedule-{sched.id}")
    expect(row.locator("time[data-local]")).to_contain_text("09:30")
    expect(row.locator("[data-countdown]")).to_contain_text("day")
    page.locator("#schedules").scroll_into_view_if_needed()
    screenshot(page, "desktop-scheduled-release")


def test_create_a_campaign_in_local_time(browser_session, users, handle):
    page = browser_session.page(timezone_id="Asia/Kolkata", locale="en-GB")
    log_in(page, "acme-partnerships", "pw-partnerships")
    page.goto("/h/acme/campaigns/")
    page.get_by_label("Name").fill("Pongal")
    page.get_by_label("Starts (your local time)").fill("2030-01-14T00:00")
    page.get_by_label("Ends (your local time)").fill("2030-01-18T23:59")
    page.get_by_role("button", name="Create the campaign").click()
    expect(page.locator(".messages")).to_contain_text("Pongal")
    cmp = Campaign.objects.get()
    assert (cmp.starts_at, cmp.ends_at) == (datetime(2030, 1, 13, 18, 30, tzinfo=UTC), datetime(2030, 1, 18, 18, 29, tzinfo=UTC))
    page.goto(f"/h/acme/campaigns/{cmp.id}/")
    # The edit form shows the stored UTC window back in local time.
    expect(page.get_by_label("Starts (your local time)")).to_have_value("2030-01-14T00:00")
    expect(page.get_by_label("Ends (your local time)")).to_have_value("2030-01-18T23:59")


def test_a_file_expiry_is_typed_and_shown_in_local_time(browser_session, users, handle):
    from files import services as file_services
    from files.models import File
    from tests.visible_text import problems_in_page

    upload = SimpleUploadedFile("kit.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    stored = file_services.file_upload(handle=handle, actor=users["partnerships"], upload=upload, access="public")
    page = browser_session.page(timezone_id="Asia/Kolkata", locale="en-GB")
    log_in(page, "acme-partnerships", "pw-partnerships")
    page.goto("/h/acme/files/")
    card = page.locator(f"#file-{stored.id}")
    card.get_by_text("Manage sharing, magic links and deletion").click()
    day = (datetime.now(KOLKATA) + timedelta(days=10)).date()
    card.get_by_label("Expires (your local time; empty for never; ignored with a campaign)").fill(f"{day.isoformat()}T18:00")
    card.get_by_role("button", name="Save sharing").click()
    card = page.locator(f"#file-{stored.id}")
    expect(card.locator(".callout.success")).to_contain_text("Saved.")
    stored.refresh_from_db()
    assert stored.expires_at == datetime(day.year, day.month, day.day, 12, 30, tzinfo=UTC)  # 18:00 in Kolkata
    # Shown back in local time: the facts, the badge in words, and the field as typed.
    expect(card.locator("time[data-local]").first).to_contain_text("18:00")
    expect(card.locator(".badge", has_text="expires in")).to_have_text(re.compile(r"^expires in (10|11) days$"))
    if not card.locator("details[open]").count():
        card.get_by_text("Manage sharing, magic links and deletion").click()
    expect(card.get_by_label("Expires (your local time; empty for never; ignored with a campaign)")).to_have_value(f"{day.isoformat()}T18:00")
    assert problems_in_page(page) == []
    # The overview's "expiring soon" line reads in words too.
    File.objects.filter(pk=stored.pk).update(expires_at=datetime.now(UTC) + timedelta(hours=2))
    page.goto("/h/acme/")
    expect(page.locator("main")).to_contain_text("expires in 2 hours")
    assert problems_in_page(page) == []
