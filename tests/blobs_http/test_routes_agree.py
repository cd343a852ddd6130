"""Every route that sends stored bytes answers each conditional and Range case alike.

The cases where the live site, the profile route and public files used to disagree:
reversed range, HEAD with Range, If-Modified-Since, the headers of a 304, If-Match, and
the nginx hand-off on S3.
"""

import hashlib

import pytest
from django.test import Client

from files import constants as fc
from gharart import constants as c
from tests.deployments.conftest import SITE, publish
from tests.files.conftest import PNG, make_file

pytestmark = [pytest.mark.django_db, pytest.mark.blobs]
SITES = "sites.gharart.com"
ABOUT = SITE["about.html"]


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def routes(handle, users):
    """``{name: (client, url, bytes)}``: the profile route, the live host and a public file."""
    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    publish(handle, actor=users["owner"])
    file = make_file(handle, users["owner"], data=PNG, name="logo.png", access=fc.ACCESS_PUBLIC)
    return {
        "profile": (Client(), "/profiles/acme/about.html", ABOUT),
        "live host": (Client(HTTP_HOST=f"acme.{SITES}"), "/about.html", ABOUT),
        "public file": (Client(), f"/v2/public/files/{file.id}", PNG),
    }


ROUTES = ["profile", "live host", "public file"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_reversed_range_is_ignored(routes, route):
    client, url, data = routes[route]
    r = client.get(url, HTTP_RANGE="bytes=9-5")
    assert r.status_code == 200 and body(r) == data and "Content-Range" not in r


@pytest.mark.parametrize("route", ROUTES)
def test_head_with_range_is_200_with_the_whole_length(routes, route):
    client, url, data = routes[route]
    r = client.head(url, HTTP_RANGE="bytes=0-3")
    assert r.status_code == 200 and r.content == b"" and "Content-Range" not in r
    assert r["Content-Length"] == str(len(data))


@pytest.mark.parametrize("route", ROUTES)
def test_an_unsatisfiable_range_is_416_with_the_size(routes, route):
    client, url, data = routes[route]
    r = client.get(url, HTTP_RANGE=f"bytes={len(data)}-")
    assert r.status_code == 416 and r["Content-Range"] == f"bytes */{len(data)}"


@pytest.mark.parametrize("route", ROUTES)
def test_a_304_has_no_body_headers(routes, route):
    client, url, data = routes[route]
    etag = client.get(url)["ETag"]
    r = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 304 and r.content == b""
    assert r["ETag"] == etag and r["Cache-Control"] and r["X-Request-ID"]
    for name in ("Content-Type", "Content-Disposition", "Content-Length", "Content-Encoding"):
        assert name not in r, name


@pytest.mark.parametrize("route", ROUTES)
def test_if_match_of_other_bytes_is_412(routes, route):
    client, url, data = routes[route]
    assert client.get(url, HTTP_IF_MATCH='"other"').status_code == 412
    r = client.get(url, HTTP_IF_MATCH=f'"{hashlib.sha256(data).hexdigest()}"')
    assert r.status_code == 200 and body(r) == data


def test_public_files_answer_if_modified_since(routes):
    client, url, data = routes["public file"]
    last_modified = client.get(url)["Last-Modified"]
    r = client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified)
    assert r.status_code == 304 and "Content-Disposition" not in r
    assert client.get(url, HTTP_IF_MODIFIED_SINCE="Mon, 01 Jan 2001 00:00:00 GMT").status_code == 200
    # If-Range with the Last-Modified date resumes.
    part = client.get(url, HTTP_RANGE="bytes=0-3", HTTP_IF_RANGE=last_modified)
    assert part.status_code == 206 and body(part) == data[:4]


@pytest.mark.parametrize("route", ROUTES)
def test_the_nginx_hand_off_is_only_one_nginx_can_follow(routes, route, settings, blob_backend):
    settings.GHARART_ACCEL_REDIRECT = True
    settings.GHARART_ACCEL_REDIRECT_PREFIX = "/_blobs/"
    settings.GHARART_ACCEL_S3_PREFIX = "/_s3/"
    client, url, data = routes[route]
    sha = hashlib.sha256(data).hexdigest()
    r = client.get(url)
    assert r.status_code == 200
    if blob_backend == "local":
        assert r["X-Accel-Redirect"] == f"/_blobs/{sha[:2]}/{sha[2:4]}/{sha}" and r.content == b""
    elif route == "public file":
        # The documented /_s3/ location proxies a presigned URL of the object.
        assert r["X-Accel-Redirect"].startswith("/_s3/") and sha in r["X-Accel-Redirect"]
    else:
        # A site on S3 keeps its own headers: Django streams it.
        assert "X-Accel-Redirect" not in r and body(r) == data
