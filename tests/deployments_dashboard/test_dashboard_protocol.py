"""The Deployments, Releases and Site pages speak the dashboard protocol: an HTMX request
gets the page's own ``{% partialdef %}`` fragment, a plain one the whole page; refusals
come back on the Django form's fields; no view picks a partial file of its own."""

from pathlib import Path

import pytest

from deployments.forms import BindingForm, LinksForm
from deployments.services.site import binding_create
from gharart import constants as c
from gharart.errors import ApplicationError

from .conftest import HX, go_live, zip_file

pytestmark = pytest.mark.django_db
APP = Path(__file__).resolve().parents[2] / "deployments"


def _fragment(response, opening):
    html = response.content.decode()
    assert "<html" not in html, "an HTMX request got the whole page"
    assert html.strip().startswith(opening), html.strip()[:200]
    return html


def test_every_page_is_whole_to_a_plain_request_and_its_fragment_to_htmx(manager, handle):
    dep = go_live(handle)
    base = f"/h/{handle.slug}"
    for url, opening in [
        (f"{base}/deployments/", '<section id="history"'),
        (f"{base}/deployments/{dep.id}/", '<div id="deployment-main"'),
        (f"{base}/releases/", '<div id="releases"'),
    ]:
        assert "<html" in manager.get(url).content.decode()
        _fragment(manager.get(url, **HX), opening)
    row = manager.get(f"{base}/deployments/{dep.id}/row/", **HX)
    _fragment(row, f'<tr id="dep-{dep.id}"')
    summary = manager.get(f"{base}/deployments/{dep.id}/row/?part=summary", **HX)
    _fragment(summary, '<div id="created-summary"')
    rules = manager.get(f"{base}/deployments/{dep.id}/rules/test/?path=/about", **HX)
    assert rules.status_code == 200 and "<html" not in rules.content.decode()


def test_site_actions_answer_their_own_section(manager, handle):
    base = f"/h/{handle.slug}/site"
    _fragment(manager.post(f"{base}/mode/", {"mode": c.SITE_MODE_LINKS}, **HX), '<section id="site-mode"')
    refused = manager.post(f"{base}/mode/", {"mode": "nonsense"}, **HX)
    assert refused.status_code == 400
    assert "Choose one of:" in _fragment(refused, '<section id="site-mode"')
    links = manager.post(f"{base}/links/", {"display_name": "Acme", "bio": "", "link_label": ["ok", ""], "link_url": ["https://a.example", "ftp://x"]}, **HX)
    assert links.status_code == 400
    html = _fragment(links, '<section id="links-editor"')
    assert 'id="link-url-2" name="link_url" maxlength="500" value="ftp://x" placeholder="https://…" inputmode="url" aria-invalid="true"' in html
    assert 'id="link-url-1" name="link_url" maxlength="500" value="https://a.example" placeholder="https://…" inputmode="url">' in html
    binding = manager.post(f"{base}/bindings/", {"route": "/go", "methods": ["GET"], "function": "redirect", "redirect_location": "nowhere", "redirect_status": "302"}, **HX)
    assert binding.status_code == 400
    html = _fragment(binding, '<section id="bindings"')
    assert 'id="binding-redirect-location-error">a site path starting with / or an http(s) URL.</p>' in html


def test_a_refused_upload_keeps_what_was_typed_and_names_the_field(manager, handle):
    response = manager.post(f"/h/{handle.slug}/deployments/upload/", {"artifact": zip_file({}), "target": "docs", "message": "Empty"}, **HX)
    assert response.status_code == 422
    html = _fragment(response, '<div id="deployments-section">')
    assert 'id="upload-artifact-error"' in html and 'value="Empty"' in html
    assert '<option value="docs" selected>' in html


def test_binding_form_hands_the_service_typed_config_and_config_refusals_land_on_fields(handle):
    form = BindingForm({"route": "/api", "methods": ["POST"], "function": "json", "json_body": '{"ok": true}', "json_status": "201"})
    assert form.is_valid()
    values = form.service_values()
    assert values["config"] == {"body": {"ok": True}, "status": 201} and values["deployment_id"] is None
    binding_create(handle=handle, **values)
    bad = BindingForm({"route": "/x", "methods": ["GET"], "function": "redirect", "redirect_location": "", "redirect_status": "399"})
    assert bad.is_valid()
    try:
        binding_create(handle=handle, **bad.service_values())
    except ApplicationError as exc:
        bad.apply_error(exc)
    assert bad.errors["redirect_location"] == ["the URL or site path to redirect to."]
    assert bad.errors["redirect_status"] == ["one of 301, 302, 307, 308."]
    assert not BindingForm({"function": "json", "json_body": "{nope"}).is_valid()


def test_links_form_reads_the_rows_and_starts_with_one_empty_row(handle):
    handle.links = []
    assert LinksForm(handle=handle).rows == [{"label": "", "url": ""}]


def test_no_view_chooses_a_partial_file_or_maps_errors_by_their_words():
    for path in (APP / "views").glob("*.py"):
        text = path.read_text()
        assert "import re\n" not in text and "_page_or_partial" not in text and "_status_for" not in text, path
        assert "if request.htmx else" not in text, path
    gone = ["_deployments_section.html", "_history.html", "_deployment_main.html", "_releases.html", "_site_mode.html", "_links_editor.html", "_bindings.html"]
    for name in gone:
        assert not (APP / "templates" / "deployments" / name).exists(), name


def test_time_fields_become_utc_datetimes_and_bad_text_goes_on_for_the_service_to_refuse():
    from datetime import UTC, datetime

    from deployments.forms import PublishingLockForm, ScheduleForm

    form = ScheduleForm({"at": "2030-01-01T09:00:00Z", "at_local": "2030-01-01T10:00", "reason": "launch"})
    assert form.is_valid() and form.service_values() == {"at": datetime(2030, 1, 1, 9, tzinfo=UTC), "reason": "launch"}
    local_only = ScheduleForm({"at_local": "2030-01-01T10:00"})
    assert local_only.is_valid() and local_only.cleaned_data["at"] == datetime(2030, 1, 1, 10, tzinfo=UTC)
    bad = PublishingLockForm({"locked": "1", "reason": "", "until_local": "soon"})
    assert bad.is_valid() and bad.service_values() == {"locked": True, "reason": "", "until": "soon"}
    lift = PublishingLockForm({"locked": "0"})
    assert lift.is_valid() and lift.service_values() == {"locked": False, "reason": "", "until": None}
