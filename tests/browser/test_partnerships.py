"""The partnerships manager, in Chromium, against the live server and a real worker.

Upload a media kit, set its access and expiry, copy a magic link, open it as the partner in
a fresh browser (the download works), change the access and see the link revoked, then edit
the internal docs access policy and read its warnings.
"""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from deployments.services.ingest import deployment_create_from_archive
from deployments.services.releases import deployment_preview_report, deployment_promote
from files.models import DocsAccessPolicy as Policy
from files.models import File, MagicLink
from tests.browser.conftest import assert_same_page, log_in, mark_page, screenshot
from tests.browser.sites import docs_site, make_zip, storefront

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PARTNER = "press@agency.example"


def live_docs(handle, actor):
    """The internal docs a web manager published (arranged through the services)."""
    upload = SimpleUploadedFile("docs.zip", make_zip(docs_site()), content_type="application/zip")
    dep = deployment_create_from_archive(handle=handle, upload=upload, target="docs", actor=actor)
    deployment_preview_report(deployment=dep, actor=actor)
    deployment_promote(deployment=dep, actor=actor, role="web_manager", reason="handbook")
    return dep


def test_partnerships_manager_shares_a_media_kit_by_magic_link_and_revokes_it(
    browser_session, handle, users, celery_worker_process, tmp_path
):
    kit_bytes = make_zip(storefront(1))
    kit = tmp_path / "acme-media-kit.zip"
    kit.write_bytes(kit_bytes)
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")

    manager = browser_session.context(permissions=["clipboard-read", "clipboard-write"])
    page = manager.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    log_in(page, "acme-partnerships", "pw-partnerships")

    # --- Upload the media kit: link access, a recipient, an expiry -----------------------
    page.goto("/h/acme/files/")
    mark_page(page)
    page.get_by_label(re.compile("Drop a file here")).set_input_files(str(kit))
    page.get_by_label("Title (optional)").fill("Autumn media kit")
    page.get_by_label("Access", exact=True).select_option("link")
    page.get_by_label(re.compile("Recipients for magic links")).fill(PARTNER)
    page.get_by_label("Expires (your local time, optional; not with a campaign)").fill(expires)
    page.get_by_role("button", name="Upload", exact=True).click()
    uploaded = page.locator("#files-section .callout.success")
    expect(uploaded).to_contain_text("Uploaded acme-media-kit.zip")
    expect(uploaded).to_be_focused()
    assert_same_page(page)
    stored = File.objects.get()
    card = page.locator(f"#file-{stored.id}")
    expect(card).to_contain_text("Autumn media kit")
    expect(card.locator(".badge", has_text="link")).to_be_visible()
    expect(card).to_contain_text("expires in 30 days")
    expect(card).to_contain_text(PARTNER)

    # --- Mint a magic link and copy it ---------------------------------------------------
    card.get_by_label("Recipient email").fill(PARTNER)
    card.get_by_role("button", name="Create link").click()
    minted = card.locator(".callout.success")
    expect(minted).to_contain_text(f"Magic link for {PARTNER}")
    expect(minted).to_be_focused()
    copy = minted.locator("button[data-copy]")
    expect(copy).to_have_accessible_name("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    url = copy.get_attribute("data-copied")
    assert url.startswith(browser_session.base_url + f"/v2/public/files/{stored.id}") and "token=" in url, url
    assert page.evaluate("navigator.clipboard.readText()") == url
    expect(card.get_by_role("table", name=re.compile("Links of"))).to_contain_text("active")
    screenshot(page, "flow-magic-link")

    # --- The partner, in a browser of their own, lands on the share page, then downloads --
    partner = browser_session.context(accept_downloads=True).new_page()
    partner.goto(url)
    expect(partner.get_by_role("heading", level=1)).to_be_visible()
    expect(partner.locator("dl.facts")).to_contain_text("acme-media-kit.zip")
    expect(partner.locator("main")).to_contain_text(PARTNER)
    with partner.expect_download() as info:
        partner.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "acme-media-kit.zip"
    with open(download.path(), "rb") as fh:
        assert fh.read() == kit_bytes

    # --- Access changes: every magic link is revoked --------------------------------------
    card.get_by_label("Access", exact=True).select_option("private")
    expect(card.get_by_text("Changing access revokes every magic link of this file (1 active)")).to_be_visible()
    card.get_by_role("button", name="Save sharing").click()
    card = page.locator(f"#file-{stored.id}")
    expect(card.locator(".badge", has_text="private")).to_be_visible()
    expect(card.get_by_role("table", name=re.compile("Links of"))).to_contain_text("revoked")
    expect(card.get_by_role("table", name=re.compile("Links of"))).to_contain_text("access changed")
    expect(card.locator(".callout.success", has_text="Saved")).to_be_focused()
    assert_same_page(page)
    assert MagicLink.objects.get().revoked_at is not None

    browser_session.watch_of(partner.context).expect_status(f"/v2/public/files/{stored.id}", 403)
    response = partner.goto(url)
    assert response.status == 403
    expect(partner.get_by_role("heading", name="This link was revoked")).to_be_visible()
    expect(partner.locator("main, body").first).to_contain_text("magic_link_revoked")
    expect(partner.get_by_text("The owner changed how this file is shared")).to_be_visible()
    browser_session.assert_clean()


def test_partnerships_manager_edits_the_docs_access_policy_and_reads_its_warnings(browser_session, handle, users):
    live_docs(handle, users["web_manager"])
    page = browser_session.page()
    log_in(page, "acme-partnerships", "pw-partnerships")
    browser_session.watch.expect_status("/h/acme/docs-access/", 400)
    page.goto("/h/acme/docs-access/")
    mark_page(page)
    # The handbook declares a confidential page no path rule covers: warned at once.
    warnings = page.locator("#docs-access-section [role=alert]")
    expect(warnings).to_contain_text("Confidential pages without a confidential path")
    expect(warnings).to_contain_text("/finance/q3.html")
    expect(warnings).not_to_contain_text("confidential_not_covered")

    # Partners without anyone named: the server's field error, focused.
    page.get_by_role("radio", name="Members and invited partners").check()
    page.get_by_role("button", name="Save policy").click()
    emails = page.get_by_label("Partner emails (one per line)")
    expect(emails).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#partner-emails-error")).to_be_visible()
    expect(emails).to_be_focused()

    # A public mail domain while confidential pages exist: too permissive, said while typing.
    page.get_by_label(re.compile("Partner domains")).fill("gmail.com")
    live = page.locator("#policy-warnings")
    expect(live).to_contain_text("Check this policy before saving")
    expect(live).to_contain_text("Too open")
    expect(live).to_contain_text("gmail.com")
    assert Policy.objects.filter(handle=handle).first() is None or Policy.objects.get(handle=handle).version == 0
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#docs-access-section .callout.success")).to_contain_text("Saved. Policy version 1;")
    warnings = page.locator("#docs-access-section [role=alert]")
    expect(warnings).to_contain_text("Too open")
    expect(warnings).to_contain_text("gmail.com")
    expect(warnings).to_contain_text("Confidential pages without a confidential path")
    screenshot(page, "flow-policy-warnings")

    # Named partners and an explicit confidential path: nothing left to warn about.
    page.get_by_label(re.compile("Partner domains")).fill("agency.example")
    page.get_by_label(re.compile("Confidential paths")).fill("/finance/*")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#docs-access-section .callout.success")).to_be_visible()
    expect(page.locator("#docs-access-section [role=alert]")).to_have_count(0)
    table = page.get_by_role("table", name="Pages of the live docs deployment")
    expect(table.get_by_role("row", name="/finance/q3.html")).to_contain_text("confidential")
    expect(table.get_by_role("row", name="/brand.html")).to_contain_text("agency.example")
    expect(page.locator("#docs-access-section .callout.success")).to_be_focused()
    assert_same_page(page)

    # "Anyone" signs every partner out: it is confirmed before it is saved.
    page.get_by_role("radio", name="Anyone").check()
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#visibility-error")).to_contain_text("signs every partner out")
    assert Policy.objects.get(handle=handle).visibility == "partners"
    page.get_by_label(re.compile("Yes, let anyone read the docs")).check()
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#docs-access-section .callout.success")).to_contain_text("Saved. Policy version 3;")
    assert Policy.objects.get(handle=handle).visibility == "public"
    browser_session.assert_clean()
