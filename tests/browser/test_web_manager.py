"""The web experience manager's day, in Chromium, against the live server and a real worker.

Upload (watching the progress bar), preview, promote, crawl, replay, promote over a live
version, roll back, switch the site mode: every step through the dashboard as a person
does it, with progress arriving by HTMX polling (the page never reloads).
"""

import re

import pytest
from playwright.sync_api import expect

from deployments.models import Deployment
from tests.browser.conftest import (
    WORKER_TIMEOUT_MS,
    active_element,
    assert_same_page,
    log_in,
    mark_page,
    screenshot,
)
from tests.browser.sites import storefront, write_zip

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Upload bandwidth while the progress bar is watched: the archive below takes a few seconds.
UPLOAD_BYTES_PER_SECOND = 400_000
HERO_BYTES = 900_000


def throttle_upload(page, bytes_per_second):
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second},
    )
    return cdp


def accept_dialogs(page):
    """Accept every confirm() and keep its text."""
    seen = []

    def on_dialog(dialog):
        seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", on_dialog)
    return seen


def upload_version(page, archive, message):
    page.goto("/h/acme/deployments/")
    page.get_by_label(re.compile("Drop a .zip or .tar.gz here")).set_input_files(str(archive))
    page.get_by_label("Message (optional)").fill(message)
    page.get_by_role("button", name="Upload", exact=True).click()
    created = page.locator("#deployments-section .callout.success")
    expect(created).to_contain_text("Uploaded v")
    return created


def open_preview(page, version, heading):
    page.get_by_role("link", name="Open the preview").click()
    expect(page.get_by_text("Integrity OK")).to_be_visible()
    expect(page.frame_locator("iframe.preview").get_by_role("heading", name=heading)).to_be_visible()
    expect(page.locator("#gate-heading + ul")).to_contain_text("Preview opened")


