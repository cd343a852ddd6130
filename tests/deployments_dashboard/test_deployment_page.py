"""One deployment: facts, integrity, the preview iframe, the gate, promote, rollback, force."""

import os
from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings

from deployments import constants as dc
from deployments import storage as blob_storage
from deployments.models import Deployment, DeploymentFile, Release
from deployments.services.ingest import deployment_process_archive
from deployments.services.releases import deployment_gate_set, deployment_preview_report
from deployments.services.site import binding_create
from gharart import constants as c

from .conftest import HX, SITE_V1, SITE_V2, body, create, csrf_token_from, go_live, zip_file


def page(dep):
    return f"/h/acme/deployments/{dep.id}/"


@pytest.fixture
def live_site(handle):
    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    return handle


def test_the_page_shows_the_facts(manager, handle, users):
    dep = create(handle, actor=users["web_manager"], message="Spring sale")
    html = manager.get(page(dep)).content.decode()
    assert "Profile site v1: Spring sale" in html
    assert "acme-web_manager" in html
    assert "<dt>Files</dt><dd>4: 1 image/svg+xml, 1 text/css, 2 text/html</dd>" in html
    assert f"<dt>Total size</dt><dd>{sum(map(len, SITE_V1.values()))}\xa0bytes</dd>" in html
    assert dep.artifact_sha256 in html and 'data-copy="#dep-sha256"' in html
    assert "Ready" in html
    assert "The gate is pending" in html and "Open the preview" in html


