"""Tenant isolation beyond the API, CSRF, cookie flags and the sandbox on customer content.

- Every dashboard page under ``/h/<handle>/``, discovered from the URL conf (any view
  built with ``@handle_page``): anonymous -> login, non-member -> 404, a role without
  the right -> 403, a role with it can read the page.
- Every dashboard form (and the login, token, support and docs sign-in forms, and /v2
  with a session) refuses a POST without the CSRF token: 403.
- Session and CSRF cookies: HttpOnly (session), SameSite=Lax, Secure when GHARART_HTTPS.
- Customer HTML (profile sites, previews, edge docs, 404 pages, SVG) is always served
  with the sandbox CSP unless it arrives on the separate content host; uploaded HTML
  files are attachments with a sandbox CSP.
- SSRF: numeric and mapped spellings of private addresses are refused like the plain ones.
"""

import os
import re
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from deployments import previews
from deployments.serving import SANDBOX_CSP
from files import constants as fc
from gharart import constants as c
from siteintel import netguard
from tests.deployments.conftest import publish
from tests.files.conftest import make_file

pytestmark = pytest.mark.django_db
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def _path(route):
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "acme" if m.group(1) == "handle" else f"x_{m.group(1)}", route)


DASHBOARD = [
    pytest.param(_path(route), callback.handle_page_roles, id=route)
    for route, callback in _walk(get_resolver().url_patterns)
    if getattr(callback, "handle_page_roles", None) is not None
]


def test_the_dashboard_matrix_covers_every_app():
    routes = " ".join(p.values[0] for p in DASHBOARD)
    assert len(DASHBOARD) >= 30
    for area in ("/deployments/", "/site/", "/site-intel/", "/files/", "/docs-access/", "/audit/", "/releases/"):
        assert area in routes, area


def _both(client, path):
    return {m: getattr(client, m)(path).status_code for m in ("get", "post")}


@pytest.mark.parametrize("path,roles", DASHBOARD)
def test_anonymous_visitors_are_sent_to_the_login_page(client, handle, path, roles):
    statuses = _both(client, path)
    assert set(statuses.values()) <= {302, 405} and 302 in statuses.values(), statuses
    response = client.post(path) if statuses["post"] == 302 else client.get(path)
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path,roles", DASHBOARD)
def test_a_member_of_another_handle_gets_404(client, users, outsider, path, roles):
    client.force_login(outsider)
    statuses = _both(client, path)
    assert set(statuses.values()) <= {404, 405} and 404 in statuses.values(), statuses


@pytest.mark.parametrize("path,roles", DASHBOARD)
def test_roles_without_the_right_get_403_and_roles_with_it_never_do(client, users, path, roles):
    for role, user in users.items():
        client.force_login(user)
        statuses = _both(client, path)
        if role in roles:
            # The page's roles govern reading it; a form on it may need a narrower role.
            assert statuses["get"] != 403, (role, statuses)
        else:
            assert set(statuses.values()) <= {403, 405} and 403 in statuses.values(), (role, statuses)


# --- CSRF -------------------------------------------------------------------------------

FORMS = [p.values[0] for p in DASHBOARD] + ["/settings/tokens/", "/settings/tokens/x_token/revoke/", "/support/", "/accounts/logout/"]


@pytest.mark.parametrize("path", FORMS)
def test_every_dashboard_post_without_the_csrf_token_is_403(users, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users[c.OWNER])
    assert client.post(path, {"name": "x"}).status_code == 403


