"""Site rules on the routes that serve a deployment: /profiles/, /previews/, in-process replays
and the crawler; compression; content types of compressed files; warnings; verify_blobs."""

import gzip
import hashlib
import io
import json

import brotli
import pytest
from django.core.management import call_command

from deployments import compression, previews, serving, storage
from deployments import constants as dc
from deployments.models import Blob, CompressedBlob
from deployments.services.ingest import (
    blob_orphans_remove,
    deployment_blob_put,
    deployment_create_from_digest,
)
from tests.deployments.conftest import SITE, publish

pytestmark = pytest.mark.django_db
SANDBOX = "sandbox allow-scripts allow-forms allow-popups allow-downloads"
BIG_HTML = b"<!doctype html><title>Big</title>" + b"<p>Lots of repeated words, very compressible. </p>" * 400

REDIRECTS = b"""\
# moved pages
/old          /about          301
/temp         /about          302
/other        /about          303
/keep         /about          307
/perm         /about          308
/news/*       /blog/:splat    302
/u/:name      /people/:name.html 301
/shop         https://shop.example/store 302
/spa/*        /index.html     200
/gone         /404.html       404
/about        /products/      302
/css/site.css /elsewhere      301!
this line is broken
/x /y 299
"""

HEADERS = b"""\
/*
  X-Site: everywhere
  Content-Security-Policy: img-src 'self'
  Cache-Control: public, max-age=60
/css/*
  X-Site: css too
  Cache-Control: public, max-age=31536000, immutable
/*
  X-Gharart-Deployment: dep_forged
"""

FILES = {
    **SITE,
    "_redirects": REDIRECTS,
    "_headers": HEADERS,
    "big.html": BIG_HTML,
    "changelog.html.gz": gzip.compress(b"<p>changes</p>" * 50),
    "bundle.js.br": brotli.compress(b"console.log(1);" * 50),
    "pack.zip": b"PK\x05\x06" + b"\x00" * 18,
    "app.wasm": b"\x00asm\x01\x00\x00\x00",
    "font.woff2": b"wOF2" + b"\x00" * 40,
    "site.webmanifest": b'{"name": "Acme"}',
    "img/photo.avif": b"\x00\x00\x00\x1cftypavif",
    "mod.mjs": b"export const a = 1;",
}


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def live(handle, users, site_mode_deployment):
    return publish(handle, FILES, actor=users["owner"])


@pytest.mark.parametrize(
    "path,status,location",
    [
        ("/profiles/acme/old", 301, "/profiles/acme/about"),
        ("/profiles/acme/temp", 302, "/profiles/acme/about"),
        ("/profiles/acme/other", 303, "/profiles/acme/about"),
        ("/profiles/acme/keep", 307, "/profiles/acme/about"),
        ("/profiles/acme/perm", 308, "/profiles/acme/about"),
        ("/profiles/acme/news/2024/launch", 302, "/profiles/acme/blog/2024/launch"),
        ("/profiles/acme/u/ada", 301, "/profiles/acme/people/ada.html"),
        ("/profiles/acme/shop", 302, "https://shop.example/store"),
        ("/profiles/acme/css/site.css", 301, "/profiles/acme/elsewhere"),
    ],
)
def test_redirect_rules_on_the_profile_route(client, live, path, status, location):
    r = client.get(path)
    assert r.status_code == status and r["Location"] == location
    assert r["X-Gharart-Deployment"] == live.id and r["X-Gharart-Site-Mode"] == "deployment"


def test_the_query_string_is_kept(client, live):
    assert client.get("/profiles/acme/old?utm=mail&x=1")["Location"] == "/profiles/acme/about?utm=mail&x=1"
    assert client.get("/profiles/acme/shop?ref=2")["Location"] == "https://shop.example/store?ref=2"


def test_a_rewrite_serves_the_target_with_200_at_the_same_address(client, live):
    r = client.get("/profiles/acme/spa/settings/billing")
    assert r.status_code == 200 and body(r) == SITE["index.html"]
    assert "Location" not in r and r["Content-Security-Policy"].startswith(SANDBOX)


def test_a_404_rule_serves_its_target_with_404(client, live):
    r = client.get("/profiles/acme/gone")
    assert r.status_code == 404 and body(r) == SITE["404.html"]


def test_a_file_shadows_a_rule_without_bang(client, live):
    r = client.get("/profiles/acme/about")  # about.html answers; "/about /products/ 302" does not apply
    assert r.status_code == 200 and body(r) == SITE["about.html"]


