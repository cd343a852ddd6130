"""Each files rule lives in one service, and every way in (API, dashboard, seed, edge) obeys it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from files import constants as fc
from files import docs, services
from files.models import File, MagicLink
from gharart import constants as c
from gharart import services as gharart_services
from gharart.errors import ApplicationError
from tests.conftest import assert_error
from tests.files.conftest import DOCS_PAGES, PDF, PNG, Upload, make_docs, make_file

HX = {"HTTP_HX_REQUEST": "true"}


def api_upload(client, name="kit.pdf"):
    return client.post("/v2/handles/acme/files", {"file": SimpleUploadedFile(name, PDF)}, format="multipart")


def dashboard_upload(client, name="kit.pdf", **extra):
    return client.post("/h/acme/files/upload/", {"file": SimpleUploadedFile(name, PDF)}, **extra)


@pytest.fixture
def manager(dashboard_manager):
    return dashboard_manager


# --- The daily upload quota -------------------------------------------------------------------


def test_a_dashboard_upload_is_charged_to_the_daily_quota_and_refused_at_the_limit(manager, settings):
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, c.QUOTA_FILE_UPLOADS: 1}
    assert dashboard_upload(manager, **HX).status_code == 200
    refused = dashboard_upload(manager, name="second.pdf", **HX)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "The daily limit of 1 file uploads for this handle is used up." in refused.content.decode()
    plain = dashboard_upload(manager, name="third.pdf")
    assert plain.status_code == 429 and "daily limit" in plain.content.decode()
    assert list(File.objects.values_list("name", flat=True)) == ["kit.pdf"]


def test_the_api_and_the_dashboard_share_one_quota(api, manager, users, settings):
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, c.QUOTA_FILE_UPLOADS: 2}
    assert api_upload(api(users["owner"])).status_code == 201
    assert dashboard_upload(manager, name="b.pdf", **HX).status_code == 200
    assert_error(api_upload(api(users["owner"]), name="c.pdf"), 429, c.DAILY_WRITE_LIMIT_EXCEEDED)
    assert dashboard_upload(manager, name="d.pdf", **HX).status_code == 429
    assert File.objects.count() == 2


def test_a_refused_dashboard_upload_gives_its_quota_unit_back(manager, settings):
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, c.QUOTA_FILE_UPLOADS: 1}
    bad = manager.post("/h/acme/files/upload/", {"file": SimpleUploadedFile("kit.pdf", PDF), "access": "nonsense"}, **HX)
    assert bad.status_code == 400
    assert dashboard_upload(manager, **HX).status_code == 200


def test_the_upload_service_charges_callers_outside_a_request_too(handle, users, settings):
    # The demo seed and any management command call the service, and pay like the API.
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, c.QUOTA_FILE_UPLOADS: 1}
    make_file(handle, users["owner"])
    with pytest.raises(ApplicationError) as exc:
        services.file_upload(handle=handle, actor=users["owner"], upload=Upload(PNG, "logo.png"))
    assert exc.value.status == 429 and exc.value.code == c.DAILY_WRITE_LIMIT_EXCEEDED
    assert exc.value.details["quota"] == c.QUOTA_FILE_UPLOADS


# --- The docs access rule ---------------------------------------------------------------------


POLICIES = [
    {"visibility": "members"},
    {"visibility": "public"},
    {"visibility": "public", "confidential_paths": ["/finance/*"]},
    {"visibility": "partners", "partner_domains": ["agency.example"]},
    {"visibility": "public", "ends_at": "2000-01-01T00:00:00Z"},
]


@pytest.mark.parametrize("policy", POLICIES)
def test_the_preview_says_anyone_exactly_where_the_edge_serves_a_stranger(client, users, handle, policy):
    make_docs(handle, users["owner"], DOCS_PAGES)
    saved = services.docs_policy_update(handle=handle, actor=users["owner"], data={"visibility": "members", **policy})
    rows = docs.who_can_read(policy=saved, pages=docs.docs_pages(deployment=docs.live_docs_deployment(handle=handle)))
    assert rows
    for row in rows:
        if row["path"] == "/404.html":
            continue
        status = Client().get("/_edge/docs/acme" + row["path"], HTTP_ACCEPT="application/json").status_code
        assert (status == 200) == (row["readers"] == "Anyone"), (row, status)


def test_the_decision_names_every_reason_a_stranger_is_kept_out(handle, users):
    policy = services.docs_policy_update(handle=handle, actor=users["owner"], data={"visibility": "members", "ends_at": "2000-01-01T00:00:00Z"})
    access = docs.access_decide(policy=policy, member=False, partner=False, confidential=True)
    assert not access.allowed
    assert access.code == fc.DOCS_ACCESS_WINDOW_CLOSED  # what the edge answers
    assert access.refusals == (fc.DOCS_ACCESS_WINDOW_CLOSED, fc.DOCS_ACCESS_DENIED, fc.DOCS_MEMBERS_ONLY)
    assert docs.access_decide(policy=policy, member=True, partner=False, confidential=True).kind == fc.VIEWER_MEMBER


# --- Minting magic links ----------------------------------------------------------------------


def request_link(client, file, email):
    return client.post(f"/v2/public/files/{file.id}/magic-link", {"email": email}, format="json")


def test_the_mint_rule_is_the_same_for_the_api_and_the_dashboard(api, pat, users, handle, other_handle, link_file):
    for role in (c.OWNER, c.ADMIN, c.PARTNERSHIPS, c.WEB_MANAGER, c.VIEWER):
        may = services.magic_link_mint_allowed(user=users[role], auth=None, file=link_file)
        assert may == (role in c.FILES_ROLES)
        assert request_link(api(users[role]), link_file, f"{role}@else.example").status_code == (201 if may else 202)
        browser = Client()
        browser.force_login(users[role])
        minted = browser.post(f"/h/acme/files/{link_file.id}/links/", {"email": f"{role}@dash.example"})
        assert (minted.status_code != 403) == may, (role, minted.status_code)
    assert MagicLink.objects.filter(email__endswith="@else.example").count() == 3
    assert MagicLink.objects.filter(email__endswith="@dash.example").count() == 3


def test_a_token_mints_only_with_files_write_for_its_own_handle(api, pat, users, other_handle, link_file):
    owner = users["owner"]
    gharart_services.membership_set(handle=other_handle, user=owner, role=c.OWNER)
    assert request_link(api(token=pat(owner, [c.SCOPE_FILES_WRITE], handle=other_handle)), link_file, "a@b.example").status_code == 202
    assert request_link(api(token=pat(owner, [c.SCOPE_FILES_READ])), link_file, "a@b.example").status_code == 202
    assert request_link(api(token=pat(owner, [c.SCOPE_FILES_WRITE])), link_file, "a@b.example").status_code == 201


def test_strangers_never_mint(users, outsider, link_file):
    assert not services.magic_link_mint_allowed(user=outsider, auth=None, file=link_file)
    assert not services.magic_link_mint_allowed(user=users["owner"], auth=None, file=None)


# --- Download counting ------------------------------------------------------------------------


def test_the_download_service_counts_and_refuses_past_the_limit(handle, users):
    file = make_file(handle, users["owner"], data=b"limited bytes", name="limited.txt", access=fc.ACCESS_PUBLIC, max_downloads=1)
    first = services.download_client_key(ip="192.0.2.1", user_agent="a")
    services.file_download_admit(file=file, client_key=first)
    services.file_download_open(file=file, client_key=first, start=0, end=file.size)
    file.refresh_from_db()
    assert file.download_count == 1
    second = services.download_client_key(ip="192.0.2.2", user_agent="b")
    with pytest.raises(ApplicationError) as exc:
        services.file_download_admit(file=file, client_key=second)
    assert exc.value.code == fc.DOWNLOAD_LIMIT_REACHED and exc.value.status == 410
    with pytest.raises(ApplicationError):
        services.file_download_open(file=file, client_key=second, start=0, end=file.size)
    # The client whose download is open may still finish it.
    services.file_download_admit(file=file, client_key=first)
    file.refresh_from_db()
    assert file.download_count == 1


def test_the_public_route_answers_what_the_download_service_decides(api, handle, users):
    file = make_file(handle, users["owner"], data=b"limited bytes", name="limited.txt", access=fc.ACCESS_PUBLIC, max_downloads=1)
    assert api().get(f"/v2/public/files/{file.id}", REMOTE_ADDR="192.0.2.1").status_code == 200
    err = assert_error(api().get(f"/v2/public/files/{file.id}", REMOTE_ADDR="192.0.2.9"), 410, fc.DOWNLOAD_LIMIT_REACHED)
    assert err["details"]["max_downloads"] == 1
