"""The deployment page's "Site rules" card: rules found, skipped lines in words, and "test a path"."""

import html as htmllib

import pytest

from .conftest import HX, SITE_V1, body, create

pytestmark = pytest.mark.django_db

REDIRECTS = b"/old /about 301\n/blog/* /news/:splat 302\n/app/* /index.html 200\n/force /about.html 302!\nnot a rule\n/x /y 299\n"
HEADERS = b"/*\n  X-Frame-Options: ALLOWALL\n  Referrer-Policy: no-referrer\n"
WITH_RULES = {**SITE_V1, "_redirects": REDIRECTS, "_headers": HEADERS}


def page(dep):
    return f"/h/acme/deployments/{dep.id}/"


def test_the_page_lists_the_rules_and_the_skipped_lines_in_words(login, handle, users):
    dep = create(handle, WITH_RULES, actor=users["web_manager"])
    html = htmllib.unescape(body(login("viewer").get(page(dep))))
    assert "Site rules" in html
    assert "4 redirect rules from _redirects" in html.replace("<code>", "").replace("</code>", "")
    assert "2 lines of" in html and "Line 5: FROM must be a path starting with a single /" in html
    assert "Line 6: “299” is not one of the statuses" in html
    assert "Line 2: X-Frame-Options is set by the platform" in html
    assert "Redirect (301), where no file exists" in html
    assert "Serves the target at the same address" in html and "even where a file exists" in html
    assert "redirects_invalid" not in html  # codes stay out of the prose


def test_a_deployment_without_rule_files_says_so(login, handle, users):
    dep = create(handle, actor=users["web_manager"])
    html = htmllib.unescape(body(login("viewer").get(page(dep))))
    assert "has no _redirects or _headers file" in html.replace("<code>", "").replace("</code>", "")


@pytest.mark.parametrize(
    "path,expected",
    [
        ("/old?utm=1", "Redirected with status 301 to /about?utm=1 by line 1 of _redirects"),
        ("/blog/2024/post", "Redirected with status 302 to /news/2024/post by line 2"),
        ("/app/settings", "/index.html is served (status 200, the address stays the same), by line 3"),
        ("/about", "The file /about.html answers (status 200); no rule applies."),
        ("/force", "Redirected with status 302 to /about.html by line 4"),
        ("/css", "No file and no rule answers"),
        ("/_redirects", "never served"),
        ("about", "The file /about.html answers"),
    ],
)
def test_test_a_path_says_which_rule_or_file_answers(login, handle, users, path, expected):
    dep = create(handle, WITH_RULES, actor=users["web_manager"])
    r = login("viewer").get(f"{page(dep)}rules/test/", {"path": path}, **HX)
    assert r.status_code == 200
    assert expected in htmllib.unescape(body(r))
    assert "<html" not in body(r)  # the HTMX answer is the fragment only


def test_test_a_path_without_javascript_renders_the_whole_page(login, handle, users):
    dep = create(handle, WITH_RULES, actor=users["web_manager"])
    r = login("viewer").get(f"{page(dep)}rules/test/", {"path": "/old"})
    text = htmllib.unescape(body(r))
    assert r.status_code == 200 and "<html" in text and "Redirected with status 301 to /about" in text
    assert 'value="/old"' in text


def test_test_a_path_agrees_with_what_visitors_get(login, handle, users, client):
    from deployments.services.releases import deployment_preview_report, deployment_promote
    from gharart import constants as c

    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    dep = create(handle, WITH_RULES, actor=users["web_manager"])
    deployment_preview_report(deployment=dep, actor=users["web_manager"])
    deployment_promote(deployment=dep, actor=users["web_manager"], role="web_manager", reason="t")
    served = client.get("/profiles/acme/blog/a/b")
    said = htmllib.unescape(body(login("viewer").get(f"{page(dep)}rules/test/", {"path": "/blog/a/b"}, **HX)))
    assert served.status_code == 302 and served["Location"] == "/profiles/acme/news/a/b"
    assert "status 302 to /news/a/b" in said


@pytest.mark.parametrize(
    "path,message",
    [
        ("", "Enter a path of the site"),
        ("   ", "Enter a path of the site"),
        ("https://example.com/a", "Enter only the path"),
        ("/a\x01b", "control character"),
        ("/" + "a" * 1001, "at most 1000 characters"),
    ],
)
def test_test_a_path_validates_its_input(login, handle, users, path, message):
    dep = create(handle, WITH_RULES, actor=users["web_manager"])
    r = login("viewer").get(f"{page(dep)}rules/test/", {"path": path}, **HX)
    assert r.status_code == 400 and message in body(r) and 'role="alert"' in body(r)


def test_test_a_path_is_for_members_of_the_handle_only(client, handle, users, outsider):
    dep = create(handle, WITH_RULES, actor=users["web_manager"])
    client.force_login(outsider)
    assert client.get(f"{page(dep)}rules/test/", {"path": "/old"}, **HX).status_code == 404
    client.logout()
    r = client.get(f"{page(dep)}rules/test/", {"path": "/old"})
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
