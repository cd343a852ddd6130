from datetime import timedelta

import pytest
from django.utils import timezone

from gharart.models import IdempotencyRecord, RequestLog
from gharart.tasks import prune_request_log


@pytest.mark.django_db
def test_api_writes_are_logged_with_user_route_and_status(api, users):
    response = api(users["owner"]).post("/v2/me/tokens", {"name": "ci", "scopes": ["sites:read"]}, format="json", HTTP_X_REQUEST_ID="write-1")
    assert response.status_code == 201
    row = RequestLog.objects.get(request_id="write-1")
    assert row.user == users["owner"]
    assert (row.method, row.route, row.status_code) == ("POST", "v2/me/tokens", 201)


@pytest.mark.django_db
def test_successful_reads_are_not_logged(api, users):
    api(users["owner"]).get("/v2/me/tokens", HTTP_X_REQUEST_ID="read-1")
    assert not RequestLog.objects.filter(request_id="read-1").exists()


@pytest.mark.django_db
def test_prune_drops_rows_past_retention_and_expired_idempotency_keys(settings):
    settings.GHARART_REQUEST_LOG_RETENTION_DAYS = 30
    old = RequestLog.objects.create(request_id="old", method="GET", path="/x", status_code=404, created_at=timezone.now() - timedelta(days=31))
    fresh = RequestLog.objects.create(request_id="fresh", method="GET", path="/x", status_code=404)
    IdempotencyRecord.objects.create(caller="user:1", key="k", method="POST", path="/v2/x", fingerprint="f", created_at=timezone.now() - timedelta(hours=25))
    result = prune_request_log()
    assert result == {"request_log": 1, "idempotency": 1}
    assert not RequestLog.objects.filter(pk=old.pk).exists()
    assert RequestLog.objects.filter(pk=fresh.pk).exists()


@pytest.mark.django_db
def test_healthz_answers_ok(client):
    assert client.get("/healthz").json() == {"status": "ok"}
