"""Scheduled releases and the publishing lock: the API, the run-time checks, run-once, order.

A release is made due by moving its ``at`` into the past in the database (no sleeping),
then run the way the sweep runs it.
"""

from datetime import timedelta

import pytest
from django.core import mail

from deployments import constants as dc
from deployments import publishing_locks, schedules
from deployments.models import Deployment, LivePointer, PublishingLock, Release, ScheduledRelease
from deployments.tasks import scheduled_release_run, scheduled_release_sweep
from gharart import constants as c
from gharart.clock import db_now
from gharart.models import AuditEvent, Membership
from tests.conftest import assert_error
from tests.deployments.conftest import SITE, publish

pytestmark = pytest.mark.django_db
H = "/v2/handles/acme"


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def later(**delta):
    return iso(db_now() + timedelta(**(delta or {"hours": 1})))


def site(n):
    return {**SITE, "index.html": f"<p>version {n}</p>".encode()}


def make_due(*scheds):
    ScheduledRelease.objects.filter(pk__in=[s if isinstance(s, str) else s.id for s in scheds]).update(at=db_now() - timedelta(seconds=1))


def schedule(client, dep, **body):
    return client.post(f"{H}/site-deployments/{dep.id}/promote", {"at": later(), **body}, format="json")


# --- Scheduling -------------------------------------------------------------------------

