import threading
import time

import pytest
from django.db import connection

from gharart.models import IdempotencyRecord, PersonalAccessToken
from tests.conftest import assert_error

BODY = {"name": "ci", "scopes": ["sites:read"]}


@pytest.mark.django_db
class TestIdempotencyKeys:
    def test_a_retry_replays_the_first_response_and_acts_once(self, api, users):
        client = api(users["owner"])
        first = client.post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        second = client.post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert first.status_code == second.status_code == 201
        assert second["Idempotent-Replayed"] == "true"
        assert not first.has_header("Idempotent-Replayed")
        assert first.json() == second.json()
        assert PersonalAccessToken.objects.filter(user=users["owner"]).count() == 1

    def test_json_spacing_does_not_change_the_fingerprint(self, api, users):
        client = api(users["owner"])
        client.post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
        again = client.generic("POST", "/v2/me/tokens", '{ "scopes" : ["sites:read"], "name":"ci" }', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2")
        assert again["Idempotent-Replayed"] == "true"

    def test_the_same_key_with_another_body_is_422(self, api, users):
        client = api(users["owner"])
        client.post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
        response = client.post("/v2/me/tokens", {**BODY, "name": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
        assert_error(response, 422, "idempotency_key_reused")
        assert PersonalAccessToken.objects.filter(user=users["owner"]).count() == 1

    def test_the_same_key_on_another_route_is_422(self, api, users):
        client = api(users["owner"])
        client.post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
        assert_error(client.post("/v2/me/tokens/pat_x", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-4"), 422, "idempotency_key_reused")

    def test_a_key_still_in_progress_is_409(self, api, users):
        client = api(users["owner"])
        client.post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
        IdempotencyRecord.objects.filter(key="k-5").update(completed=False)
        response = client.post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
        assert_error(response, 409, "idempotency_request_in_progress")
        assert response["Retry-After"]

    def test_keys_are_per_caller(self, api, users):
        api(users["owner"]).post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="shared")
        other = api(users["admin"]).post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="shared")
        assert other.status_code == 201 and not other.has_header("Idempotent-Replayed")

    def test_validation_errors_are_replayed_too(self, api, users):
        client = api(users["owner"])
        first = client.post("/v2/me/tokens", {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k-6")
        second = client.post("/v2/me/tokens", {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k-6")
        assert first.status_code == second.status_code == 400
        assert second["Idempotent-Replayed"] == "true"

    def test_an_overlong_key_is_a_validation_error(self, api, users):
        assert_error(api(users["owner"]).post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256), 400, "validation_error")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_identical_requests_create_one_object(api, users, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): SQLite serializes writers")
    from gharart import api_views, services

    real = services.token_create

    def slow_create(**kwargs):
        time.sleep(0.5)  # hold the first request inside the view while the second arrives
        return real(**kwargs)

    monkeypatch.setattr(api_views.services, "token_create", slow_create)
    barrier = threading.Barrier(2)
    results = []

    def fire():
        client = api(users["owner"])
        barrier.wait()
        results.append(client.post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="race"))
        connection.close()

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses in ([201, 201], [201, 409]), statuses
    assert PersonalAccessToken.objects.filter(user=users["owner"]).count() == 1


@pytest.mark.django_db
class TestServerErrors:
    def _boom(self, monkeypatch, status):
        from gharart import api_views
        from gharart.errors import ApplicationError

        calls = []

        def failing(**kwargs):
            calls.append(kwargs)
            if status == 500:
                raise RuntimeError("failed after acting")
            raise ApplicationError("service_unavailable", "Try later.", status=503, headers={"Retry-After": "5"})

        monkeypatch.setattr(api_views.services, "token_create", failing)
        return calls

    def test_a_500_is_not_stored_so_the_retry_runs_again(self, api, users, monkeypatch):
        calls = self._boom(monkeypatch, 500)
        client = api(users["owner"])
        first = client.post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-500")
        assert first.status_code == 500
        assert not IdempotencyRecord.objects.filter(key="k-500").exists()
        monkeypatch.undo()
        retry = client.post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-500")
        assert retry.status_code == 201 and not retry.has_header("Idempotent-Replayed")
        assert len(calls) == 1

    def test_a_503_releases_the_key_for_a_later_retry(self, api, users, monkeypatch):
        calls = self._boom(monkeypatch, 503)
        client = api(users["owner"])
        first = client.post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-503")
        assert_error(first, 503, "service_unavailable")
        monkeypatch.undo()
        retry = client.post("/v2/me/tokens", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-503")
        assert retry.status_code == 201 and not retry.has_header("Idempotent-Replayed")
        assert len(calls) == 1
