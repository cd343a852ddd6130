"""The site-intel API: hostnames, crawl runs, cancel, snapshot, and their error paths."""

import pytest

from gharart import constants as gc
from siteintel import constants as c
from siteintel import jobs, netguard
from siteintel.models import CrawledPage, CrawlRun, Hostname
from tests.conftest import assert_error
from tests.siteintel.conftest import small_site

pytestmark = pytest.mark.django_db
BASE = "/v2/handles/acme/site-intel"


def test_the_handles_own_hostname_is_listed_without_registration(api, users):
    body = api(users[gc.VIEWER]).get(f"{BASE}/hostnames").json()
    assert body["results"][0] == {"hostname": "acme.sites.gharart.com", "scheme": "https", "internal": True, "start_url": "https://acme.sites.gharart.com/"}


def test_owners_register_hostnames(api, users, private_ok):
    response = api(users[gc.ADMIN]).post(f"{BASE}/hostnames", {"hostname": "http://127.0.0.1:8999"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["hostname"] == "127.0.0.1:8999"
    assert Hostname.objects.filter(handle__slug="acme", hostname="127.0.0.1:8999", scheme="http").exists()
    hosts = [h["hostname"] for h in api(users[gc.VIEWER]).get(f"{BASE}/hostnames").json()["results"]]
    assert hosts == ["acme.sites.gharart.com", "127.0.0.1:8999"]
    assert_error(api(users[gc.OWNER]).post(f"{BASE}/hostnames", {"hostname": "http://127.0.0.1:8999/"}, format="json"), 409, c.HOSTNAME_EXISTS)


@pytest.mark.parametrize("raw", ["", "not a host", "https://shop.example.com/path", "ftp://shop.example.com", "user@shop.example.com", "intranet", "acme.sites.gharart.com", "other.sites.gharart.com"])
def test_malformed_or_platform_hostnames_are_refused(api, users, raw):
    err = assert_error(api(users[gc.OWNER]).post(f"{BASE}/hostnames", {"hostname": raw}, format="json"), 400, gc.VALIDATION_ERROR)
    assert "hostname" in err["details"]


def test_registering_a_private_address_is_422(api, users, settings, monkeypatch):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    for raw in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "[::1]"):
        err = assert_error(api(users[gc.OWNER]).post(f"{BASE}/hostnames", {"hostname": raw}, format="json"), 422, c.HOSTNAME_NOT_ALLOWED)
        assert err["details"]["reason"]
    monkeypatch.setattr(netguard, "resolve_host", lambda host, port: ["192.168.0.10"])
    assert_error(api(users[gc.OWNER]).post(f"{BASE}/hostnames", {"hostname": "printer.example.com"}, format="json"), 422, c.HOSTNAME_NOT_ALLOWED)
    assert not Hostname.objects.exists()


def test_removing_a_hostname(api, users, registered):
    assert api(users[gc.ADMIN]).delete(f"{BASE}/hostnames/{registered}").status_code == 204
    assert_error(api(users[gc.ADMIN]).delete(f"{BASE}/hostnames/{registered}"), 404, c.HOSTNAME_NOT_REGISTERED)


def test_unknown_hostname_is_404(api, users):
    client = api(users[gc.WEB_MANAGER])
    assert_error(client.post(f"{BASE}/unknown.example.com/crawl-runs", {}, format="json"), 404, c.HOSTNAME_NOT_REGISTERED)
    assert_error(client.get(f"{BASE}/unknown.example.com/crawl-runs"), 404, c.HOSTNAME_NOT_REGISTERED)
    assert_error(client.get(f"{BASE}/unknown.example.com/snapshot"), 404, c.HOSTNAME_NOT_REGISTERED)
    assert_error(client.post(f"{BASE}/unknown.example.com/replay-runs", {"deployment_id": "dep_x"}, format="json"), 404, c.HOSTNAME_NOT_REGISTERED)


def test_a_crawl_runs_and_its_snapshot_lists_pages_and_broken_links(api, users, site, registered, django_capture_on_commit_callbacks):
    small_site(site)
    client = api(users[gc.WEB_MANAGER])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{BASE}/{registered}/crawl-runs", {"max_pages": 50, "max_depth": 5}, format="json")
    assert response.status_code == 202, response.content
    run = response.json()
    for field in ("id", "hostname", "state", "pages_done", "pages_found", "started_at", "finished_at", "error"):
        assert field in run
    assert run["id"].startswith("crawl_") and run["hostname"] == registered
    polled = client.get(f"{BASE}/{registered}/crawl-runs/{run['id']}").json()
    assert polled["state"] == c.SUCCEEDED  # eager in tests; a real worker is tested separately
    assert polled["pages_done"] == polled["pages_found"] == 7
    assert polled["finished_at"] and polled["started_at"] and polled["error"] is None

    snap = client.get(f"{BASE}/{registered}/snapshot").json()
    assert snap["hostname"] == registered and snap["crawl_run_id"] == run["id"] and snap["taken_at"]
    assert snap["page_count"] == 7
    assert snap["status_counts"] == {"200": 5, "404": 1, "410": 1}
    broken = {b["url"]: b for b in snap["broken_links"]}
    assert broken[site.url("/missing")]["status"] == 404
    assert broken[site.url("/missing")]["linked_from"] == [site.url("/")]
    assert broken[site.url("/gone")]["linked_from"] == [site.url("/a")]
    page = next(p for p in snap["pages"] if p["url"] == site.url("/a"))
    for field in ("url", "status", "title", "sha256", "content_type", "bytes", "links", "redirect_chain", "response_ms", "error"):
        assert field in page
    assert page["title"] == "Page A"

    history = client.get(f"{BASE}/{registered}/crawl-runs").json()
    assert [r["id"] for r in history["results"]] == [run["id"]] and history["next"] is None


def test_no_succeeded_crawl_means_no_snapshot(api, users, registered):
    assert_error(api(users[gc.VIEWER]).get(f"{BASE}/{registered}/snapshot"), 404, c.SNAPSHOT_NOT_FOUND)
    assert_error(api(users[gc.VIEWER]).get(f"{BASE}/acme.sites.gharart.com/snapshot"), 404, c.SNAPSHOT_NOT_FOUND)


def test_a_second_crawl_while_one_is_queued_or_running_is_409(api, users, handle, registered):
    active = CrawlRun.objects.create(handle=handle, hostname=registered, scheme="http", max_pages=5, max_depth=1, state=c.RUNNING)
    err = assert_error(api(users[gc.WEB_MANAGER]).post(f"{BASE}/{registered}/crawl-runs", {}, format="json"), 409, c.CRAWL_ALREADY_RUNNING)
    assert err["details"]["crawl_run_id"] == active.id
    assert CrawlRun.objects.count() == 1


def test_the_database_refuses_two_active_crawls_of_one_hostname(handle, registered):
    from django.db import IntegrityError, transaction

    CrawlRun.objects.create(handle=handle, hostname=registered, max_pages=5, max_depth=1, state=c.QUEUED)
    with pytest.raises(IntegrityError), transaction.atomic():
        CrawlRun.objects.create(handle=handle, hostname=registered, max_pages=5, max_depth=1, state=c.RUNNING)


@pytest.mark.parametrize("body,field", [({"max_pages": 0}, "max_pages"), ({"max_pages": "many"}, "max_pages"), ({"max_depth": -1}, "max_depth"), ({"max_pages": 10**9}, "max_pages")])
def test_crawl_limits_are_validated(api, users, registered, body, field):
    err = assert_error(api(users[gc.WEB_MANAGER]).post(f"{BASE}/{registered}/crawl-runs", body, format="json"), 400, gc.VALIDATION_ERROR)
    assert field in err["details"]


def test_a_crawl_of_a_hostname_that_now_resolves_privately_is_422(api, users, handle, settings, monkeypatch):
    Hostname.objects.create(handle=handle, hostname="shop.example.com", scheme="https")
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    monkeypatch.setattr(netguard, "resolve_host", lambda host, port: ["10.9.8.7"])
    assert_error(api(users[gc.WEB_MANAGER]).post(f"{BASE}/shop.example.com/crawl-runs", {}, format="json"), 422, c.HOSTNAME_NOT_ALLOWED)
    assert not CrawlRun.objects.exists()


def test_cancel(api, users, handle, registered):
    run = CrawlRun.objects.create(handle=handle, hostname=registered, scheme="http", max_pages=5, max_depth=1, state=c.RUNNING)
    client = api(users[gc.WEB_MANAGER])
    body = client.post(f"{BASE}/{registered}/crawl-runs/{run.id}/cancel", {}, format="json").json()
    assert body["state"] == c.CANCELLED and body["finished_at"]
    # Cancelling again changes nothing; the worker, if it picks the run up, does nothing.
    assert client.post(f"{BASE}/{registered}/crawl-runs/{run.id}/cancel", {}, format="json").json()["state"] == c.CANCELLED
    assert jobs.crawl_run_execute(run_id=run.id) is None
    # A new crawl may start now.
    assert client.post(f"{BASE}/{registered}/crawl-runs", {}, format="json").status_code == 202


def test_cancelling_a_finished_crawl_is_409(api, users, handle, registered):
    run = CrawlRun.objects.create(handle=handle, hostname=registered, max_pages=5, max_depth=1, state=c.SUCCEEDED)
    assert_error(api(users[gc.WEB_MANAGER]).post(f"{BASE}/{registered}/crawl-runs/{run.id}/cancel", {}, format="json"), 409, c.CRAWL_RUN_FINISHED)


def test_unknown_crawl_run_is_404(api, users, registered):
    assert_error(api(users[gc.VIEWER]).get(f"{BASE}/{registered}/crawl-runs/crawl_nope"), 404, c.CRAWL_RUN_NOT_FOUND)


def test_a_redelivered_task_for_a_finished_run_does_nothing(api, users, site, registered, django_capture_on_commit_callbacks):
    small_site(site)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = api(users[gc.WEB_MANAGER]).post(f"{BASE}/{registered}/crawl-runs", {}, format="json").json()["id"]
    assert CrawlRun.objects.get(pk=run_id).state == c.SUCCEEDED
    hits = len(site.hits)
    pages = CrawledPage.objects.filter(crawl_run_id=run_id).count()
    assert jobs.crawl_run_execute(run_id=run_id) is None
    assert len(site.hits) == hits
    assert CrawledPage.objects.filter(crawl_run_id=run_id).count() == pages


def test_post_with_an_idempotency_key_starts_one_crawl(api, users, site, registered):
    small_site(site)
    client = api(users[gc.WEB_MANAGER])
    first = client.post(f"{BASE}/{registered}/crawl-runs", {}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    second = client.post(f"{BASE}/{registered}/crawl-runs", {}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"]
    assert CrawlRun.objects.count() == 1


def test_a_crawl_that_is_cancelled_midway_stops_between_pages(transactional_db, api, users, site, registered):
    """The server cancels the run while serving a page; the crawler stops before the next."""
    site.page("/", "Home", [f"/p{i}" for i in range(30)])
    for i in range(30):
        site.page(f"/p{i}", f"P{i}", [])

    def cancel_then_serve(handler):
        CrawlRun.objects.filter(state=c.RUNNING).update(state=c.CANCELLED)
        return (200, {"Content-Type": "text/html"}, b"<title>P3</title>")

    site.routes["/p3"] = cancel_then_serve
    run_id = api(users[gc.WEB_MANAGER]).post(f"{BASE}/{registered}/crawl-runs", {}, format="json").json()["id"]
    run = CrawlRun.objects.get(pk=run_id)
    assert run.state == c.CANCELLED
    assert run.pages_done < 31
    assert len(site.paths_hit()) < 31
