"""One dashboard protocol: a page or its fragment from one helper, one list of swapped
statuses shared by the server and app.js, service refusals placed on form fields."""

import re
from pathlib import Path

import pytest
from django.test import RequestFactory

from gharart.dashboard import SWAPPED_STATUSES, apply_error, swap_status
from gharart.errors import ApplicationError
from gharart.forms import TokenCreateForm

APP_JS = Path(__file__).resolve().parents[2] / "static" / "gharart" / "app.js"


@pytest.mark.django_db
def test_every_page_hands_app_js_the_server_list_of_swapped_statuses(client, users):
    client.force_login(users["owner"])
    html = client.get("/settings/tokens/").content.decode()
    listed = re.search(r'data-swap-statuses="([^"]*)"', html).group(1)
    assert tuple(int(s) for s in listed.split()) == SWAPPED_STATUSES
    # app.js reads that list and keeps no copy of its own.
    assert "data-swap-statuses" in APP_JS.read_text()
    assert not re.search(r"status\s*===\s*4\d\d", APP_JS.read_text())


def test_an_htmx_request_gets_a_swapped_status_and_a_plain_one_the_real_status():
    htmx = RequestFactory().get("/", HTTP_HX_REQUEST="true")
    from django_htmx.middleware import HtmxDetails

    htmx.htmx = HtmxDetails(htmx)
    plain = RequestFactory().get("/")
    plain.htmx = HtmxDetails(plain)
    assert swap_status(htmx, 404) == 400 and swap_status(htmx, 409) == 409
    assert swap_status(plain, 404) == 404 and swap_status(htmx, 200) == 200


@pytest.mark.django_db
def test_htmx_gets_only_the_fragment_and_a_plain_request_the_whole_page(client, users):
    client.force_login(users["owner"])
    page = client.get("/settings/tokens/").content.decode()
    fragment = client.get("/settings/tokens/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" in page and 'id="tokens-section"' in page
    assert "<html" not in fragment and fragment.strip().startswith('<div id="tokens-section">')


@pytest.mark.django_db
def test_a_refused_htmx_form_comes_back_as_its_fragment_with_errors_on_the_fields(client, users):
    client.force_login(users["owner"])
    response = client.post("/settings/tokens/", {"name": "ci", "scopes": ["sites:read"], "expires_at": "2001-01-01"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" not in html and "The expiry must be in the future." in html
    assert 'value="ci"' in html  # what was typed is kept
    bad_date = client.post("/settings/tokens/", {"name": "ci", "scopes": ["sites:read"], "expires_at": "31/12"}, HTTP_HX_REQUEST="true")
    assert bad_date.status_code == 400 and "Enter a valid date." in bad_date.content.decode()


@pytest.mark.django_db
def test_apply_error_puts_details_on_fields_and_anything_else_on_the_form(users):
    form = TokenCreateForm({"name": "x"}, user=users["owner"])
    assert form.is_valid()
    apply_error(form, ApplicationError("validation_error", "The token could not be created.", details={"name": ["Too short."], "nonsense": "Odd."}))
    assert form.errors["name"] == ["Too short."] and form.non_field_errors() == ["Odd."]
    other = TokenCreateForm({"name": "x"}, user=users["owner"])
    other.is_valid()
    apply_error(other, ApplicationError("quota_exceeded", "Daily limit reached."))
    assert other.non_field_errors() == ["Daily limit reached."] and "name" not in other.errors


# Every dashboard page speaks the protocol: the app packages whose views are converted.
# (deployments joins this list once its pages are converted.)
PROTOCOL_APPS = ("deployments", "files", "siteintel", "support", "domains", "gharart")
ROOT = Path(__file__).resolve().parents[2]
# ``"a/_b.html" if request.htmx else "a/b.html"`` (either way round).
HTMX_CHOOSES_TEMPLATE = re.compile(r"""\.html["']\s+if\s+(?:not\s+)?request\.htmx\b|\bif\s+(?:not\s+)?request\.htmx\s+else\s+["'][^"'\n]*\.html""")
RENDERS_A_PARTIAL_FILE = re.compile(r"""\brender(?:_to_string)?\(\s*(?:request\s*,\s*)?["'][\w/]*/_[\w.-]+\.html["']""")


def _view_modules():
    for app in PROTOCOL_APPS:
        for path in sorted([*(ROOT / app).glob("*.py"), *(ROOT / app).glob("views/*.py")]):
            if "views" in path.stem or path.parent.name == "views" or path.stem.startswith("dashboard"):
                yield path


def test_the_view_modules_are_listed_at_all():
    names = {f"{p.parent.name}/{p.name}" for p in _view_modules()}
    assert {"files/dashboard_views.py", "siteintel/views.py", "support/views.py", "domains/dashboard_views.py", "gharart/views.py", "views/releases.py"} <= names


@pytest.mark.parametrize("path", list(_view_modules()), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_view_chooses_a_partial_template_itself(path):
    """Pages answer through ``render_page`` and a ``{% partialdef %}``: no view picks a
    template by ``request.htmx`` or renders a ``_section.html`` file of its own."""
    source = path.read_text()
    assert not HTMX_CHOOSES_TEMPLATE.search(source), HTMX_CHOOSES_TEMPLATE.search(source).group(0)
    assert not RENDERS_A_PARTIAL_FILE.search(source), RENDERS_A_PARTIAL_FILE.search(source).group(0)


def test_the_source_check_catches_the_old_way():
    assert HTMX_CHOOSES_TEMPLATE.search('template = "a/_b.html" if request.htmx else "a/b.html"')
    assert HTMX_CHOOSES_TEMPLATE.search('name = page if not request.htmx else "a/_b.html"')
    assert not HTMX_CHOOSES_TEMPLATE.search("status = exc.status if request.htmx else 400")
    assert RENDERS_A_PARTIAL_FILE.search('return render(request, "siteintel/_jobs.html", context)')
    assert not RENDERS_A_PARTIAL_FILE.search('return render_page(request, "siteintel/site_intel.html", context, fragment="crawl-jobs")')


@pytest.mark.django_db
@pytest.mark.parametrize("url, fragment_start", [
    ("/h/acme/audit/", '<div id="audit-table"'),
    ("/support/", '<div id="support-section">'),
    ("/h/acme/domains/", '<div id="domains-section"'),
    ("/h/acme/files/", '<div id="files-section">'),
    ("/h/acme/docs-access/", '<div id="docs-access-section">'),
    ("/h/acme/site-intel/snapshot/", '<section class="card" id="snapshot"'),
    ("/h/acme/site-intel/history/", '<section class="card" id="crawl-history"'),
])
def test_each_page_answers_htmx_with_only_its_fragment(client, users, url, fragment_start):
    client.force_login(users["owner"])
    page = client.get(url)
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.content.decode() and fragment_start in page.content.decode()
    html = fragment.content.decode()
    assert "<html" not in html and html.lstrip().startswith(fragment_start), html[:120]
