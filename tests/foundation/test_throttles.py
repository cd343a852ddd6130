import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from gharart import throttles
from gharart.errors import ApplicationError
from tests.conftest import assert_error


@pytest.mark.django_db
def test_writes_over_the_limit_get_429_with_retry_after_and_ratelimit_headers(api, users, settings):
    # Hour-long windows here and below: no window boundary can fall inside a test.
    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "write": "3/hour"}
    client = api(users["owner"])
    for i in range(3):
        ok = client.post("/v2/me/tokens", {"name": f"t{i}", "scopes": ["sites:read"]}, format="json")
        assert ok.status_code == 201
        assert ok["RateLimit-Limit"] == "3" and ok["RateLimit-Remaining"] == str(2 - i)
    refused = client.post("/v2/me/tokens", {"name": "t4", "scopes": ["sites:read"]}, format="json")
    assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert refused["RateLimit-Remaining"] == "0"
    # Reads have their own budget.
    assert client.get("/v2/me/tokens").status_code == 200


@pytest.mark.django_db
def test_anonymous_token_endpoint_is_limited_per_ip(client, settings):
    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "auth_token": "2/hour"}
    for _ in range(2):
        client.post("/v2/auth/token", {"username": "x", "password": "y"}, content_type="application/json")
    response = client.post("/v2/auth/token", {"username": "x", "password": "y"}, content_type="application/json")
    assert_error(response, 429, "rate_limited")
    assert response["Retry-After"]


def test_daily_quota_refuses_with_retry_after_until_midnight(settings):
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, "deployments": 2}
    throttles.quota_hit("deployments", "acme")
    throttles.quota_hit("deployments", "acme")
    with pytest.raises(ApplicationError) as exc:
        throttles.quota_hit("deployments", "acme")
    assert exc.value.status == 429 and exc.value.code == "daily_write_limit_exceeded"
    assert 1 <= int(exc.value.headers["Retry-After"]) <= 86400
    # Another handle has its own quota.
    throttles.quota_hit("deployments", "other")


def test_counts_are_shared_across_processes_through_redis():
    if not django_settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL)")
    script = (
        "import django; django.setup();"
        "from gharart import throttles;"
        # A day-long window, so no window boundary falls between the two processes' hits.
        "[throttles.hit('write', 'xproc', rate='5/day') for _ in range(3)]"
    )
    subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"})
    throttles.hit("write", "xproc", rate="5/day")
    throttles.hit("write", "xproc", rate="5/day")
    with pytest.raises(ApplicationError) as exc:
        throttles.hit("write", "xproc", rate="5/day")
    assert exc.value.code == "rate_limited"


@pytest.mark.django_db
def test_blob_uploads_have_their_own_budget_apart_from_other_writes(api, users, settings):
    import hashlib

    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "write": "2/min", "blob_upload": "100/min"}
    client = api(users["owner"])
    blobs = [f"page {i}".encode() for i in range(4)]
    files = {f"/p{i}.html": hashlib.sha256(b).hexdigest() for i, b in enumerate(blobs)}
    created = client.post("/v2/handles/acme/site-deployments", {"target": "site", "files": files}, format="json")
    assert created.status_code == 201, created.content
    dep = created.json()["id"]
    for body in blobs:
        sha = hashlib.sha256(body).hexdigest()
        put = client.put(f"/v2/handles/acme/site-deployments/{dep}/blobs/{sha}", body, content_type="application/octet-stream")
        assert put.status_code == 200, put.content
        assert put["RateLimit-Limit"] == "100"
