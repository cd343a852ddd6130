"""The sharing panel of a file on the Files page: fields per mode, copying links, passwords."""

import pytest
from django.core import mail
from django.test import Client
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from files import constants as fc
from files.models import File, MagicLink
from gharart import constants as c
from gharart.models import AuditEvent
from tests.files.conftest import make_file, mint

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def manager(users):
    client = Client()
    client.force_login(users["partnerships"])
    return client


def card(page, file):
    return HTMLParser(page).css_first(f"#file-{file.id}")


def test_recipients_show_only_in_link_mode(manager, handle, partner_manager, link_file, public_file):
    private = make_file(handle, partner_manager, name="draft.pdf")
    page = manager.get("/h/acme/files/").content.decode()
    for file, hidden in ((link_file, False), (public_file, True), (private, True)):
        field = card(page, file).css_first(f"#recipients-{file.id}").parent
        assert field.attributes["data-access-only"] == "link"
        assert ("hidden" in field.attributes) is hidden
    # The password field is for shared files only.
    assert "hidden" in card(page, private).css_first(f"#password-{private.id}").parent.attributes
    assert "hidden" not in card(page, public_file).css_first(f"#password-{public_file.id}").parent.attributes


def test_link_mode_offers_a_magic_link_instead_of_copying_an_address_that_cannot_work(manager, link_file, public_file):
    page = manager.get("/h/acme/files/").content.decode()
    link_card = card(page, link_file)
    assert link_card.css_first("[data-copy]") is None
    assert "does not work alone" in link_card.css_first(".share-url").text()
    offer = link_card.css_first(".share-url a")
    assert offer.text() == "Create a magic link" and offer.attributes["href"] == f"#ml-email-{link_file.id}"
    assert link_card.css_first(f"#ml-email-{link_file.id}") is not None
    assert card(page, public_file).css_first(f'[data-copy="#url-{public_file.id}"]') is not None


def test_regenerate_to_copy_shows_a_new_link_without_emailing(manager, link_file, partner_manager):
    link, _ = mint(link_file, actor=partner_manager)
    MagicLink.objects.filter(pk=link.pk).update(revoked_at=link.created_at, revoked_reason=fc.REVOKE_BY_MEMBER)
    page = manager.get("/h/acme/files/").content.decode()
    buttons = {b.text(): b.attributes.get("value") for b in card(page, link_file).css("table button")}
    assert buttons == {"Regenerate and email": "1", "Regenerate to copy": "0"}
    response = manager.post(f"/h/acme/files/{link_file.id}/links/", {"email": link.email, "send": "0"}, **HX)
    assert response.status_code == 200
    new = HTMLParser(response.content.decode()).css_first(f"#minted-{link_file.id}")
    assert new is not None and "token=" in new.attributes["value"]
    assert MagicLink.objects.filter(file=link_file).count() == 2
    assert mail.outbox == []


def test_a_password_is_set_kept_and_removed_from_the_panel(manager, public_file):
    edit = f"/h/acme/files/{public_file.id}/edit/"
    response = manager.post(edit, {"access": "public", "password": "abc"}, **HX)
    assert response.status_code == 400 and "6 to 200 characters" in response.content.decode()
    assert manager.post(edit, {"access": "public", "password": "brand secret"}, **HX).status_code == 200
    assert File.objects.get(pk=public_file.pk).has_password
    # An empty field keeps it (the form never shows the old one).
    response = manager.post(edit, {"access": "public", "password": ""}, **HX)
    assert File.objects.get(pk=public_file.pk).has_password
    assert "Remove the password" in response.content.decode()
    manager.post(edit, {"access": "public", "password": "", "password_clear": "1"}, **HX)
    assert not File.objects.get(pk=public_file.pk).has_password
    assert [e.after for e in AuditEvent.objects.filter(action=c.AUDIT_FILE_PASSWORD).order_by("created_at")] == [{"password": "set"}, {"password": "none"}]
