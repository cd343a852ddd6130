from datetime import timedelta

import pytest
from django.utils import timezone

from gharart.models import PersonalAccessToken, hash_token
from tests.conftest import assert_error


@pytest.mark.django_db
class TestJWT:
    def test_password_grant_returns_a_working_access_token(self, client, users):
        response = client.post("/v2/auth/token", {"username": "acme-owner", "password": "pw-owner"}, content_type="application/json")
        assert response.status_code == 200
        access = response.json()["access"]
        me = client.get("/v2/me/tokens", HTTP_AUTHORIZATION=f"Bearer {access}")
        assert me.status_code == 200
        refreshed = client.post("/v2/auth/token/refresh", {"refresh": response.json()["refresh"]}, content_type="application/json")
        assert refreshed.status_code == 200 and refreshed.json()["access"]

    def test_wrong_password_is_401(self, client, users):
        response = client.post("/v2/auth/token", {"username": "acme-owner", "password": "wrong"}, content_type="application/json")
        assert_error(response, 401, "invalid_token")

    def test_bad_refresh_token_is_401(self, client):
        response = client.post("/v2/auth/token/refresh", {"refresh": "nope"}, content_type="application/json")
        assert_error(response, 401, "invalid_token")


@pytest.mark.django_db
class TestPersonalAccessTokens:
    def test_created_once_stored_only_as_hash_and_listed_without_secret(self, api, users):
        owner = api(users["owner"])
        response = owner.post("/v2/me/tokens", {"name": "ci", "scopes": ["sites:read"], "handle": "acme", "expires_at": None}, format="json")
        assert response.status_code == 201
        body = response.json()
        secret = body["token"]
        assert secret.startswith("ghp_")
        assert body["scopes"] == ["sites:read"] and body["handle"] == "acme"
        stored = PersonalAccessToken.objects.get(id=body["id"])
        assert stored.token_hash == hash_token(secret)
        for field in PersonalAccessToken._meta.concrete_fields:
            assert secret not in str(getattr(stored, field.attname))
        listed = owner.get("/v2/me/tokens").json()
        assert listed["next"] is None
        assert [t["id"] for t in listed["results"]] == [body["id"]]
        assert "token" not in listed["results"][0] and secret not in str(listed)

    def test_a_pat_authenticates_and_records_last_use(self, api, users, pat):
        secret = pat(users["owner"], ["sites:read"])
        response = api(token=secret).get("/v2/handles/acme/site-deployments")
        assert response.status_code == 200
        assert PersonalAccessToken.objects.get(token_hash=hash_token(secret)).last_used_at is not None

    def test_revoked_pat_is_401_invalid_token(self, api, users, pat):
        secret = pat(users["owner"], ["sites:read"])
        token = PersonalAccessToken.objects.get(token_hash=hash_token(secret))
        assert api(users["owner"]).delete(f"/v2/me/tokens/{token.id}").status_code == 204
        response = api(token=secret).get("/v2/me/tokens")
        assert_error(response, 401, "invalid_token")
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_expired_pat_is_401_invalid_token(self, api, users, pat):
        secret = pat(users["owner"], ["sites:read"])
        PersonalAccessToken.objects.filter(token_hash=hash_token(secret)).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert_error(api(token=secret).get("/v2/me/tokens"), 401, "invalid_token")

    def test_unknown_pat_is_401(self, api):
        assert_error(api(token="ghp_doesnotexist").get("/v2/me/tokens"), 401, "invalid_token")

    def test_cannot_revoke_another_users_token(self, api, users, pat):
        secret = pat(users["owner"], ["sites:read"])
        token = PersonalAccessToken.objects.get(token_hash=hash_token(secret))
        assert_error(api(users["viewer"]).delete(f"/v2/me/tokens/{token.id}"), 404, "token_not_found")
        assert PersonalAccessToken.objects.get(pk=token.pk).revoked_at is None

    def test_token_for_a_handle_you_are_not_in_is_refused(self, api, users, other_handle):
        err = assert_error(api(users["owner"]).post("/v2/me/tokens", {"name": "x", "scopes": ["sites:read"], "handle": "other"}, format="json"), 400, "validation_error")
        assert "handle" in err["details"]

    def test_dashboard_token_page_creates_shows_once_and_revokes(self, client, users):
        client.force_login(users["owner"])
        page = client.post("/settings/tokens/", {"name": "deploy", "scopes": ["sites:write", "sites:read"]})
        assert page.status_code == 200
        token = PersonalAccessToken.objects.get(user=users["owner"], name="deploy")
        html = page.content.decode()
        assert "ghp_" in html and token.prefix in html
        again = client.get("/settings/tokens/").content.decode()
        assert token.prefix in again and html.count("ghp_") >= 1
        secret_start = html.index("ghp_")
        secret = html[secret_start : html.index("<", secret_start)]
        assert secret not in again
        client.post(f"/settings/tokens/{token.id}/revoke/", HTTP_HX_REQUEST="true")
        token.refresh_from_db()
        assert token.revoked_at is not None

    def test_dashboard_token_form_shows_field_errors(self, client, users):
        client.force_login(users["owner"])
        page = client.post("/settings/tokens/", {"name": ""})
        assert page.status_code == 400
        html = page.content.decode()
        assert "A token needs a name." in html and "Pick at least one scope." in html

    def test_dashboard_requires_login_and_csrf(self, users):
        from django.test import Client

        anon = Client()
        assert anon.get("/settings/tokens/").status_code == 302
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(users["owner"])
        assert strict.post("/settings/tokens/", {"name": "x", "scopes": ["sites:read"]}).status_code == 403
