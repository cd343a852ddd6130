"""Crawls of {handle}.{GHARART_SITES_DOMAIN} see exactly what visitors of that live host see."""

import hashlib

import pytest

from deployments.services.site import binding_create
from gharart import constants as gc
from siteintel import constants as c
from siteintel.models import CrawlRun
from tests.domains.conftest import host_client
from tests.siteintel.test_replay import deploy, page

pytestmark = pytest.mark.django_db
OWN = "acme.sites.gharart.com"
BASE = f"/v2/handles/acme/site-intel/{OWN}"

# A docs-style site: pages in a folder link root-relative, as generators do.
SITE = {
    "/index.html": page("Home", ["/guide/", "/go", "/css/base.css"]),
    "/guide/index.html": page("Guide", ["/bugs.html", "/guide/install.html", "install.html", "/missing.html"]),
    "/guide/install.html": page("Install", ["/"]),
    "/bugs.html": page("Reporting bugs"),
    "/css/base.css": "body { color: #222 }",
}


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def crawled(api, users, handle, run_jobs):
    with run_jobs():
        deploy(handle, SITE, live=True)
        binding_create(handle=handle, route="/go", methods=["GET"], function="redirect", config={"location": "/guide/install.html", "status": 302})
    with run_jobs():
        response = api(users[gc.WEB_MANAGER]).post(f"{BASE}/crawl-runs", {}, format="json")
    run = CrawlRun.objects.get(pk=response.json()["id"])
    assert run.state == c.SUCCEEDED, run.error
    return api(users[gc.VIEWER]).get(f"{BASE}/snapshot").json()


def test_every_crawled_page_is_what_a_visitor_of_the_live_host_gets(crawled):
    visitor = host_client(OWN)
    pages = {p["path"]: p for p in crawled["pages"]}
    assert {"/", "/guide/", "/bugs.html", "/guide/install.html", "/css/base.css", "/missing.html", "/go"} <= set(pages)
    for path, recorded in pages.items():
        r = visitor.get(path)
        while r.status_code in (301, 302, 303, 307, 308):
            r = visitor.get(r["Location"])
        assert recorded["status"] == r.status_code, path
        if r.status_code == 200:
            assert recorded["sha256"] == hashlib.sha256(body(r)).hexdigest(), path
    assert pages["/bugs.html"]["status"] == 200  # root-relative from /guide/: the host's root
    assert pages["/missing.html"]["status"] == 404
    assert [b["url"] for b in crawled["broken_links"]] == [f"https://{OWN}/missing.html"]


def test_a_binding_redirect_is_followed_on_the_same_host(crawled):
    go = next(p for p in crawled["pages"] if p["path"] == "/go")
    assert go["final_url"] == f"https://{OWN}/guide/install.html"
    assert go["redirect_chain"] and go["redirect_chain"][0]["status"] == 302
