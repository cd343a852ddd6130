"""Every /v2 write route, discovered from the URL conf, refuses bad JSON bodies the same way.

A body that is valid JSON but not an object is 400 ``validation_error``; one nested deeper
than 100 levels is 400 ``malformed_json``; one over ``GHARART_MAX_JSON_BYTES`` is 413
``payload_too_large``. Never a 500, whatever the route and whoever calls (a member with
every right, or anonymous on the public routes). Routes added later are covered
automatically. Raw-body routes (blob uploads) take bytes, not JSON, and are left out.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny

from gharart.api import GharartAPIView
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
NOT_OBJECTS = ["1.5e+279", "[1,2]", '"str"', "null", "true", "[]"]


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            view_class = getattr(p.callback, "view_class", None)
            if view_class is not None and issubclass(view_class, GharartAPIView):
                yield prefix + str(p.pattern), view_class


def _path(route):
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "acme" if m.group(1) == "handle" else f"x_{m.group(1)}", route)


def write_routes():
    out = []
    for route, view_class in _walk(get_resolver().url_patterns):
        if not route.startswith("v2/") or getattr(view_class, "raw_body", False):
            continue
        for method in WRITE_METHODS:
            if hasattr(view_class, method):
                public = AllowAny in view_class.permission_classes
                out.append(pytest.param(_path(route), method, public, id=f"{method.upper()} {route}"))
    return out


ROUTES = write_routes()


@pytest.fixture
def caller(api, users, settings):
    """The owner of acme, also an internal operator: no role or limit stops a request first."""
    from support.operators import operator_add

    settings.GHARART_THROTTLES = {scope: "100000/day" for scope in settings.GHARART_THROTTLES}
    operator_add(user=users["owner"])
    return api(users["owner"])


def _send(client, method, path, body):
    return getattr(client, method)(path, body, content_type="application/json")


def test_the_matrix_covers_every_apps_write_routes():
    paths = " ".join(p.values[1] + " " + p.values[0] for p in ROUTES)
    assert len(ROUTES) >= 20, len(ROUTES)
    for fragment in ("post /v2/me/tokens", "/site-deployments", "/files", "/site-intel/", "/function-bindings", "/support/report",
                     "post /v2/public/files/x_file_id/magic-link", "/public/content-report", "/v2/auth/token", "put /v2/handles/acme/site-mode"):
        assert fragment in paths, fragment


@pytest.mark.parametrize("path,method,public", ROUTES)
def test_a_json_body_that_is_not_an_object_is_a_validation_error(caller, api, path, method, public):
    clients = [caller, api()] if public else [caller]
    for client in clients:
        for body in NOT_OBJECTS:
            response = _send(client, method, path, body)
            err = assert_error(response, 400, "validation_error")
            assert err["details"]["non_field_errors"], (body, err)


@pytest.mark.parametrize("path,method,public", ROUTES)
def test_too_deep_and_too_large_bodies_are_refused_before_the_view(caller, path, method, public, settings):
    deep = '{"a":' * 101 + "1" + "}" * 101
    assert_error(_send(caller, method, path, deep), 400, "malformed_json")
    settings.GHARART_MAX_JSON_BYTES = 2048
    large = '{"a":"' + "x" * 4096 + '"}'
    err = assert_error(_send(caller, method, path, large), 413, "payload_too_large")
    assert err["details"]["max_bytes"] == 2048
