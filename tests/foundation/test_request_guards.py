"""Requests, bodies and idempotency: secrets never readable in the database, replays that
cost nothing, only business answers stored, anonymous keys not shared, client addresses
behind proxies, and bad input refused at creation (API.md, Conventions)."""

import hashlib
import json

import pytest
from django.apps import apps
from django.db import models
from django.test import Client, RequestFactory

from gharart import constants as c
from gharart import throttles
from gharart.models import IdempotencyRecord, PersonalAccessToken
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def _database_text():
    """Every value of every row of every table, as text (binary columns decoded)."""
    out = []
    for model in apps.get_models():
        for row in model.objects.all():
            for field in model._meta.concrete_fields:
                value = getattr(row, field.attname)
                if isinstance(value, memoryview | bytes):
                    value = bytes(value).decode("latin-1")
                elif isinstance(field, models.JSONField):
                    value = json.dumps(value)
                out.append(str(value))
    return "\n".join(out)


# --- Item: no secret readable in the database --------------------------------------------------


def test_secrets_in_idempotent_answers_are_never_readable_in_the_database(api, users, handle):
    from files import constants as fc
    from tests.files.conftest import make_file

    owner = api(users[c.OWNER])
    created = owner.post("/v2/me/tokens", {"name": "ci", "scopes": ["sites:read"]}, format="json", HTTP_IDEMPOTENCY_KEY="pat-1")
    pat_secret = created.json()["token"]
    pair = Client().post("/v2/auth/token", {"username": "acme-owner", "password": "pw-owner"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="jwt-1").json()
    file = make_file(handle, users[c.OWNER], name="kit.pdf", access=fc.ACCESS_LINK, recipients=["@agency.example"])
    minted = owner.post(f"/v2/public/files/{file.id}/magic-link", {"email": "ana@agency.example"}, format="json", HTTP_IDEMPOTENCY_KEY="ml-1")
    assert minted.status_code == 201
    link_token = minted.json()["url"].split("token=")[1]
    assert IdempotencyRecord.objects.filter(completed=True).count() == 3
    text = _database_text()
    for secret in (pat_secret, pair["access"], pair["refresh"], link_token):
        assert secret not in text
    # Replays still give the caller the answer it lost, secret included.
    again = owner.post("/v2/me/tokens", {"name": "ci", "scopes": ["sites:read"]}, format="json", HTTP_IDEMPOTENCY_KEY="pat-1")
    assert again["Idempotent-Replayed"] == "true" and again.json()["token"] == pat_secret
    assert PersonalAccessToken.objects.filter(user=users[c.OWNER]).count() == 1
    minted_again = owner.post(f"/v2/public/files/{file.id}/magic-link", {"email": "ana@agency.example"}, format="json", HTTP_IDEMPOTENCY_KEY="ml-1")
    assert minted_again.json()["url"] == minted.json()["url"]


def test_a_stored_answer_no_key_opens_is_treated_as_lost(api, users, settings):
    client = api(users[c.OWNER])
    client.post("/v2/me/tokens", {"name": "ci", "scopes": ["sites:read"]}, format="json", HTTP_IDEMPOTENCY_KEY="rot-1")
    settings.SECRET_KEY = "another-secret-key-entirely-0123456789-abcdefghijklmnop"
    settings.SECRET_KEY_FALLBACKS = []
    retry = client.post("/v2/me/tokens", {"name": "ci", "scopes": ["sites:read"]}, format="json", HTTP_IDEMPOTENCY_KEY="rot-1")
    # (A JWT signed with the old key still verifies: SIMPLE_JWT keeps the key it read at start.)
    assert retry.status_code == 201 and not retry.has_header("Idempotent-Replayed")


def test_a_rotated_key_kept_in_fallbacks_still_opens_replays(api, users, settings):
    client = api(users[c.OWNER])
    client.post("/v2/me/tokens", {"name": "ci", "scopes": ["sites:read"]}, format="json", HTTP_IDEMPOTENCY_KEY="rot-2")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "another-secret-key-entirely-0123456789-abcdefghijklmnop"
    retry = client.post("/v2/me/tokens", {"name": "ci", "scopes": ["sites:read"]}, format="json", HTTP_IDEMPOTENCY_KEY="rot-2")
    assert retry["Idempotent-Replayed"] == "true"


# --- Item: replays cost nothing; only business answers are stored -------------------------------

DIGEST = {"target": "site", "message": "m", "files": {"/index.html": hashlib.sha256(b"<p>hi</p>").hexdigest()}}


def test_a_replay_is_not_charged_to_the_daily_quota(api, users, handle, settings):
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, "deployments": 1}
    client = api(users[c.OWNER])
    first = client.post("/v2/handles/acme/site-deployments", DIGEST, format="json", HTTP_IDEMPOTENCY_KEY="dep-1")
    assert first.status_code == 201
    for _ in range(3):
        replay = client.post("/v2/handles/acme/site-deployments", DIGEST, format="json", HTTP_IDEMPOTENCY_KEY="dep-1")
        assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
        assert replay.json()["id"] == first.json()["id"]
    # The quota is used up by the one deployment, not by the replays.
    assert_error(client.post("/v2/handles/acme/site-deployments", DIGEST, format="json", HTTP_IDEMPOTENCY_KEY="dep-2"), 429, c.DAILY_WRITE_LIMIT_EXCEEDED)


