"""No credential creates or widens another; sign-ins are throttled; a password change ends
the old sign-ins (API.md, Conventions: Auth)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework_simplejwt.tokens import RefreshToken

from gharart import constants as c
from gharart.api import GharartAPIView
from gharart.models import PersonalAccessToken
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
IP = "203.0.113.50"
OTHER_IP = "198.51.100.60"


def _pair(client, username, password):
    response = client.post("/v2/auth/token", {"username": username, "password": password}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def _refresh(refresh):
    return Client().post("/v2/auth/token/refresh", {"refresh": refresh}, content_type="application/json")


# --- Item: no token mints a broader one -------------------------------------------------------------


def _credential_routes():
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                view = getattr(p.callback, "view_class", None)
                if view is not None and issubclass(view, GharartAPIView) and not getattr(view, "personal_access_tokens_allowed", True):
                    yield prefix + str(p.pattern), view

    return list(walk(get_resolver().url_patterns))


def test_the_token_routes_are_the_ones_closed_to_personal_access_tokens():
    routes = {route for route, _ in _credential_routes()}
    assert {"v2/me/tokens", "v2/me/tokens/<str:token_id>"} <= routes


def test_a_pat_with_every_scope_cannot_create_list_or_revoke_tokens(api, users, pat):
    owner = users[c.OWNER]
    secret = pat(owner, c.ALL_SCOPES)
    victim = PersonalAccessToken.objects.get(user=owner)
    client = api(token=secret)
    created = client.post("/v2/me/tokens", {"name": "wider", "scopes": list(c.ALL_SCOPES), "handle": None}, format="json")
    err = assert_error(created, 403, c.FORBIDDEN)
    assert err["details"]["reason"] == "personal_access_token"
    assert_error(client.get("/v2/me/tokens"), 403, c.FORBIDDEN)
    assert_error(client.delete(f"/v2/me/tokens/{victim.id}"), 403, c.FORBIDDEN)
    assert PersonalAccessToken.objects.filter(user=owner).count() == 1
    victim.refresh_from_db()
    assert victim.revoked_at is None
    # A JWT (and a session, see tests/reliability/test_isolation.py) still manages tokens.
    assert api(owner).post("/v2/me/tokens", {"name": "ok", "scopes": ["sites:read"]}, format="json").status_code == 201


def test_a_narrow_pat_bound_to_a_handle_cannot_mint_either(api, users, pat, handle):
    secret = pat(users[c.OWNER], [c.SCOPE_SITES_READ], handle=handle)
    assert_error(api(token=secret).post("/v2/me/tokens", {"name": "x", "scopes": list(c.ALL_SCOPES)}, format="json"), 403, c.FORBIDDEN)


def test_the_dashboard_token_page_ignores_bearer_tokens(users, pat):
    secret = pat(users[c.OWNER], c.ALL_SCOPES)
    browser = Client()
    page = browser.get("/settings/tokens/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    browser.post("/settings/tokens/", {"name": "x", "scopes": ["sites:read"]}, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert PersonalAccessToken.objects.filter(user=users[c.OWNER]).count() == 1


def test_an_access_token_is_not_a_refresh_token(users):
    access = str(RefreshToken.for_user(users[c.OWNER]).access_token)
    assert_error(_refresh(access), 401, c.INVALID_TOKEN)


def test_a_pat_mints_magic_links_only_within_its_scope_and_handle(api, users, pat, handle, other_handle):
    from files import constants as fc
    from files.models import MagicLink
    from tests.files.conftest import make_file

    owner = users[c.OWNER]
    file = make_file(handle, owner, name="kit.pdf", access=fc.ACCESS_LINK, recipients=["@agency.example"])
    url = f"/v2/public/files/{file.id}/magic-link"
    body = {"email": "ana@agency.example"}
    # Without files:write, or bound to another handle: the anonymous answer, and no link.
    from gharart import services

    services.membership_set(handle=other_handle, user=owner, role=c.OWNER)
    for secret in (pat(owner, [c.SCOPE_FILES_READ]), pat(owner, c.ALL_SCOPES, handle=other_handle)):
        response = api(token=secret).post(url, body, format="json")
        assert response.status_code == 202 and response.json() == {"status": "accepted"}
    assert not MagicLink.objects.filter(file=file, created_by=owner).exists()
    ok = api(token=pat(owner, [c.SCOPE_FILES_WRITE], handle=handle)).post(url, body, format="json")
    assert ok.status_code == 201 and "token=" in ok.json()["url"]


# --- Item: sign-in throttles --------------------------------------------------------------------


@pytest.fixture
def signin_limits(settings, users):
    # Staff, so the admin's form accepts them too.
    get_user_model().objects.filter(pk__in=[u.pk for u in users.values()]).update(is_staff=True)
    # Day-long windows: no window boundary can fall inside a test.
    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "auth_token": "6/day", "signin_username_failures": "3/day"}


def _login(client, path, username, password):
    if path == "/admin/login/":
        return client.post(path, {"username": username, "password": password, "next": "/admin/"})
    return client.post(path, {"username": username, "password": password})


def _is_429_page(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "text/html" in response["Content-Type"]
    assert "Too many sign-in attempts" in response.content.decode()


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_sign_in_forms_lock_a_username_after_wrong_passwords_from_any_address(users, signin_limits, path):
    for _ in range(3):
        assert _login(Client(REMOTE_ADDR=IP), path, "acme-owner", "wrong").status_code == 200
    # Now even the right password is refused for that username, from another address too.
    _is_429_page(_login(Client(REMOTE_ADDR=OTHER_IP), path, "acme-owner", "pw-owner"))
    _is_429_page(_login(Client(REMOTE_ADDR=OTHER_IP), path, "ACME-Owner ", "pw-owner"))
    # Another username is not locked.
    assert _login(Client(REMOTE_ADDR=OTHER_IP), path, "acme-viewer", "pw-viewer").status_code == 302


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_sign_in_forms_limit_attempts_per_address(users, signin_limits, path):
    attacker = Client(REMOTE_ADDR=IP)
    for i in range(6):
        assert _login(attacker, path, f"guess-{i}", "wrong").status_code == 200
    _is_429_page(_login(attacker, path, "acme-owner", "pw-owner"))
    assert _login(Client(REMOTE_ADDR=OTHER_IP), path, "acme-owner", "pw-owner").status_code == 302


def test_the_three_password_routes_share_the_address_budget(users, signin_limits):
    attacker = Client(REMOTE_ADDR=IP)
    for i in range(2):
        _login(attacker, "/accounts/login/", f"a-{i}", "x")
        _login(attacker, "/admin/login/", f"b-{i}", "x")
        attacker.post("/v2/auth/token", {"username": f"c-{i}", "password": "x"}, content_type="application/json")
    assert_error(attacker.post("/v2/auth/token", {"username": "acme-owner", "password": "pw-owner"}, content_type="application/json"), 429, c.RATE_LIMITED)


def test_the_token_endpoint_locks_a_username_after_wrong_passwords(users, signin_limits):
    for _ in range(3):
        response = Client(REMOTE_ADDR=IP).post("/v2/auth/token", {"username": "acme-owner", "password": "wrong"}, content_type="application/json")
        assert_error(response, 401, c.INVALID_TOKEN)
    refused = Client(REMOTE_ADDR=OTHER_IP).post("/v2/auth/token", {"username": "acme-owner", "password": "pw-owner"}, content_type="application/json")
    assert assert_error(refused, 429, c.RATE_LIMITED)["details"]["scope"] == "signin_username_failures"
    assert refused["Retry-After"]


def test_right_passwords_do_not_count_against_the_username(users, signin_limits):
    for i in range(5):
        assert _login(Client(REMOTE_ADDR=f"192.0.2.{i + 1}"), "/accounts/login/", "acme-owner", "pw-owner").status_code == 302


# --- Item: a password change ends the old sign-ins -------------------------------------------------


def _signed_in(client):
    return client.get("/settings/tokens/").status_code == 200


def test_the_password_page_changes_it_keeps_this_session_and_ends_the_others(users):
    user = users[c.OWNER]
    here, elsewhere = Client(), Client()
    assert _login(here, "/accounts/login/", "acme-owner", "pw-owner").status_code == 302
    assert _login(elsewhere, "/accounts/login/", "acme-owner", "pw-owner").status_code == 302
    pair = _pair(Client(), "acme-owner", "pw-owner")
    page = here.get("/settings/password/")
    assert page.status_code == 200
    html = page.content.decode()
    for field in ("old_password", "new_password1", "new_password2"):
        assert f'name="{field}"' in html and f'for="id_{field}"' in html
    done = here.post("/settings/password/", {"old_password": "pw-owner", "new_password1": "a-much-longer-pass-42", "new_password2": "a-much-longer-pass-42"})
    assert done.status_code == 302 and done["Location"] == "/settings/password/"
    assert "Your password was changed" in here.get("/settings/password/").content.decode()
    assert _signed_in(here)
    assert not _signed_in(elsewhere)
    assert_error(_refresh(pair["refresh"]), 401, c.INVALID_TOKEN)
    assert_error(Client().get("/v2/me/tokens", HTTP_AUTHORIZATION=f"Bearer {pair['access']}"), 401, c.INVALID_TOKEN)
    # The new password works, and so do tokens issued after the change.
    fresh = _pair(Client(), "acme-owner", "a-much-longer-pass-42")
    assert _refresh(fresh["refresh"]).status_code == 200
    user.refresh_from_db()
    assert user.check_password("a-much-longer-pass-42")


def test_the_password_page_shows_validation_messages(users):
    client = Client()
    client.force_login(users[c.OWNER])
    wrong_old = client.post("/settings/password/", {"old_password": "nope", "new_password1": "a-much-longer-pass-42", "new_password2": "a-much-longer-pass-42"})
    assert wrong_old.status_code == 400
    assert "Your old password was entered incorrectly" in wrong_old.content.decode()
    mismatch = client.post("/settings/password/", {"old_password": "pw-owner", "new_password1": "a-much-longer-pass-42", "new_password2": "another-one-42"})
    assert mismatch.status_code == 400 and "didn’t match" in mismatch.content.decode()
    short = client.post("/settings/password/", {"old_password": "pw-owner", "new_password1": "short", "new_password2": "short"})
    assert short.status_code == 400 and "too short" in short.content.decode()
    assert 'aria-invalid="true"' in short.content.decode()
    users[c.OWNER].refresh_from_db()
    assert users[c.OWNER].check_password("pw-owner")


def test_the_password_page_needs_login_and_is_linked_from_the_settings_navigation(users):
    assert Client().get("/settings/password/")["Location"].startswith("/accounts/login/")
    client = Client()
    client.force_login(users[c.VIEWER])
    assert 'href="/settings/password/"' in client.get("/settings/tokens/").content.decode()


def test_a_password_change_in_the_admin_ends_the_users_refresh_tokens(users):
    pair = _pair(Client(), "acme-viewer", "pw-viewer")
    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "root-pass-123")
    client = Client()
    client.force_login(admin_user)
    viewer = users[c.VIEWER]
    response = client.post(f"/admin/auth/user/{viewer.pk}/password/", {"password1": "changed-by-admin-42", "password2": "changed-by-admin-42", "usable_password": "true"})
    assert response.status_code == 302, response.content[:500]
    assert_error(_refresh(pair["refresh"]), 401, c.INVALID_TOKEN)


def test_changepassword_ends_the_users_refresh_tokens(users, monkeypatch):
    from django.contrib.auth.management.commands import changepassword

    pair = _pair(Client(), "acme-viewer", "pw-viewer")
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": "changed-on-cli-42")
    call_command("changepassword", "acme-viewer")
    assert_error(_refresh(pair["refresh"]), 401, c.INVALID_TOKEN)
    assert _refresh(_pair(Client(), "acme-viewer", "changed-on-cli-42")["refresh"]).status_code == 200


def test_a_refresh_token_of_a_deleted_or_deactivated_user_is_401_not_500(users):
    pair = _pair(Client(), "acme-viewer", "pw-viewer")
    get_user_model().objects.filter(pk=users[c.VIEWER].pk).update(is_active=False)
    assert_error(_refresh(pair["refresh"]), 401, c.INVALID_TOKEN)
    users[c.VIEWER].delete()
    assert_error(_refresh(pair["refresh"]), 401, c.INVALID_TOKEN)
