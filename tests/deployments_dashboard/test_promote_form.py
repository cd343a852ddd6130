"""The Go live card: Promote is disabled with the reason in words while the gate is not open,
owners force from the same form with its one reason field, and refusals carry the request ID."""

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from deployments import constants as dc
from deployments.models import Release
from deployments.services.releases import deployment_gate_set

from .conftest import HX, create


def page(dep):
    return f"/h/acme/deployments/{dep.id}/"


def promote_form(html):
    return HTMLParser(html).css_first("#promote-form")


def test_promote_is_disabled_with_the_reason_while_the_preview_is_unopened(manager, handle):
    dep = create(handle)
    form = promote_form(manager.get(page(dep)).content.decode())
    button = form.css_first("button.primary")
    assert "disabled" in button.attributes and button.attributes["aria-describedby"] == "promote-blocked"
    assert form.css_first("#promote-blocked").text() == "Promote is not available yet: nobody has opened the preview of v1. Open the preview, check the site, then promote."
    assert form.css_first("button[name=force]") is None  # web managers cannot force
    manager.get(page(dep) + "preview/")
    form = promote_form(manager.get(page(dep)).content.decode())
    assert "disabled" not in form.css_first("button.primary").attributes and form.css_first("#promote-blocked") is None


def test_a_failed_replay_is_named_on_the_button_and_in_the_refusal(manager, handle):
    dep = create(handle)
    manager.get(page(dep) + "preview/")
    deployment_gate_set(deployment=dep, status=dc.GATE_FAILED, replay_run_id="replay_x", summary={"total": 5, "unchanged": 2, "changed": 3, "regressions": 2})
    form = promote_form(manager.get(page(dep)).content.decode())
    assert "disabled" in form.css_first("button.primary").attributes
    assert "the latest replay against v1 found 2 regressions" in form.css_first("#promote-blocked").text()
    # A request sent anyway (another tab, a script) is refused with the cause in words,
    # the request ID and a Report link; the API code stays preview_gate_pending.
    response = manager.post(page(dep) + "promote/", {"reason": "go"}, **HX)
    assert response.status_code == 409
    alert = HTMLParser(response.content.decode()).css_first('[role="alert"]')
    assert "the latest replay against it found regressions" in alert.text()
    request_id = response["X-Request-ID"]
    assert request_id in alert.css_first(".refusal-meta code").text()
    report = alert.css_first(".refusal-meta a")
    assert report.text() == "Report this" and report.attributes["href"] == f"/support/?requestId={request_id}&handle=acme"
    # The code stays for support in a data attribute; the person reads the cause in words.
    meta = alert.css_first(".refusal-meta")
    assert meta.attributes["data-error-code"] == "preview_gate_pending" and "preview_gate_pending" not in alert.text()
    assert not Release.objects.exists()


def test_an_owner_forces_from_the_one_form_with_one_reason_first_time(login, handle, commit):
    dep = create(handle)
    owner = login("owner")
    html = owner.get(page(dep)).content.decode()
    tree = HTMLParser(html)
    # One reason field on the whole card (rollback is not offered for a never-live version).
    assert len(tree.css('section[aria-labelledby=release-actions-heading] [name=reason]')) == 1
    form = promote_form(html)
    assert form.css_first("label[for=promote-reason]").text() == "Reason (required to force the promote, audited)"
    force = form.css_first("button[name=force]")
    assert force.attributes["value"] == "1" and force.text() == "Force promote v1"
    assert "Force:" in form.attributes["hx-confirm"]
    with commit():
        response = owner.post(page(dep) + "promote/", {"reason": "Launch now, checked by hand", "force": "1"}, **HX)
    assert response.status_code == 200
    release = Release.objects.get()
    assert release.kind == dc.RELEASE_FORCED_PROMOTE and release.reason == "Launch now, checked by hand"
