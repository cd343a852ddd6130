"""Profile sites crawled in-process, replays against a deployment, and the preview gate."""

import pytest

from gharart import constants as gc
from siteintel import constants as c
from siteintel.models import CrawlRun, ReplayRun
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
OWN = "acme.sites.gharart.com"
BASE = f"/v2/handles/acme/site-intel/{OWN}"


def page(title, links=(), body=""):
    anchors = "".join(f'<a href="{href}">{href}</a>' for href in links)
    return f"<!doctype html><html><head><title>{title}</title></head><body>{anchors}{body}</body></html>"


V1 = {
    "/index.html": page("Acme", ["/about.html", "/products/", "/contact.html", "/draft.html", "/terms.html", "/logo.png"]),
    "/about.html": page("About us"),
    "/products/index.html": page("Products", ["/products/vase.html"], "Vases and bowls"),
    "/products/vase.html": page("Vase"),
    "/contact.html": page("Contact"),
    "/terms.html": page("Terms"),
    "/logo.png": b"\x89PNG fake",
}


def deploy(handle, files, *, live=False):
    import io

    from deployments import storage
    from deployments.services.ingest import deployment_blob_put, deployment_create_from_digest
    from deployments.services.releases import deployment_promote
    from deployments.services.site import site_mode_set

    blobs = {path: content.encode() if isinstance(content, str) else content for path, content in files.items()}
    digest = {path: storage.blob_put_bytes(data).sha256 for path, data in blobs.items()}
    deployment, required = deployment_create_from_digest(handle=handle, files=digest)
    # Blobs count per handle: bytes in storage that the handle never sent are required.
    by_sha = {digest[path]: data for path, data in blobs.items()}
    for sha in required:
        deployment, _ = deployment_blob_put(deployment=deployment, sha256=sha, stream=io.BytesIO(by_sha[sha]))
    assert deployment.state == "ready"
    if live:
        from gharart import services as gservices

        site_mode_set(handle=handle, mode=gc.SITE_MODE_DEPLOYMENT)
        deployment_promote(deployment=deployment, role=gc.OWNER, reason="first site", force=True, actor=None)
        handle.refresh_from_db()
        assert gservices  # the handle now serves the deployment
    return deployment


@pytest.fixture
def live_site(handle, run_jobs):
    with run_jobs():
        return deploy(handle, V1, live=True)


@pytest.fixture
def crawled(api, users, live_site, run_jobs):
    with run_jobs():
        response = api(users[gc.WEB_MANAGER]).post(f"{BASE}/crawl-runs", {}, format="json")
    assert response.status_code == 202, response.content
    run = CrawlRun.objects.get(pk=response.json()["id"])
    assert run.state == c.SUCCEEDED, run.error
    return run


def replay(api, user, deployment, capture, crawl_run_id=None):
    with capture():
        response = api(user).post(f"{BASE}/replay-runs", {"crawl_run_id": crawl_run_id, "deployment_id": deployment.id}, format="json")
    assert response.status_code == 202, response.content
    return api(user).get(f"{BASE}/replay-runs/{response.json()['id']}").json()


def test_the_profile_site_is_crawled_in_process(api, users, crawled):
    snap = api(users[gc.VIEWER]).get(f"{BASE}/snapshot").json()
    pages = {p["path"]: p for p in snap["pages"]}
    assert set(pages) == {"/", "/about.html", "/products/", "/contact.html", "/draft.html", "/terms.html", "/logo.png", "/products/vase.html"}
    assert pages["/"]["title"] == "Acme" and pages["/"]["status"] == 200
    assert pages["/logo.png"]["content_type"].startswith("image/png")
    assert pages["/draft.html"]["status"] == 404
    assert [b["url"] for b in snap["broken_links"]] == [f"https://{OWN}/draft.html"]
    assert snap["broken_links"][0]["linked_from"] == [f"https://{OWN}/"]