def test_a_429_is_not_stored_so_the_same_key_works_once_the_limit_lifts(api, users, handle, settings):
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, "deployments": 0}
    client = api(users[c.OWNER])
    assert_error(client.post("/v2/handles/acme/site-deployments", DIGEST, format="json", HTTP_IDEMPOTENCY_KEY="dep-3"), 429, c.DAILY_WRITE_LIMIT_EXCEEDED)
    assert not IdempotencyRecord.objects.filter(key="dep-3").exists()
    settings.GHARART_DAILY_QUOTAS = {**settings.GHARART_DAILY_QUOTAS, "deployments": 5}
    retry = client.post("/v2/handles/acme/site-deployments", DIGEST, format="json", HTTP_IDEMPOTENCY_KEY="dep-3")
    assert retry.status_code == 201 and not retry.has_header("Idempotent-Replayed")


def test_a_rate_limited_request_is_not_stored(api, users, settings):
    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "write": "1/day"}
    client = api(users[c.OWNER])
    client.post("/v2/me/tokens", {"name": "a", "scopes": ["sites:read"]}, format="json")
    assert_error(client.post("/v2/me/tokens", {"name": "b", "scopes": ["sites:read"]}, format="json", HTTP_IDEMPOTENCY_KEY="rl-1"), 429, c.RATE_LIMITED)
    assert not IdempotencyRecord.objects.filter(key="rl-1").exists()


REPORT = {"url": "http://testserver/profiles/acme/", "reason": "spam", "details": "first caller"}


def test_anonymous_callers_on_one_address_do_not_share_keys():
    first = Client(REMOTE_ADDR="192.0.2.10").post("/v2/public/content-report", REPORT, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == 202
    # Another caller behind the same address, same key, another request: its own answer,
    # not a 422 telling it what the first one sent, and not the first one's replay.
    other = Client(REMOTE_ADDR="192.0.2.10").post(
        "/v2/public/content-report", {**REPORT, "details": "second caller"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert other.status_code == 202 and not other.has_header("Idempotent-Replayed")
    assert other.json()["id"] != first.json()["id"]
    # The first caller's own retry is still a replay.
    retry = Client(REMOTE_ADDR="192.0.2.10").post("/v2/public/content-report", REPORT, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert retry["Idempotent-Replayed"] == "true" and retry.json()["id"] == first.json()["id"]
    assert "192.0.2.10" not in "".join(IdempotencyRecord.objects.values_list("caller", flat=True))


# --- Item: client addresses behind trusted proxies -----------------------------------------------


@pytest.mark.parametrize(
    "count,forwarded,expected",
    [
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the client prepended a lie; the proxy appended the truth
        (1, "203.0.113.9", "203.0.113.9"),
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "203.0.113.9", "127.0.0.1"),  # fewer entries than proxies: not trusted
        (1, "not-an-ip", "127.0.0.1"),
        (1, "", "127.0.0.1"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_address_is_the_entry_the_trusted_proxies_added(settings, count, forwarded, expected):
    settings.GHARART_TRUST_X_FORWARDED_FOR = True
    settings.GHARART_TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert throttles.client_ip(request) == expected


def test_without_trust_the_header_is_ignored(settings):
    settings.GHARART_TRUST_X_FORWARDED_FOR = False
    assert throttles.client_ip(RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")) == "127.0.0.1"


def test_a_client_rotating_the_leftmost_entry_does_not_escape_the_limit(settings, db):
    settings.GHARART_TRUST_X_FORWARDED_FOR = True
    settings.GHARART_TRUSTED_PROXY_COUNT = 1
    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "auth_token": "3/day"}
    client = Client(REMOTE_ADDR="127.0.0.1")
    statuses = [
        client.post("/v2/auth/token", {"username": f"u{i}", "password": "x"}, content_type="application/json", HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, 203.0.113.9").status_code
        for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


# --- Item: bad input refused at creation ---------------------------------------------------------


@pytest.mark.parametrize("location", ["/a\r\nSet-Cookie: x=1", "https://example.com/\n", "/tab\there", "/nul\x7f", "/c1\x85"])
def test_a_redirect_binding_with_control_characters_is_refused_at_creation(api, users, handle, location):
    from deployments.models import FunctionBinding

    body = {"route": "/go", "methods": ["GET"], "function": "redirect", "config": {"location": location}}
    err = assert_error(api(users[c.OWNER]).post("/v2/handles/acme/function-bindings", body, format="json"), 400, c.VALIDATION_ERROR)
    assert any("control characters" in m for m in err["details"]["config"])
    assert not FunctionBinding.objects.exists()


def test_a_redirect_binding_with_a_clean_location_still_redirects(api, users, handle, client):
    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    body = {"route": "/go", "methods": ["GET"], "function": "redirect", "config": {"location": "https://example.com/next"}}
    assert api(users[c.OWNER]).post("/v2/handles/acme/function-bindings", body, format="json").status_code == 201


def test_json_bodies_are_limited_to_one_megabyte_by_default(api, users, settings):
    from gharart import settings as project_settings

    assert project_settings.GHARART_MAX_JSON_BYTES == 1024 * 1024
    client = api(users[c.OWNER])
    over = json.dumps({"name": "x" * (1024 * 1024), "scopes": ["sites:read"]})
    assert_error(client.generic("POST", "/v2/me/tokens", over, content_type="application/json"), 413, c.PAYLOAD_TOO_LARGE)
    ten_mb = json.dumps({"name": "x" * (10 * 1024 * 1024)})
    assert_error(client.generic("POST", "/v2/me/tokens", ten_mb, content_type="application/json"), 413, c.PAYLOAD_TOO_LARGE)
    assert not PersonalAccessToken.objects.exists()


@pytest.mark.parametrize("depth,expected", [(100, c.VALIDATION_ERROR), (101, c.MALFORMED_JSON), (5000, c.MALFORMED_JSON), (200000, c.MALFORMED_JSON)])
def test_json_nesting_is_limited_to_100_levels(api, users, depth, expected):
    body = '{"name": "n", "scopes": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    assert_error(api(users[c.OWNER]).generic("POST", "/v2/me/tokens", body, content_type="application/json"), 400, expected)
