"""Campaigns: CRUD, files and the docs policy following a campaign's window, revival on extension.

A window is moved into the past or future in the database (no sleeping).
"""

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from files import constants as fc
from files import services
from files.models import Campaign, File
from gharart import constants as c
from gharart.models import AuditEvent
from tests.conftest import assert_error
from tests.files.conftest import DOCS_PAGES, PDF, make_docs, make_file, mint, url

pytestmark = pytest.mark.django_db
BASE = "/v2/handles/acme/campaigns"
FILES = "/v2/handles/acme/files"


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def days(n):
    return timezone.now() + timedelta(days=n)


def make_campaign(handle, user, *, name="Diwali sale", start=-1, end=10):
    return services.campaign_create(handle=handle, actor=user, data={"name": name, "starts_at": iso(days(start)), "ends_at": iso(days(end))})


def move(campaign, *, start=None, end=None):
    changes = {}
    if start is not None:
        changes["starts_at"] = days(start)
    if end is not None:
        changes["ends_at"] = days(end)
    Campaign.objects.filter(pk=campaign.pk).update(**changes)


# --- CRUD ------------------------------------------------------------------------------

def test_create_list_get_and_edit_a_campaign(api, users):
    client = api(users["partnerships"])
    r = client.post(BASE, {"name": "Diwali sale", "starts_at": iso(days(1)), "ends_at": iso(days(20))}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["id"].startswith("cmp_") and body["name"] == "Diwali sale" and body["file_count"] == 0
    assert body["starts_at"].endswith("Z") and body["created_at"]
    assert [x["id"] for x in client.get(BASE).json()["results"]] == [body["id"]]
    new_end = iso(days(30))
    r = client.patch(f"{BASE}/{body['id']}", {"ends_at": new_end}, format="json")
    assert r.status_code == 200 and r.json()["ends_at"] == new_end
    assert client.get(f"{BASE}/{body['id']}").json()["name"] == "Diwali sale"
    assert AuditEvent.objects.filter(action=c.AUDIT_CAMPAIGN_UPDATE, target=body["id"]).exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name", "starts_at", "ends_at"}),
        ({"name": " ", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z"}, {"name"}),
        ({"name": "x", "starts_at": "soon", "ends_at": "2026-02-01T00:00:00Z"}, {"starts_at"}),
        ({"name": "x", "starts_at": "2026-03-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z"}, {"ends_at"}),
        ({"name": "x" * 201, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z"}, {"name"}),
    ],
)
def test_bad_campaigns_are_validation_errors_per_field(api, users, body, fields):
    err = assert_error(api(users["partnerships"]).post(BASE, body, format="json"), 400, c.VALIDATION_ERROR)
    assert set(err["details"]) == fields
    assert not Campaign.objects.exists()


def test_a_second_campaign_with_the_same_name_is_refused(api, users, handle):
    make_campaign(handle, users["partnerships"])
    err = assert_error(api(users["partnerships"]).post(BASE, {"name": "diwali SALE", "starts_at": iso(days(1)), "ends_at": iso(days(2))}, format="json"), 400, c.VALIDATION_ERROR)
    assert "name" in err["details"]


def test_an_edit_that_ends_before_the_start_is_refused(api, users, handle):
    campaign = make_campaign(handle, users["partnerships"], start=5, end=10)
    err = assert_error(api(users["partnerships"]).patch(f"{BASE}/{campaign.id}", {"ends_at": iso(days(2))}, format="json"), 400, c.VALIDATION_ERROR)
    assert "ends_at" in err["details"]


def test_roles_scopes_and_other_handles(api, users, handle, outsider, pat):
    body = {"name": "x", "starts_at": iso(days(1)), "ends_at": iso(days(2))}
    assert_error(api(users["web_manager"]).post(BASE, body, format="json"), 403, c.FORBIDDEN)
    token = pat(users["partnerships"], [c.SCOPE_FILES_READ])
    assert api(token=token).get(BASE).status_code == 200
    assert_error(api(token=token).post(BASE, body, format="json"), 403, c.INSUFFICIENT_SCOPE)
    campaign = make_campaign(handle, users["partnerships"])
    assert_error(api(outsider).get(f"{BASE}/{campaign.id}"), 404, c.HANDLE_NOT_FOUND)
    assert_error(api(outsider).get(f"/v2/handles/other/campaigns/{campaign.id}"), 404, fc.CAMPAIGN_NOT_FOUND)


def test_a_campaign_in_use_cannot_be_deleted(api, users, handle):
    campaign = make_campaign(handle, users["partnerships"])
    file = make_file(handle, users["partnerships"], campaign_id=campaign.id)
    client = api(users["partnerships"])
    assert client.get(f"{BASE}/{campaign.id}").json()["file_count"] == 1
    err = assert_error(client.delete(f"{BASE}/{campaign.id}"), 409, fc.CAMPAIGN_IN_USE)
    assert err["details"] == {"file_count": 1, "docs_policy": False}
    assert client.patch(f"{FILES}/{file.id}", {"campaign_id": None}, format="json").status_code == 200
    assert client.delete(f"{BASE}/{campaign.id}").status_code == 204
    assert_error(client.get(f"{BASE}/{campaign.id}"), 404, fc.CAMPAIGN_NOT_FOUND)


def test_a_campaign_the_docs_policy_follows_cannot_be_deleted(api, users, handle):
    campaign = make_campaign(handle, users["partnerships"])
    services.docs_policy_update(handle=handle, actor=users["owner"], data={"visibility": "public", "campaign_id": campaign.id})
    err = assert_error(api(users["partnerships"]).delete(f"{BASE}/{campaign.id}"), 409, fc.CAMPAIGN_IN_USE)
    assert err["details"]["docs_policy"] is True


# --- Files follow their campaign ---------------------------------------------------------

def test_a_file_uploaded_for_a_campaign_expires_with_it(api, users, handle):
    campaign = make_campaign(handle, users["partnerships"], end=10)
    r = api(users["partnerships"]).post(FILES, {"file": io.BytesIO(PDF), "access": "public", "campaign_id": campaign.id}, format="multipart")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["campaign_id"] == campaign.id and body["expiry_source"] == fc.EXPIRY_SOURCE_CAMPAIGN
    assert body["expires_at"] == iso(campaign.ends_at) and body["available_at"] == iso(campaign.starts_at)
    plain = api(users["partnerships"]).post(FILES, {"file": io.BytesIO(PDF), "expires_at": iso(days(3))}, format="multipart").json()
    assert plain["expiry_source"] == fc.EXPIRY_SOURCE_FILE and plain["campaign_id"] is None


def test_campaign_and_own_expiry_together_or_an_unknown_campaign_are_refused(api, users, handle, other_handle, outsider):
    campaign = make_campaign(handle, users["partnerships"])
    client = api(users["partnerships"])
    err = assert_error(client.post(FILES, {"file": io.BytesIO(PDF), "campaign_id": campaign.id, "expires_at": iso(days(3))}, format="multipart"), 400, c.VALIDATION_ERROR)
    assert "expires_at" in err["details"]
    theirs = make_campaign(other_handle, outsider)
    err = assert_error(client.post(FILES, {"file": io.BytesIO(PDF), "campaign_id": theirs.id}, format="multipart"), 400, c.VALIDATION_ERROR)
    assert "campaign_id" in err["details"]
    assert not File.objects.exists()


def test_patch_attaches_and_detaches_a_campaign(api, users, handle):
    campaign = make_campaign(handle, users["partnerships"])
    file = make_file(handle, users["partnerships"], access=fc.ACCESS_PUBLIC, expires_at=days(3))
    client = api(users["partnerships"])
    body = client.patch(f"{FILES}/{file.id}", {"campaign_id": campaign.id}, format="json").json()
    assert body["expiry_source"] == "campaign" and body["expires_at"] == iso(campaign.ends_at)
    err = assert_error(client.patch(f"{FILES}/{file.id}", {"expires_at": iso(days(4))}, format="json"), 400, c.VALIDATION_ERROR)
    assert "expires_at" in err["details"]
    own = iso(days(4))
    body = client.patch(f"{FILES}/{file.id}", {"campaign_id": None, "expires_at": own}, format="json").json()
    assert body["campaign_id"] is None and body["expiry_source"] == "file" and body["expires_at"] == own


def test_before_the_start_public_and_link_downloads_are_403_not_yet_available(api, users, handle):
    campaign = make_campaign(handle, users["partnerships"], start=2, end=10)
    public = make_file(handle, users["partnerships"], access=fc.ACCESS_PUBLIC, campaign_id=campaign.id)
    linked = make_file(handle, users["partnerships"], access=fc.ACCESS_LINK, recipients=["@agency.example"], campaign_id=campaign.id)
    _, token = mint(linked)
    err = assert_error(api().get(url(public)), 403, fc.FILE_NOT_YET_AVAILABLE)
    assert err["details"]["available_at"] == iso(campaign.starts_at)
    assert "starts on" in err["message"]
    assert_error(api().get(url(linked, token)), 403, fc.FILE_NOT_YET_AVAILABLE)
    page = api().get(url(public), HTTP_ACCEPT="text/html")
    assert page.status_code == 403 and b"not available yet" in page.content
    assert File.objects.get(pk=public.pk).download_count == 0
    move(campaign, start=-1)
    assert api().get(url(public)).status_code == 200
    assert api().get(url(linked, token)).status_code == 200


def test_after_the_end_410_and_extending_the_campaign_revives_files_and_links_at_once(api, users, handle):
    campaign = make_campaign(handle, users["partnerships"], start=-10, end=5)
    public = make_file(handle, users["partnerships"], access=fc.ACCESS_PUBLIC, campaign_id=campaign.id)
    linked = make_file(handle, users["partnerships"], access=fc.ACCESS_LINK, recipients=["@agency.example"], campaign_id=campaign.id)
    _, token = mint(linked)
    move(campaign, end=-1)
    err = assert_error(api().get(url(public)), 410, fc.FILE_EXPIRED)
    assert err["details"]["expired_at"] == iso(Campaign.objects.get(pk=campaign.pk).ends_at)
    assert_error(api().get(url(linked, token)), 410, fc.FILE_EXPIRED)
    listed = api(users["partnerships"]).get(f"{FILES}?expired=true").json()["results"]
    assert {f["id"] for f in listed} == {public.id, linked.id}
    r = api(users["partnerships"]).patch(f"{BASE}/{campaign.id}", {"ends_at": iso(days(7))}, format="json")
    assert r.status_code == 200
    assert api().get(url(public)).status_code == 200
    assert api().get(url(linked, token)).status_code == 200
    assert api(users["partnerships"]).get(f"{FILES}?expired=true").json()["results"] == []


# --- The docs policy follows a campaign ---------------------------------------------------

def test_the_docs_policy_takes_a_campaign_instead_of_its_own_window(api, users, handle):
    make_docs(handle, users["owner"], DOCS_PAGES)
    campaign = make_campaign(handle, users["partnerships"], start=3, end=10)
    client = api(users["partnerships"])
    url_policy = "/v2/handles/acme/internal-docs/access"
    err = assert_error(client.put(url_policy, {"visibility": "public", "campaign_id": campaign.id, "starts_at": iso(days(1))}, format="json"), 400, c.VALIDATION_ERROR)
    assert "starts_at" in err["details"]
    err = assert_error(client.put(url_policy, {"visibility": "public", "campaign_id": "cmp_nope"}, format="json"), 400, c.VALIDATION_ERROR)
    assert "campaign_id" in err["details"]
    body = client.put(url_policy, {"visibility": "public", "campaign_id": campaign.id}, format="json").json()
    assert body["campaign_id"] == campaign.id
    assert body["starts_at"] == iso(campaign.starts_at) and body["ends_at"] == iso(campaign.ends_at)

    err = assert_error(api().get("/_edge/docs/acme/"), 403, fc.DOCS_ACCESS_WINDOW_CLOSED)
    assert err["details"]["starts_at"] == iso(campaign.starts_at)
    move(campaign, start=-1)
    assert api().get("/_edge/docs/acme/").status_code == 200
    move(campaign, end=-0.01)
    assert_error(api().get("/_edge/docs/acme/"), 403, fc.DOCS_ACCESS_WINDOW_CLOSED)


def test_the_expired_filter_follows_the_effective_expiry(api, users, handle):
    running = make_campaign(handle, users["partnerships"], name="Running", end=5)
    ended = make_campaign(handle, users["partnerships"], name="Ended", start=-9, end=-1)
    files = {
        "own-none": make_file(handle, users["partnerships"]),
        "own-later": make_file(handle, users["partnerships"], expires_at=days(3)),
        "running": make_file(handle, users["partnerships"], campaign_id=running.id),
        "ended": make_file(handle, users["partnerships"], campaign_id=ended.id),
    }
    client = api(users["partnerships"])
    names = {v.id: k for k, v in files.items()}
    expired = {names[f["id"]] for f in client.get(f"{FILES}?expired=true").json()["results"]}
    live = {names[f["id"]] for f in client.get(f"{FILES}?expired=false").json()["results"]}
    assert expired == {"ended"}
    assert live == {"own-none", "own-later", "running"}
