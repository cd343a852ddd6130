"""The role x route matrix against API.md's roles table: ``viewer`` (and every other role)
may make every GET of its handle, on the API and on the dashboard.

Routes are discovered from the URL conf (as in tests/foundation/test_tenant_isolation.py
and tests/reliability/test_isolation.py), so a read route added later with a narrower role
fails here. Writes keep their narrower roles (checked in those two files).
"""

import pytest
from django.test import Client

from gharart import constants as c
from tests.foundation.test_tenant_isolation import ROUTES as API_ROUTES
from tests.reliability.test_isolation import DASHBOARD

pytestmark = pytest.mark.django_db

API_READS = [p for p in API_ROUTES if p.values[1] == "GET"]


def test_the_matrix_covers_the_read_routes_of_every_app():
    paths = " ".join(p.values[0] for p in API_READS)
    for fragment in ("/site-deployments", "/site-releases", "/site-mode", "/function-bindings", "/files", "/magic-links", "/internal-docs/access", "/site-intel/"):
        assert fragment in paths, fragment


@pytest.mark.parametrize("path,method,rule", API_READS)
def test_every_api_read_is_open_to_every_role(api, users, world, path, method, rule):
    assert rule.roles == c.ALL_ROLES, f"{method} {path} is limited to {sorted(rule.roles)}"
    for role, user in users.items():
        response = api(user).get(path)
        assert response.status_code != 403, (role, path, response.content[:300])


def test_a_viewer_lists_and_reads_files_and_their_links(api, users, world):
    viewer = api(users[c.VIEWER])
    listed = viewer.get("/v2/handles/acme/files")
    assert listed.status_code == 200
    assert {f["id"] for f in listed.json()["results"]} == {world["public_file"].id, world["link_file"].id}
    assert viewer.get(f"/v2/handles/acme/files/{world['link_file'].id}").status_code == 200
    assert viewer.get(f"/v2/handles/acme/files/{world['link_file'].id}/magic-links").status_code == 200
    # Reading never widens into writing.
    response = viewer.patch(f"/v2/handles/acme/files/{world['link_file'].id}", {"title": "x"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == c.FORBIDDEN


@pytest.mark.parametrize("path,roles", DASHBOARD)
def test_every_dashboard_page_is_readable_by_every_role(users, world, path, roles):
    owner = Client()
    owner.force_login(users[c.OWNER])
    if owner.get(path).status_code == 405:
        pytest.skip("an action (POST only), not a page")
    assert roles == c.ALL_ROLES, f"{path} is limited to {sorted(roles)}"
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        assert client.get(path).status_code != 403, (role, path)


def test_a_viewer_sees_the_files_page_without_its_forms(users, world):
    client = Client()
    client.force_login(users[c.VIEWER])
    html = client.get("/h/acme/files/").content.decode()
    assert world["public_file"].name in html and world["link_file"].name in html
    assert 'id="upload-form"' not in html and "/delete/" not in html and "/links/" not in html
    partner = Client()
    partner.force_login(users[c.PARTNERSHIPS])
    assert 'id="upload-form"' in partner.get("/h/acme/files/").content.decode()
