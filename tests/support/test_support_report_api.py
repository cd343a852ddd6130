"""POST /v2/support/report: who may file, what is validated, which request gets linked."""

import pytest
from model_bakery import baker

from gharart import constants as c
from gharart.models import RequestLog
from support import constants as sc
from support.models import SupportReport
from tests.conftest import assert_error

URL = "/v2/support/report"


def report(client, **body):
    payload = {"summary": "Promote button fails", "details": "It says 409 every time."}
    payload.update(body)
    return client.post(URL, payload, format="json")


def failed_request(client, request_id=None):
    """Make a request that fails with 400 and is therefore logged; return its request ID."""
    headers = {"HTTP_X_REQUEST_ID": request_id} if request_id else {}
    response = client.post("/v2/me/tokens", {"name": "", "scopes": []}, format="json", **headers)
    assert response.status_code == 400
    return response["X-Request-ID"]


# --- Audience ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_caller_must_authenticate(api):
    assert_error(report(api()), 401, c.AUTHENTICATION_REQUIRED)


@pytest.mark.django_db
def test_an_end_user_with_no_handle_files_a_report(api, end_user):
    response = report(api(end_user))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("sup_")
    assert body["status"] == "open"
    assert body["created_at"].endswith("Z")
    assert body["linked_request"] is None
    saved = SupportReport.objects.get(pk=body["id"])
    assert saved.user == end_user and saved.handle is None


@pytest.mark.django_db
def test_a_token_needs_the_support_write_scope(api, pat, users):
    without = pat(users["viewer"], [c.SCOPE_SITES_READ])
    error = assert_error(report(api(token=without)), 403, c.INSUFFICIENT_SCOPE)
    assert error["details"]["required_scope"] == c.SCOPE_SUPPORT_WRITE
    with_scope = pat(users["viewer"], [c.SCOPE_SUPPORT_WRITE])
    assert report(api(token=with_scope), handle="acme").status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("role", [c.OWNER, c.ADMIN, c.WEB_MANAGER, c.PARTNERSHIPS, c.VIEWER])
def test_every_member_may_name_their_handle(api, users, role):
    response = report(api(users[role]), handle="acme")
    assert response.status_code == 201
    assert SupportReport.objects.get(pk=response.json()["id"]).handle.slug == "acme"


@pytest.mark.django_db
def test_staff_and_operators_file_reports_like_anyone(api, staff_user, operator):
    assert report(api(staff_user)).status_code == 201
    assert report(api(operator)).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["acme", "no-such-handle"])
def test_a_handle_you_are_not_in_is_not_found(api, outsider, handle, slug):
    assert_error(report(api(outsider), handle=slug), 404, c.HANDLE_NOT_FOUND)
    assert not SupportReport.objects.exists()


@pytest.mark.django_db
def test_a_token_bound_to_one_handle_cannot_report_about_another(api, pat, users, other_handle):
    from gharart import services

    services.membership_set(handle=other_handle, user=users["owner"], role=c.OWNER)
    token = pat(users["owner"], [c.SCOPE_SUPPORT_WRITE], handle=other_handle)
    assert_error(report(api(token=token), handle="acme"), 404, c.HANDLE_NOT_FOUND)
    assert report(api(token=token), handle="other").status_code == 201


# --- Validation ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_summary_and_details_are_required(api, end_user):
    error = assert_error(api(end_user).post(URL, {}, format="json"), 400, c.VALIDATION_ERROR)
    assert set(error["details"]) == {"summary", "details"}
    error = assert_error(report(api(end_user), summary="   ", details=""), 400, c.VALIDATION_ERROR)
    assert set(error["details"]) == {"summary", "details"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field,limit",
    [("summary", sc.SUMMARY_MAX), ("details", sc.DETAILS_MAX), ("sessionId", sc.SESSION_ID_MAX), ("requestId", sc.REQUEST_ID_MAX), ("reproArtifact", sc.REPRO_ARTIFACT_MAX)],
)
def test_each_field_has_a_length_limit(api, end_user, field, limit):
    client = api(end_user)
    assert report(client, **{field: "x" * limit}).status_code == 201
    error = assert_error(report(client, **{field: "x" * (limit + 1)}), 400, c.VALIDATION_ERROR)
    assert list(error["details"]) == [field]


@pytest.mark.django_db
def test_wrong_types_and_malformed_json_are_refused(api, end_user):
    client = api(end_user)
    error = assert_error(report(client, summary=["a", "list"]), 400, c.VALIDATION_ERROR)
    assert "summary" in error["details"]
    assert_error(client.post(URL, "{not json", content_type="application/json"), 400, c.MALFORMED_JSON)


