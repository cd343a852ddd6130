"""The share landing page, passwords on shared files, expiry in words and audited sharing changes."""

from datetime import UTC, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from files import constants as fc
from files import services
from files.models import File
from gharart import constants as c
from gharart.humanize import duration_words
from gharart.models import AuditEvent
from tests.conftest import assert_error
from tests.files.conftest import PDF, PNG, make_file, mint, url

HTML = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _iso(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def body_of(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def locked_file(handle, partner_manager):
    file = make_file(handle, partner_manager, data=PNG, name="moodboard.png", access=fc.ACCESS_PUBLIC)
    return services.file_update(file=file, actor=partner_manager, password="open sesame")


@pytest.fixture
def manager_client(partner_manager):
    browser = Client()
    browser.force_login(partner_manager)
    return browser


@pytest.fixture
def password_limits(settings):
    # Day-long windows: no window boundary can fall inside a test.
    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "file_password_ip_failures": "3/day", "file_password_file_failures": "5/day"}


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "1 minute"), (59, "1 minute"), (61, "1 minute"), (150, "3 minutes"), (3 * 3600 + 60, "3 hours"),
     (30 * 3600, "30 hours"), (2 * 86400 + 5, "2 days"), (10 * 86400 - 2, "10 days")],
)
def test_durations_read_in_the_nearest_unit(seconds, words):
    assert duration_words(seconds) == words


# --- Landing page -----------------------------------------------------------------------------


def test_a_browser_gets_the_landing_page_and_scripts_the_bytes(client, public_file):
    response = client.get(url(public_file), **HTML)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "no-store"
    tree = HTMLParser(response.content.decode())
    assert tree.css_first("h1").text() == "logo.png"
    facts = tree.css_first("dl.facts").text()
    assert "logo.png" in facts and "image/png" in facts and "Acme Homeware" in facts and "with no end date" in facts
    button = tree.css_first("a.button.primary")
    assert button.text() == "Download" and button.attributes["href"] == f"{url(public_file)}?download=1"
    # An image is previewed with an <img> of the same bytes.
    assert tree.css_first("img").attributes["src"] == f"{url(public_file)}?download=1"
    public_file.refresh_from_db()
    assert public_file.download_count == 0  # the page is not a download
    # The button (a browser, Accept: text/html) gets the bytes; so does any other client at once.
    assert body_of(client.get(f"{url(public_file)}?download=1", **HTML)) == PNG
    assert body_of(client.get(url(public_file), HTTP_ACCEPT="*/*")) == PNG
    assert body_of(client.get(url(public_file))) == PNG


def test_a_magic_link_lands_on_a_page_naming_the_recipient_and_keeping_the_token(client, link_file):
    _, token = mint(link_file)
    response = client.get(url(link_file, token), **HTML)
    assert response.status_code == 200 and response["Referrer-Policy"] == "same-origin"
    tree = HTMLParser(response.content.decode())
    assert "ana@agency.example" in tree.body.text()
    assert tree.css_first("h1").text() == "Media kit 2026"
    assert "until it expires in 10 days" in tree.css_first("dl.facts").text()
    href = tree.css_first("a.button.primary").attributes["href"]
    assert f"token={token}" in href and "download=1" in href
    assert tree.css_first("img") is None  # no preview of a PDF
    assert body_of(client.get(href, **HTML)) == PDF
    # Without the token the page is still the contract's error (same status).
    assert client.get(url(link_file), **HTML).status_code == 403


