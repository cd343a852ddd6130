"""Brute force hits the throttles: many wrong tokens get 429, not endless 401/403.

After ``auth_failures`` (bearer tokens) or ``magic_link_failures`` (magic-link tokens)
wrong tries from one address within the window, every try from that address is 429
``rate_limited`` with ``Retry-After`` and RateLimit headers, the right token included, so
the answers stop telling a guesser anything. Other addresses are not affected.
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
def test_wrong_bearer_tokens_from_one_address_end_in_429(world, pat, wrong):
    good = pat(world["owner"], c.ALL_SCOPES)
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(_limit("auth_failures")):
        assert_error(attacker.get("/v2/me/tokens", HTTP_AUTHORIZATION=f"Bearer {wrong}"), 401, c.INVALID_TOKEN)
    _refused(attacker.get("/v2/me/tokens", HTTP_AUTHORIZATION=f"Bearer {wrong}"))
    # Now even the right token is refused from that address (a hit would otherwise show).
    assert _refused(attacker.get("/v2/me/tokens", HTTP_AUTHORIZATION=f"Bearer {good}"))["details"]["scope"] == "auth_failures"
    # The edge docs read bearer tokens too, through the same gate.
    assert attacker.get("/_edge/docs/acme/", HTTP_AUTHORIZATION=f"Bearer {good}").status_code == 429
    # Another address is not affected.
    assert Client(REMOTE_ADDR=SOMEONE_ELSE).get("/v2/me/tokens", HTTP_AUTHORIZATION=f"Bearer {good}").status_code == 200


def test_right_tokens_never_count_as_failures(world, pat):
    good = pat(world["owner"], c.ALL_SCOPES)
    client = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(_limit("auth_failures") + 5):
        assert client.get("/v2/me/tokens", HTTP_AUTHORIZATION=f"Bearer {good}").status_code == 200


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
    for _ in range(limit):
        assert attacker.post("/v2/auth/token", {"username": "acme-owner", "password": "wrong"}, content_type="application/json").status_code == 401
    _refused(attacker.post("/v2/auth/token", {"username": "acme-owner", "password": "pw-owner"}, content_type="application/json"))
