"""The Domains dashboard page, and preview links on the deployments pages."""

import html
import re
from urllib.parse import urlsplit

import pytest

from domains.models import CustomDomain
from gharart import constants as gc
from tests.domains.conftest import ROOT_SITE, SITES, host_client, publish

pytestmark = pytest.mark.django_db
PAGE = "/h/acme/domains/"


@pytest.fixture
def as_role(client, users):
    def login(role):
        client.force_login(users[role])
        return client

    return login


def test_the_page_names_the_site_host_and_offers_the_form(as_role):
    r = as_role(gc.OWNER).get(PAGE)
    text = r.content.decode()
    assert r.status_code == 200 and f"acme.{SITES}" in text
    assert 'name="domain"' in text and "No custom domains yet" in text
    assert 'aria-current="page"' in text and ">Domains</a>" in text


def test_adding_shows_exactly_which_record_to_add(as_role):
    client = as_role(gc.OWNER)
    r = client.post(f"{PAGE}add/", {"domain": "www.brand.example"})
    assert r.status_code == 302 and r["Location"] == PAGE
    row = CustomDomain.objects.get(domain="www.brand.example")
    text = client.get(PAGE).content.decode()
    assert "Pending" in text and "TXT" in text
    assert "_gharart-challenge.www.brand.example" in text and row.record_value in text
    assert 'data-confirm="Remove www.brand.example?' in text  # removal asks first


def test_a_bad_name_is_a_field_error_in_words(as_role):
    r = as_role(gc.OWNER).post(f"{PAGE}add/", {"domain": "shop.sites.gharart.com"})
    assert r.status_code == 400
    text = html.unescape(r.content.decode())
    assert "already this platform's site hosts" in text and 'aria-invalid="true"' in text
    assert 'value="shop.sites.gharart.com"' in text


def test_a_taken_domain_is_explained(as_role, other_handle):
    from domains import services

    services.domain_add(handle=other_handle, domain="www.brand.example")
    r = as_role(gc.OWNER).post(f"{PAGE}add/", {"domain": "www.brand.example"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 409 and "already been added" in r.content.decode()


def test_verify_failure_then_success_and_remove(as_role, dns_zone, handle):
    from domains import services

    row = services.domain_add(handle=handle, domain="www.brand.example")
    client = as_role(gc.ADMIN)
    failed = client.post(f"{PAGE}www.brand.example/verify/", HTTP_HX_REQUEST="true")
    text = failed.content.decode()
    assert failed.status_code == 409 and "is not verified yet" in text and row.record_value in text
    assert 'id="domains-section"' in text and "<html" not in text  # the HTMX partial
    dns_zone.txt[row.record_name] = [row.record_value]
    ok = client.post(f"{PAGE}www.brand.example/verify/")
    assert ok.status_code == 302
    assert "Verified" in client.get(PAGE).content.decode()
    gone = client.post(f"{PAGE}www.brand.example/remove/", HTTP_HX_REQUEST="true")
    assert gone.status_code == 200 and "Removed www.brand.example" in gone.content.decode()
    assert not CustomDomain.objects.exists()


def test_members_without_the_role_see_but_cannot_act(as_role, handle):
    from domains import services

    services.domain_add(handle=handle, domain="www.brand.example")
    client = as_role(gc.WEB_MANAGER)
    text = client.get(PAGE).content.decode()
    assert "only owners and admins" in text and 'name="domain"' not in text and "Remove" not in text
    assert client.post(f"{PAGE}add/", {"domain": "x.brand.example"}).status_code == 403
    assert client.post(f"{PAGE}www.brand.example/remove/").status_code == 403
    assert CustomDomain.objects.count() == 1


def test_outsiders_get_404(client, outsider, handle):
    client.force_login(outsider)
    assert client.get(PAGE).status_code == 404


def _preview_links(text):
    return [html.unescape(h) for h in re.findall(r'href="(http://[^"]+--acme\.sites\.gharart\.com/\?preview_token=[^"]+)"', text)]


def test_deployment_pages_show_a_preview_link_that_survives_a_reload(as_role, handle):
    dep = publish(handle, ROOT_SITE, promote=False)
    client = as_role(gc.VIEWER)
    for _ in range(2):  # a reload renders it again
        listed = _preview_links(client.get("/h/acme/deployments/").content.decode())
        detail = _preview_links(client.get(f"/h/acme/deployments/{dep.id}/").content.decode())
        assert len(listed) == 1 and len(detail) == 1
    url = urlsplit(detail[0])
    visitor = host_client(url.netloc)
    assert visitor.get(f"/?{url.query}").status_code == 302
    assert visitor.get("/").status_code == 200


def test_the_site_page_links_the_live_host(as_role):
    text = as_role(gc.VIEWER).get("/h/acme/site/").content.decode()
    assert f'href="http://acme.{SITES}/"' in text and 'href="/h/acme/domains/"' in text