def test_web_experience_manager_publishes_crawls_replays_promotes_and_rolls_back(
    browser_session, users, celery_worker_process, tmp_path
):
    page = browser_session.page()
    dialogs = accept_dialogs(page)
    log_in(page, "acme-web_manager", "pw-web_manager")

    # --- Upload v1 and watch its progress bar -------------------------------------------
    page.goto("/h/acme/deployments/")
    mark_page(page)
    v1_zip = write_zip(tmp_path, "acme-v1.zip", storefront(1, hero_bytes=HERO_BYTES, crawl_delay=1))
    page.get_by_label(re.compile("Drop a .zip or .tar.gz here")).set_input_files(str(v1_zip))
    page.get_by_label("Message (optional)").fill("First storefront")
    cdp = throttle_upload(page, UPLOAD_BYTES_PER_SECOND)
    page.get_by_role("button", name="Upload", exact=True).click()
    bar = page.locator("#upload-form progress[data-upload-progress]")
    expect(bar).to_be_visible()
    expect(page.locator("#upload-form [data-upload-progress-label]")).to_contain_text(re.compile(r"Uploading… \d+%"))
    page.wait_for_function(
        "() => { const b = document.querySelector('#upload-form progress[data-upload-progress]');"
        " return b && !b.hidden && b.value > 0 && b.value < 100; }"
    )
    created = page.locator("#deployments-section .callout.success")
    expect(created).to_contain_text("Uploaded v1")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    assert_same_page(page)
    # Focus follows the swap to the result, not lost on <body>.
    expect(created).to_be_focused()
    expect(bar).to_be_hidden()  # the fresh form's bar waits for the next upload
    row = page.locator("#deployments-section tbody tr:not(.group-row)").first
    expect(row).to_contain_text("First storefront")
    expect(row).to_contain_text("Ready", timeout=WORKER_TIMEOUT_MS)
    screenshot(page, "flow-uploaded")

    # --- Open v1, preview it, promote it (nothing was live) -----------------------------
    created.get_by_role("link", name=re.compile("Open v1")).click()
    expect(page.get_by_role("heading", name=re.compile("v1"), level=1)).to_be_visible()
    mark_page(page)
    open_preview(page, 1, "Version 1")
    with page.expect_popup() as popup_info:
        page.get_by_role("link", name="Open preview in a new tab").click()
    preview_tab = popup_info.value
    expect(preview_tab.get_by_role("heading", name="Version 1")).to_be_visible()
    assert "/previews/" in preview_tab.url
    preview_tab.close()

    page.get_by_role("button", name="Promote v1 to live").click()
    live_note = page.locator("#deployment-main .callout.success")
    expect(live_note).to_contain_text("v1 is live")
    assert dialogs[-1].startswith("Promote v1 to live?") and "Nothing is live" in dialogs[-1], dialogs
    expect(live_note).to_be_focused()
    assert_same_page(page)
    # The site still shows the links page: the deployment page says so and links the fix.
    attention = page.locator('#deployment-main [data-warning="site_mode_not_deployment"]')
    expect(attention).to_contain_text("Live site not served: The site mode is “Links page”")
    expect(attention).not_to_contain_text("site_mode_not_deployment")

    # --- Site mode -> deployed site; the live site is v1 ----------------------------------
    page.get_by_role("link", name="Fix it: switch the site mode").click()
    page.get_by_role("radio", name=re.compile("^Deployed site")).check()
    page.get_by_role("button", name="Switch site mode").click()
    expect(page.locator("#site-mode .callout.success")).to_contain_text("Site mode is now Deployed site")
    assert "Change what /profiles/acme/ serves?" in dialogs[-1]
    page.goto("/profiles/acme/")
    expect(page.get_by_role("heading", name="Version 1")).to_be_visible()

    # --- Crawl the live site: progress without a reload ---------------------------------
    page.goto("/h/acme/site-intel/")
    mark_page(page)
    page.evaluate(
        "window.__crawlLabels = [];"
        "document.addEventListener('htmx:afterSettle', () => {"
        "  const label = document.querySelector('#crawl-jobs .crawl-progress .progress-label');"
        "  if (label) window.__crawlLabels.push(label.textContent.trim()); });"
    )
    page.get_by_role("button", name=re.compile("Crawl now acme\\.")).click()
    progress = page.locator("#crawl-jobs .crawl-progress")
    expect(progress).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Crawl now acme\\."))).to_be_focused()  # not swapped away
    expect(progress.locator("progress")).to_be_attached()
    expect(progress).to_contain_text("Succeeded", timeout=WORKER_TIMEOUT_MS)
    expect(progress).to_contain_text("5 of 5 pages crawled")
    expect(page.locator("#snapshot")).to_contain_text("No broken links")
    assert_same_page(page)
    # The site asks for a second between requests, so the bar was seen part-way first.
    labels = page.evaluate("window.__crawlLabels")
    assert labels[-1].startswith("5 of 5") and any(not label.startswith("5 of 5") for label in labels), labels
    screenshot(page, "flow-crawled")

    # --- v2: upload, preview, replay against the crawl (progress without a reload) ------
    upload_version(page, write_zip(tmp_path, "acme-v2.zip", storefront(2)), "Autumn collection")
    v2 = Deployment.objects.get(handle__slug="acme", version=2)
    page.goto(f"/h/acme/deployments/{v2.id}/")
    mark_page(page)
    open_preview(page, 2, "Version 2")
    panel = page.locator(f"#replay-panel-{v2.id}")
    panel.get_by_role("button", name="Replay live traffic against this deployment").click()
    expect(panel).to_contain_text("Latest replay", timeout=WORKER_TIMEOUT_MS)
    expect(panel).to_contain_text("Gate passed", timeout=WORKER_TIMEOUT_MS)
    # Focus went to the result and stayed there through the polls (not dropped on <body>).
    expect(page.locator(f"#replay-latest-{v2.id}")).to_be_focused()
    expect(panel.get_by_role("table", name="What would change")).to_contain_text("/")
    assert_same_page(page)

    # --- Promote v2 over v1: the confirmation names the version it replaces -------------
    # The gate checklist and the Go live card pick up the replay result without a reload.
    expect(page.locator("#gate-heading + ul")).to_contain_text("Passed")
    assert_same_page(page)
    page.get_by_role("button", name="Promote v2 to live").click()
    expect(page.locator("#deployment-main .callout.success")).to_contain_text("v2 is live")
    assert "It replaces v1" in dialogs[-1], dialogs[-1]
    screenshot(page, "flow-promoted-over-v1")
    page.goto("/profiles/acme/")
    expect(page.get_by_role("heading", name="Version 2")).to_be_visible()

    # --- Roll back to v1 ----------------------------------------------------------------
    v1 = Deployment.objects.get(handle__slug="acme", version=1)
    page.goto(f"/h/acme/deployments/{v1.id}/")
    page.get_by_role("button", name="Roll back to v1").click()
    expect(page.locator("#deployment-main .callout.success")).to_contain_text("v1 is live")
    assert dialogs[-1].startswith("Roll back to v1?") and "It replaces v2" in dialogs[-1], dialogs[-1]
    page.goto("/profiles/acme/")
    expect(page.get_by_role("heading", name="Version 1")).to_be_visible()
    page.goto("/h/acme/releases/")
    expect(page.locator("main")).to_contain_text("Rollback")

    # --- Back to the links page: the mismatch warning -----------------------------------
    page.goto("/h/acme/site/")
    mark_page(page)
    page.get_by_role("radio", name=re.compile("^Links page")).check()
    page.get_by_role("button", name="Switch site mode").click()
    warning = page.locator("#site-mode .callout.warning")
    expect(warning).to_contain_text("Site mode mismatch")
    expect(warning).not_to_contain_text("site_mode_mismatch")
    expect(warning).to_contain_text("v1 is live but visitors do not see it")
    assert_same_page(page)
    focused = active_element(page)
    assert "callout" in focused["cls"], focused
    page.goto("/h/acme/")
    # The overview names the warning in words; its code stays in a data attribute.
    overview_warning = page.locator('main [data-warning="site_mode_mismatch"]')
    expect(overview_warning).to_contain_text("Site mode mismatch: A site deployment is live, but the site mode is “Links page”")
    expect(page.locator("main")).not_to_contain_text("site_mode_mismatch")

    browser_session.assert_clean()