def test_the_rule_files_are_never_served(client, live):
    for path in ["/profiles/acme/_redirects", "/profiles/acme/_headers", "/profiles/acme/spa/../_redirects"]:
        r = client.get(path)
        assert r.status_code == 404 and REDIRECTS not in body(r) and HEADERS not in body(r)


def test_a_folder_without_its_slash_redirects_with_the_query(client, live):
    r = client.get("/profiles/acme/products?page=2")
    assert r.status_code == 301 and r["Location"] == "/profiles/acme/products/?page=2"


def test_unparseable_lines_are_a_warning_with_line_numbers_not_a_failure(api, users, handle, live):
    live.refresh_from_db()
    assert live.state == dc.READY and dc.WARNING_REDIRECTS_INVALID in live.warnings
    data = api(users["viewer"]).get(f"/v2/handles/acme/site-deployments/{live.id}").json()
    assert dc.WARNING_REDIRECTS_INVALID in data["warnings"] and dc.WARNING_HEADERS_INVALID in data["warnings"]
    detail = next(w for w in data["warning_details"] if w["code"] == dc.WARNING_REDIRECTS_INVALID)
    assert detail["details"]["lines"] == [14, 15]
    assert "lines 14, 15" in detail["message"]
    headers_detail = next(w for w in data["warning_details"] if w["code"] == dc.WARNING_HEADERS_INVALID)
    assert headers_detail["details"]["lines"] == [9]


def test_site_headers_add_up_and_cannot_weaken_the_platforms(client, live):
    r = client.get("/profiles/acme/css/site.css", HTTP_ACCEPT_ENCODING="identity")
    assert r.status_code == 301  # the forced rule; headers of files only
    r = client.get("/profiles/acme/index.html")
    assert r["X-Site"] == "everywhere"
    assert r["X-Gharart-Deployment"] == live.id  # the forged value was refused at parse time
    assert r["Content-Security-Policy"] == f"{SANDBOX}, img-src 'self'"  # both policies are enforced
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Cache-Control"] == "public, max-age=60"
    r = client.get("/profiles/acme/img/logo.svg")
    assert r["X-Site"] == "everywhere"


def test_several_matching_blocks_merge_their_values(client, handle, users, site_mode_deployment):
    publish(handle, {**SITE, "_headers": b"/*\n  X-Site: a\n/css/*\n  X-Site: b\n"}, actor=users["owner"])
    assert client.get("/profiles/acme/css/site.css")["X-Site"] == "a, b"


def test_a_preview_keeps_its_private_cache_control_over_the_sites(client, handle):
    dep = publish(handle, FILES, promote=False)
    base = previews.preview_url(dep)[0].replace("http://testserver", "")
    r = client.get(base)
    assert r["Cache-Control"] == serving.PREVIEW_CACHE_CONTROL and r["X-Site"] == "everywhere"
    assert r["Content-Security-Policy"].startswith(SANDBOX)
    r = client.get(base + "old?a=1")
    assert r.status_code == 301 and r["Location"] == base + "about?a=1"
    assert client.get(base + "_redirects").status_code == 404


# --- In-process: replays and the crawler ---------------------------------------------------

def test_replays_and_crawls_see_the_rules_a_redirect_is_a_hop(handle, users, site_mode_deployment):
    from siteintel import inprocess

    dep = publish(handle, FILES, actor=users["owner"])
    r = serving.deployment_response(dep, "/old?x=1")
    assert r.status_code == 301 and r["Location"] == "/about?x=1"
    r = serving.deployment_response(dep, "/spa/deep/link")
    assert r.status_code == 200 and r.content == SITE["index.html"]
    fetched = inprocess.deployment_fetcher(dep, "http://acme.localhost:8000/").fetch("http://acme.localhost:8000/old")
    assert fetched.status == 200 and fetched.body == SITE["about.html"]
    assert [hop["status"] for hop in fetched.redirect_chain] == [301]
    fetched = inprocess.profile_fetcher(handle, "http://acme.localhost:8000/").fetch("http://acme.localhost:8000/news/a")
    assert fetched.redirect_chain[0]["location"] == "http://acme.localhost:8000/blog/a"
    fetched = inprocess.profile_fetcher(handle, "http://acme.localhost:8000/").fetch("http://acme.localhost:8000/spa/x")
    assert fetched.status == 200 and fetched.redirect_chain == []


# --- Compression ----------------------------------------------------------------------------