def test_a_replay_reports_each_kind_of_difference(api, users, handle, crawled, run_jobs):
    v2 = dict(V1)
    del v2["/about.html"]  # missing
    v2["/contact.html"] = page("Contact us")  # title_changed
    v2["/products/index.html"] = page("Products", ["/products/vase.html"], "Vases, bowls and jugs")  # content_changed
    v2["/draft.html"] = page("Draft")  # status_changed (404 -> 200): not a regression
    v2["/index.html"] = page("Acme", ["/about.html", "/products/", "/contact.html", "/draft.html", "/terms.html", "/logo.png", "/new-page.html"])
    deployment = deploy(handle, v2)
    run = replay(api, users[gc.WEB_MANAGER], deployment, run_jobs)
    assert run["state"] == c.SUCCEEDED, run["error"]
    assert run["crawl_run_id"] == crawled.id and run["deployment_id"] == deployment.id
    kinds = {d["path"]: d for d in run["diffs"]}
    assert kinds["/about.html"]["kind"] == c.DIFF_MISSING and kinds["/about.html"]["regression"]
    assert kinds["/about.html"]["before"]["status"] == 200 and kinds["/about.html"]["after"]["status"] == 404
    assert kinds["/contact.html"]["kind"] == c.DIFF_TITLE_CHANGED
    assert kinds["/contact.html"]["before"]["title"] == "Contact" and kinds["/contact.html"]["after"]["title"] == "Contact us"
    assert kinds["/products/"]["kind"] == c.DIFF_CONTENT_CHANGED and not kinds["/products/"]["regression"]
    assert kinds["/products/"]["before"]["sha256"] != kinds["/products/"]["after"]["sha256"]
    assert kinds["/draft.html"]["kind"] == c.DIFF_STATUS_CHANGED and not kinds["/draft.html"]["regression"]
    assert kinds["/new-page.html"]["kind"] == c.DIFF_NEW_BROKEN_LINK and kinds["/new-page.html"]["regression"]
    assert kinds["/new-page.html"]["linked_from"] == [f"https://{OWN}/"]
    assert kinds["/"]["kind"] == c.DIFF_CONTENT_CHANGED
    assert "/terms.html" not in kinds and "/logo.png" not in kinds
    assert run["summary"] == {"total": 8, "unchanged": 3, "changed": 5, "regressions": 2}
    assert run["gate_status"] == c.GATE_FAILED
    deployment.refresh_from_db()
    assert deployment.gate_status == c.GATE_FAILED and deployment.gate_replay_run_id == run["id"]


def test_a_page_that_was_2xx_and_answers_otherwise_is_a_regression(handle, crawled):
    from siteintel.jobs import page_diff

    class P:
        def __init__(self, status, sha="a", title="t"):
            self.status, self.sha256, self.title = status, sha, title

    assert page_diff(P(200), P(200)) is None
    assert page_diff(P(200), P(404, "b")) == (c.DIFF_MISSING, True)
    assert page_diff(P(200), P(500, "b")) == (c.DIFF_STATUS_CHANGED, True)
    assert page_diff(P(200), P(None, "")) == (c.DIFF_STATUS_CHANGED, True)
    assert page_diff(P(404), P(200, "b")) == (c.DIFF_STATUS_CHANGED, False)
    assert page_diff(P(200), P(200, "b", "t")) == (c.DIFF_CONTENT_CHANGED, False)
    assert page_diff(P(200), P(200, "b", "u")) == (c.DIFF_TITLE_CHANGED, False)


def _promote(api, user, deployment, **body):
    return api(user).post(f"/v2/handles/acme/site-deployments/{deployment.id}/promote", {"reason": "ship it", **body}, format="json")


