"""Property: no request path escapes the deployment it is served from.

Paths are generated from traversal material (``..``, ``.``, empty segments, ``%2e%2e``,
``%2f``, ``%5c``, backslashes, double encoding, unicode, spaces) around real file names,
and requested over HTTP from the live profile site and from a signed preview of the same
deployment. Another deployment of the same handle holds a secret page. For every request:

- never a server error;
- a 200 carries ``X-Gharart-Deployment`` of the served deployment and exactly the bytes
  the pure resolver picks for the decoded path from that deployment's manifest;
- a 404 is the deployment's own 404 page or a plain 404;
- the secret page of the other deployment never appears.
"""

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from deployments import previews, resolver
from deployments.models import DeploymentFile
from deployments.selectors import live as live_selectors
from tests.deployments.conftest import SITE, publish

pytestmark = pytest.mark.django_db

SECRET = b"<!doctype html><title>secret</title>TOP-SECRET-OTHER-DEPLOYMENT"
SEGMENTS = st.sampled_from(
    [
        "..", ".", "", "%2e%2e", "%2E%2e", ".%2e", "%2e", "..%2f", "%2f..", "%5c..", "..\\", "\\..", "%252e%252e",
        "%2f", "index.html", "about", "about.html", "products", "css", "site.css", "img", "logo.svg", "404.html",
        "secret.html", "secret", "a b", "%20", "é", "%C3%A9", "~", "%", "%zz", "index.html%00",
    ]
)
TRAVERSALS = st.tuples(st.lists(SEGMENTS, max_size=7), st.sampled_from(["/", "%2f", "//", "\\"]), st.booleans()).map(
    lambda t: t[1].join(t[0]) + ("/" if t[2] else "")
)
# Real pages, as written and with traversal glued on either side.
REAL = st.sampled_from(["", "index.html", "about", "products/", "products", "css/site.css", "img//logo.svg", "data/feed.json", "404.html"])
PATHS = st.one_of(TRAVERSALS, REAL, st.tuples(TRAVERSALS, REAL).map("/".join), st.tuples(REAL, TRAVERSALS).map("/".join))


@pytest.fixture
def sites(handle, users, settings):
    from gharart import constants as c

    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    other = publish(handle, {"secret.html": SECRET, "index.html": SECRET}, actor=users["owner"], promote=False)
    live = publish(handle, SITE, actor=users["owner"])
    manifest = {f.path: resolver.ManifestEntry(f.path, f.sha256, f.size, f.content_type) for f in DeploymentFile.objects.filter(deployment=live)}
    token = previews.preview_token(live.id)
    live_selectors._local_states.clear()
    return {"live": live, "other": other, "manifest": manifest, "token": token}


def _decoded(raw):
    # What PATH_INFO holds after the server decodes the URL once.
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(raw).decode("utf-8", "replace")


def _check(response, deployment, manifest, path_below_root):
    assert response.status_code < 500, (response.status_code, path_below_root)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"TOP-SECRET" not in content
    if "\x00" in path_below_root:
        assert response.status_code == 400  # refused before any lookup
        return "nul"
    expected = resolver.resolve(path_below_root, resolver.dict_lookup(manifest))
    if expected is None:
        assert response.status_code == 404
        return "plain 404"
    assert response.status_code == expected.status, (path_below_root, response.status_code, expected)
    assert response["X-Gharart-Deployment"] == deployment.id
    name = expected.entry.path.lstrip("/")
    if expected.status == 301:
        # A folder named without its slash: redirected to itself with the slash, on this site.
        location = response["Location"].split("?", 1)[0]
        assert location.endswith("/") and not location.startswith("//") and "://" not in location, location
        assert content == b""
        return f"301 to the folder of {name}"
    assert content == SITE[name], (path_below_root, name)
    return f"{expected.status} {name}"


@settings(max_examples=300, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=PATHS)
def test_profile_paths_never_escape_the_live_deployment(client, sites, raw):
    url = "/profiles/acme/" + quote(raw, safe="/%\\.~-_")
    response = client.get(url)
    decoded = _decoded(url)[len("/profiles/acme/"):]
    event(_check(response, sites["live"], sites["manifest"], decoded))


@settings(max_examples=150, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=PATHS)
def test_preview_paths_never_escape_the_previewed_deployment(client, sites, raw):
    prefix = f"/previews/{sites['token']}/"
    url = prefix + quote(raw, safe="/%\\.~-_")
    response = client.get(url)
    decoded = _decoded(url)[len(prefix):]
    event(_check(response, sites["live"], sites["manifest"], decoded))
