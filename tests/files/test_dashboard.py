"""The Files and Docs access pages, driven like a browser with and without HTMX."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from files import constants as fc
from files.models import DocsAccessPolicy, File, MagicLink
from gharart import constants as c
from gharart.models import AuditEvent
from tests.files.conftest import PDF, mint

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def manager(users):
    client = Client()
    client.force_login(users["partnerships"])
    return client


def test_the_files_page_lists_files_with_badges_and_copy_links(manager, link_file, public_file):
    page = manager.get("/h/acme/files/").content.decode()
    assert "Media kit 2026" in page and "logo.png" in page
    assert "expires in 10 days" in page
    assert "data-upload-progress" in page and "data-dropzone" in page and 'hx-encoding="multipart/form-data"' in page
    assert f'data-copy="#url-{public_file.id}"' in page
    assert "Changing access revokes every magic link" in page


def test_roles_and_strangers(client, users, outsider, link_file):
    client.force_login(users["viewer"])
    # A viewer reads the page (API.md roles: every GET of its handle) but cannot change files.
    assert client.get("/h/acme/files/").status_code == 200
    assert client.post(f"/h/acme/files/{link_file.id}/edit/", {"title": "x"}).status_code == 403
    assert client.get("/h/acme/docs-access/").status_code == 200
    assert client.post("/h/acme/docs-access/", {"visibility": "public"}).status_code == 403
    client.force_login(outsider)
    assert client.get("/h/acme/files/").status_code == 404
    client.logout()
    assert client.get("/h/acme/files/").status_code == 302


def test_htmx_upload_returns_the_section_with_the_new_file(manager):
    upload = SimpleUploadedFile("kit.pdf", PDF, content_type="application/octet-stream")
    response = manager.post("/h/acme/files/upload/", {"file": upload, "access": "link", "recipients": "@agency.example\npat@partner.example", "title": "Kit"}, **HX)
    assert response.status_code == 200
    assert 'id="files-section"' in response.content.decode() and "Uploaded <strong>kit.pdf</strong>" in response.content.decode()
    file = File.objects.get()
    assert file.recipients == ["@agency.example", "pat@partner.example"] and file.content_type == "application/pdf"


def test_plain_upload_redirects_and_errors_rerender_with_400(manager):
    upload = SimpleUploadedFile("kit.pdf", PDF)
    assert manager.post("/h/acme/files/upload/", {"file": upload}).status_code == 302
    response = manager.post("/h/acme/files/upload/", {"access": "nope"}, **HX)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose a file to upload." in page and 'aria-invalid="true"' in page


@override_settings(FILES_MAX_UPLOAD_BYTES=100)
def test_a_too_large_upload_shows_the_limit(manager):
    response = manager.post("/h/acme/files/upload/", {"file": SimpleUploadedFile("big.bin", b"x" * 5000)}, **HX)
    assert response.status_code == 400
    assert "larger than the limit" in response.content.decode()
    assert File.objects.count() == 0


def test_the_upload_form_needs_csrf(users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["partnerships"])
    response = client.post("/h/acme/files/upload/", {"file": SimpleUploadedFile("kit.pdf", PDF)})
    assert response.status_code == 403
    assert File.objects.count() == 0


def test_inline_access_change_revokes_links_and_offers_regeneration(manager, link_file):
    mint(link_file)
    response = manager.post(f"/h/acme/files/{link_file.id}/edit/", {"access": "private", "expires_at": "", "recipients": "@agency.example"}, **HX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "revoked" in page and "access changed" in page
    assert MagicLink.objects.get().revoked_reason == fc.REVOKE_FILE_ACCESS_CHANGED
    assert AuditEvent.objects.filter(action=c.AUDIT_FILE_ACCESS).count() == 1
    manager.post(f"/h/acme/files/{link_file.id}/edit/", {"access": "link"}, **HX)
    page = manager.get("/h/acme/files/").content.decode()
    assert "Regenerate and email" in page


def test_extending_expiry_inline_shows_the_expiry_that_applies(manager, link_file):
    new = (timezone.now() + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M")
    response = manager.post(f"/h/acme/files/{link_file.id}/edit/", {"access": "link", "expires_at": new}, **HX)
    assert response.status_code == 200
    assert "expires in 40 days" in response.content.decode()
    response = manager.post(f"/h/acme/files/{link_file.id}/edit/", {"expires_at": "garbage"}, **HX)
    assert response.status_code == 400 and "ISO 8601" in response.content.decode()


def test_mint_list_and_revoke_links(manager, link_file, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(f"/h/acme/files/{link_file.id}/links/", {"email": "ana@agency.example", "send": "1"}, **HX)
    page = response.content.decode()
    assert response.status_code == 200 and "Copy it now" in page and "?token=" in page
    assert len(mail.outbox) == 1
    link = MagicLink.objects.get()
    response = manager.post(f"/h/acme/files/{link_file.id}/links/{link.id}/revoke/", **HX)
    assert "revoked" in response.content.decode()
    link.refresh_from_db()
    assert link.revoked_reason == fc.REVOKE_BY_MEMBER
    response = manager.post(f"/h/acme/files/{link_file.id}/links/", {"email": "nope"}, **HX)
    assert response.status_code == 400 and "valid email" in response.content.decode()


def test_delete_with_confirmation_removes_the_file(manager, public_file):
    page = manager.get("/h/acme/files/").content.decode()
    assert "hx-confirm=\"Delete logo.png?" in page and "data-confirm=\"Delete logo.png?" in page
    response = manager.post(f"/h/acme/files/{public_file.id}/delete/", **HX)
    assert response.status_code == 200 and "Deleted <strong>logo.png</strong>" in response.content.decode()
    assert not File.objects.exists()
    assert manager.post(f"/h/acme/files/{public_file.id}/delete/").status_code == 404


def test_docs_access_form_saves_and_shows_field_errors_and_warnings(manager, users):
    response = manager.post("/h/acme/docs-access/", {"visibility": "partners"}, **HX)
    assert response.status_code == 400
    assert "needs at least one partner email or domain" in response.content.decode()
    response = manager.post(
        "/h/acme/docs-access/",
        {"visibility": "partners", "partner_domains": "agency.example\ngmail.com", "confidential_paths": "/finance/*"},
        **HX,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Too open" in page and "gmail.com" in page and "policy_too_permissive" not in page
    policy = DocsAccessPolicy.objects.get()
    assert policy.version == 1 and policy.updated_by == users["partnerships"]
    assert manager.post("/h/acme/docs-access/", {"visibility": "members"}).status_code == 302


def test_overview_panel_shows_counts_and_expiring_files(handle, users, link_file, public_file):
    from django.template.loader import render_to_string

    from files.selectors import overview_panel

    File.objects.filter(pk=link_file.pk).update(expires_at=timezone.now() + timedelta(days=3))
    panel = overview_panel(handle=handle, membership=None)
    page = render_to_string(panel["template"], {"panel": panel["context"]})
    assert "2 files: 1 public, 1 by link, 0 private." in page
    assert "Media kit 2026" in page


def described_errors(html):
    """{field id: its linked error text} for every field marked invalid; ids must be unique."""
    tree = HTMLParser(html)
    ids = [node.attributes["id"] for node in tree.css("[id]")]
    assert len(ids) == len(set(ids)), f"duplicate ids: {sorted({i for i in ids if ids.count(i) > 1})}"
    out = {}
    for field in tree.css('[aria-invalid="true"]'):
        errors = [tree.css_first(f"#{ref}") for ref in (field.attributes.get("aria-describedby") or "").split()]
        errors = [e for e in errors if e is not None and "field-error" in (e.attributes.get("class") or "")]
        assert errors, f"{field.attributes.get('id')} is invalid but no error text is linked to it"
        out[field.attributes["id"]] = " ".join(e.text(strip=True) for e in errors)
    return out


def test_field_errors_are_linked_to_their_fields(manager, link_file, public_file):
    response = manager.post("/h/acme/files/upload/", {"recipients": "not-an-address"}, **HX)
    assert response.status_code == 400
    errors = described_errors(response.content.decode())
    assert "Choose a file to upload." in errors["upload-file"]

    upload = SimpleUploadedFile("kit.pdf", PDF)
    response = manager.post("/h/acme/files/upload/", {"file": upload, "access": "link", "recipients": "not-an-address"}, **HX)
    assert response.status_code == 400
    assert "not-an-address" in described_errors(response.content.decode())["upload-recipients"]

    # A file card: the ids carry the file's id, so two cards on one page never share one.
    response = manager.post(f"/h/acme/files/{link_file.id}/edit/", {"access": "link", "expires_at": "garbage"}, **HX)
    assert response.status_code == 400
    assert "ISO 8601" in described_errors(response.content.decode())[f"expires-{link_file.id}"]
    response = manager.post(f"/h/acme/files/{link_file.id}/links/", {"email": "nope"}, **HX)
    assert response.status_code == 400
    assert "valid email" in described_errors(response.content.decode())[f"ml-email-{link_file.id}"]
    described_errors(manager.get("/h/acme/files/").content.decode())

    response = manager.post("/h/acme/docs-access/", {"visibility": "members", "starts_at": "garbage", "confidential_paths": "no-slash"}, **HX)
    assert response.status_code == 400
    errors = described_errors(response.content.decode())
    assert "ISO 8601" in errors["starts-at"] and "must start with '/'" in errors["confidential-paths"]
    response = manager.post("/h/acme/docs-access/", {"visibility": "bogus"}, **HX)
    assert response.status_code == 400
    fieldset = HTMLParser(response.content.decode()).css_first('fieldset[aria-describedby="visibility-error"]')
    assert fieldset is not None and fieldset.css_first("#visibility-error.field-error").text(strip=True)