def _open_preview(api, user, deployment):
    response = api(user).get(f"/v2/handles/acme/site-deployments/{deployment.id}/preview")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_failed_replay_blocks_promote_until_an_admin_forces(api, users, handle, crawled, run_jobs):
    v2 = dict(V1)
    del v2["/about.html"]
    deployment = deploy(handle, v2)
    _open_preview(api, users[gc.WEB_MANAGER], deployment)
    run = replay(api, users[gc.WEB_MANAGER], deployment, run_jobs)
    assert run["summary"]["regressions"] == 1 and run["gate_status"] == c.GATE_FAILED
    assert _open_preview(api, users[gc.WEB_MANAGER], deployment)["gate"]["status"] == c.GATE_FAILED
    err = assert_error(_promote(api, users[gc.WEB_MANAGER], deployment), 409, "preview_gate_pending")
    assert err["details"]["replay_run_id"] == run["id"]
    assert_error(_promote(api, users[gc.WEB_MANAGER], deployment, force=True), 403, gc.FORBIDDEN)  # only owners/admins force
    with run_jobs():
        forced = _promote(api, users[gc.ADMIN], deployment, force=True, reason="About page retired on purpose")
    assert forced.status_code == 200, forced.content
    assert forced.json()["live_deployment_id"] == deployment.id
    assert forced.json()["release"]["kind"] == "forced_promote"


def test_a_passing_replay_lets_promote_through(api, users, handle, crawled, run_jobs):
    v2 = dict(V1)
    v2["/terms.html"] = page("Terms", body="Updated terms")
    deployment = deploy(handle, v2)
    _open_preview(api, users[gc.WEB_MANAGER], deployment)
    run = replay(api, users[gc.WEB_MANAGER], deployment, run_jobs)
    assert run["summary"] == {"total": 8, "unchanged": 7, "changed": 1, "regressions": 0}
    assert run["gate_status"] == c.GATE_PASSED
    assert _open_preview(api, users[gc.WEB_MANAGER], deployment)["gate"]["status"] == c.GATE_PASSED
    with run_jobs():
        promoted = _promote(api, users[gc.WEB_MANAGER], deployment)
    assert promoted.status_code == 200, promoted.content
    assert promoted.json()["release"]["kind"] == "promote"


def test_a_newer_passing_replay_clears_a_failed_gate(api, users, handle, crawled, run_jobs):
    v2 = dict(V1)
    del v2["/about.html"]
    deployment = deploy(handle, v2)
    _open_preview(api, users[gc.WEB_MANAGER], deployment)
    assert replay(api, users[gc.WEB_MANAGER], deployment, run_jobs)["gate_status"] == c.GATE_FAILED
    # The live site changes: about.html is gone there too; a new crawl and replay pass.
    with run_jobs():
        deploy(handle, v2, live=True)  # the live-site cache is refreshed on commit
    with run_jobs():
        api(users[gc.WEB_MANAGER]).post(f"{BASE}/crawl-runs", {}, format="json")
    assert replay(api, users[gc.WEB_MANAGER], deployment, run_jobs)["gate_status"] == c.GATE_PASSED
    with run_jobs():
        assert _promote(api, users[gc.WEB_MANAGER], deployment).status_code == 200


def test_replay_error_paths(api, users, handle, registered, live_site, run_jobs):
    client = api(users[gc.WEB_MANAGER])
    # No snapshot yet.
    assert_error(client.post(f"{BASE}/replay-runs", {"deployment_id": live_site.id}, format="json"), 404, c.SNAPSHOT_NOT_FOUND)
    with run_jobs():
        client.post(f"{BASE}/crawl-runs", {}, format="json")
    assert_error(client.post(f"{BASE}/replay-runs", {"deployment_id": "dep_nope"}, format="json"), 404, c.DEPLOYMENT_NOT_FOUND)
    assert_error(client.post(f"{BASE}/replay-runs", {}, format="json"), 400, gc.VALIDATION_ERROR)
    assert_error(client.post(f"{BASE}/replay-runs", {"deployment_id": live_site.id, "crawl_run_id": "crawl_nope"}, format="json"), 404, c.SNAPSHOT_NOT_FOUND)
    assert_error(client.get(f"{BASE}/replay-runs/replay_nope"), 404, c.REPLAY_RUN_NOT_FOUND)
    from deployments.services.ingest import deployment_create_from_digest

    pending, required = deployment_create_from_digest(handle=handle, files={"/index.html": "a" * 64})
    assert required
    assert_error(client.post(f"{BASE}/replay-runs", {"deployment_id": pending.id}, format="json"), 409, c.DEPLOYMENT_NOT_READY)
    assert not ReplayRun.objects.exists()


