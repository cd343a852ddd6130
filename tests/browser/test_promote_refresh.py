"""The Go live card follows the preview gate without a reload: when a replay running against
the deployment finishes and fails the gate, the replay panel's poll says so and the Promote
button turns disabled with what is missing, on the page already open (desktop and 375 px)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from deployments import constants as dc
from deployments.services.ingest import deployment_create_from_archive
from deployments.services.releases import deployment_gate_set, deployment_preview_report
from siteintel import constants as sc
from siteintel.models import CrawlRun, ReplayRun
from tests.browser.conftest import (
    MOBILE,
    assert_same_page,
    log_in,
    mark_page,
    no_horizontal_scroll,
    screenshot,
)
from tests.browser.sites import make_zip, storefront

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def running_replay(handle, deployment):
    crawl = CrawlRun.objects.create(handle=handle, hostname="acme.sites.gharart.com", max_pages=10, max_depth=2, state=sc.SUCCEEDED, finished_at=timezone.now())
    return ReplayRun.objects.create(
        handle=handle, hostname=crawl.hostname, crawl_run=crawl, deployment_id=deployment.id, state=sc.RUNNING, pages_done=1, pages_found=4, started_at=timezone.now()
    )


def finish_with_regressions(run, deployment):
    """What the replay job does when it ends: the run's verdict, then the deployment's gate."""
    summary = {"total": 4, "unchanged": 2, "changed": 2, "regressions": 2}
    ReplayRun.objects.filter(pk=run.pk).update(state=sc.SUCCEEDED, pages_done=4, gate_status=sc.GATE_FAILED, summary=summary, finished_at=timezone.now())
    deployment_gate_set(deployment=deployment, status=dc.GATE_FAILED, replay_run_id=run.id, summary=summary)


@pytest.mark.parametrize("viewport", [None, MOBILE], ids=["desktop", "375px"])
def test_promote_turns_disabled_with_the_reason_when_a_replay_fails_the_gate(browser_session, users, handle, viewport):
    upload = SimpleUploadedFile("site.zip", make_zip(storefront(1)), content_type="application/zip")
    dep = deployment_create_from_archive(handle=handle, upload=upload, actor=users["web_manager"])
    deployment_preview_report(deployment=dep, actor=users["web_manager"], opens_gate=True)
    run = running_replay(handle, dep)
    page = browser_session.page(**({"viewport": viewport, "is_mobile": True, "has_touch": True} if viewport else {}))
    log_in(page, "acme-web_manager", "pw-web_manager")
    page.goto(f"/h/acme/deployments/{dep.id}/")
    mark_page(page)
    promote = page.get_by_role("button", name="Promote v1 to live")
    expect(promote).to_be_enabled()
    expect(page.locator("#promote-blocked")).to_have_count(0)
    expect(page.locator(f"#replay-panel-{dep.id}")).to_contain_text("1 of 4 pages replayed")

    finish_with_regressions(run, dep)

    # The panel's next poll ends the replay; the gate card and the Go live card follow.
    expect(page.locator(f"#replay-panel-{dep.id}")).to_contain_text("Gate failed")
    expect(page.locator("#gate")).to_contain_text("The latest replay found 2 regressions")
    expect(promote).to_be_disabled()
    blocked = page.locator("#promote-blocked")
    expect(blocked).to_have_text(f"Promote is not available: the latest replay against v{dep.version} found 2 regressions. Fix the site and upload it again, or run a new replay.")
    assert promote.get_attribute("aria-describedby") == "promote-blocked"
    assert_same_page(page)
    if viewport:
        no_horizontal_scroll(page)
        page.locator("#release-actions").scroll_into_view_if_needed()
        screenshot(page, "mobile-promote-blocked-by-replay")
