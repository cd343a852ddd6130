import pytest
from django.test import Client

from tests.conftest import assert_error


@pytest.mark.django_db
class TestRequestIds:
    def test_an_inbound_well_formed_request_id_is_kept(self, api):
        response = api().get("/v2/me/tokens", HTTP_X_REQUEST_ID="client-abc.123_x")
        assert response["X-Request-ID"] == "client-abc.123_x"
        assert response.json()["error"]["request_id"] == "client-abc.123_x"

    @pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", ""])
    def test_a_malformed_inbound_request_id_is_replaced(self, api, bad):
        response = api().get("/v2/me/tokens", HTTP_X_REQUEST_ID=bad)
        assert response["X-Request-ID"].startswith("req_")

    def test_dashboard_pages_and_html_404s_carry_the_request_id(self, client):
        login = client.get("/accounts/login/")
        assert login.status_code == 200
        assert login["X-Request-ID"] in login.content.decode()
        missing = client.get("/no/such/page/")
        assert missing.status_code == 404
        assert missing["X-Request-ID"] in missing.content.decode()


@pytest.mark.django_db
class TestErrorEnvelope:
    def test_400_validation_error_maps_fields_to_messages(self, api, users):
        err = assert_error(api(users["owner"]).post("/v2/me/tokens", {"name": "", "scopes": ["nope"]}, format="json"), 400, "validation_error")
        assert "name" in err["details"] and "scopes" in err["details"]

    def test_400_malformed_json(self, api, users):
        response = api(users["owner"]).generic("POST", "/v2/me/tokens", "{not json", content_type="application/json")
        assert_error(response, 400, "malformed_json")

    def test_401_without_credentials_has_www_authenticate(self, api):
        response = api().get("/v2/me/tokens")
        assert_error(response, 401, "authentication_required")
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_401_for_a_garbage_bearer_token(self):
        response = Client().get("/v2/me/tokens", HTTP_AUTHORIZATION="Bearer not-a-jwt")
        assert_error(response, 401, "invalid_token")
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_404_unknown_route_under_v2(self, api):
        assert_error(api().get("/v2/no-such-route"), 404, "not_found")

    def test_405_wrong_method(self, api, users):
        assert_error(api(users["owner"]).put("/v2/me/tokens", {}, format="json"), 405, "method_not_allowed")

    @pytest.mark.urls("tests.foundation.urls_faulty")
    def test_500_has_the_envelope_and_no_internals(self):
        client = Client(raise_request_exception=False)
        response = client.get("/v2/test/boom")
        err = assert_error(response, 500, "internal_error")
        assert "SELECT" not in response.content.decode()
        assert "Traceback" not in response.content.decode()
        assert err["request_id"].startswith("req_")

    def test_failed_requests_are_logged_by_request_id(self, api):
        from gharart.models import RequestLog

        response = api().get("/v2/me/tokens", HTTP_X_REQUEST_ID="trace-me-1")
        assert response.status_code == 401
        row = RequestLog.objects.get(request_id="trace-me-1")
        assert (row.method, row.path, row.status_code, row.error_code) == ("GET", "/v2/me/tokens", 401, "authentication_required")


ERROR_PAGES = [
    (400, "Bad request", "The request could not be understood."),
    (403, "Not allowed", "You do not have permission to do this."),
    (404, "Page not found", "There is no page at this address."),
    (500, "Something went wrong", "Something went wrong on our side."),
]


@pytest.mark.django_db
class TestErrorPages:
    @pytest.mark.parametrize(("status", "heading", "message"), ERROR_PAGES)
    def test_the_handlers_render_one_page_titled_by_status(self, rf, status, heading, message):
        from gharart import views

        handler = {400: views.bad_request, 403: views.permission_denied, 404: views.page_not_found, 500: views.server_error}[status]
        request = rf.get("/h/acme/somewhere/")
        response = handler(request) if status == 500 else handler(request, Exception())
        page = response.content.decode()
        assert response.status_code == status
        assert f"<title>{status} · Gharart</title>" in page and f"<h1>{heading}</h1>" in page and message in page
        assert "Report this" in page

    def test_an_html_404_comes_from_the_shared_template(self, client):
        response = client.get("/no/such/page/")
        assert response.status_code == 404
        assert "error.html" in [t.name for t in response.templates]

    def test_the_report_link_of_a_dashboard_error_names_the_handle_in_view(self, rf):
        from gharart import views

        response = views.page_not_found(rf.get("/h/acme/deployments/dep_nope/"), Exception())
        assert "/support/?requestId=" in response.content.decode() and "&amp;handle=acme" in response.content.decode()
        response = views.page_not_found(rf.get("/no/such/page/"), Exception())
        assert "handle=" not in response.content.decode()

    def test_without_collectstatic_an_unknown_url_is_still_a_404_page(self, client, settings, tmp_path):
        """In production mode the templates need the static manifest; the error page must not."""
        settings.DEBUG = False
        settings.STATIC_ROOT = tmp_path  # nothing collected: no manifest
        settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
        from django.contrib.staticfiles.storage import staticfiles_storage

        staticfiles_storage._wrapped = None  # built again from the settings above
        try:
            response = client.get("/no/such/page/")
            assert response.status_code == 404
            page = response.content.decode()
            assert "<h1>Page not found</h1>" in page and response["X-Request-ID"] in page
        finally:
            staticfiles_storage._wrapped = None

    def test_the_browser_default_favicon_is_served(self, client):
        response = client.get("/favicon.ico")
        assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
        assert b"<svg" in response.content

    @pytest.mark.parametrize(("status", "heading", "message"), ERROR_PAGES)
    def test_django_default_error_views_still_find_their_templates(self, rf, status, heading, message):
        """A URL conf without handlerNNN falls back to Django's views, which render ``NNN.html``."""
        from django.views import defaults

        request = rf.get("/somewhere/")
        if status == 500:
            response = defaults.server_error(request)
        else:
            view = {400: defaults.bad_request, 403: defaults.permission_denied, 404: defaults.page_not_found}[status]
            response = view(request, Exception())
        page = response.content.decode()
        assert response.status_code == status
        assert f"<title>{status} · Gharart</title>" in page and f"<h1>{heading}</h1>" in page
