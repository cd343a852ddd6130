"""Brute force hits the throttles: many wrong tokens get 429, not endless 401/403.

After ``auth_failures`` wrong bearer tokens from one address within the window, every
further wrong one is 429 ``rate_limited`` with ``Retry-After`` and RateLimit headers; a
valid bearer token from that address still works (API.md: a valid credential is never
refused for them). After ``magic_link_failures`` wrong magic-link tokens, every try from
that address is 429, the right token included. Other addresses are not affected.
"""

import pytest
from django.conf import settings
from django.test import Client

from gharart import constants as c
from gharart.throttles import parse_rate
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
ATTACKER = "203.0.113.7"
SOMEONE_ELSE = "198.51.100.20"


def _limit(scope):
    return parse_rate(settings.GHARART_THROTTLES[scope])[0]


@pytest.fixture(autouse=True)
def daily_windows(settings):
    """The default counts, over a day: a test must not straddle a fixed window's reset."""
    settings.GHARART_THROTTLES = {
        **settings.GHARART_THROTTLES,
        **{scope: f"{_limit(scope)}/day" for scope in ("auth_failures", "magic_link_failures", "auth_token")},
    }


def _refused(response):
    err = assert_error(response, 429, c.RATE_LIMITED)
    assert int(response["Retry-After"]) >= 1
    assert response["RateLimit-Remaining"] == "0"
    return err


@pytest.mark.parametrize("wrong", ["ghp_" + "x" * 43, "eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2lnbmF0dXJl", "garbage"])
def test_wrong_bearer_tokens_from_one_address_end_in_429_but_a_valid_one_still_works(world, pat, wrong):
    from rest_framework_simplejwt.tokens import RefreshToken

    url = "/v2/handles/acme/site-deployments"
    good = pat(world["owner"], c.ALL_SCOPES)
    jwt = str(RefreshToken.for_user(world["owner"]).access_token)
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(_limit("auth_failures")):
        assert_error(attacker.get(url, HTTP_AUTHORIZATION=f"Bearer {wrong}"), 401, c.INVALID_TOKEN)
    assert _refused(attacker.get(url, HTTP_AUTHORIZATION=f"Bearer {wrong}"))["details"]["scope"] == "auth_failures"
    # A valid PAT or JWT from the same address is never refused for the failures.
    assert attacker.get(url, HTTP_AUTHORIZATION=f"Bearer {good}").status_code == 200
    assert attacker.get(url, HTTP_AUTHORIZATION=f"Bearer {jwt}").status_code == 200
    # The edge docs read bearer tokens too, through the same rule.
    assert attacker.get("/_edge/docs/acme/", HTTP_AUTHORIZATION=f"Bearer {wrong}").status_code == 429
    assert attacker.get("/_edge/docs/acme/", HTTP_AUTHORIZATION=f"Bearer {good}").status_code != 429
    # Wrong ones stay refused; another address is not affected.
    _refused(attacker.get(url, HTTP_AUTHORIZATION=f"Bearer {wrong}"))
    assert_error(Client(REMOTE_ADDR=SOMEONE_ELSE).get(url, HTTP_AUTHORIZATION=f"Bearer {wrong}"), 401, c.INVALID_TOKEN)


def test_right_tokens_never_count_as_failures(world, pat):
    good = pat(world["owner"], c.ALL_SCOPES)
    client = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(_limit("auth_failures") + 5):
        assert client.get("/v2/handles/acme/site-deployments", HTTP_AUTHORIZATION=f"Bearer {good}").status_code == 200


def test_wrong_magic_link_tokens_from_one_address_end_in_429(world):
    url = f"/v2/public/files/{world['link_file'].id}"
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for i in range(_limit("magic_link_failures")):
        assert_error(attacker.get(url, {"token": f"guess-{i}"}), 403, "magic_link_invalid")
    _refused(attacker.get(url, {"token": "guess-again"}))
    _refused(attacker.get(url, {"token": world["token"]}))
    assert Client(REMOTE_ADDR=SOMEONE_ELSE).get(url, {"token": world["token"]}).status_code == 200
    # A browser gets the readable page with the same status.
    assert attacker.get(url, {"token": "x"}, HTTP_ACCEPT="text/html").status_code == 429


def test_the_password_endpoint_is_limited_per_address(world):
    attacker = Client(REMOTE_ADDR=ATTACKER)
    limit = _limit("auth_token")
    for i in range(limit):
        # Another username each time: the per-username limit is tested on its own.
        assert attacker.post("/v2/auth/token", {"username": f"guess-{i}", "password": "wrong"}, content_type="application/json").status_code == 401
    _refused(attacker.post("/v2/auth/token", {"username": "acme-owner", "password": "pw-owner"}, content_type="application/json"))
