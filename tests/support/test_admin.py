"""The Django admin: operators work on support data; nobody else sees it."""

import pytest
from django.contrib.auth import get_user_model

from gharart.models import RequestLog
from support import constants as sc
from support import services
from support.models import ContentReport, Escalation, SupportReport
from tests.conftest import admin_url

SUPPORT_PAGES = ["/admin/support/supportreport/", "/admin/support/escalation/", "/admin/support/contentreport/"]
LOOKUP_PAGES = ["/admin/gharart/requestlog/", "/admin/gharart/auditevent/", "/admin/gharart/personalaccesstoken/", "/admin/gharart/handle/"]


@pytest.fixture
def data(db, api, users):
    client = api(users["owner"])
    request_id = client.post("/v2/me/tokens", {"name": ""}, format="json")["X-Request-ID"]
    report = services.support_report_create(user=users["owner"], summary="Tokens page broken", details="400 on create", handle_slug="acme", request_id=request_id)
    content = services.content_report_create(url="http://testserver/profiles/acme/", reason="spam")
    return {"request_id": request_id, "report": report, "content": content}


def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_an_operator_can_open_every_support_and_lookup_page(client, operator, data):
    client = logged_in(client, operator)
    index = client.get("/admin/")
    assert index.status_code == 200
    for page in SUPPORT_PAGES + LOOKUP_PAGES:
        assert client.get(page).status_code == 200, page
    report = data["report"]
    assert client.get(admin_url(report)).status_code == 200
    assert client.get(admin_url(data["content"])).status_code == 200
    assert client.get("/admin/support/escalation/add/").status_code == 200
    assert b"Support reports" in index.content


@pytest.mark.django_db
def test_an_operator_finds_the_failed_request_and_the_report_from_the_request_id(client, operator, data, users):
    client = logged_in(client, operator)
    request_id = data["request_id"]
    reports = client.get("/admin/support/supportreport/", {"q": request_id})
    assert data["report"].pk.encode() in reports.content
    log = client.get("/admin/gharart/requestlog/", {"q": request_id})
    assert request_id.encode() in log.content and b"/v2/me/tokens" in log.content
    # Also by handle and by user.
    assert data["report"].pk.encode() in client.get("/admin/support/supportreport/", {"q": "acme"}).content
    assert data["report"].pk.encode() in client.get("/admin/support/supportreport/", {"q": users["owner"].username}).content
    assert data["report"].pk.encode() not in client.get("/admin/support/supportreport/", {"q": "req_nothing"}).content
    # The report page shows the linked request and links to the log.
    page = client.get(admin_url(data["report"])).content.decode()
    assert "POST /v2/me/tokens → 400" in page
    assert f"/admin/gharart/requestlog/?q={request_id}" in page


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff_user", "superuser"])
def test_staff_outside_the_group_cannot_see_support_data(client, request, data, who):
    user = request.getfixturevalue(who)
    client = logged_in(client, user)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert b"Support reports" not in index.content
    for page in SUPPORT_PAGES:
        assert client.get(page).status_code == 403, page
    assert client.get(admin_url(data["report"])).status_code == 403
    # The app index does not even admit that the section exists.
    assert client.get("/admin/support/").status_code == 404


@pytest.mark.django_db
def test_users_who_are_not_staff_are_sent_to_the_admin_login(client, users, data):
    client = logged_in(client, users["owner"])
    for page in SUPPORT_PAGES + LOOKUP_PAGES:
        response = client.get(page)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), page


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_admin_login(client, data):
    response = client.get(SUPPORT_PAGES[0])
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_an_operator_changes_a_reports_status_but_not_what_the_user_sent(client, operator, data):
    client = logged_in(client, operator)
    report = data["report"]
    url = admin_url(report)
    response = client.post(url, {"status": sc.REPORT_RESOLVED, "summary": "tampered", "escalations-TOTAL_FORMS": "0", "escalations-INITIAL_FORMS": "0"})
    assert response.status_code == 302, response.content[:2000]
    report.refresh_from_db()
    assert report.status == sc.REPORT_RESOLVED
    assert report.summary == "Tokens page broken"
    # Reports come from users; operators neither add nor delete them.
    assert client.get("/admin/support/supportreport/add/").status_code == 403
    assert client.get(admin_url(report, "delete")).status_code == 403


