"""Every main page of the seeded demo handle, at desktop size and at 375 px: no sideways
scrolling, every form control labelled, no raw code or ISO time in what it reads (after
app.js), no console errors, nothing loaded from another origin, and a screenshot of each.

The screenshots listed in ``docs/screenshots/.gitignore`` are the README's; ``make
screenshots`` regenerates them.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from playwright.sync_api import expect

from deployments.services.ingest import deployment_create_from_archive
from gharart.models import Handle
from tests.browser.conftest import (
    MOBILE,
    log_in,
    no_horizontal_scroll,
    overflowing_cards,
    screenshot,
    unlabelled_controls,
)
from tests.browser.sites import make_zip, storefront
from tests.visible_text import problems_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "demo-password-for-browser-tests"


@pytest.fixture
def demo(settings):
    settings.GHARART_DEMO_PASSWORD = DEMO_PASSWORD
    call_command("demo_seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    handle = Handle.objects.get(slug="gharart")
    # A second version waiting for its preview, so the deployment page shows the gate.
    upload = SimpleUploadedFile("spring.zip", make_zip(storefront(2)), content_type="application/zip")
    author = get_user_model().objects.get(username="webmanager")
    pending = deployment_create_from_archive(handle=handle, upload=upload, message="Summer collection", actor=author)
    return {"handle": handle, "pending": pending}


def main_pages(pending):
    """(name, path, heading, what the desktop screenshot scrolls to: the list under the form)."""
    h = "/h/gharart"
    return [
        ("home", "/", "Your handles", None),
        ("overview", f"{h}/", "Gharart", None),
        ("deployments", f"{h}/deployments/", "Deployments", "History"),
        ("deployment-detail", f"{h}/deployments/{pending.id}/", "Summer collection", None),
        ("releases", f"{h}/releases/", "Releases", None),
        ("site", f"{h}/site/", "Site", None),
        ("site-intel", f"{h}/site-intel/", "Site intel", None),
        ("files", f"{h}/files/", "Files", "Your files"),
        ("docs-access", f"{h}/docs-access/", "Internal docs access", None),
        ("campaigns", f"{h}/campaigns/", "Campaigns", None),
        ("audit", f"{h}/audit/", "Audit", None),
        ("support", "/support/", "Support", None),
        ("tokens", "/settings/tokens/", "tokens", None),
        ("password", "/settings/password/", "Change password", None),
    ]


def scroll_near(page, heading):
    """Bring ``heading`` near the top of the viewport, a little of what is above still showing."""
    page.get_by_role("heading", name=heading, exact=True).evaluate(
        "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 96)"
    )


def test_every_main_page_at_desktop_and_375px(browser_session, demo):
    desktop = browser_session.page()
    mobile = browser_session.page(viewport=MOBILE, is_mobile=True, has_touch=True)
    for page in (desktop, mobile):
        log_in(page, "owner", DEMO_PASSWORD)

    unlabelled, overflowing, not_words = {}, {}, {}
    for name, path, heading, anchor in main_pages(demo["pending"]):
        for page, prefix in ((desktop, "desktop"), (mobile, "mobile")):
            response = page.goto(path)
            assert response.status == 200, (path, response.status)
            expect(page.get_by_role("heading", level=1)).to_contain_text(heading, ignore_case=True)
            # Sections that load themselves (hx-trigger="load") are in before the screenshot.
            page.wait_for_function("!document.querySelector('.htmx-request')")
            no_horizontal_scroll(page)
            if page is desktop and unlabelled_controls(page):
                unlabelled[path] = unlabelled_controls(page)
            if page is desktop and problems_in_page(page):
                not_words[path] = problems_in_page(page)  # after app.js: times in the reader's zone
            if overflowing_cards(page):
                overflowing[f"{prefix} {path}"] = overflowing_cards(page)
            if anchor and page is desktop:
                scroll_near(page, anchor)
            screenshot(page, f"{prefix}-{name}")

    assert not unlabelled, f"form controls without a label: {unlabelled}"
    assert not overflowing, f"content sticking out of its card: {overflowing}"
    assert not not_words, f"raw codes or ISO times a person reads: {not_words}"

    # The live demo site, as a visitor sees it.
    visitor = browser_session.page(viewport=MOBILE, is_mobile=True, has_touch=True)
    visitor.goto("/profiles/gharart/")
    expect(visitor.get_by_role("heading", level=1)).to_be_visible()
    no_horizontal_scroll(visitor)
    screenshot(visitor, "mobile-profile")
    browser_session.assert_clean()
