"""Property: random interleavings of retries give exactly one action per key.

A model of the contract is run against the real API (``POST /v2/me/tokens`` and
``POST /v2/support/report``, which each create one row). Steps are random: a request with
one of a few keys, one of two routes and one of three bodies (one invalid); or a key's
first request being "still running" (its record not completed) or finished again.

The model: the first request of a key acts once and its status and body are stored; a
retry with the same route and body gets exactly that again with ``Idempotent-Replayed:
true`` and acts not at all; another route or body is 422 ``idempotency_key_reused``;
while the first is still running, the same request is 409
``idempotency_request_in_progress`` with ``Retry-After``. The number of rows created
equals the number of keys whose first request succeeded.

A second test fires the same key from several threads at once (PostgreSQL): exactly one
row, one original response, the rest replays, 409s or 422s.
"""

import threading

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gharart.models import IdempotencyRecord, PersonalAccessToken
from support.models import SupportReport
from tests.conftest import assert_error, client_for

ROUTES = {
    "tokens": ("/v2/me/tokens", [{"name": "ci", "scopes": ["sites:read"]}, {"name": "deploy", "scopes": ["sites:write"]}, {"name": ""}]),
    "support": ("/v2/support/report", [{"summary": "Broken", "details": "It broke."}, {"summary": "Slow", "details": "Slow."}, {"summary": ""}]),
}
STEP = st.one_of(
    st.tuples(st.just("send"), st.integers(0, 2), st.sampled_from(sorted(ROUTES)), st.integers(0, 2)),
    st.tuples(st.just("running"), st.integers(0, 2)),
    st.tuples(st.just("finished"), st.integers(0, 2)),
)


def _rows(user):
    return PersonalAccessToken.objects.filter(user=user).count() + SupportReport.objects.filter(user=user).count()


@settings(max_examples=120, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=1, max_size=12))
def test_interleaved_retries_act_once_and_answer_as_the_contract_says(users, no_throttles, steps):
    user = users["owner"]
    client = client_for(user)
    # Every example starts from nothing (examples share one test transaction).
    IdempotencyRecord.objects.all().delete()
    PersonalAccessToken.objects.filter(user=user).delete()
    SupportReport.objects.filter(user=user).delete()
    first = {}  # key -> (route, body index, status, body)
    running = set()
    acted = 0
    for step in steps:
        if step[0] in ("running", "finished"):
            key = f"key-{step[1]}"
            if key in first:
                IdempotencyRecord.objects.filter(key=key).update(completed=step[0] == "finished")
                (running.add if step[0] == "running" else running.discard)(key)
            continue
        _, k, route_name, body_index = step
        key = f"key-{k}"
        path, bodies = ROUTES[route_name]
        response = client.post(path, bodies[body_index], format="json", HTTP_IDEMPOTENCY_KEY=key)
        if key not in first:
            assert response.status_code in (201, 400), response.content
            assert not response.has_header("Idempotent-Replayed")
            first[key] = (route_name, body_index, response.status_code, response.content)
            acted += response.status_code == 201
        elif first[key][:2] != (route_name, body_index):
            assert_error(response, 422, "idempotency_key_reused")
        elif key in running:
            assert_error(response, 409, "idempotency_request_in_progress")
            assert response["Retry-After"]
        else:
            assert response.status_code == first[key][2]
            assert response.content == first[key][3]
            assert response["Idempotent-Replayed"] == "true"
        assert _rows(user) == acted


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_mixed_bodies_create_one_row(users, no_throttles):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): SQLite serializes writers")
    user = users["owner"]
    bodies = [{"name": "a", "scopes": ["sites:read"]}, {"name": "b", "scopes": ["sites:read"]}]
    barrier = threading.Barrier(8)
    results = []

    def fire(i):
        body = bodies[i % 3 == 0]
        barrier.wait()
        response = client_for(user).post("/v2/me/tokens", body, format="json", HTTP_IDEMPOTENCY_KEY="race")
        results.append((body["name"], response))
        connection.close()

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert PersonalAccessToken.objects.filter(user=user).count() == 1
    winner = PersonalAccessToken.objects.get(user=user).name
    originals = [r for _, r in results if r.status_code == 201 and not r.has_header("Idempotent-Replayed")]
    assert len(originals) == 1
    for name, response in results:
        if name != winner:
            assert_error(response, 422, "idempotency_key_reused")
        elif response.status_code == 409:
            assert_error(response, 409, "idempotency_request_in_progress")
        else:
            assert response.status_code == 201
            assert response.json() == originals[0].json()
