"""Removing an address (or an @domain) from ``recipients`` revokes the links issued to it."""

from files import constants as fc
from files import services
from files.models import MagicLink
from gharart.models import AuditEvent
from tests.conftest import assert_error
from tests.files.conftest import mint, url


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_removing_an_address_revokes_its_links_with_the_reason(api, users, link_file):
    _, pat_token = mint(link_file, "pat@partner.example")
    _, ana_token = mint(link_file, "ana@agency.example")
    response = api(users["partnerships"]).patch(
        f"/v2/handles/acme/files/{link_file.id}", {"recipients": ["@agency.example"]}, format="json"
    )
    assert response.status_code == 200, response.content
    err = assert_error(api().get(url(link_file, pat_token)), 403, fc.MAGIC_LINK_REVOKED)
    assert err["details"]["reason"] == fc.REVOKE_RECIPIENT_REMOVED
    # The address still covered by its domain keeps working.
    assert api().get(url(link_file, ana_token)).status_code == 200
    # Putting the address back does not revive the old link.
    services.file_update(file=link_file, actor=users["partnerships"], recipients=["@agency.example", "pat@partner.example"])
    assert_error(api().get(url(link_file, pat_token)), 403, fc.MAGIC_LINK_REVOKED)


def test_removing_a_domain_revokes_the_links_of_its_addresses_unless_still_listed(api, users, link_file):
    services.file_update(file=link_file, actor=users["partnerships"], recipients=["@agency.example", "bo@agency.example"])
    _, ana_token = mint(link_file, "ana@agency.example")
    _, bo_token = mint(link_file, "bo@agency.example")
    services.file_update(file=link_file, actor=users["partnerships"], recipients=["bo@agency.example"])
    err = assert_error(api().get(url(link_file, ana_token)), 403, fc.MAGIC_LINK_REVOKED)
    assert err["details"]["reason"] == fc.REVOKE_RECIPIENT_REMOVED
    assert api().get(url(link_file, bo_token)).status_code == 200
    entry = AuditEvent.objects.filter(action="file.recipients_change").latest("created_at")
    assert entry.after["magic_links_revoked"] == 1


def test_links_minted_for_an_address_never_listed_are_not_touched(api, users, link_file):
    _, guest_token = mint(link_file, "guest@elsewhere.example", actor=users["partnerships"])
    services.file_update(file=link_file, actor=users["partnerships"], recipients=["@agency.example"])
    assert api().get(url(link_file, guest_token)).status_code == 200


def test_the_dashboard_edit_revokes_the_same_way(client, users, link_file):
    link, _ = mint(link_file, "pat@partner.example")
    client.force_login(users["partnerships"])
    response = client.post(f"/h/acme/files/{link_file.id}/edit/", {"recipients": "@agency.example"})
    assert response.status_code in (200, 302), response.content[:300]
    link = MagicLink.objects.get(pk=link.pk)
    assert link.revoked_reason == fc.REVOKE_RECIPIENT_REMOVED
    page = client.get("/h/acme/files/")
    assert b"no longer a recipient" in body(page)