def test_no_preview_for_svg_or_for_a_file_with_a_download_limit(client, handle, partner_manager):
    svg = make_file(handle, partner_manager, data=b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', name="x.svg", access=fc.ACCESS_PUBLIC)
    assert HTMLParser(client.get(url(svg), **HTML).content.decode()).css_first("img") is None
    limited = make_file(handle, partner_manager, data=PNG, name="one.png", access=fc.ACCESS_PUBLIC, max_downloads=2)
    page = HTMLParser(client.get(url(limited), **HTML).content.decode())
    assert page.css_first("img") is None and "2 of 2" in page.css_first("dl.facts").text()


def test_an_expiry_a_minute_away_reads_in_minutes(client, manager_client, handle, partner_manager):
    soon = make_file(handle, partner_manager, data=PNG, name="soon.png", access=fc.ACCESS_PUBLIC, expires_at=timezone.now() + timedelta(seconds=75))
    later = make_file(handle, partner_manager, data=PNG, name="later.png", access=fc.ACCESS_PUBLIC, expires_at=timezone.now() + timedelta(hours=3, minutes=5))
    assert "until it expires in 1 minute" in client.get(url(soon), **HTML).content.decode()
    page = manager_client.get("/h/acme/files/").content.decode()
    assert "expires in 1 minute" in page and "expires in 3 hours" in page and "expires in 1 day" not in page
    assert later.id in page


# --- Passwords --------------------------------------------------------------------------------


def test_a_password_is_set_hashed_and_cleared_through_the_api(api, users, public_file):
    manager = api(users["partnerships"])
    response = manager.patch(f"/v2/handles/acme/files/{public_file.id}", {"password": "correct horse"}, format="json")
    assert response.status_code == 200 and response.json()["password_protected"] is True
    assert "password" not in response.json()
    public_file.refresh_from_db()
    assert public_file.password_hash and "correct horse" not in public_file.password_hash
    assert public_file.password_hash.startswith(("pbkdf2", "argon2", "md5", "bcrypt", "scrypt"))
    event = AuditEvent.objects.get(action=c.AUDIT_FILE_PASSWORD)
    assert event.before == {"password": "none"} and event.after == {"password": "set"}
    assert "correct horse" not in str(event.after) + str(event.before)
    assert_error(manager.patch(f"/v2/handles/acme/files/{public_file.id}", {"password": "abc"}, format="json"), 400, c.VALIDATION_ERROR)
    response = manager.patch(f"/v2/handles/acme/files/{public_file.id}", {"password": None}, format="json")
    assert response.json()["password_protected"] is False
    assert body_of(api().get(url(public_file))) == PNG


def test_scripts_send_the_password_in_a_header(api, locked_file):
    body = assert_error(api().get(url(locked_file)), 403, fc.FILE_PASSWORD_REQUIRED)
    assert "X-File-Password" in body["message"]
    assert_error(api().get(url(locked_file), HTTP_X_FILE_PASSWORD="wrong guess"), 403, fc.FILE_PASSWORD_INVALID)
    response = api().get(url(locked_file), HTTP_X_FILE_PASSWORD="open sesame")
    assert response.status_code == 200 and body_of(response) == PNG
    # HEAD and ranges need it too.
    assert api().head(url(locked_file)).status_code == 403
    assert api().get(url(locked_file), HTTP_RANGE="bytes=0-3").status_code == 403
    locked_file.refresh_from_db()
    assert locked_file.download_count == 1


def test_a_browser_unlocks_with_the_form_once(locked_file):
    browser = Client(enforce_csrf_checks=True)
    response = browser.get(url(locked_file), **HTML)
    assert response.status_code == 403
    tree = HTMLParser(response.content.decode())
    assert "protected by a password" in tree.css_first("h1").text()
    assert tree.css_first("img") is None and "moodboard.png" not in response.content.decode()  # nothing shown before the password
    form = tree.css_first("form")
    csrf = form.css_first("input[name=csrfmiddlewaretoken]").attributes["value"]
    # The download itself is locked too: a browser gets the form again.
    assert browser.get(f"{url(locked_file)}?download=1", **HTML).status_code == 403
    wrong = browser.post(form.attributes["action"], {"password": "nope!!", "csrfmiddlewaretoken": csrf}, **HTML)
    assert wrong.status_code == 403 and "The password is not right." in wrong.content.decode()
    right = browser.post(form.attributes["action"], {"password": "open sesame", "csrfmiddlewaretoken": csrf}, **HTML)
    assert right.status_code == 303 and right["Location"] == url(locked_file)
    cookie = right.cookies[fc.FILE_UNLOCK_COOKIE_PREFIX + locked_file.id]
    assert cookie["httponly"] and cookie["path"] == url(locked_file)
    page = browser.get(url(locked_file), **HTML)
    assert page.status_code == 200 and "moodboard.png" in page.content.decode()
    assert body_of(browser.get(f"{url(locked_file)}?download=1", **HTML)) == PNG
    # A new password ends every unlock at once.
    services.file_update(file=locked_file, actor=None, password="another secret")
    assert browser.get(url(locked_file), **HTML).status_code == 403
    assert browser.get(f"{url(locked_file)}?download=1").status_code == 403


def test_the_unlock_form_needs_csrf_and_post(locked_file):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(f"{url(locked_file)}/password", {"password": "open sesame"}).status_code == 403
    assert browser.get(f"{url(locked_file)}/password").status_code == 405


def test_a_link_mode_file_needs_its_token_and_its_password(api, link_file, partner_manager):
    services.file_update(file=link_file, actor=partner_manager, password="kit password")
    _, token = mint(link_file)
    assert_error(api().get(url(link_file), HTTP_X_FILE_PASSWORD="kit password"), 403, fc.MAGIC_LINK_REQUIRED)
    assert_error(api().get(url(link_file, token)), 403, fc.FILE_PASSWORD_REQUIRED)
    assert body_of(api().get(url(link_file, token), HTTP_X_FILE_PASSWORD="kit password")) == PDF


def test_wrong_passwords_are_throttled_per_address(api, locked_file, password_limits):
    for _ in range(3):
        assert_error(api().get(url(locked_file), HTTP_X_FILE_PASSWORD="guess123"), 403, fc.FILE_PASSWORD_INVALID)
    # Over the limit even the right password is refused: a guesser learns nothing.
    response = api().get(url(locked_file), HTTP_X_FILE_PASSWORD="open sesame")
    assert_error(response, 429, c.RATE_LIMITED)
    assert response["Retry-After"]
    # Another address is not affected.
    assert api().get(url(locked_file), HTTP_X_FILE_PASSWORD="open sesame", REMOTE_ADDR="10.9.9.9").status_code == 200


def test_wrong_passwords_are_throttled_per_file_from_any_address(api, locked_file, public_file, password_limits, partner_manager):
    for n in range(5):
        assert_error(api().get(url(locked_file), HTTP_X_FILE_PASSWORD="guess123", REMOTE_ADDR=f"10.0.0.{n + 1}"), 403, fc.FILE_PASSWORD_INVALID)
    assert_error(api().get(url(locked_file), HTTP_X_FILE_PASSWORD="open sesame", REMOTE_ADDR="10.0.1.1"), 429, c.RATE_LIMITED)
    # Another file with a password is not affected.
    services.file_update(file=public_file, actor=partner_manager, password="logo secret")
    assert api().get(url(public_file), HTTP_X_FILE_PASSWORD="logo secret", REMOTE_ADDR="10.0.1.1").status_code == 200


# --- Audit ------------------------------------------------------------------------------------


def test_expiry_limit_and_recipient_changes_and_new_links_are_audited(link_file, partner_manager):
    services.file_update(file=link_file, actor=partner_manager, max_downloads=5, recipients=["@agency.example"], title="Same audit? no")
    event = AuditEvent.objects.get(action=c.AUDIT_FILE_SHARING)
    assert event.before == {"max_downloads": None, "recipients": ["@agency.example", "pat@partner.example"]}
    assert event.after == {"max_downloads": 5, "recipients": ["@agency.example"]}
    assert event.actor == partner_manager and event.target == link_file.id
    new_expiry = timezone.now() + timedelta(days=30)
    services.file_update(file=link_file, actor=partner_manager, expires_at=new_expiry)
    expiry_events = [e for e in AuditEvent.objects.filter(action=c.AUDIT_FILE_SHARING) if "expires_at" in e.after]
    assert len(expiry_events) == 1 and set(expiry_events[0].after) == {"expires_at"}
    assert expiry_events[0].before == {"expires_at": _iso(link_file.expires_at)} and expiry_events[0].after["expires_at"] == _iso(new_expiry)
    # Saving the same values again records nothing.
    services.file_update(file=link_file, actor=partner_manager, max_downloads=5)
    assert AuditEvent.objects.filter(action=c.AUDIT_FILE_SHARING).count() == 2
    link, _ = services.magic_link_mint(file=link_file, email="ana@agency.example", actor=partner_manager)
    event = AuditEvent.objects.get(action=c.AUDIT_MAGIC_LINK_CREATE)
    assert event.target == link.id and event.after["email"] == "ana@agency.example" and event.after["file"] == link_file.id
    assert File.objects.get(pk=link_file.pk).max_downloads == 5


def test_the_expired_page_gives_the_time_in_words_not_iso(client, public_file):
    when = timezone.now().replace(microsecond=0) - timedelta(days=2)
    File.objects.filter(pk=public_file.pk).update(expires_at=when)
    response = client.get(url(public_file), **HTML)
    assert response.status_code == 410
    shown = HTMLParser(response.content.decode()).css_first("time")
    assert shown.attributes["datetime"] == _iso(when)
    assert shown.text() == when.astimezone(UTC).strftime("%-d %b %Y, %H:%M UTC")
