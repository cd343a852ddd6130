"""Regression tests for what fuzzing found: each was a 500 before it was fixed."""

import pytest

from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/v2/handles/acme/files/a%00b",
        "/v2/handles/acme/files?access=%00",
        "/v2/public/files/file%00",
        "/profiles/a%00b/",
        "/_edge/docs/acme/a%00",
        "/h/acme/deployments/a%00/",
    ],
)
def test_a_nul_character_in_the_url_is_400_not_a_database_error(api, world, url):
    response = api(world["owner"]).get(url)
    assert response.status_code == 400
    assert response["X-Request-ID"]
    if url.startswith("/v2/"):
        assert_error(response, 400, "validation_error")


def test_a_nul_character_in_a_json_or_form_body_is_400(api, client, world):
    owner = api(world["owner"])
    assert_error(owner.patch(f"/v2/handles/acme/files/{world['public_file'].id}", {"title": "a\x00b"}, format="json"), 400, "validation_error")
    assert_error(owner.post("/v2/me/tokens", {"name": "a\x00", "scopes": ["sites:read"]}, format="json"), 400, "validation_error")
    assert_error(owner.post("/v2/support/report", {"summary": "x\x00", "details": "y"}, format="multipart"), 400, "validation_error")
    client.force_login(world["owner"])
    response = client.post("/settings/tokens/", "name=a%00b&scopes=sites%3Aread", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


@pytest.mark.parametrize("hostname", ["http://[::1", "https://[fe80::1", "[::1"])
def test_an_unclosed_ipv6_bracket_is_a_validation_error(api, world, hostname):
    response = api(world["owner"]).post("/v2/handles/acme/site-intel/hostnames", {"hostname": hostname}, format="json")
    assert_error(response, 400, "validation_error")


@pytest.mark.parametrize(
    "field,value",
    [("starts_at", "0001-01-01T00:00:00+21:00"), ("ends_at", "9999-12-31T23:59:59-21:00"), ("starts_at", "0879-03-24T11:12:01Z")],
)
def test_docs_policy_times_out_of_range_are_validation_errors(api, world, field, value):
    response = api(world["owner"]).put("/v2/handles/acme/internal-docs/access", {"visibility": "members", field: value}, format="json")
    assert field in assert_error(response, 400, "validation_error")["details"]


def test_a_file_expiry_that_overflows_in_utc_is_a_validation_error(api, world):
    response = api(world["owner"]).patch(f"/v2/handles/acme/files/{world['public_file'].id}", {"expires_at": "9999-12-31T23:59:59-21:00"}, format="json")
    assert "expires_at" in assert_error(response, 400, "validation_error")["details"]