def test_brotli_and_gzip_are_negotiated_with_an_etag_each(client, live):
    sha = hashlib.sha256(BIG_HTML).hexdigest()
    r = client.get("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert r["Content-Encoding"] == "br" and r["Vary"] == "Accept-Encoding"
    assert brotli.decompress(body(r)) == BIG_HTML and r["ETag"] == f'"{sha}-br"'
    assert int(r["Content-Length"]) < len(BIG_HTML)
    r = client.get("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="br;q=0.1, gzip")
    assert r["Content-Encoding"] == "gzip" and gzip.decompress(body(r)) == BIG_HTML and r["ETag"] == f'"{sha}-gz"'
    r = client.get("/profiles/acme/big.html")
    assert "Content-Encoding" not in r and body(r) == BIG_HTML and r["ETag"] == f'"{sha}"' and r["Vary"] == "Accept-Encoding"


def test_compressed_forms_are_made_once_and_stored_as_blobs(client, live):
    sha = hashlib.sha256(BIG_HTML).hexdigest()
    client.get("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="br")
    blobs = Blob.objects.count()
    row = CompressedBlob.objects.get(source_sha256=sha, encoding="br")
    compression.forget()  # a fresh process: found again, not made again
    for _ in range(3):
        client.get("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="br")
    assert Blob.objects.count() == blobs and CompressedBlob.objects.filter(source_sha256=sha).count() == 1
    assert Blob.objects.filter(sha256=row.sha256, size=row.size).exists()
    with storage.blob_open(row.sha256) as fh:
        assert brotli.decompress(fh.read()) == BIG_HTML


def test_conditional_head_and_range_requests_with_compression(client, live):
    r = client.get("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="br")
    assert client.get("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="br", HTTP_IF_NONE_MATCH=r["ETag"]).status_code == 304
    # The identity ETag does not validate the brotli form, and the other way round.
    assert client.get("/profiles/acme/big.html", HTTP_IF_NONE_MATCH=r["ETag"]).status_code == 200
    head = client.head("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="br")
    assert head["Content-Length"] == r["Content-Length"] and head["Content-Encoding"] == "br" and head.content == b""
    ranged = client.get("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="br", HTTP_RANGE="bytes=0-9")
    assert ranged.status_code == 206 and body(ranged) == BIG_HTML[:10]
    assert "Content-Encoding" not in ranged and ranged["Content-Range"] == f"bytes 0-9/{len(BIG_HTML)}"


def test_small_and_binary_files_are_never_compressed(client, live):
    r = client.get("/profiles/acme/css/site.css", HTTP_ACCEPT_ENCODING="br")  # forced rule: a redirect
    assert r.status_code == 301
    r = client.get("/profiles/acme/about.html", HTTP_ACCEPT_ENCODING="br")  # under MIN_BYTES
    assert "Content-Encoding" not in r and body(r) == SITE["about.html"]


@pytest.mark.parametrize(
    "path,ctype",
    [
        ("changelog.html.gz", "application/gzip"),
        ("bundle.js.br", "application/x-brotli"),
        ("pack.zip", "application/zip"),
        ("app.wasm", "application/wasm"),
        ("font.woff2", "font/woff2"),
        ("site.webmanifest", "application/manifest+json; charset=utf-8"),
        ("img/photo.avif", "image/avif"),
        ("mod.mjs", "text/javascript; charset=utf-8"),
    ],
)
def test_compressed_and_binary_files_get_their_registered_type_and_no_encoding(client, live, path, ctype):
    r = client.get(f"/profiles/acme/{path}", HTTP_ACCEPT_ENCODING="gzip, br")
    assert r.status_code == 200 and r["Content-Type"] == ctype
    assert "Content-Encoding" not in r
    assert body(r) == FILES[path]


def test_verify_blobs_counts_and_checks_the_compressed_forms(client, live):
    client.get("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="br")
    client.get("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="gzip")
    out = io.StringIO()
    call_command("verify_blobs", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["ok"] and report["compressed"] == 2 and report["verified"] == report["blobs"]


def test_orphan_cleanup_keeps_compressed_forms_while_their_original_is_deployed(client, live):
    from datetime import timedelta

    from django.utils import timezone

    client.get("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="br")
    row = CompressedBlob.objects.get(encoding="br")
    blob_orphans_remove(older_than=timezone.now() + timedelta(days=1))
    assert storage.blob_exists(row.sha256) and CompressedBlob.objects.filter(pk=row.pk).exists()


# --- Parsed once, at ingest (archives and digest deploys) ---------------------------------

def test_a_digest_deploy_parses_its_rules_when_the_last_blob_arrives(handle, users):
    index = b"<!doctype html><title>Digest</title>"
    rules = b"/from /to 302\nbroken\n"
    files = {"/index.html": hashlib.sha256(index).hexdigest(), "/_redirects": hashlib.sha256(rules).hexdigest()}
    dep, required = deployment_create_from_digest(handle=handle, files=files, actor=users["owner"])
    assert dep.state == dc.UPLOADING and len(required) == 2
    deployment_blob_put(deployment=dep, sha256=files["/index.html"], stream=io.BytesIO(index))
    dep, required_count = deployment_blob_put(deployment=dep, sha256=files["/_redirects"], stream=io.BytesIO(rules))
    dep.refresh_from_db()
    assert dep.state == dc.READY and required_count == 0
    assert [r["from"] for r in dep.site_rules["redirects"]] == ["/from"]
    assert dep.warnings == [dc.WARNING_REDIRECTS_INVALID]
    assert serving.deployment_response(dep, "/from")["Location"] == "/to"


def test_rules_are_not_parsed_per_request(client, live, monkeypatch):
    from deployments import siterules

    def fail(*args, **kwargs):
        raise AssertionError("parsed on a request")

    monkeypatch.setattr(siterules, "parse_redirects", fail)
    monkeypatch.setattr(siterules, "parse_headers", fail)
    monkeypatch.setattr(siterules, "compile_site_rules", fail)
    assert client.get("/profiles/acme/old").status_code == 301
    assert client.get("/profiles/acme/")["X-Site"] == "everywhere"


def test_a_deployment_without_rule_files_stores_no_rules(handle):
    dep = publish(handle, promote=False)
    dep.refresh_from_db()
    assert dep.site_rules == {} and dep.warnings == []


def test_a_warm_request_with_rules_and_compression_makes_no_database_query(client, live):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for path in ["/profiles/acme/big.html", "/profiles/acme/old", "/profiles/acme/spa/x"]:
        client.get(path, HTTP_ACCEPT_ENCODING="br")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="br")["Content-Encoding"] == "br"
        assert client.get("/profiles/acme/old").status_code == 301
        assert client.get("/profiles/acme/spa/x").status_code == 200
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_with_nginx_hand_off_compressed_forms_go_by_name_and_site_headers_through_django(client, live, settings):
    settings.GHARART_ACCEL_REDIRECT = True
    compression.make_all(hashlib.sha256(BIG_HTML).hexdigest(), len(BIG_HTML))
    row = CompressedBlob.objects.get(encoding="br")
    r = client.get("/profiles/acme/big.html", HTTP_ACCEPT_ENCODING="br")
    # The site's _headers match every path here, so Django sends the bytes itself.
    assert "X-Accel-Redirect" not in r and r["X-Site"] == "everywhere" and brotli.decompress(body(r)) == BIG_HTML
    services_dep = publish(live.handle, {**SITE, "big.html": BIG_HTML}, promote=False)
    base = previews.preview_url(services_dep)[0].replace("http://testserver", "")
    r = client.get(base + "big.html", HTTP_ACCEPT_ENCODING="br")
    assert r["X-Accel-Redirect"].endswith(row.sha256) and r["Content-Encoding"] == "br" and r.content == b""


def test_the_migration_parses_rules_and_fixes_types_of_deployments_made_before(handle, users):
    import importlib

    from django.apps import apps

    from deployments.models import Deployment, DeploymentFile

    dep = publish(handle, FILES, promote=False)
    # As a deployment made before site rules existed looked.
    Deployment.objects.filter(pk=dep.pk).update(site_rules={}, warnings=[])
    DeploymentFile.objects.filter(deployment=dep, path="/changelog.html.gz").update(content_type="text/html")
    migration = importlib.import_module("deployments.migrations.0003_site_rules_and_compressed_blobs")
    migration.forwards(apps, None)
    dep.refresh_from_db()
    assert len(dep.site_rules["redirects"]) == 12 and [p["line"] for p in dep.site_rules["redirect_problems"]] == [14, 15]
    assert dep.warnings == [dc.WARNING_REDIRECTS_INVALID, dc.WARNING_HEADERS_INVALID]
    assert DeploymentFile.objects.get(deployment=dep, path="/changelog.html.gz").content_type == "application/gzip"
