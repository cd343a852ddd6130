"""POST /v2/operator/escalations: internal operators only."""

import pytest
from django.contrib.auth import get_user_model

from gharart import constants as c
from support import constants as sc
from support import services
from support.models import Escalation
from support.operators import operators_group_sync
from tests.conftest import assert_error

URL = "/v2/operator/escalations"


@pytest.fixture
def support_report(db, users):
    return services.support_report_create(user=users["owner"], summary="Site down", details="Since the promote.", handle_slug="acme")


def escalate(client, report_id, **body):
    payload = {"support_report_id": report_id, "severity": "high", "notes": "Customer-facing outage."}
    payload.update(body)
    return client.post(URL, payload, format="json")


@pytest.mark.django_db
def test_anonymous_caller_must_authenticate(api, support_report):
    assert_error(escalate(api(), support_report.id), 401, c.AUTHENTICATION_REQUIRED)


@pytest.mark.django_db
def test_end_users_and_handle_owners_are_refused(api, pat, users, end_user, support_report):
    for user in (end_user, users["owner"], users["admin"]):
        assert_error(escalate(api(user), support_report.id), 403, sc.OPERATOR_ONLY)
    # An end user's token with the support scope is still no operator's token.
    token = pat(users["owner"], [c.SCOPE_SUPPORT_WRITE])
    assert_error(escalate(api(token=token), support_report.id), 403, sc.OPERATOR_ONLY)
    assert not Escalation.objects.exists()


@pytest.mark.django_db
def test_staff_outside_the_group_and_group_members_who_are_not_staff_are_refused(api, staff_user, superuser, support_report):
    assert_error(escalate(api(staff_user), support_report.id), 403, sc.OPERATOR_ONLY)
    assert_error(escalate(api(superuser), support_report.id), 403, sc.OPERATOR_ONLY)
    not_staff = get_user_model().objects.create_user(username="groupie", password="pw")
    not_staff.groups.add(operators_group_sync())
    assert_error(escalate(api(not_staff), support_report.id), 403, sc.OPERATOR_ONLY)


@pytest.mark.django_db
def test_an_operator_escalates_a_report(api, operator, support_report):
    response = escalate(api(operator), support_report.id)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("esc_")
    assert body["support_report_id"] == support_report.id
    assert body["severity"] == "high"
    assert body["notes"] == "Customer-facing outage."
    assert body["status"] == "open"
    assert body["created_by"] == "op"
    support_report.refresh_from_db()
    assert support_report.status == sc.REPORT_ESCALATED


@pytest.mark.django_db
def test_an_operators_token_needs_the_support_write_scope(api, pat, operator, support_report):
    error = assert_error(escalate(api(token=pat(operator, [c.SCOPE_SITES_READ])), support_report.id), 403, c.INSUFFICIENT_SCOPE)
    assert error["details"]["required_scope"] == c.SCOPE_SUPPORT_WRITE
    assert escalate(api(token=pat(operator, [c.SCOPE_SUPPORT_WRITE])), support_report.id).status_code == 201


@pytest.mark.django_db
def test_an_unknown_report_is_not_found(api, operator):
    error = assert_error(escalate(api(operator), "sup_doesnotexist"), 404, sc.SUPPORT_REPORT_NOT_FOUND)
    assert error["details"]["support_report_id"] == "sup_doesnotexist"


@pytest.mark.django_db
def test_severity_and_fields_are_validated(api, operator, support_report):
    client = api(operator)
    error = assert_error(escalate(client, support_report.id, severity="urgent"), 400, c.VALIDATION_ERROR)
    assert list(error["details"]) == ["severity"]
    error = assert_error(client.post(URL, {}, format="json"), 400, c.VALIDATION_ERROR)
    assert set(error["details"]) == {"support_report_id", "severity", "notes"}
    error = assert_error(escalate(client, support_report.id, notes="x" * (sc.NOTES_MAX + 1)), 400, c.VALIDATION_ERROR)
    assert list(error["details"]) == ["notes"]
    for severity, _ in sc.SEVERITY_CHOICES:
        assert escalate(client, support_report.id, severity=severity).status_code == 201