def test_promote_with_at_schedules_it_and_answers_202(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    r = schedule(api(users["web_manager"]), dep, reason="Black Friday")
    assert r.status_code == 202, r.content
    body = r.json()["scheduled_release"]
    assert body["id"].startswith("sched_")
    assert body["deployment_id"] == dep.id and body["state"] == "scheduled" and body["reason"] == "Black Friday"
    assert body["created_by"] == "acme-web_manager" and body["at"].endswith("Z") and body["release_id"] is None
    assert not Release.objects.exists()  # nothing went live yet
    listed = api(users["viewer"]).get(f"{H}/scheduled-releases").json()["results"]
    assert [s["id"] for s in listed] == [body["id"]]
    assert api(users["viewer"]).get(f"{H}/scheduled-releases/{body['id']}").json()["state"] == "scheduled"


@pytest.mark.parametrize("at", ["2020-01-01T00:00:00Z", "yesterday", "", 12])
def test_at_not_in_the_future_is_a_validation_error_on_at(api, users, handle, at):
    dep = publish(handle, site(1), promote=False)
    r = api(users["web_manager"]).post(f"{H}/site-deployments/{dep.id}/promote", {"at": at}, format="json")
    err = assert_error(r, 400, c.VALIDATION_ERROR)
    assert "at" in err["details"]
    assert not ScheduledRelease.objects.exists()


def test_an_at_a_few_seconds_ago_by_the_database_clock_is_refused(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    r = api(users["web_manager"]).post(f"{H}/site-deployments/{dep.id}/promote", {"at": iso(db_now() - timedelta(seconds=2))}, format="json")
    assert_error(r, 400, c.VALIDATION_ERROR)


def test_viewers_cannot_schedule_and_only_admins_schedule_a_forced_one(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    assert_error(schedule(api(users["viewer"]), dep), 403, c.FORBIDDEN)
    assert_error(schedule(api(users["web_manager"]), dep, force=True, reason="x"), 403, c.FORBIDDEN)
    assert_error(schedule(api(users["owner"]), dep, force=True), 400, c.VALIDATION_ERROR)
    assert schedule(api(users["owner"]), dep, force=True, reason="launch").status_code == 202


def test_scheduling_is_idempotent_with_a_key(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    client = api(users["web_manager"])
    body = {"at": later()}
    first = client.post(f"{H}/site-deployments/{dep.id}/promote", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post(f"{H}/site-deployments/{dep.id}/promote", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert ScheduledRelease.objects.count() == 1


# --- Running at the time ----------------------------------------------------------------

def test_a_due_release_runs_the_promote_and_ends_done_with_its_release(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    sched_id = schedule(api(users["web_manager"]), dep).json()["scheduled_release"]["id"]
    assert schedules.scheduled_release_run_due() == []  # not due yet
    make_due(sched_id)
    assert scheduled_release_sweep.apply().get()["ran"] == [sched_id]
    body = api(users["viewer"]).get(f"{H}/scheduled-releases/{sched_id}").json()
    assert body["state"] == "done" and body["error"] is None and body["finished_at"]
    release = Release.objects.get(pk=body["release_id"])
    assert release.deployment_id == dep.id and release.kind == dc.RELEASE_PROMOTE and release.actor == users["web_manager"]
    assert LivePointer.objects.get(handle=handle, target="site").deployment_id == dep.id
    assert AuditEvent.objects.filter(action=c.AUDIT_PROMOTE, target=dep.id).exists()


def test_a_release_runs_once_however_often_it_is_swept(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    sched_id = schedule(api(users["web_manager"]), dep).json()["scheduled_release"]["id"]
    make_due(sched_id)
    assert schedules.scheduled_release_run_due() == [sched_id]
    assert schedules.scheduled_release_run_due() == []
    assert scheduled_release_run.apply(args=[sched_id]).get()["ran"] == []  # a redelivered eta job
    assert Release.objects.filter(deployment=dep).count() == 1


def test_an_eta_job_that_fires_before_the_database_time_runs_nothing(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    sched_id = schedule(api(users["web_manager"]), dep).json()["scheduled_release"]["id"]
    assert scheduled_release_run.apply(args=[sched_id]).get()["ran"] == []
    assert ScheduledRelease.objects.get(pk=sched_id).state == "scheduled"


def test_two_releases_due_the_same_minute_run_in_order_and_are_both_recorded(api, users, handle):
    first = publish(handle, site(1), promote=False)
    second = publish(handle, site(2), promote=False)
    client = api(users["web_manager"])
    at = later()
    a = client.post(f"{H}/site-deployments/{first.id}/promote", {"at": at}, format="json").json()["scheduled_release"]["id"]
    b = client.post(f"{H}/site-deployments/{second.id}/promote", {"at": at}, format="json").json()["scheduled_release"]["id"]
    same = db_now() - timedelta(seconds=1)
    ScheduledRelease.objects.filter(pk__in=[a, b]).update(at=same)
    assert schedules.scheduled_release_run_due() == [a, b]
    releases = list(Release.objects.filter(handle=handle).order_by("created_at"))
    assert [r.deployment_id for r in releases] == [first.id, second.id]
    assert releases[1].previous_deployment_id == first.id
    assert LivePointer.objects.get(handle=handle, target="site").deployment_id == second.id
    assert [ScheduledRelease.objects.get(pk=x).release_id for x in (a, b)] == [r.id for r in releases]


def test_a_gate_that_fails_before_the_time_fails_the_release_audits_and_emails(api, users, handle, django_capture_on_commit_callbacks):
    dep = publish(handle, site(1), promote=False, open_preview=False)
    sched_id = schedule(api(users["web_manager"]), dep).json()["scheduled_release"]["id"]
    make_due(sched_id)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        schedules.scheduled_release_run_due()
    body = api(users["viewer"]).get(f"{H}/scheduled-releases/{sched_id}").json()
    assert body["state"] == "failed" and body["release_id"] is None
    assert body["error"]["code"] == dc.PREVIEW_GATE_PENDING
    assert not Release.objects.exists()
    assert AuditEvent.objects.filter(action=c.AUDIT_SCHEDULED_RELEASE_FAILED, target=sched_id).exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["web_manager@acme.example"]
    assert "did not go live" in mail.outbox[0].body and dc.PREVIEW_GATE_PENDING in mail.outbox[0].body


def test_a_deployment_deleted_before_the_time_fails_with_deployment_not_found(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    sched_id = schedule(api(users["web_manager"]), dep).json()["scheduled_release"]["id"]
    Deployment.objects.filter(pk=dep.id).delete()
    make_due(sched_id)
    schedules.scheduled_release_run_due()
    body = api(users["viewer"]).get(f"{H}/scheduled-releases/{sched_id}").json()
    assert body["state"] == "failed" and body["error"]["code"] == dc.DEPLOYMENT_NOT_FOUND
    assert body["deployment_id"] == dep.id


def test_a_scheduler_who_lost_the_role_fails_with_forbidden(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    sched_id = schedule(api(users["web_manager"]), dep).json()["scheduled_release"]["id"]
    Membership.objects.filter(user=users["web_manager"], handle=handle).update(role=c.VIEWER)
    make_due(sched_id)
    schedules.scheduled_release_run_due()
    assert ScheduledRelease.objects.get(pk=sched_id).error["code"] == c.FORBIDDEN


def test_a_lock_set_before_the_time_fails_the_release_with_publishing_locked(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    sched_id = schedule(api(users["web_manager"]), dep).json()["scheduled_release"]["id"]
    assert api(users["admin"]).put(f"{H}/site-lock", {"locked": True, "reason": "Sale"}, format="json").status_code == 200
    make_due(sched_id)
    schedules.scheduled_release_run_due()
    sched = ScheduledRelease.objects.get(pk=sched_id)
    assert sched.state == "failed" and sched.error["code"] == dc.PUBLISHING_LOCKED
    assert sched.error["details"]["reason"] == "Sale"


# --- Cancel ----------------------------------------------------------------------------

def test_cancel_a_scheduled_release_then_it_is_finished(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    sched_id = schedule(api(users["web_manager"]), dep).json()["scheduled_release"]["id"]
    assert_error(api(users["viewer"]).delete(f"{H}/scheduled-releases/{sched_id}"), 403, c.FORBIDDEN)
    r = api(users["web_manager"]).delete(f"{H}/scheduled-releases/{sched_id}")
    assert r.status_code == 204
    assert ScheduledRelease.objects.get(pk=sched_id).state == "cancelled"
    err = assert_error(api(users["web_manager"]).delete(f"{H}/scheduled-releases/{sched_id}"), 409, dc.SCHEDULED_RELEASE_FINISHED)
    assert err["details"]["state"] == "cancelled"
    make_due(sched_id)
    assert schedules.scheduled_release_run_due() == []  # a cancelled one never runs
    assert_error(api(users["web_manager"]).delete(f"{H}/scheduled-releases/sched_nope"), 404, dc.SCHEDULED_RELEASE_NOT_FOUND)


def test_a_release_that_ran_cannot_be_cancelled(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    sched_id = schedule(api(users["web_manager"]), dep).json()["scheduled_release"]["id"]
    make_due(sched_id)
    schedules.scheduled_release_run_due()
    assert_error(api(users["web_manager"]).delete(f"{H}/scheduled-releases/{sched_id}"), 409, dc.SCHEDULED_RELEASE_FINISHED)


def test_other_handles_scheduled_releases_are_not_visible(api, users, handle, outsider):
    dep = publish(handle, site(1), promote=False)
    sched_id = schedule(api(users["web_manager"]), dep).json()["scheduled_release"]["id"]
    assert_error(api(outsider).get(f"{H}/scheduled-releases"), 404, c.HANDLE_NOT_FOUND)
    assert_error(api(outsider).get(f"/v2/handles/other/scheduled-releases/{sched_id}"), 404, dc.SCHEDULED_RELEASE_NOT_FOUND)


# --- Publishing lock ---------------------------------------------------------------------

def test_the_lock_is_off_by_default_and_only_owners_and_admins_set_it(api, users, handle, pat):
    assert api(users["viewer"]).get(f"{H}/site-lock").json() == {"locked": False, "reason": "", "until": None, "updated_at": None, "updated_by": None}
    body = {"locked": True, "reason": "Campaign freeze"}
    assert_error(api(users["web_manager"]).put(f"{H}/site-lock", body, format="json"), 403, c.FORBIDDEN)
    token = pat(users["owner"], [c.SCOPE_SITES_READ])
    assert_error(api(token=token).put(f"{H}/site-lock", body, format="json"), 403, c.INSUFFICIENT_SCOPE)
    r = api(users["owner"]).put(f"{H}/site-lock", body, format="json")
    assert r.status_code == 200 and r.json()["locked"] is True and r.json()["updated_by"] == "acme-owner"
    assert AuditEvent.objects.filter(action=c.AUDIT_PUBLISHING_LOCK, handle=handle).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"locked": True}, "reason"),
        ({"locked": True, "reason": "x", "until": "2020-01-01T00:00:00Z"}, "until"),
        ({"locked": True, "reason": "x", "until": "soon"}, "until"),
        ({"reason": "x"}, "locked"),
    ],
)
def test_bad_lock_input_is_a_validation_error(api, users, handle, body, field):
    err = assert_error(api(users["admin"]).put(f"{H}/site-lock", body, format="json"), 400, c.VALIDATION_ERROR)
    assert field in err["details"]


def test_while_locked_promote_and_rollback_answer_409_publishing_locked(api, users, handle):
    old = publish(handle, site(1))
    live = publish(handle, site(2))
    new = publish(handle, site(3), promote=False)
    until = later(hours=2)
    api(users["admin"]).put(f"{H}/site-lock", {"locked": True, "reason": "Sale weekend", "until": until}, format="json")
    client = api(users["web_manager"])
    err = assert_error(client.post(f"{H}/site-deployments/{new.id}/promote", {}, format="json"), 409, dc.PUBLISHING_LOCKED)
    assert err["details"] == {"reason": "Sale weekend", "until": until}
    assert publish(handle, site(4), promote=False).state == "ready"  # uploads go on
    assert_error(client.post(f"{H}/site-deployments/{old.id}/rollback", {}, format="json"), 409, dc.PUBLISHING_LOCKED)
    assert LivePointer.objects.get(handle=handle, target="site").deployment_id == live.id
    # A schedule that falls inside the lock is refused now; one after it is accepted.
    assert_error(schedule(client, new), 409, dc.PUBLISHING_LOCKED)
    assert client.post(f"{H}/site-deployments/{new.id}/promote", {"at": later(hours=3)}, format="json").status_code == 202


def test_an_owners_forced_promote_passes_the_lock_and_is_audited(api, users, handle):
    publish(handle, site(1))
    new = publish(handle, site(2), promote=False)
    api(users["owner"]).put(f"{H}/site-lock", {"locked": True, "reason": "Freeze"}, format="json")
    assert_error(api(users["web_manager"]).post(f"{H}/site-deployments/{new.id}/promote", {"force": True, "reason": "x"}, format="json"), 403, c.FORBIDDEN)
    r = api(users["admin"]).post(f"{H}/site-deployments/{new.id}/promote", {"force": True, "reason": "Pricing bug"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["release"]["kind"] == dc.RELEASE_FORCED_PROMOTE
    event = AuditEvent.objects.get(action=c.AUDIT_LOCK_OVERRIDE)
    assert event.actor == users["admin"] and event.target == new.id and event.before["reason"] == "Freeze"


def test_the_lock_lifts_itself_at_until(api, users, handle):
    new = publish(handle, site(1), promote=False)
    api(users["admin"]).put(f"{H}/site-lock", {"locked": True, "reason": "Sale", "until": later(hours=1)}, format="json")
    assert api(users["viewer"]).get(f"{H}/site-lock").json()["locked"] is True
    PublishingLock.objects.filter(handle=handle).update(until=db_now() - timedelta(seconds=1))
    assert api(users["viewer"]).get(f"{H}/site-lock").json()["locked"] is False
    assert api(users["web_manager"]).post(f"{H}/site-deployments/{new.id}/promote", {}, format="json").status_code == 200
    assert publishing_locks.publishing_lock_sweep() == 1
    assert PublishingLock.objects.get(handle=handle).locked is False


def test_unlocking_lets_publishing_go_on(api, users, handle):
    new = publish(handle, site(1), promote=False)
    api(users["admin"]).put(f"{H}/site-lock", {"locked": True, "reason": "Sale"}, format="json")
    r = api(users["admin"]).put(f"{H}/site-lock", {"locked": False}, format="json")
    assert r.json() == {**r.json(), "locked": False, "reason": "", "until": None}
    assert api(users["web_manager"]).post(f"{H}/site-deployments/{new.id}/promote", {}, format="json").status_code == 200


def test_the_list_filters_by_state(api, users, handle):
    dep = publish(handle, site(1), promote=False)
    client = api(users["web_manager"])
    kept = schedule(client, dep).json()["scheduled_release"]["id"]
    gone = schedule(client, dep).json()["scheduled_release"]["id"]
    client.delete(f"{H}/scheduled-releases/{gone}")
    assert [s["id"] for s in client.get(f"{H}/scheduled-releases?state=scheduled").json()["results"]] == [kept]
    assert [s["id"] for s in client.get(f"{H}/scheduled-releases?state=cancelled").json()["results"]] == [gone]
    assert_error(client.get(f"{H}/scheduled-releases?state=bogus"), 400, c.VALIDATION_ERROR)


def test_the_beat_schedule_sweeps_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["deployments-scheduled-release-sweep"]
    assert entry["task"] == scheduled_release_sweep.name and entry["schedule"] == timedelta(minutes=1)