@pytest.mark.django_db
def test_session_id_and_repro_artifact_are_kept_as_text(api, end_user):
    response = report(api(end_user), sessionId="cli-42", reproArtifact="https://example.com/bug.zip")
    saved = SupportReport.objects.get(pk=response.json()["id"])
    assert saved.session_id == "cli-42"
    assert saved.repro_artifact == "https://example.com/bug.zip"


@pytest.mark.django_db
def test_a_file_id_as_repro_artifact_must_be_a_file_you_can_access(api, users, outsider, handle, other_handle):
    mine = baker.make("files.File", handle=handle)
    theirs = baker.make("files.File", handle=other_handle)
    response = report(api(users["viewer"]), reproArtifact=mine.pk)
    assert response.status_code == 201
    assert SupportReport.objects.get(pk=response.json()["id"]).repro_artifact == mine.pk
    error = assert_error(report(api(users["viewer"]), reproArtifact=theirs.pk), 400, c.VALIDATION_ERROR)
    assert list(error["details"]) == ["reproArtifact"]
    assert_error(report(api(users["viewer"]), reproArtifact="file_doesnotexist000"), 400, c.VALIDATION_ERROR)


# --- Request-ID linking --------------------------------------------------------------------


@pytest.mark.django_db
def test_quoting_your_own_failed_request_links_it(api, users):
    client = api(users["owner"])
    request_id = failed_request(client)
    response = report(client, requestId=request_id, handle="acme")
    assert response.status_code == 201
    linked = response.json()["linked_request"]
    assert linked["request_id"] == request_id
    assert linked["method"] == "POST"
    assert linked["path"] == "/v2/me/tokens"
    assert linked["status"] == 400
    assert linked["error_code"] == c.VALIDATION_ERROR
    assert linked["created_at"].endswith("Z")
    saved = SupportReport.objects.get(pk=response.json()["id"])
    assert saved.request_log == RequestLog.objects.get(request_id=request_id)


@pytest.mark.django_db
def test_quoting_another_users_request_links_nothing(api, users, outsider):
    request_id = failed_request(api(outsider))
    response = report(api(users["owner"]), requestId=request_id)
    assert response.status_code == 201
    assert response.json()["linked_request"] is None
    saved = SupportReport.objects.get(pk=response.json()["id"])
    # The quoted ID is still kept as the user typed it; it just points at nothing of theirs.
    assert saved.request_id == request_id and saved.request_log is None


@pytest.mark.django_db
def test_a_request_id_reused_by_two_users_links_only_your_own_request(api, users, outsider):
    shared = "client-chosen-id-1"
    failed_request(api(outsider), request_id=shared)
    failed_request(api(users["owner"]), request_id=shared)
    assert RequestLog.objects.filter(request_id=shared).count() == 2
    linked = report(api(users["owner"]), requestId=shared).json()["linked_request"]
    assert linked is not None
    assert SupportReport.objects.get().request_log.user == users["owner"]


@pytest.mark.django_db
def test_an_anonymous_or_unknown_request_id_links_nothing(api, end_user):
    anonymous_id = api().post("/v2/me/tokens", {}, format="json")["X-Request-ID"]
    assert RequestLog.objects.filter(request_id=anonymous_id, user=None).exists()
    assert report(api(end_user), requestId=anonymous_id).json()["linked_request"] is None
    assert report(api(end_user), requestId="req_unknown").json()["linked_request"] is None


# --- Throttle ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reports_are_throttled_per_user(api, end_user, users, settings):
    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "support_report": "2/hour"}
    client = api(end_user)
    assert report(client).status_code == 201
    assert report(client).status_code == 201
    refused = report(client)
    assert_error(refused, 429, c.RATE_LIMITED)
    assert int(refused["Retry-After"]) >= 1
    assert SupportReport.objects.filter(user=end_user).count() == 2
    # Someone else still has their own budget.
    assert report(api(users["viewer"])).status_code == 201


@pytest.mark.django_db
def test_invalid_reports_do_not_use_up_the_budget(api, end_user, settings):
    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "support_report": "1/hour"}
    client = api(end_user)
    for _ in range(3):
        assert report(client, summary="").status_code == 400
    assert report(client).status_code == 201


@pytest.mark.django_db
def test_an_idempotent_retry_files_one_report(api, end_user):
    client = api(end_user)
    first = client.post(URL, {"summary": "s", "details": "d"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(URL, {"summary": "s", "details": "d"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    assert SupportReport.objects.count() == 1