@pytest.mark.django_db
def test_an_escalation_added_in_the_admin_goes_through_the_service(client, operator, data):
    client = logged_in(client, operator)
    report = data["report"]
    response = client.post("/admin/support/escalation/add/", {"support_report": report.pk, "severity": "critical", "notes": "Outage"})
    assert response.status_code == 302, response.content[:2000]
    escalation = Escalation.objects.get()
    assert escalation.pk.startswith("esc_") and escalation.created_by == operator
    report.refresh_from_db()
    assert report.status == sc.REPORT_ESCALATED
    assert client.get(admin_url(escalation)).status_code == 200


@pytest.mark.django_db
def test_content_reports_are_moderated_with_a_status_and_reviewer(client, operator, data):
    client = logged_in(client, operator)
    content = data["content"]
    response = client.post("/admin/support/contentreport/", {"action": "mark_reviewing", "_selected_action": [content.pk]})
    assert response.status_code == 302
    content.refresh_from_db()
    assert content.status == sc.CONTENT_REVIEWING and content.reviewed_by == operator and content.reviewed_at is not None
    response = client.post(admin_url(content), {"status": sc.CONTENT_DISMISSED, "moderator_notes": "Not spam."})
    assert response.status_code == 302
    content.refresh_from_db()
    assert content.status == sc.CONTENT_DISMISSED and content.moderator_notes == "Not spam."
    assert {s for s, _ in sc.CONTENT_STATUS_CHOICES} == {"new", "reviewing", "actioned", "dismissed"}
    assert ContentReport.objects.count() == 1


@pytest.mark.django_db
def test_operators_setup_creates_the_group_and_makes_operators(db):
    from django.core.management import call_command

    user = get_user_model().objects.create_user(username="newop", password="pw")
    call_command("operators_setup", "--add", "newop")
    user.refresh_from_db()
    assert user.is_staff and user.groups.filter(name=sc.OPERATORS_GROUP).exists()
    perms = set(user.get_all_permissions())
    assert {"support.view_supportreport", "support.change_supportreport", "support.add_escalation", "gharart.view_requestlog"} <= perms
    assert "support.delete_supportreport" not in perms and "gharart.change_requestlog" not in perms
    # Running it again changes nothing.
    call_command("operators_setup")
    assert set(get_user_model().objects.get(pk=user.pk).get_all_permissions()) == perms
    assert SupportReport.objects.count() == 0
    assert RequestLog.objects.count() == 0


OTHER_APPS = [("deployments", "deployment"), ("deployments", "release"), ("files", "file"), ("files", "magiclink"), ("files", "docsaccesspolicy")]


@pytest.mark.django_db
def test_an_operator_can_look_at_deployments_releases_files_magic_links_and_docs_policies(client, operator, handle):
    from django.urls import reverse
    from model_bakery import baker

    link = baker.make("files.MagicLink", file=baker.make("files.File", handle=handle))
    client = logged_in(client, operator)
    for app_label, model in OTHER_APPS:
        assert client.get(reverse(f"admin:{app_label}_{model}_changelist")).status_code == 200, model
    page = client.get(reverse("admin:files_magiclink_change", args=[link.pk]))
    assert page.status_code == 200
    # A link's token exists only as its hash: the admin can show nothing else.
    assert link.token_hash in page.content.decode()


@pytest.mark.django_db
def test_staff_without_permissions_cannot_look_at_other_apps_either(client, db):
    from django.urls import reverse

    client.force_login(get_user_model().objects.create_user(username="plainstaff", password="pw", is_staff=True))
    for app_label, model in OTHER_APPS:
        assert client.get(reverse(f"admin:{app_label}_{model}_changelist")).status_code == 403, model
