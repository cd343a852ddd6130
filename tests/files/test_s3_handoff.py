"""Downloads on S3 that leave Django early: the presigned redirect and the nginx hand-off.

Both only after every access check and the download count; the bytes then come from
the real SeaweedFS (fetched here over HTTP, no mocks), with the file's Content-Type and
Content-Disposition, and Range served by object storage.
"""

import os
import shutil
import subprocess
import tempfile
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from files import constants as fc
from files.models import File
from tests.files.conftest import PDF, PNG, make_file, mint, url
from tests.reliability.servers import free_port, wait_for_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def redirecting(s3_blobs, settings):
    settings.GHARART_S3_REDIRECT = True
    return s3_blobs


def test_a_public_download_is_a_302_to_a_short_lived_url_with_the_files_headers(redirecting, client, handle, partner_manager):
    data = os.urandom(300_000)
    file = make_file(handle, partner_manager, data=data, name="Price list 2026.bin", access=fc.ACCESS_PUBLIC)
    r = client.get(url(file))
    assert r.status_code == 302 and r["Cache-Control"] == "no-store"
    location = r["Location"]
    assert location.startswith(redirecting.endpoint) and "X-Amz-Expires=60" in location
    assert File.objects.get(pk=file.pk).download_count == 1  # counted before leaving
    got = httpx.get(location)
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == file.content_type
    assert got.headers["content-disposition"].startswith("attachment") and "Price list 2026.bin" in got.headers["content-disposition"]
    part = httpx.get(location, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    inline = make_file(handle, partner_manager, data=PNG, name="logo.png", access=fc.ACCESS_PUBLIC)
    shown = httpx.get(client.get(url(inline))["Location"])
    assert shown.headers["content-type"] == "image/png" and shown.headers["content-disposition"].startswith("inline")


def test_no_redirect_before_the_access_checks_pass(redirecting, client, handle, partner_manager):
    linked = make_file(handle, partner_manager, data=PDF, access=fc.ACCESS_LINK, recipients=["@agency.example"], expires_at=timezone.now() + timedelta(days=3))
    assert client.get(url(linked)).status_code == 403
    assert client.get(url(linked, "not-a-token")).status_code == 403
    _, token = mint(linked)
    assert client.get(url(linked, token)).status_code == 302
    limited = make_file(handle, partner_manager, data=PDF, name="once.pdf", access=fc.ACCESS_PUBLIC, max_downloads=1)
    assert client.get(url(limited)).status_code == 302
    again = client.get(url(limited))
    assert again.status_code == 410 and "Location" not in again
    private = make_file(handle, partner_manager, data=PDF, name="private.pdf")
    assert client.get(url(private)).status_code == 404


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {app};
            proxy_set_header Host $http_host;
        }}
        # The S3 hand-off (README, Production): reachable only through X-Accel-Redirect.
        location /_s3/ {{
            internal;
            proxy_pass {s3}/;
            proxy_set_header Authorization "";
            proxy_set_header Cookie "";
            proxy_hide_header x-amz-request-id;
            proxy_hide_header x-amz-id-2;
            proxy_buffering off;
            add_header Content-Security-Policy "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox" always;
            add_header X-Content-Type-Options nosniff always;
        }}
    }}
}}
"""


@pytest.fixture
def nginx_in_front(live_server, s3_blobs, settings):
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if binary is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("nginx is not installed (.ci/run installs it)")
        pytest.skip("nginx is not installed")
    settings.GHARART_ACCEL_REDIRECT = True
    settings.GHARART_ACCEL_S3_PREFIX = "/_s3/"
    folder = tempfile.mkdtemp(prefix="gharart-nginx-")
    port = free_port()
    with open(os.path.join(folder, "nginx.conf"), "w") as fh:
        fh.write(NGINX_CONF.format(dir=folder, port=port, app=live_server.url, s3=s3_blobs.endpoint))
    proc = subprocess.Popen([binary, "-p", folder, "-c", os.path.join(folder, "nginx.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.django_db(transaction=True)
def test_nginx_sends_the_object_through_its_internal_s3_location(nginx_in_front, handle, partner_manager):
    data = os.urandom(2 * 1024 * 1024 + 17)
    file = make_file(handle, partner_manager, data=data, name="catalogue.bin", access=fc.ACCESS_PUBLIC)
    got = httpx.get(nginx_in_front + url(file), timeout=30)
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == file.content_type
    assert got.headers["content-disposition"].startswith("attachment")
    assert "x-accel-redirect" not in got.headers and "x-amz-request-id" not in got.headers
    assert "sandbox" in got.headers["content-security-policy"] and got.headers["x-content-type-options"] == "nosniff"
    part = httpx.get(nginx_in_front + url(file), headers={"Range": "bytes=1000-1999"}, timeout=30)
    assert part.status_code == 206 and part.content == data[1000:2000]
    assert File.objects.get(pk=file.pk).download_count == 1  # the resumed range is free
    # The internal location cannot be asked for directly.
    assert httpx.get(nginx_in_front + "/_s3/" + s3_path(file), timeout=30).status_code == 404


def s3_path(file):
    from deployments import storage

    return storage.blob_name(file.sha256)