def test_public_forms_and_the_api_with_a_session_need_the_csrf_token_too(users, world):
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post("/accounts/login/", {"username": "acme-owner", "password": "pw-owner"}).status_code == 403
    assert anonymous.post("/_edge/docs/acme/_access", {"email": "ana@agency.example"}).status_code == 403
    member = Client(enforce_csrf_checks=True)
    member.force_login(users[c.OWNER])
    response = member.post("/v2/me/tokens", {"name": "x", "scopes": ["sites:read"]}, content_type="application/json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    # With the token from the cookie it works (the check is real, not a blanket refusal).
    member.get("/settings/tokens/")
    token = member.cookies["csrftoken"].value
    ok = member.post("/v2/me/tokens", {"name": "x", "scopes": ["sites:read"]}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 201


# --- Cookies ----------------------------------------------------------------------------

def test_session_and_csrf_cookies_are_httponly_and_samesite_lax(users):
    client = Client()
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": "acme-owner", "password": "pw-owner"})
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"
    assert not session["secure"]  # plain HTTP in tests (GHARART_HTTPS unset)
    assert client.cookies["csrftoken"]["samesite"] == "Lax"


def test_cookies_are_secure_when_served_over_https(users, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = Client()
    response = client.post("/accounts/login/", {"username": "acme-owner", "password": "pw-owner"}, secure=True)
    assert response.cookies["sessionid"]["secure"] and response.cookies["sessionid"]["httponly"]


@pytest.mark.parametrize("https,expected", [("1", "True True"), ("", "False False")])
def test_gharart_https_turns_on_secure_cookies(https, expected):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gharart.settings", "SECRET_KEY": "x" * 50, "GHARART_HTTPS": https}
    env.pop("DEBUG", None)
    code = "import django; django.setup(); from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == expected


def test_the_partner_docs_cookie_is_httponly_lax_and_scoped_to_the_handles_docs(world):
    from files import docs, services

    policy = services.docs_policy_update(handle=world["handle"], actor=world["owner"], data={"visibility": "partners", "partner_domains": ["agency.example"]})
    token = docs.signin_token(slug="acme", email="ana@agency.example", version=policy.version)
    response = Client().get("/_edge/docs/acme/_access", {"token": token})
    cookie = response.cookies[fc.DOCS_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/_edge/docs/acme/"


# --- The sandbox on customer content ------------------------------------------------------

EVIL_HTML = b"<!doctype html><title>evil</title><script>fetch('/v2/me/tokens',{credentials:'include'})</script>"
EVIL_SVG = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(document.cookie)</script></svg>"


@pytest.fixture
def evil_site(world):
    from files import services as file_services

    handle, owner = world["handle"], world["owner"]
    publish(handle, {"index.html": EVIL_HTML, "404.html": EVIL_HTML, "logo.svg": EVIL_SVG}, actor=owner)
    docs_dep = publish(handle, {"index.html": EVIL_HTML}, actor=owner, target="docs")
    html_file = make_file(handle, owner, data=EVIL_HTML, name="evil.html", access=fc.ACCESS_PUBLIC)
    link_file = make_file(handle, owner, data=EVIL_HTML, name="evil2.html", access=fc.ACCESS_LINK, recipients=["@agency.example"])
    _, token = file_services.magic_link_mint(file=link_file, email="ana@agency.example", actor=owner)
    return {"docs": docs_dep, "html_file": html_file, "link_file": link_file, "token": token}


def _sandboxed(response):
    csp = response["Content-Security-Policy"]
    assert csp == SANDBOX_CSP, csp
    assert "allow-same-origin" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"


def test_customer_html_is_always_sandboxed_on_the_dashboard_origin(client, users, world, evil_site, settings):
    live = world["handle"].deployments.filter(target="site").order_by("-version").first()
    token = previews.preview_token(live.id)
    member = Client()
    member.force_login(users[c.VIEWER])
    checks = [
        client.get("/profiles/acme/"),
        client.get("/profiles/acme/logo.svg"),
        client.get("/profiles/acme/no-such-page"),  # the site's own 404.html
        client.get(f"/previews/{token}/"),
        member.get("/_edge/docs/acme/"),
    ]
    for response in checks:
        assert response.status_code in (200, 404)
        _sandboxed(response)
    # Even with a separate content host configured, the dashboard's host stays sandboxed.
    settings.GHARART_CONTENT_ORIGIN = "https://usercontent.example"
    for url in ("/profiles/acme/", f"/previews/{token}/"):
        _sandboxed(client.get(url))
    _sandboxed(member.get("/_edge/docs/acme/"))


def test_uploaded_html_files_download_as_sandboxed_attachments(client, evil_site):
    for url in (f"/v2/public/files/{evil_site['html_file'].id}", f"/v2/public/files/{evil_site['link_file'].id}?token={evil_site['token']}"):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
        assert "sandbox" in response["Content-Security-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"


# --- SSRF spellings -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "url",
    ["http://2130706433/", "http://0x7f.0.0.1/", "http://127.1/", "http://017700000001/", "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:a00:1]/", "http://0/"],
)
def test_numeric_and_mapped_spellings_of_private_addresses_are_refused(url, settings):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(netguard.HostnameNotAllowed):
        netguard.check_url(url)


# --- Routes outside /h/ and /v2/handles/ -----------------------------------------------------

def test_one_users_tokens_are_invisible_and_unrevocable_to_another(api, users, outsider, pat):
    from gharart.models import PersonalAccessToken

    pat(users[c.OWNER], [c.SCOPE_SITES_READ])
    token = PersonalAccessToken.objects.get(user=users[c.OWNER])
    other = api(outsider)
    assert other.get("/v2/me/tokens").json()["results"] == []
    assert other.delete(f"/v2/me/tokens/{token.id}").status_code == 404
    browser = Client()
    browser.force_login(outsider)
    browser.post(f"/settings/tokens/{token.id}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is None


def test_another_handles_member_cannot_read_its_internal_docs(client, users, outsider, world):
    publish(world["handle"], {"index.html": b"<p>members only</p>"}, actor=world["owner"], target="docs")
    client.force_login(outsider)
    assert client.get("/_edge/docs/acme/", HTTP_ACCEPT="text/html").status_code == 302  # to the sign-in page
    assert client.get("/_edge/docs/acme/").status_code in (401, 403)
    client.force_login(users[c.VIEWER])
    assert client.get("/_edge/docs/acme/").status_code == 200
