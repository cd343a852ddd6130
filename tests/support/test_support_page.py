"""The /support/ page: prefilled from error links, field errors, with and without HTMX."""

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from support.models import SupportReport

PAGE = "/support/"
HX = {"HTTP_HX_REQUEST": "true"}


def html(response):
    return HTMLParser(response.content.decode())


def field_value(doc, name):
    node = doc.css_first(f'[name="{name}"]')
    if node.tag == "textarea":
        return node.text()
    if node.tag == "select":
        selected = node.css_first("option[selected]")
        return selected.attributes.get("value") if selected else ""
    return node.attributes.get("value") or ""


@pytest.fixture
def owner_client(client, users):
    client.force_login(users["owner"])
    return client


def failed_api_request(api, user):
    response = api(user).post("/v2/me/tokens", {"name": ""}, format="json")
    assert response.status_code == 400
    return response["X-Request-ID"]


@pytest.mark.django_db
def test_anonymous_visitors_are_asked_to_log_in(client):
    response = client.get(PAGE + "?requestId=req_x")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_the_form_is_prefilled_from_the_query_string(owner_client, api, users):
    request_id = failed_api_request(api, users["owner"])
    doc = html(owner_client.get(PAGE, {"requestId": request_id, "handle": "acme"}))
    assert field_value(doc, "requestId") == request_id
    assert field_value(doc, "handle") == "acme"
    # The quoted request is the user's own, so the page says which request it was.
    help_text = doc.css_first("#report-requestId-help").text()
    assert "/v2/me/tokens" in help_text and "400" in help_text and "check the form" in help_text
    assert doc.css_first("#report-requestId-help [data-error-code]").attributes["data-error-code"] == "validation_error"
    for name in ("summary", "details", "handle", "requestId", "reproArtifact"):
        node = doc.css_first(f'[name="{name}"]')
        assert doc.css_first(f'label[for="{node.attributes["id"]}"]') is not None, name


@pytest.mark.django_db
def test_someone_elses_request_id_is_prefilled_but_not_described(client, api, users, outsider):
    request_id = failed_api_request(api, outsider)
    client.force_login(users["owner"])
    doc = html(client.get(PAGE, {"requestId": request_id}))
    assert field_value(doc, "requestId") == request_id
    assert "/v2/me/tokens" not in doc.css_first("#report-requestId-help").text()


@pytest.mark.django_db
def test_a_handle_you_are_not_in_is_not_offered(owner_client, other_handle):
    doc = html(owner_client.get(PAGE, {"handle": "other"}))
    assert field_value(doc, "handle") == ""
    assert doc.css_first('select[name="handle"] option[value="other"]') is None


@pytest.mark.django_db
def test_recent_requests_list_failed_ones_first_with_a_use_this_link(owner_client, api, users, client):
    ok = api(users["owner"]).post("/v2/me/tokens", {"name": "fine", "scopes": ["sites:read"]}, format="json")
    assert ok.status_code == 201
    failed = failed_api_request(api, users["owner"])
    missing = owner_client.get("/h/acme/no-such-page/")
    assert missing.status_code == 404
    doc = html(owner_client.get(PAGE))
    rows = doc.css("table")[0].css("tbody tr")
    ids = [row.css("code")[-1].text() for row in rows]
    assert ids[:2] == [missing["X-Request-ID"], failed]
    assert ids[2] == ok["X-Request-ID"]
    link = rows[1].css_first("a[data-fill]")
    assert link.attributes["href"] == f"/support/?requestId={failed}"
    assert failed in link.attributes["data-fill"]
    # Nobody else's requests are offered.
    failed_api_request(api, users["viewer"])
    assert len(html(owner_client.get(PAGE)).css("table")[0].css("tbody tr")) == 3


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_missing_fields_come_back_as_field_errors(owner_client, htmx):
    extra = HX if htmx else {}
    response = owner_client.post(PAGE, {"summary": "", "details": "", "requestId": "req_keep"}, **extra)
    assert response.status_code == 400
    body = response.content.decode()
    assert ("<html" in body) is not htmx
    doc = html(response)
    assert doc.css_first("#report-summary").attributes.get("aria-invalid") == "true"
    assert doc.css_first("#report-summary-error").text().strip() == "This field is required."
    assert doc.css_first("#report-details-error") is not None
    # What the user typed is kept.
    assert field_value(doc, "requestId") == "req_keep"
    assert not SupportReport.objects.exists()


@pytest.mark.django_db
def test_too_long_fields_and_a_foreign_handle_are_field_errors(owner_client, other_handle):
    response = owner_client.post(PAGE, {"summary": "x" * 201, "details": "d", "handle": "other"}, **HX)
    assert response.status_code == 400
    doc = html(response)
    assert "At most 200 characters" in doc.css_first("#report-summary-error").text()
    response = owner_client.post(PAGE, {"summary": "s", "details": "d", "handle": "other"}, **HX)
    assert response.status_code == 400
    assert html(response).css_first("#report-handle-error") is not None
    assert not SupportReport.objects.exists()


@pytest.mark.django_db
def test_without_javascript_a_report_redirects_back_with_its_id(owner_client, api, users):
    request_id = failed_api_request(api, users["owner"])
    response = owner_client.post(PAGE, {"summary": "Cannot create token", "details": "400 each time", "handle": "acme", "requestId": request_id})
    assert response.status_code == 302 and response["Location"] == PAGE
    report = SupportReport.objects.get()
    assert report.user == users["owner"] and report.handle.slug == "acme"
    assert report.linked_request["path"] == "/v2/me/tokens"
    page = owner_client.get(PAGE).content.decode()
    assert f"Report {report.id} sent" in page
    assert "Cannot create token" in page and "Open" in page


@pytest.mark.django_db
def test_with_htmx_a_report_swaps_in_the_section_with_its_id(owner_client):
    response = owner_client.post(PAGE, {"summary": "Slow uploads", "details": "Takes minutes."}, **HX)
    assert response.status_code == 200
    doc = html(response)
    report = SupportReport.objects.get()
    assert report.id in doc.css_first(".callout.success").text()
    assert field_value(doc, "summary") == ""
    assert "Slow uploads" in doc.css("table")[-1].text()
    assert "<html" not in response.content.decode()


@pytest.mark.django_db
def test_the_page_shares_the_apis_throttle(owner_client, settings):
    settings.GHARART_THROTTLES = {**settings.GHARART_THROTTLES, "support_report": "1/hour"}
    assert owner_client.post(PAGE, {"summary": "a", "details": "b"}, **HX).status_code == 200
    response = owner_client.post(PAGE, {"summary": "c", "details": "d"}, **HX)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many requests" in html(response).css_first(".error-summary").text()
    assert SupportReport.objects.count() == 1


@pytest.mark.django_db
def test_error_pages_link_to_the_prefilled_form(owner_client):
    response = owner_client.get("/h/acme/no-such-page/")
    assert f'href="/support/?requestId={response["X-Request-ID"]}&amp;handle=acme"' in response.content.decode()
