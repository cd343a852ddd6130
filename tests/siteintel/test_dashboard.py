"""The Site intel dashboard: hostnames, Crawl now with a polling progress fragment, the
snapshot with server-side search, and access by role."""

import pytest
from django.test import Client

from gharart import constants as gc
from siteintel import constants as c
from siteintel.models import CrawlRun, Hostname
from tests.siteintel.conftest import small_site

pytestmark = pytest.mark.django_db
PAGE = "/h/acme/site-intel/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def login(user, role):
    client = Client()
    assert client.login(username=user.username, password=f"pw-{role}")
    return client


@pytest.fixture
def as_role(users):
    return lambda role: login(users[role], role)


def test_the_page_shows_the_own_hostname_and_controls_by_role(as_role):
    viewer = as_role(gc.VIEWER).get(PAGE)
    assert viewer.status_code == 200
    html = viewer.content.decode()
    assert "acme.sites.gharart.com" in html and "Crawl now" not in html and "Register a hostname" not in html
    manager = as_role(gc.WEB_MANAGER).get(PAGE).content.decode()
    assert "Crawl now" in manager and "Register a hostname" not in manager
    admin = as_role(gc.ADMIN).get(PAGE).content.decode()
    assert 'for="hostname-input"' in admin and "Register a hostname" in admin


def test_outsiders_get_404_and_anonymous_users_the_login_page(outsider, users):
    client = Client()
    assert client.get(PAGE).status_code == 302
    client.force_login(outsider)
    assert client.get(PAGE).status_code == 404


def test_registering_a_hostname_with_htmx(as_role, private_ok):
    client = as_role(gc.OWNER)
    response = client.post(f"{PAGE}hostnames/", {"hostname": "http://127.0.0.1:9"}, **HTMX)
    assert response.status_code == 200
    assert "Registered <strong>127.0.0.1:9</strong>" in response.content.decode()
    assert Hostname.objects.filter(hostname="127.0.0.1:9").exists()
    bad = client.post(f"{PAGE}hostnames/", {"hostname": "https://x.example.com/path"}, **HTMX)
    assert bad.status_code == 400
    assert 'aria-invalid="true"' in bad.content.decode() and "without a path" in bad.content.decode()


def test_registering_a_private_address_shows_the_refusal(as_role, settings):
    settings.SITEINTEL_ALLOW_PRIVATE_NETWORKS = False
    response = as_role(gc.ADMIN).post(f"{PAGE}hostnames/", {"hostname": "169.254.169.254"}, **HTMX)
    assert response.status_code == 400
    assert "cannot be crawled" in response.content.decode()
    assert not Hostname.objects.exists()


def test_web_managers_cannot_register_hostnames(as_role):
    assert as_role(gc.WEB_MANAGER).post(f"{PAGE}hostnames/", {"hostname": "shop.example.com"}).status_code == 403


def test_registering_without_javascript_redirects_back(as_role, private_ok):
    response = as_role(gc.ADMIN).post(f"{PAGE}hostnames/", {"hostname": "http://127.0.0.1:9"})
    assert response.status_code == 302 and response["Location"].endswith("?hostname=127.0.0.1:9")


def test_crawl_now_shows_progress_that_polls_until_finished(as_role, handle, registered):
    client = as_role(gc.WEB_MANAGER)
    run = CrawlRun.objects.create(handle=handle, hostname=registered, scheme="http", max_pages=10, max_depth=2, state=c.RUNNING, pages_done=3, pages_found=8)
    fragment = client.get(f"{PAGE}runs/{run.id}/", **HTMX)
    html = fragment.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert '<progress max="8" value="3"' in html and "3 of 8 pages" in html
    assert "HX-Trigger" not in fragment
    CrawlRun.objects.filter(pk=run.pk).update(state=c.SUCCEEDED, pages_done=8)
    done = client.get(f"{PAGE}runs/{run.id}/", **HTMX)
    assert "every 1s" not in done.content.decode()  # polling stops
    assert done["HX-Trigger"] == "siteintel-crawl-finished"