def test_replay_runs_are_listed_and_a_redelivered_replay_does_nothing(api, users, handle, crawled, run_jobs):
    from siteintel import jobs

    run = replay(api, users[gc.WEB_MANAGER], deploy(handle, V1), run_jobs)
    assert run["summary"]["changed"] == 0 and run["diffs"] == []
    listed = api(users[gc.VIEWER]).get(f"{BASE}/replay-runs").json()
    assert [r["id"] for r in listed["results"]] == [run["id"]]
    assert jobs.replay_run_execute(run_id=run["id"]) is None


def _panel_client(users, role):
    from django.test import Client

    client = Client()
    client.force_login(users[role])
    return client


def test_the_replay_panel_starts_a_replay_and_shows_the_diff_and_gate(users, handle, crawled, run_jobs):
    v2 = dict(V1)
    del v2["/about.html"]
    deployment = deploy(handle, v2)
    url = f"/h/acme/site-intel/replay/{deployment.id}/"
    client = _panel_client(users, gc.WEB_MANAGER)
    panel = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Replay live traffic against this deployment" in panel and f'id="replay-panel-{deployment.id}"' in panel
    with run_jobs():
        response = client.post(url, {"hostname": OWN}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Gate failed." in html and "<code>/about.html</code>" in html and "Missing" in html
    assert "every 1s" not in html  # finished: no more polling
    # Without JavaScript the same URL is a whole page.
    page = client.get(url)
    assert page.status_code == 200 and "<html" in page.content.decode()


def test_the_replay_panel_polls_while_a_replay_runs(users, handle, crawled):
    deployment = deploy(handle, V1)
    ReplayRun.objects.create(handle=handle, hostname=OWN, crawl_run=crawled, deployment_id=deployment.id, state=c.RUNNING, pages_done=2, pages_found=8)
    html = _panel_client(users, gc.VIEWER).get(f"/h/acme/site-intel/replay/{deployment.id}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in html and '<progress max="8" value="2"' in html
    assert "Replay live traffic against this deployment" not in html  # viewers only watch


def test_viewers_cannot_start_a_replay_from_the_panel(users, handle, crawled):
    deployment = deploy(handle, V1)
    client = _panel_client(users, gc.VIEWER)
    assert client.post(f"/h/acme/site-intel/replay/{deployment.id}/", {"hostname": OWN}).status_code == 403
    # To HTMX the refusal is a status app.js swaps, so the panel shows why.
    response = client.post(f"/h/acme/site-intel/replay/{deployment.id}/", {"hostname": OWN}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" not in html and "Your role on this handle does not allow replays." in html
    assert not ReplayRun.objects.exists()


def test_the_replay_panel_asks_for_a_crawl_first(users, handle, live_site):
    html = _panel_client(users, gc.WEB_MANAGER).get(f"/h/acme/site-intel/replay/{live_site.id}/", HTTP_HX_REQUEST="true").content.decode()
    assert "Crawl the live site first" in html


def test_the_panel_announces_when_a_polled_replay_finishes(users, handle, crawled):
    deployment = deploy(handle, V1)
    ReplayRun.objects.create(handle=handle, hostname=OWN, crawl_run=crawled, deployment_id=deployment.id, state=c.SUCCEEDED, summary={"total": 8, "unchanged": 8, "changed": 0, "regressions": 0}, gate_status=c.GATE_PASSED)
    client = _panel_client(users, gc.VIEWER)
    url = f"/h/acme/site-intel/replay/{deployment.id}/"
    polled = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER=f"replay-panel-{deployment.id}")
    assert polled["HX-Trigger"] == "siteintel-replay-finished"
    assert "Gate passed." in polled.content.decode()
    assert "HX-Trigger" not in client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="replay-panel")
