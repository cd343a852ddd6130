"""The Releases timeline and its one-click rollback."""

import pytest
from django.test import Client
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from deployments import constants as dc
from deployments.models import Release
from deployments.services.releases import deployment_preview_report, deployment_promote
from gharart import constants as c

from .conftest import HX, SITE_V1, SITE_V2, body, create, csrf_token_from, go_live

URL = "/h/acme/releases/"


@pytest.fixture
def two_releases(handle, users):
    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    v1 = go_live(handle, SITE_V1, actor=users["web_manager"])
    v2 = go_live(handle, SITE_V2, actor=users["admin"])
    return v1, v2


def test_the_timeline_lists_every_release_newest_first(manager, two_releases):
    v1, v2 = two_releases
    html = manager.get(URL).content.decode()
    first, second = Release.objects.order_by("created_at")
    assert html.index(f'id="rel-{second.id}"') < html.index(f'id="rel-{first.id}"')
    assert "(first release)" in html
    assert f'replaced <a href="/h/acme/deployments/{v1.id}/">v1</a>' in html
    assert "acme-admin" in html and "acme-web_manager" in html and "“test”" in html
    assert "Profile site: " in html and 'badge live">Live</span> since' in html


def test_previous_releases_offer_a_confirmed_rollback_and_the_live_one_does_not(manager, two_releases):
    v1, v2 = two_releases
    html = manager.get(URL).content.decode()
    first, second = Release.objects.order_by("created_at")
    old = html.split(f'id="rel-{first.id}"')[1].split("</li>")[0]
    live = html.split(f'id="rel-{second.id}"')[1].split("</li>")[0]
    assert "Roll back to this" in old and "Roll back to this" not in live
    expected = f"Roll back to v1? It replaces v2, live since {second.created_at:%-d %b %Y, %H:%M} UTC"
    assert f'hx-confirm="{expected}' in old and f'data-confirm="{expected}' in old


def test_one_click_rollback_from_the_timeline(manager, two_releases, commit):
    v1, v2 = two_releases
    with commit():
        response = manager.post(f"/h/acme/deployments/{v1.id}/rollback/", {"from": "releases", "reason": "bad deploy"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="releases"') and "Rolled back: v1 is live again" in html and "replacing v2" in html
    latest = Release.objects.order_by("-created_at").first()
    assert latest.kind == dc.RELEASE_ROLLBACK and latest.deployment == v1 and latest.previous_deployment == v2
    served = Client().get("/profiles/acme/")
    assert "Version one" in body(served)
    assert "Rollback" in manager.get(URL).content.decode()


def test_rollback_without_javascript_returns_to_the_timeline(manager, two_releases):
    v1, _ = two_releases
    response = manager.post(f"/h/acme/deployments/{v1.id}/rollback/", {"from": "releases"})
    assert response.status_code == 302 and response["Location"] == URL
    assert "Rolled back: v1 is live again." in manager.get(URL).content.decode()


def test_a_refused_rollback_is_explained_on_the_timeline(manager, two_releases):
    _, v2 = two_releases
    response = manager.post(f"/h/acme/deployments/{v2.id}/rollback/", {"from": "releases"}, **HX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "not_a_previous_release" in html and "This deployment is live now." in html


def test_filter_by_target(manager, two_releases, handle, users):
    docs = create(handle, {"index.html": b"<h1>Docs</h1>"}, target="docs")
    deployment_preview_report(deployment=docs)
    deployment_promote(deployment=docs, actor=users["web_manager"], role="web_manager")
    html = manager.get(URL + "?target=docs").content.decode()
    assert html.count('<li class="card" id="rel-') == 1 and "docs v1" in html
    partial = manager.get(URL + "?target=site", **HX).content.decode()
    assert partial.count('<li class="card" id="rel-') == 2 and "<html" not in partial


def test_site_and_docs_releases_are_grouped_apart_not_interleaved(manager, two_releases, handle, users):
    # Released between the two site versions in time, listed in its own group after them.
    docs = create(handle, {"index.html": b"<h1>Docs</h1>"}, target="docs")
    deployment_preview_report(deployment=docs)
    deployment_promote(deployment=docs, actor=users["web_manager"], role="web_manager")
    v3 = go_live(handle, SITE_V1, actor=users["admin"])
    doc = HTMLParser(manager.get(URL).content.decode())
    groups = doc.css("section.release-group")
    assert [g.css_first("h2").text() for g in groups] == ["Profile site releases", "Internal docs releases"]
    site_ids = [li.attributes["id"] for li in groups[0].css("li.card")]
    docs_ids = [li.attributes["id"] for li in groups[1].css("li.card")]
    site = Release.objects.filter(target=dc.TARGET_SITE).order_by("-created_at")
    assert site_ids == [f"rel-{r.id}" for r in site] and site[0].deployment_id == v3.id
    assert docs_ids == [f"rel-{Release.objects.get(target=dc.TARGET_DOCS).id}"]


def test_viewers_see_the_timeline_with_disabled_rollback(login, two_releases):
    v1, _ = two_releases
    viewer = login("viewer")
    html = viewer.get(URL).content.decode()
    assert "can see this page but not roll back" in html
    assert 'disabled aria-describedby="role-note"' in html
    assert viewer.post(f"/h/acme/deployments/{v1.id}/rollback/", {"from": "releases"}).status_code == 403


def test_non_members_get_404(outsider, two_releases):
    client = Client()
    client.force_login(outsider)
    assert client.get(URL).status_code == 404


def test_timeline_rollback_needs_the_csrf_token(login, two_releases):
    v1, _ = two_releases
    client = login("web_manager", enforce_csrf_checks=True)
    assert client.post(f"/h/acme/deployments/{v1.id}/rollback/", {"from": "releases"}).status_code == 403
    token = csrf_token_from(client.get(URL).content.decode())
    assert client.post(f"/h/acme/deployments/{v1.id}/rollback/", {"from": "releases", "csrfmiddlewaretoken": token}).status_code == 302
