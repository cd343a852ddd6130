"""GET /_gharart/tls-ask?domain=NAME: what a TLS proxy may get a certificate for."""

import pytest

from domains import services
from tests.conftest import assert_error
from tests.domains.conftest import ROOT_SITE, SITES, publish

pytestmark = pytest.mark.django_db
ASK = "/_gharart/tls-ask"


def ask(client, name, **extra):
    return client.get(ASK, {"domain": name}, **extra)


def test_live_hosts_of_existing_handles_are_allowed(client, handle):
    r = ask(client, f"acme.{SITES}")
    assert r.status_code == 200 and r["X-Request-ID"]
    assert ask(client, f"ACME.{SITES}.").status_code == 200
    assert_error(ask(client, f"nobody.{SITES}"), 404, "not_found")


def test_preview_hosts_of_existing_ready_site_deployments_are_allowed(client, handle, other_handle):
    dep = publish(handle, ROOT_SITE, promote=False)
    key = dep.id.removeprefix("dep_")
    assert ask(client, f"{key}--acme.{SITES}").status_code == 200
    assert ask(client, f"{key}--other.{SITES}").status_code == 404
    assert ask(client, f"aaaa--acme.{SITES}").status_code == 404
    docs = publish(handle, ROOT_SITE, target="docs", promote=False)
    assert ask(client, f"{docs.id.removeprefix('dep_')}--acme.{SITES}").status_code == 404


def test_only_verified_custom_domains_are_allowed(client, handle):
    row = services.domain_add(handle=handle, domain="www.brand.example")
    assert ask(client, "www.brand.example").status_code == 404
    row.status = "verified"
    row.save()
    assert ask(client, "www.brand.example").status_code == 200
    services.domain_remove(row=row)
    assert ask(client, "www.brand.example").status_code == 404


@pytest.mark.parametrize("name", ["", "example.com", SITES, f"a.b.{SITES}", "127.0.0.1", "testserver", "x" * 400])
def test_anything_else_is_404(client, db, name):
    assert ask(client, name).status_code == 404


def test_it_needs_no_credentials_and_answers_get_only(client, handle):
    assert client.post(ASK + f"?domain=acme.{SITES}").status_code == 405
