"""Every /v2 handle route, discovered from the URL conf, enforces tenancy, roles and scopes.

Routes added later are covered automatically: any view built on HandleAPIView is found.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from gharart import constants as c
from gharart.api import HandleAPIView
from tests.conftest import assert_error

PLACEHOLDER = {"handle": "acme"}


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            view_class = getattr(p.callback, "view_class", None)
            if view_class is not None and issubclass(view_class, HandleAPIView):
                yield prefix + str(p.pattern), view_class


def handle_routes():
    out = []
    for route, view_class in _walk(get_resolver().url_patterns):
        if not route.startswith("v2/"):
            continue
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: PLACEHOLDER.get(m.group(1), f"x_{m.group(1)}"), route)
        for method, rule in view_class.access.items():
            out.append(pytest.param(path, method, rule, id=f"{method} {route}"))
    return out


ROUTES = handle_routes()


def _call(client, method, path):
    return getattr(client, method.lower())(path, {}, format="json") if method != "GET" else client.get(path)


def test_the_matrix_covers_the_handle_routes():
    assert len(ROUTES) >= 10, "expected the handle routes of every app to be discovered"


@pytest.mark.django_db
@pytest.mark.parametrize("path,method,rule", ROUTES)
def test_anonymous_is_401(api, handle, path, method, rule):
    response = _call(api(), method, path)
    assert_error(response, 401, c.AUTHENTICATION_REQUIRED)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize("path,method,rule", ROUTES)
def test_a_member_of_another_handle_gets_404(api, users, outsider, path, method, rule):
    assert_error(_call(api(outsider), method, path), 404, c.HANDLE_NOT_FOUND)


@pytest.mark.django_db
@pytest.mark.parametrize("path,method,rule", ROUTES)
def test_roles_without_the_right_get_403(api, users, path, method, rule):
    for role, user in users.items():
        if role not in rule.roles:
            assert_error(_call(api(user), method, path), 403, c.FORBIDDEN)


@pytest.mark.django_db
@pytest.mark.parametrize("path,method,rule", [r for r in ROUTES if r.values[2].scope])
def test_a_pat_without_the_scope_gets_403_insufficient_scope(api, users, pat, path, method, rule):
    scopes = [s for s in c.ALL_SCOPES if s != rule.scope]
    err = assert_error(_call(api(token=pat(users["owner"], scopes)), method, path), 403, c.INSUFFICIENT_SCOPE)
    assert err["details"]["required_scope"] == rule.scope


@pytest.mark.django_db
@pytest.mark.parametrize("path,method,rule", ROUTES)
def test_a_pat_bound_to_another_handle_gets_404(api, users, other_handle, pat, path, method, rule):
    from gharart import services

    services.membership_set(handle=other_handle, user=users["owner"], role=c.OWNER)
    secret = pat(users["owner"], c.ALL_SCOPES, handle=other_handle)
    assert_error(_call(api(token=secret), method, path), 404, c.HANDLE_NOT_FOUND)