def test_crawl_now_runs_the_crawl_and_the_page_shows_the_snapshot(as_role, site, registered, django_capture_on_commit_callbacks):
    small_site(site)
    client = as_role(gc.WEB_MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{PAGE}crawl/", {"hostname": registered}, **HTMX)
    assert response.status_code == 200
    jobs = response.content.decode()
    run = CrawlRun.objects.get()
    # Rendered before the job ran: the queued run's fragment polls.
    assert 'id="crawl-jobs"' in jobs and f'id="run-{run.id}"' in jobs and 'hx-trigger="every 1s"' in jobs
    assert run.state == c.SUCCEEDED
    polled = client.get(f"{PAGE}runs/{run.id}/", **HTMX)
    assert "7 of 7 pages crawled" in polled.content.decode()
    assert polled["HX-Trigger"] == "siteintel-crawl-finished"  # the snapshot section refreshes
    page = client.get(PAGE, {"hostname": registered}).content.decode()
    assert "Broken links (2)" in page
    assert site.url("/missing") in page
    assert "404: 1" in page and "200: 5" in page


def test_crawl_now_while_running_shows_the_conflict(as_role, handle, registered):
    CrawlRun.objects.create(handle=handle, hostname=registered, max_pages=10, max_depth=2, state=c.RUNNING)
    response = as_role(gc.WEB_MANAGER).post(f"{PAGE}crawl/", {"hostname": registered}, **HTMX)
    assert response.status_code == 409
    assert "already queued or running" in response.content.decode()


def test_viewers_cannot_crawl(as_role, registered):
    assert as_role(gc.VIEWER).post(f"{PAGE}crawl/", {"hostname": registered}).status_code == 403


def test_the_pages_table_is_searched_on_the_server(as_role, site, registered, django_capture_on_commit_callbacks):
    small_site(site)
    client = as_role(gc.WEB_MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{PAGE}crawl/", {"hostname": registered}, **HTMX)
    table = client.get(f"{PAGE}pages/", {"hostname": registered, "q": "deep"}, **HTMX).content.decode()
    assert "<code>/a/deep</code>" in table and "<code>/a/deeper</code>" in table and "<code>/b</code>" not in table
    assert "Showing 2 of 2 pages matching" in table
    broken = client.get(f"{PAGE}pages/", {"hostname": registered, "status": "4xx"}, **HTMX).content.decode()
    assert "<code>/missing</code>" in broken and "<code>/gone</code>" in broken and "<code>/a</code>" not in broken


def test_cancel_from_the_dashboard(as_role, handle, registered):
    run = CrawlRun.objects.create(handle=handle, hostname=registered, max_pages=10, max_depth=2, state=c.RUNNING)
    response = as_role(gc.WEB_MANAGER).post(f"{PAGE}runs/{run.id}/cancel/", **HTMX)
    assert response.status_code == 200 and "cancelled" in response.content.decode()
    run.refresh_from_db()
    assert run.state == c.CANCELLED


def test_the_overview_page_has_a_site_intel_panel(as_role):
    html = as_role(gc.VIEWER).get("/h/acme/").content.decode()
    assert "Site intel" in html and "has not been crawled yet" in html


def test_a_crawl_that_finishes_before_the_answer_shows_its_result(transactional_db, users, site, registered):
    """Jobs running inline (or a very quick worker): the answer shows the finished run."""
    small_site(site)
    client = login(users[gc.WEB_MANAGER], gc.WEB_MANAGER)
    response = client.post(f"{PAGE}crawl/", {"hostname": registered}, **HTMX)
    html = response.content.decode()
    assert "7 of 7 pages crawled" in html and "every 1s" not in html
    assert response["HX-Trigger"] == "siteintel-crawl-finished"
