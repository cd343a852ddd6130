"""The docs access form: "Anyone" is confirmed before saving, warnings show live from the same
service that computes them on save, and a confidential path that matches no page is warned about."""

import pytest
from django.test import Client
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from files import constants as fc
from files import docs, services
from files.models import DocsAccessPolicy
from tests.files.conftest import DOCS_PAGES, make_docs

HX = {"HTTP_HX_REQUEST": "true"}
PAGE = "/h/acme/docs-access/"
WARNINGS = "/h/acme/docs-access/warnings/"


@pytest.fixture
def manager(users):
    client = Client()
    client.force_login(users["partnerships"])
    return client


@pytest.fixture
def live_docs(handle, users):
    return make_docs(handle, users["owner"], DOCS_PAGES)


def test_a_confidential_path_that_matches_no_page_is_warned_about(handle, live_docs, users):
    policy = services.docs_policy_update(handle=handle, actor=users["owner"], data={"confidential_paths": ["/finance/*", "/finanse/*", "/board.html"]})
    codes = {w["code"]: w for w in docs.policy_warnings(handle=handle, policy=policy)}
    assert codes[fc.WARNING_CONFIDENTIAL_PATH_UNUSED]["paths"] == ["/finanse/*"]
    assert fc.WARNING_CONFIDENTIAL_NOT_COVERED not in codes
    # Without a docs deployment nothing can be said about matches.
    assert not any(w["code"] == fc.WARNING_CONFIDENTIAL_PATH_UNUSED for w in docs.policy_warnings(handle=handle, policy=policy, pages=[]))


def test_the_api_reports_the_unused_path_warning(api, users, live_docs):
    response = api(users["partnerships"]).put("/v2/handles/acme/internal-docs/access", {"confidential_paths": ["/nope/*"]}, format="json")
    assert response.status_code == 200
    assert [w["paths"] for w in response.json()["warnings"] if w["code"] == fc.WARNING_CONFIDENTIAL_PATH_UNUSED] == [["/nope/*"]]


def test_warnings_are_shown_live_before_saving_in_words(manager, live_docs):
    response = manager.post(WARNINGS, {"visibility": "partners", "partner_domains": "gmail.com", "confidential_paths": "/finanse/*"}, **HX)
    assert response.status_code == 200
    alert = HTMLParser(response.content.decode()).css_first('[role="alert"]')
    assert alert.css_first("h2").text() == "Check this policy before saving"
    titles = [li.css_first("strong").text() for li in alert.css("li")]
    assert titles == ["Too open", "Confidential pages without a confidential path", "A confidential path matches no page"]
    text = alert.text()
    assert "gmail.com" in text and "/finanse/*" in text and "/board.html" in text
    assert "policy_too_permissive" not in text and "confidential_not_covered" not in text
    assert not DocsAccessPolicy.objects.filter(version__gt=0).exists()  # nothing saved
    # Settings with nothing to warn about say so; invalid ones show no stale warnings.
    calm = manager.post(WARNINGS, {"visibility": "members", "confidential_paths": "/finance/*\n/board.html"}, **HX).content.decode()
    assert "No warnings for these settings." in calm
    invalid = manager.post(WARNINGS, {"visibility": "partners"}, **HX).content.decode()
    assert 'role="alert"' not in invalid and "No warnings" not in invalid


def test_the_live_warnings_are_wired_to_the_form(manager, live_docs):
    tree = HTMLParser(manager.get(PAGE).content.decode())
    trigger = tree.css_first("[hx-post='/h/acme/docs-access/warnings/']")
    assert trigger.attributes["hx-include"] == "#docs-policy-form" and trigger.attributes["hx-target"] == "#policy-warnings"
    assert "change from:#docs-policy-form" in trigger.attributes["hx-trigger"]


def test_live_warnings_need_a_member(client, users, outsider):
    assert client.post(WARNINGS, {}, **HX).status_code == 302
    client.force_login(outsider)
    assert client.post(WARNINGS, {}, **HX).status_code == 404


def test_switching_to_anyone_is_confirmed_before_it_is_saved(manager, handle, live_docs):
    response = manager.post(PAGE, {"visibility": "public"}, **HX)
    assert response.status_code == 400
    tree = HTMLParser(response.content.decode())
    assert "signs every partner out" in tree.css_first("#visibility-error").text()
    assert tree.css_first("input[name=confirm_public]") is not None
    assert "checked" in tree.css_first("input[name=visibility][value=public]").attributes
    assert not DocsAccessPolicy.objects.filter(handle=handle, visibility="public").exists()
    response = manager.post(PAGE, {"visibility": "public", "confirm_public": "1"}, **HX)
    assert response.status_code == 200
    assert DocsAccessPolicy.objects.get(handle=handle).visibility == "public"
    # Already public: saving again needs no confirmation.
    assert manager.post(PAGE, {"visibility": "public", "confidential_paths": "/finance/*"}, **HX).status_code == 200
