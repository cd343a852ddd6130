"""Every refusal of a site intel action to HTMX comes back as the fragment it swaps, with
the message and a status app.js swaps, so the reason shows on the page."""

import pytest
from django.test import Client

from gharart import constants as gc
from gharart.dashboard import SWAPPED_STATUSES
from siteintel import constants as c
from siteintel.models import CrawlRun
from tests.siteintel.test_replay import OWN, V1, deploy

pytestmark = pytest.mark.django_db
PAGE = "/h/acme/site-intel/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def as_role(users):
    def login(role):
        client = Client()
        client.force_login(users[role])
        return client

    return login


def swapped(response, fragment_start, message):
    html = response.content.decode()
    assert response.status_code in SWAPPED_STATUSES, response.status_code
    assert "<html" not in html and html.lstrip().startswith(fragment_start), html[:200]
    assert message in html
    return html


def test_registering_a_hostname_twice_says_so_under_the_input(as_role, private_ok):
    client = as_role(gc.ADMIN)
    client.post(f"{PAGE}hostnames/", {"hostname": "http://127.0.0.1:9"}, **HTMX)
    html = swapped(client.post(f"{PAGE}hostnames/", {"hostname": "http://127.0.0.1:9"}, **HTMX), '<section class="card" id="hostnames"', "is already registered.")
    assert 'id="hostname-error"' in html


def test_removing_a_hostname_that_is_not_registered_says_so(as_role):
    client = as_role(gc.ADMIN)
    response = client.post(f"{PAGE}hostnames/remove/", {"hostname": "gone.example.com"}, **HTMX)
    swapped(response, '<section class="card" id="hostnames"', "is not registered for this handle.")
    assert client.post(f"{PAGE}hostnames/remove/", {"hostname": "gone.example.com"}).status_code == 302


def test_crawling_a_hostname_that_is_not_registered_says_so(as_role):
    response = as_role(gc.WEB_MANAGER).post(f"{PAGE}crawl/", {"hostname": "gone.example.com"}, **HTMX)
    swapped(response, '<section class="card" id="crawl-jobs"', "gone.example.com")
    assert as_role(gc.WEB_MANAGER).post(f"{PAGE}crawl/", {"hostname": "gone.example.com"}).status_code == 400


def test_crawl_limits_that_are_not_numbers_are_refused_with_the_service_words(as_role, registered):
    response = as_role(gc.WEB_MANAGER).post(f"{PAGE}crawl/", {"hostname": registered, "max_pages": "lots"}, **HTMX)
    swapped(response, '<section class="card" id="crawl-jobs"', f"Must be a whole number from 1 to {c.MAX_PAGES_LIMIT}.")
    assert not CrawlRun.objects.exists()


def test_the_progress_of_a_crawl_that_is_gone_says_so(as_role):
    response = as_role(gc.VIEWER).get(f"{PAGE}runs/crawl_nope/", **HTMX)
    swapped(response, '<div class="crawl-progress" id="run-crawl_nope"', "This crawl no longer exists.")
    assert as_role(gc.VIEWER).get(f"{PAGE}runs/crawl_nope/").status_code == 404


def test_cancelling_a_crawl_that_is_gone_or_finished_says_so(as_role, handle, registered):
    client = as_role(gc.WEB_MANAGER)
    swapped(client.post(f"{PAGE}runs/crawl_nope/cancel/", **HTMX), '<div class="crawl-progress" id="run-crawl_nope"', "This crawl no longer exists.")
    run = CrawlRun.objects.create(handle=handle, hostname=registered, max_pages=10, max_depth=2, state=c.SUCCEEDED)
    swapped(client.post(f"{PAGE}runs/{run.id}/cancel/", **HTMX), f'<div class="crawl-progress" id="run-{run.id}"', "This crawl already succeeded.")


def test_a_replay_without_a_snapshot_says_so_in_the_panel(as_role, handle):
    deployment = deploy(handle, V1)
    response = as_role(gc.WEB_MANAGER).post(f"{PAGE}replay/{deployment.id}/", {"hostname": OWN}, **HTMX)
    swapped(response, f'<section class="card" id="replay-panel-{deployment.id}"', "has succeeded yet: crawl it first.")
    assert as_role(gc.WEB_MANAGER).post(f"{PAGE}replay/{deployment.id}/", {"hostname": OWN}).status_code == 404


def test_a_replay_by_a_viewer_says_why_in_the_panel(as_role, handle):
    deployment = deploy(handle, V1)
    response = as_role(gc.VIEWER).post(f"{PAGE}replay/{deployment.id}/", {"hostname": OWN}, **HTMX)
    swapped(response, f'<section class="card" id="replay-panel-{deployment.id}"', "Your role on this handle does not allow replays.")


@pytest.mark.parametrize("path, fragment_start", [
    ("", None),
    ("snapshot/", '<section class="card" id="snapshot"'),
    ("pages/", '<div id="pages-table"'),
    ("history/", '<section class="card" id="crawl-history"'),
])
def test_htmx_gets_only_the_fragment_and_a_plain_request_the_page(as_role, path, fragment_start):
    client = as_role(gc.VIEWER)
    assert "<html" in client.get(f"{PAGE}{path}").content.decode()
    if fragment_start:
        html = client.get(f"{PAGE}{path}", **HTMX).content.decode()
        assert "<html" not in html and html.lstrip().startswith(fragment_start)
