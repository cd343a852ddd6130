"""The Campaigns pages, campaign files grouped on the Files page, and the overview warning."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from files import constants as fc
from files import services
from files.models import Campaign, File
from tests.files.conftest import make_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(users):
    client = Client()
    client.force_login(users["partnerships"])
    return client


def at(days):
    return timezone.now() + timedelta(days=days)


def campaign(handle, user, name="Diwali sale", start=-1, end=10):
    return services.campaign_create(handle=handle, actor=user, data={"name": name, "starts_at": at(start), "ends_at": at(end)})


def test_create_a_campaign_from_the_page(manager, handle):
    page = manager.get("/h/acme/campaigns/").content.decode()
    assert "No campaigns yet" in page and 'data-utc="#new-campaign-starts"' in page
    start, end = at(1), at(20)
    r = manager.post("/h/acme/campaigns/", {"name": "Holi", "starts_at": start.isoformat(), "ends_at": end.isoformat(), "starts_at_local": "x", "ends_at_local": "x"})
    assert r.status_code == 302
    cmp = Campaign.objects.get()
    assert cmp.name == "Holi" and abs((cmp.starts_at - start).total_seconds()) < 1
    page = manager.get("/h/acme/campaigns/").content.decode()
    assert "Holi" in page and "Starts in" in page and "created" in page


def test_a_bad_campaign_shows_each_field_error(manager, handle):
    r = manager.post("/h/acme/campaigns/", {"name": "", "starts_at_local": "2026-05-02T10:00", "ends_at_local": "2026-05-01T10:00"})
    assert r.status_code == 400
    tree = HTMLParser(r.content.decode())
    assert tree.css_first("#new-campaign-name-error") is not None
    assert "must end after it starts" in tree.css_first("#new-campaign-ends-error").text()
    assert tree.css_first("#new-campaign-name").attributes.get("aria-invalid") == "true"
    assert not Campaign.objects.exists()


def test_extend_a_campaign_from_its_page_and_its_files_follow(manager, handle, users):
    cmp = campaign(handle, users["partnerships"], start=-10, end=-1)
    file = make_file(handle, users["partnerships"], access=fc.ACCESS_PUBLIC, campaign_id=cmp.id)
    assert File.objects.get(pk=file.pk).is_expired
    page = manager.get(f"/h/acme/campaigns/{cmp.id}/").content.decode()
    assert "data-confirm=" in page and "media-kit.pdf" in page
    new_end = at(5)
    r = manager.post(f"/h/acme/campaigns/{cmp.id}/", {"name": cmp.name, "starts_at": cmp.starts_at.isoformat(), "ends_at": new_end.isoformat()})
    assert r.status_code == 302
    assert not File.objects.get(pk=file.pk).is_expired
    assert Client().get(f"/v2/public/files/{file.id}").status_code == 200


def test_deleting_a_campaign_in_use_is_explained_and_a_free_one_goes(manager, handle, users):
    used = campaign(handle, users["partnerships"])
    make_file(handle, users["partnerships"], campaign_id=used.id)
    r = manager.post(f"/h/acme/campaigns/{used.id}/delete/")
    assert r.status_code == 409
    assert "still followed by 1 file" in r.content.decode()
    free = campaign(handle, users["partnerships"], name="Free")
    page = manager.get(f"/h/acme/campaigns/{free.id}/").content.decode()
    assert 'data-confirm="Delete the campaign “Free”?' in page
    assert manager.post(f"/h/acme/campaigns/{free.id}/delete/").status_code == 302
    assert not Campaign.objects.filter(pk=free.pk).exists()


def test_every_member_reads_campaigns_and_partnerships_and_above_change_them(client, users, handle, outsider):
    cmp = campaign(handle, users["partnerships"])
    client.force_login(users["viewer"])
    page = client.get("/h/acme/campaigns/").content.decode()
    assert "Diwali sale" in page and "can see campaigns but not change them" in page and "Create the campaign" not in page
    assert "Delete" not in client.get(f"/h/acme/campaigns/{cmp.id}/").content.decode()
    assert client.post("/h/acme/campaigns/", {"name": "x"}).status_code == 403
    assert client.post(f"/h/acme/campaigns/{cmp.id}/", {"name": "x"}).status_code == 403
    assert client.post(f"/h/acme/campaigns/{cmp.id}/delete/").status_code == 403
    assert Campaign.objects.get().name == "Diwali sale"
    client.force_login(outsider)
    assert client.get(f"/h/acme/campaigns/{cmp.id}/").status_code == 404
    client.force_login(users["partnerships"])
    assert client.get("/h/acme/campaigns/cmp_nope/").status_code == 404


def test_the_files_page_groups_files_by_campaign(manager, handle, users):
    diwali = campaign(handle, users["partnerships"], name="Diwali sale")
    holi = campaign(handle, users["partnerships"], name="Holi", start=3, end=9)
    make_file(handle, users["partnerships"], name="diwali-kit.pdf", campaign_id=diwali.id)
    make_file(handle, users["partnerships"], name="holi-kit.pdf", access=fc.ACCESS_PUBLIC, campaign_id=holi.id)
    make_file(handle, users["partnerships"], name="loose.pdf")
    tree = HTMLParser(manager.get("/h/acme/files/").content.decode())
    groups = {" ".join(g.css_first("h3").text().split("(")[0].split()): [a.text() for a in g.css("article header strong")] for g in tree.css("section.file-group")}
    assert groups == {"Campaign Diwali sale": ["diwali-kit.pdf"], "Campaign Holi": ["holi-kit.pdf"], "Not in a campaign": ["loose.pdf"]}
    assert "available in" in tree.html  # Holi has not started
    options = [o.text() for o in tree.css("#upload-campaign option")]
    assert options[0].startswith("None") and any(o.startswith("Diwali sale") for o in options)


def test_upload_and_edit_with_a_campaign_from_the_files_page(manager, handle, users):
    from django.core.files.uploadedfile import SimpleUploadedFile

    cmp = campaign(handle, users["partnerships"])
    r = manager.post("/h/acme/files/upload/", {"file": SimpleUploadedFile("kit.pdf", b"%PDF-1.4 kit"), "access": "public", "campaign_id": cmp.id})
    assert r.status_code == 302
    file = File.objects.get()
    assert file.campaign_id == cmp.id and file.expiry_source == "campaign"
    # Editing with the campaign chosen ignores the expiry field the form always sends.
    r = manager.post(f"/h/acme/files/{file.id}/edit/", {"access": "public", "campaign_id": cmp.id, "expires_at": "2030-01-01T00:00", "title": "", "max_downloads": "", "recipients": ""})
    assert r.status_code == 302
    assert File.objects.get().expires_at is None
    r = manager.post(f"/h/acme/files/{file.id}/edit/", {"access": "public", "campaign_id": "", "expires_at": "2030-01-01T00:00", "title": "", "max_downloads": "", "recipients": ""})
    assert File.objects.get().campaign_id is None and File.objects.get().expires_at.year == 2030


def test_the_overview_warns_a_week_before_a_campaign_ends(client, handle, users):
    soon = campaign(handle, users["partnerships"], name="Diwali sale", end=3)
    later = campaign(handle, users["partnerships"], name="Spring", end=30)
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        make_file(handle, users["partnerships"], name=name, access=fc.ACCESS_LINK, recipients=["@agency.example"], campaign_id=soon.id)
    make_file(handle, users["partnerships"], name="private.pdf", campaign_id=soon.id)  # private: nothing stops working
    make_file(handle, users["partnerships"], name="later.pdf", access=fc.ACCESS_PUBLIC, campaign_id=later.id)
    client.force_login(users["owner"])
    tree = HTMLParser(client.get("/h/acme/").content.decode())
    warnings = tree.css("[data-campaign-ending]")
    assert [w.attributes["data-campaign-ending"] for w in warnings] == [soon.id]
    text = warnings[0].text(separator=" ", strip=True)
    day = timezone.localtime(soon.ends_at)
    assert f"3 files stop working on {day:%A} {day.day} {day:%B %Y}" in text
    assert re.search(r"\d{4}-\d{2}-\d{2}", text) is None  # words, not an ISO timestamp
    assert "Diwali sale" in text


def test_the_docs_access_page_can_follow_a_campaign(manager, handle, users):
    from files.models import DocsAccessPolicy

    cmp = campaign(handle, users["partnerships"], name="Launch", start=-1, end=5)
    page = manager.get("/h/acme/docs-access/").content.decode()
    assert 'name="campaign_id"' in page and "Launch" in page
    form = {"visibility": "public", "partner_emails": "", "partner_domains": "", "starts_at": "", "ends_at": "", "confidential_paths": "", "confirm_public": "1"}
    r = manager.post("/h/acme/docs-access/", {**form, "campaign_id": cmp.id})
    assert r.status_code in (200, 302)
    assert DocsAccessPolicy.objects.get(handle=handle).campaign_id == cmp.id
    page = manager.get("/h/acme/docs-access/").content.decode()
    assert "the campaign “Launch”" in page
    r = manager.post("/h/acme/docs-access/", {**form, "campaign_id": cmp.id, "starts_at": "2026-01-01T00:00"})
    assert r.status_code == 400 and 'id="starts-at-error"' in r.content.decode()
