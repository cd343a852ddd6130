"""The publishing lock on every deployments page, and scheduled releases on a deployment's page."""

from datetime import timedelta

import pytest

from deployments import constants as dc
from deployments.models import PublishingLock, ScheduledRelease
from gharart.clock import db_now
from gharart.models import AuditEvent

from .conftest import body, create, csrf_token_from

pytestmark = pytest.mark.django_db
PAGES = ["/h/acme/deployments/", "/h/acme/releases/", "/h/acme/site/"]


def local_input(moment):
    return moment.strftime("%Y-%m-%dT%H:%M")


def lock(handle, reason="Diwali sale freeze", until=None):
    PublishingLock.objects.update_or_create(handle=handle, defaults={"locked": True, "reason": reason, "until": until})


def test_every_deployments_page_shows_the_lock(login, handle, users):
    dep = create(handle, actor=users["web_manager"])
    lock(handle, until=db_now() + timedelta(days=2))
    viewer = login("viewer")
    for url in [*PAGES, f"/h/acme/deployments/{dep.id}/"]:
        html = body(viewer.get(url))
        assert "Publishing is locked until" in html, url
        assert "Reason: Diwali sale freeze" in html
        assert "Lift the lock" not in html  # viewers see it, cannot lift it


def test_an_admin_locks_with_a_confirmed_form_and_lifts_it(login, handle):
    admin = login("admin", enforce_csrf_checks=True)
    html = body(admin.get("/h/acme/deployments/"))
    assert "Publishing is open" in html and "Lock publishing (owners and admins)" in html
    assert 'data-confirm="Lock publishing?' in html
    token = csrf_token_from(html)
    until = db_now() + timedelta(days=1)
    r = admin.post("/h/acme/publishing-lock/", {"csrfmiddlewaretoken": token, "locked": "1", "reason": "Sale", "until": until.isoformat(), "next": "/h/acme/releases/"})
    assert r.status_code == 302 and r["Location"] == "/h/acme/releases/"
    lock_row = PublishingLock.objects.get(handle=handle)
    assert lock_row.locked and lock_row.reason == "Sale" and abs((lock_row.until - until).total_seconds()) < 1
    html = body(admin.get("/h/acme/releases/"))
    assert "Publishing is locked until" in html and 'data-confirm="Lift the publishing lock?' in html
    r = admin.post("/h/acme/publishing-lock/", {"csrfmiddlewaretoken": token, "locked": "0", "next": "https://evil.example/"})
    assert r["Location"] == "/h/acme/deployments/"  # never an outside redirect
    assert PublishingLock.objects.get(handle=handle).locked is False
    assert AuditEvent.objects.filter(action="site.publishing_lock").count() == 2


def test_a_lock_without_a_reason_shows_the_field_error(login, handle):
    r = login("owner").post("/h/acme/publishing-lock/", {"locked": "1", "reason": "", "until_local": "2020-01-01T10:00"})
    assert r.status_code == 400
    html = body(r)
    assert 'id="lock-reason-error"' in html and 'id="lock-until-error"' in html
    assert not PublishingLock.objects.filter(locked=True).exists()


def test_web_managers_cannot_lock(login, handle):
    assert login("web_manager").post("/h/acme/publishing-lock/", {"locked": "1", "reason": "x"}).status_code == 403


def test_a_promote_refused_by_the_lock_is_explained(login, handle, users):
    from deployments.services.releases import deployment_preview_report

    dep = create(handle, actor=users["web_manager"])
    deployment_preview_report(deployment=dep, actor=users["web_manager"])
    lock(handle, reason="Board review")
    r = login("web_manager").post(f"/h/acme/deployments/{dep.id}/promote/", {"reason": ""})
    assert r.status_code == 409
    html = body(r)
    assert "Publishing is locked until an owner or admin lifts it: Board review" in html
    assert "force the promote" in html


def test_schedule_a_release_from_the_page_then_cancel_it(login, handle, users):
    dep = create(handle, actor=users["web_manager"])
    manager = login("web_manager", enforce_csrf_checks=True)
    html = body(manager.get(f"/h/acme/deployments/{dep.id}/"))
    assert "No release of v1 is planned." in html and 'type="datetime-local"' in html and 'data-utc="#schedule-at"' in html
    at = db_now() + timedelta(hours=3)
    r = manager.post(f"/h/acme/deployments/{dep.id}/schedule/", {"csrfmiddlewaretoken": csrf_token_from(html), "at": at.isoformat(), "at_local": "ignored", "reason": "Launch"})
    assert r.status_code == 302
    sched = ScheduledRelease.objects.get()
    assert abs((sched.at - at).total_seconds()) < 1 and sched.reason == "Launch" and sched.created_by == users["web_manager"]
    html = body(manager.get(f"/h/acme/deployments/{dep.id}/"))
    assert "data-countdown=" in html and "Launch" in html
    assert "Scheduled" in html and "Cancel the release of v1 planned for" in html
    assert "is scheduled to go live on" in html  # the flash message, in words
    r = manager.post(f"/h/acme/deployments/{dep.id}/schedule/{sched.id}/cancel/", {"csrfmiddlewaretoken": csrf_token_from(html)})
    assert r.status_code == 302
    assert ScheduledRelease.objects.get().state == dc.SCHEDULE_CANCELLED
    r = manager.post(f"/h/acme/deployments/{dep.id}/schedule/{sched.id}/cancel/", {"csrfmiddlewaretoken": csrf_token_from(html)})
    assert r.status_code == 409 and "cannot be cancelled" in body(r)


def test_without_javascript_the_local_input_is_read_as_utc(login, handle, users):
    dep = create(handle, actor=users["web_manager"])
    at = db_now() + timedelta(days=2)
    r = login("web_manager").post(f"/h/acme/deployments/{dep.id}/schedule/", {"at_local": local_input(at)})
    assert r.status_code == 302
    assert ScheduledRelease.objects.get().at.strftime("%Y-%m-%dT%H:%M") == local_input(at)


def test_a_time_in_the_past_shows_the_field_error(login, handle, users):
    dep = create(handle, actor=users["web_manager"])
    r = login("web_manager").post(f"/h/acme/deployments/{dep.id}/schedule/", {"at_local": "2020-05-01T10:00"})
    assert r.status_code == 400
    html = body(r)
    assert 'id="schedule-at-error"' in html and "must be in the future" in html
    assert not ScheduledRelease.objects.exists()


def test_a_failed_schedule_shows_why_in_words(login, handle, users):
    from deployments import schedules

    dep = create(handle, actor=users["web_manager"])  # preview never opened: the gate fails at run time
    sched = schedules.scheduled_release_create(deployment=dep, at=db_now() + timedelta(hours=1), actor=users["web_manager"], role="web_manager")
    ScheduledRelease.objects.filter(pk=sched.pk).update(at=db_now() - timedelta(seconds=1))
    schedules.scheduled_release_run_due()
    html = body(login("viewer").get(f"/h/acme/deployments/{dep.id}/"))
    assert "Failed" in html and "its preview report was never opened" in html


def test_viewers_cannot_schedule(login, handle, users):
    dep = create(handle, actor=users["web_manager"])
    assert login("viewer").post(f"/h/acme/deployments/{dep.id}/schedule/", {"at": (db_now() + timedelta(hours=1)).isoformat()}).status_code == 403