def test_opening_the_preview_checks_integrity_and_shows_a_sandboxed_iframe(manager, handle):
    dep = create(handle)
    response = manager.get(page(dep) + "preview/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Integrity OK" in html and "Every file of v1 is in storage" in html
    start = html.index('<iframe class="preview"')
    iframe = html[start:html.index(">", start)]
    assert 'sandbox="allow-scripts allow-forms"' in iframe
    assert "allow-same-origin" not in iframe
    src = iframe.split('src="')[1].split('"')[0]
    assert "/previews/" in src
    assert "Open preview in a new tab" in html and f'href="{src}" target="_blank" rel="noopener noreferrer"' in html
    # The signed URL serves the deployment without signing in.
    served = Client().get(urlsplit(src).path)
    assert served.status_code == 200 and "Version one" in body(served)
    assert served["X-Gharart-Deployment"] == dep.id
    # ...and the gate records the opened preview.
    dep.refresh_from_db()
    assert dep.preview_opened_at is not None
    assert "Preview opened" in html and "The gate is open" in html


def test_the_preview_with_htmx_swaps_the_main_panel(manager, handle):
    dep = create(handle)
    response = manager.get(page(dep) + "preview/", **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="deployment-main"') and "<html" not in html
    assert 'sandbox="allow-scripts allow-forms"' in html


def test_missing_artifact_files_are_named_and_block_preview_and_promote(manager, handle):
    dep = create(handle)
    css = DeploymentFile.objects.get(deployment=dep, path="/css/site.css")
    os.unlink(blob_storage.blob_path(css.sha256))  # the bytes vanish behind the database's back
    response = manager.get(page(dep) + "preview/", **HX)
    html = response.content.decode()
    assert response.status_code == 409
    assert "1 file(s) of v1 are missing from storage, so its preview cannot render" in html
    assert "<code>/css/site.css</code>" in html and "deployment_artifact_missing" in html
    assert "<iframe" not in html
    # The full page keeps showing the last check's result.
    html = manager.get(page(dep)).content.decode()
    assert "1 file missing" in html and "/css/site.css" in html
    response = manager.post(page(dep) + "promote/", {"reason": "try"}, **HX)
    assert response.status_code == 409
    assert "missing from storage" in response.content.decode()
    assert not Release.objects.exists()


def test_promote_is_refused_before_the_preview_was_opened_then_allowed(manager, handle, live_site, commit):
    dep = create(handle)
    response = manager.post(page(dep) + "promote/", {"reason": "go"}, **HX)
    html = response.content.decode()
    assert response.status_code == 409
    assert "v1 cannot be promoted yet: nobody has opened its preview." in html
    assert "preview_gate_pending" in html and 'role="alert"' in html and "data-autofocus" in html
    # Without JavaScript the refusal is the whole page, same words.
    plain = manager.post(page(dep) + "promote/", {"reason": "go"})
    assert plain.status_code == 409 and "nobody has opened its preview" in plain.content.decode() and "<html" in plain.content.decode()

    manager.get(page(dep) + "preview/")
    with commit():
        response = manager.post(page(dep) + "promote/", {"reason": "go"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "v1 is live" in html and 'badge live' in html
    release = Release.objects.get()
    assert release.kind == dc.RELEASE_PROMOTE and release.reason == "go" and release.deployment == dep
    served = Client().get("/profiles/acme/")
    assert "Version one" in body(served) and served["X-Gharart-Deployment"] == dep.id


def test_promote_and_rollback_change_what_the_profile_serves(manager, handle, live_site, commit, users):
    v1 = go_live(handle, SITE_V1, actor=users["web_manager"])
    v2 = create(handle, SITE_V2)
    manager.get(page(v2) + "preview/")
    html = manager.get(page(v2)).content.decode()
    since = Release.objects.get().created_at
    expected = f"Promote v2 to live? It replaces v1, live since {since:%-d %b %Y, %H:%M} UTC"
    assert f'hx-confirm="{expected}' in html and f'data-confirm="{expected}' in html

    with commit():
        response = manager.post(page(v2) + "promote/", {"reason": "new"})
    assert response.status_code == 302 and response["Location"] == page(v2)
    assert "Version two" in body(Client().get("/profiles/acme/"))
    assert "v2 is live (promote)." in manager.get(page(v2)).content.decode()

    html = manager.get(page(v1)).content.decode()
    promoted_at = Release.objects.order_by("-created_at").first().created_at
    expected = f"Roll back to v1? It replaces v2, live since {promoted_at:%-d %b %Y, %H:%M} UTC"
    assert f'hx-confirm="{expected}' in html and f'data-confirm="{expected}' in html
    with commit():
        response = manager.post(page(v1) + "rollback/", {"reason": "v2 broke checkout"}, **HX)
    assert response.status_code == 200
    assert "v1 is live" in response.content.decode() and "replacing v2" in response.content.decode()
    served = Client().get("/profiles/acme/")
    assert "Version one" in body(served) and served["X-Gharart-Deployment"] == v1.id
    assert Release.objects.order_by("-created_at").first().kind == dc.RELEASE_ROLLBACK

    # v1's page shows the releases it took part in.
    html = manager.get(page(v1)).content.decode()
    assert "Rollback" in html and "v2 broke checkout" in html and "Replaced by" in html


def test_rolling_back_to_a_deployment_that_was_never_live_is_refused(manager, handle, users):
    go_live(handle, actor=users["web_manager"])
    never = create(handle, SITE_V2)
    response = manager.post(page(never) + "rollback/", {}, **HX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "not_a_previous_release" in html and "was never live" in html


def test_a_processing_deployment_cannot_be_promoted_and_its_page_polls(manager, handle, settings):
    settings.DEPLOY_INLINE_MAX_BYTES = 0
    manager.post("/h/acme/deployments/upload/", {"artifact": zip_file(SITE_V1)})
    dep = Deployment.objects.get(handle=handle)
    html = manager.get(page(dep)).content.decode()
    assert f'hx-get="{page(dep)}" hx-trigger="every 2s"' in html
    assert "Only ready deployments can go live." in html
    response = manager.post(page(dep) + "promote/", {}, **HX)
    assert response.status_code == 409 and "v1 is processing: only ready deployments" in response.content.decode()
    response = manager.get(page(dep) + "preview/", **HX)
    assert response.status_code == 409 and "deployment_not_ready" in response.content.decode()
    deployment_process_archive(deployment_id=dep.id)
    polled = manager.get(page(dep), **HX).content.decode()
    assert "every 2s" not in polled and "Open the preview" in polled


def test_promote_warnings_are_shown_with_links_to_fix_them(manager, handle, users):
    v1 = go_live(handle, actor=users["web_manager"])  # site mode is still "links"
    binding_create(handle=handle, route="/api/contact", methods=["POST"], function="form-capture", config={}, deployment_id=v1.id)
    v2 = create(handle, SITE_V2)
    manager.get(page(v2) + "preview/")
    response = manager.post(page(v2) + "promote/", {}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Needs attention" in html
    assert "site_mode_not_deployment" in html and 'href="/h/acme/site/#site-mode"' in html
    assert "stale_function_bindings" in html and 'href="/h/acme/site/#bindings"' in html and "/api/contact" in html
    # The live deployment's page keeps showing them until they are fixed.
    html = manager.get(page(v2)).content.decode()
    assert "site_mode_mismatch" in html and "stale_function_bindings" in html


def test_owners_and_admins_can_force_with_a_reason(login, handle, live_site, commit):
    dep = create(handle)
    admin = login("admin")
    html = admin.get(page(dep)).content.decode()
    assert "Force promote v1" in html and 'name="force" value="1"' in html
    response = admin.post(page(dep) + "promote/", {"force": "1", "reason": "  "}, **HX)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="promote-reason-error"' in html and "Say why the preview gate is skipped." in html and 'aria-invalid="true"' in html
    with commit():
        response = admin.post(page(dep) + "promote/", {"force": "1", "reason": "Hotfix, checked by hand"}, **HX)
    assert response.status_code == 200
    release = Release.objects.get()
    assert release.kind == dc.RELEASE_FORCED_PROMOTE and release.reason == "Hotfix, checked by hand"
    assert "forced promote" in response.content.decode()
    assert "Version one" in body(Client().get("/profiles/acme/"))


def test_web_managers_cannot_force(manager, handle):
    dep = create(handle)
    assert "Force promote" not in manager.get(page(dep)).content.decode()
    assert manager.post(page(dep) + "promote/", {"force": "1", "reason": "please"}, **HX).status_code == 403
    assert not Release.objects.exists()


def test_viewers_see_everything_read_only(login, handle, users):
    dep = create(handle)
    viewer = login("viewer")
    html = viewer.get(page(dep)).content.decode()
    assert "can see this page but not preview-gate, promote or roll back" in html
    assert 'disabled aria-describedby="role-note">Promote v1 to live' in html
    assert viewer.post(page(dep) + "promote/", {}).status_code == 403
    assert viewer.post(page(dep) + "rollback/", {}).status_code == 403
    # Opening the preview is a read, as in the API.
    assert viewer.get(page(dep) + "preview/").status_code == 200
    assert not Release.objects.exists()


def test_non_members_get_404(outsider, handle):
    dep = create(handle)
    client = Client()
    client.force_login(outsider)
    for url in (page(dep), page(dep) + "preview/", page(dep) + "row/"):
        assert client.get(url).status_code == 404
    assert client.post(page(dep) + "promote/", {}).status_code == 404
    assert Deployment.objects.get(pk=dep.pk).preview_opened_at is None


def test_an_unknown_deployment_is_404(manager, handle):
    assert manager.get("/h/acme/deployments/dep_nope/").status_code == 404


def test_promote_and_rollback_need_the_csrf_token(login, handle):
    dep = create(handle)
    deployment_preview_report(deployment=dep)
    client = login("web_manager", enforce_csrf_checks=True)
    assert client.post(page(dep) + "promote/", {}).status_code == 403
    assert client.post(page(dep) + "rollback/", {}).status_code == 403
    assert not Release.objects.exists()
    token = csrf_token_from(client.get(page(dep)).content.decode())
    assert client.post(page(dep) + "promote/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert Release.objects.count() == 1


def test_the_replay_panel_slot_appears_when_site_intel_provides_it(manager, handle):
    from django.urls import Resolver404, resolve

    dep = create(handle)
    slot = f'<div id="replay-panel" hx-get="/h/acme/site-intel/replay/{dep.id}/" hx-trigger="load" hx-swap="innerHTML">'
    try:
        resolve(f"/h/acme/site-intel/replay/{dep.id}/")
        has_site_intel = True
    except Resolver404:
        has_site_intel = False
    assert (slot in manager.get(page(dep)).content.decode()) is has_site_intel
    with override_settings(ROOT_URLCONF="tests.deployments_dashboard.urls_without_site_intel"):
        assert 'id="replay-panel"' not in manager.get(page(dep)).content.decode()


def test_the_gate_card_refreshes_itself_when_a_replay_finishes(manager, handle):
    dep = create(handle)
    html = manager.get(page(dep)).content.decode()
    assert f'id="gate" aria-labelledby="gate-heading" hx-get="{page(dep)}" hx-trigger="siteintel-replay-finished from:body" hx-select="#gate"' in html
    deployment_gate_set(deployment=dep, status=dc.GATE_FAILED, replay_run_id="replay_x", summary={"total": 5, "unchanged": 3, "changed": 2, "regressions": 1})
    partial = manager.get(page(dep), **HX).content.decode()
    assert "The latest replay found 1 regression in 5 pages." in partial
    assert "The gate is closed" in partial
    response = manager.post(page(dep) + "promote/", {}, **HX)
    assert response.status_code == 409 and "the latest replay against it found regressions" in response.content.decode()
