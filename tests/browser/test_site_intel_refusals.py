"""Site intel in the browser: a refused action shows its reason in place, also when the
service's status is one app.js would not swap (a hostname or a crawl that is gone)."""

import pytest
from playwright.sync_api import expect

from gharart import constants as gc
from siteintel import constants as c
from siteintel.models import CrawlRun, Hostname
from tests.browser.conftest import assert_same_page, log_in, mark_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_removing_a_hostname_someone_else_removed_says_so_on_the_page(browser_session, users, handle):
    Hostname.objects.create(handle=handle, hostname="shop.example.com", scheme="https")
    page = browser_session.page()
    log_in(page, "acme-admin", "pw-admin")
    page.goto("/h/acme/site-intel/")
    expect(page.get_by_role("link", name="shop.example.com")).to_be_visible()
    mark_page(page)

    # Removed in another tab meanwhile: the service refuses (404), the page says why.
    Hostname.objects.filter(hostname="shop.example.com").delete()
    browser_session.watch.expect_status("/site-intel/hostnames/remove/", 400)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Remove shop.example.com").click()
    expect(page.locator("#hostnames [role=alert]")).to_contain_text("is not registered for this handle.")
    assert_same_page(page)


def test_a_crawl_deleted_while_its_progress_polls_says_so(browser_session, users, handle):
    run = CrawlRun.objects.create(handle=handle, hostname="acme.sites.gharart.com", max_pages=10, max_depth=2, state=c.RUNNING, pages_found=4, pages_done=1)
    page = browser_session.page()
    log_in(page, f"acme-{gc.WEB_MANAGER}", f"pw-{gc.WEB_MANAGER}")
    page.goto("/h/acme/site-intel/")
    expect(page.locator(f"#run-{run.id}")).to_contain_text("1 of 4 pages crawled")
    browser_session.watch.expect_status(f"/site-intel/runs/{run.id}/", 400)
    CrawlRun.objects.filter(pk=run.pk).delete()
    expect(page.locator(f"#run-{run.id}")).to_contain_text("This crawl no longer exists.")
