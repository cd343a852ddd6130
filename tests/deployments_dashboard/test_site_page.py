"""The Site page: site mode with the mismatch diagnosis, the links editor, function bindings."""

import pytest
from django.test import Client

from deployments.models import FormSubmission, FunctionBinding
from deployments.services.site import binding_create
from gharart import constants as c

from .conftest import HX, SITE_V2, body, create, csrf_token_from, go_live

URL = "/h/acme/site/"


@pytest.fixture
def live(handle, users):
    return go_live(handle, actor=users["web_manager"])


# --- Site mode ---------------------------------------------------------------------------

def test_a_live_deployment_hidden_by_the_site_mode_is_diagnosed(manager, handle, live):
    html = manager.get(URL).content.decode()
    assert "Site mode mismatch." in html and "<code>site_mode_mismatch</code>" not in html
    assert "serves the links page instead of it" in html
    assert "<code>X-Gharart-Site-Mode: links</code>" in html
    assert "no <code>X-Gharart-Deployment</code> header" in html
    assert 'id="mode-links" name="mode" value="links" checked' in html


def test_switching_the_mode_serves_the_deployment_and_clears_the_warning(manager, handle, live, commit):
    with commit():
        response = manager.post(URL + "mode/", {"mode": "deployment"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="site-mode"') and "Site mode is now <strong>Deployed site</strong>" in html
    assert "Site mode mismatch." not in html
    served = Client().get("/profiles/acme/")
    assert served["X-Gharart-Site-Mode"] == "deployment" and served["X-Gharart-Deployment"] == live.id
    html = manager.get(URL).content.decode()
    assert f"<code>X-Gharart-Deployment: {live.id}</code>" in html

    with commit():
        response = manager.post(URL + "mode/", {"mode": "maintenance"}, **HX)
    # Maintenance is chosen on purpose: no mismatch warning, a note that the site stays live.
    html = response.content.decode()
    assert "Site mode mismatch." not in html and "Site mode is now <strong>Maintenance</strong>" in html
    assert f"v{live.version} stays live and visitors see it again" in html
    assert Client().get("/profiles/acme/").status_code == 503
    assert "Site mode mismatch." not in manager.get(URL).content.decode()


def test_deployment_mode_with_nothing_live_is_diagnosed(manager, handle):
    response = manager.post(URL + "mode/", {"mode": "deployment"}, **HX)
    html = response.content.decode()
    assert "no site deployment is live" in html and "Promote a site deployment" in html


def test_mode_switch_without_javascript_and_with_a_bad_value(manager, handle):
    response = manager.post(URL + "mode/", {"mode": "maintenance"})
    assert response.status_code == 302 and response["Location"] == URL + "?mode_saved=1#site-mode"
    handle.refresh_from_db()
    assert handle.site_mode == c.SITE_MODE_MAINTENANCE
    # The page it lands on says what the htmx swap says, in the same place.
    html = manager.get(response["Location"]).content.decode()
    assert "Site mode is now <strong>Maintenance</strong>" in html
    assert "Site mode is now" not in manager.get(URL).content.decode()
    response = manager.post(URL + "mode/", {"mode": "party"}, **HX)
    assert response.status_code == 400 and 'id="mode-error"' in response.content.decode()


def test_the_mode_switch_is_confirmed(manager, handle):
    html = manager.get(URL).content.decode()
    assert 'hx-confirm="Change what /profiles/acme/ serves? Visitors see the change at once."' in html
    assert 'data-confirm="Change what /profiles/acme/ serves? Visitors see the change at once."' in html


# --- Links page --------------------------------------------------------------------------

def test_the_links_editor_saves_what_the_links_page_shows(manager, handle, commit):
    with commit():
        response = manager.post(URL + "links/", {
            "display_name": "Acme Homeware", "bio": "Lamps and chairs.",
            "link_label": ["Shop", ""], "link_url": ["https://shop.acme.example", ""],
        }, **HX)
    assert response.status_code == 200 and "The links page is saved." in response.content.decode()
    handle.refresh_from_db()
    assert handle.links == [{"label": "Shop", "url": "https://shop.acme.example"}]
    page = body(Client().get("/profiles/acme/"))
    assert "Lamps and chairs." in page and "https://shop.acme.example" in page


def test_links_editor_validation_errors_point_at_the_row(manager, handle):
    response = manager.post(URL + "links/", {
        "display_name": "Acme", "bio": "",
        "link_label": ["Shop", "Blog"], "link_url": ["https://shop.acme.example", "javascript:alert(1)"],
    }, **HX)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Link 2 needs a label and an http(s) or mailto: URL." in html
    assert 'id="link-url-2" name="link_url" maxlength="500" value="javascript:alert(1)" placeholder="https://…" inputmode="url" aria-invalid="true" aria-describedby="links-errors"' in html
    assert 'id="link-url-1" name="link_url" maxlength="500" value="https://shop.acme.example" placeholder="https://…" inputmode="url">' in html
    handle.refresh_from_db()
    assert handle.links == []


def test_add_and_remove_rows_without_saving(manager, handle):
    data = {"display_name": "Acme", "bio": "", "link_label": ["Shop", "Blog"], "link_url": ["https://a.example", "https://b.example"]}
    html = manager.post(URL + "links/", {**data, "add_row": "1"}, **HX).content.decode()
    assert 'id="link-label-3"' in html and "Save to apply" in html
    html = manager.post(URL + "links/", {**data, "remove_row": "1"}, **HX).content.decode()
    assert 'value="https://a.example"' not in html and 'value="https://b.example"' in html and "Removed “Shop”" in html
    handle.refresh_from_db()
    assert handle.links == []
    response = manager.post(URL + "links/", data)
    assert response.status_code == 302 and response["Location"] == URL + "#links-editor"
    handle.refresh_from_db()
    assert [link["label"] for link in handle.links] == ["Shop", "Blog"]


# --- Function bindings -------------------------------------------------------------------

def test_create_a_form_capture_binding_and_see_its_submissions(manager, handle, live, commit):
    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    with commit():
        response = manager.post(URL + "bindings/", {
            "route": "/api/contact", "methods": ["POST"], "function": "form-capture",
            "form_success_path": "/about.html", "form_max_bytes": "2048", "deployment_id": "",
        }, **HX)
    html = response.content.decode()
    assert response.status_code == 200, html
    assert "Bound <code>POST /api/contact</code> to form capture." in html
    binding = FunctionBinding.objects.get()
    assert binding.config == {"success_path": "/about.html", "max_bytes": 2048} and binding.follows_live
    assert 'badge ok">Active' in html and "Follows what is live" in html

    posted = Client().post("/profiles/acme/api/contact", {"email": "a@b.example", "msg": "Hello"})
    assert posted.status_code == 303
    assert FormSubmission.objects.count() == 1
    html = manager.get(URL).content.decode()
    assert "1 submission to /api/contact" in html and "a@b.example" in html


def test_redirect_and_json_bindings_use_their_own_fields(manager, handle, live):
    response = manager.post(URL + "bindings/", {"route": "/old", "methods": ["GET"], "function": "redirect", "redirect_location": "/about.html", "redirect_status": "301"}, **HX)
    assert response.status_code == 200
    response = manager.post(URL + "bindings/", {"route": "/api/ping", "methods": ["GET"], "function": "json", "json_body": '{"ok": true}', "json_status": "200"}, **HX)
    assert response.status_code == 200
    configs = {b.route: b.config for b in FunctionBinding.objects.all()}
    assert configs == {"/old": {"location": "/about.html", "status": 301}, "/api/ping": {"body": {"ok": True}, "status": 200}}


def test_binding_validation_errors_are_shown_on_their_fields(manager, handle):
    response = manager.post(URL + "bindings/", {"route": "api/contact", "methods": ["GET"], "function": "form-capture", "form_max_bytes": "lots"}, **HX)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="binding-route-error"' in html and 'id="binding-methods-error"' in html and "POST only" in html
    assert 'id="binding-form-max-error"' in html and "a whole number from 1 to" in html
    assert 'value="api/contact"' in html

    response = manager.post(URL + "bindings/", {"route": "/x", "methods": ["GET"], "function": "json", "json_body": "{nope"}, **HX)
    assert response.status_code == 400 and 'id="binding-json-body-error"' in response.content.decode() and "not valid JSON" in response.content.decode()

    response = manager.post(URL + "bindings/", {"route": "/x", "methods": ["GET"], "function": "redirect", "redirect_location": "ftp://x", "redirect_status": "302"}, **HX)
    assert response.status_code == 400 and 'id="binding-redirect-location-error"' in response.content.decode()
    assert not FunctionBinding.objects.exists()


def test_an_overlapping_binding_is_a_conflict(manager, handle):
    binding_create(handle=handle, route="/api/contact", methods=["POST"], function="form-capture", config={})
    response = manager.post(URL + "bindings/", {"route": "/api/contact", "methods": ["POST"], "function": "form-capture"}, **HX)
    assert response.status_code == 409
    assert "POST /api/contact is already bound" in response.content.decode()


def test_a_binding_pinned_to_a_replaced_deployment_is_stale_with_an_explanation(manager, handle, live, users):
    response = manager.post(URL + "bindings/", {"route": "/api/contact", "methods": ["POST"], "function": "form-capture", "deployment_id": live.id}, **HX)
    assert 'badge ok">Active' in response.content.decode()
    go_live(handle, SITE_V2, actor=users["web_manager"])
    html = manager.get(URL).content.decode()
    assert 'badge bad">Stale' in html
    assert "Pinned to v1, live is v2: it was not deployed with the latest release and does not answer." in html


def test_delete_a_binding_with_a_confirmation(manager, handle, commit):
    binding = binding_create(handle=handle, route="/api/contact", methods=["POST"], function="form-capture", config={})
    html = manager.get(URL).content.decode()
    confirm = "Delete the binding POST /api/contact? The route stops answering with form capture at once."
    assert f'hx-confirm="{confirm}"' in html and f'data-confirm="{confirm}"' in html
    with commit():
        response = manager.post(f"{URL}bindings/{binding.id}/delete/", **HX)
    assert response.status_code == 200 and "Deleted the binding <code>POST /api/contact</code>" in response.content.decode()
    assert not FunctionBinding.objects.exists()
    assert manager.post(f"{URL}bindings/{binding.id}/delete/").status_code == 404


def test_pin_choices_list_ready_site_deployments(manager, handle, live):
    create(handle, SITE_V2, message="candidate")
    html = manager.get(URL).content.decode()
    assert f'<option value="{live.id}">Pin to v1 (live)' in html and "Pin to v2: candidate" in html


# --- Access ------------------------------------------------------------------------------

def test_viewers_see_the_site_page_read_only(login, handle):
    binding = binding_create(handle=handle, route="/api/contact", methods=["POST"], function="form-capture", config={})
    viewer = login("viewer")
    html = viewer.get(URL).content.decode()
    assert "can see this page but not change the site" in html
    assert html.count("<fieldset disabled>") >= 2 and 'class="field" disabled' in html
    for url, data in ((URL + "mode/", {"mode": "maintenance"}), (URL + "links/", {"display_name": "x"}), (URL + "bindings/", {"route": "/a"}), (f"{URL}bindings/{binding.id}/delete/", {})):
        assert viewer.post(url, data).status_code == 403
    handle.refresh_from_db()
    assert handle.site_mode == c.SITE_MODE_LINKS and FunctionBinding.objects.count() == 1


def test_non_members_get_404(outsider, handle):
    client = Client()
    client.force_login(outsider)
    assert client.get(URL).status_code == 404
    assert client.post(URL + "mode/", {"mode": "maintenance"}).status_code == 404


def test_site_forms_need_the_csrf_token(login, handle):
    client = login("web_manager", enforce_csrf_checks=True)
    for url, data in ((URL + "mode/", {"mode": "maintenance"}), (URL + "links/", {"display_name": "x"}), (URL + "bindings/", {"route": "/a", "methods": ["POST"], "function": "form-capture"})):
        assert client.post(url, data).status_code == 403
    token = csrf_token_from(client.get(URL).content.decode())
    assert client.post(URL + "mode/", {"mode": "maintenance", "csrfmiddlewaretoken": token}).status_code == 302
    handle.refresh_from_db()
    assert handle.site_mode == c.SITE_MODE_MAINTENANCE
