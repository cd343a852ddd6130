"""Every Celery job has one shape: a thin entry point on the shared base, named
``<app>.<entity>_<verb>``, with its former names still answering queued messages."""

import ast
import inspect
import re
from pathlib import Path

import pytest
from django.conf import settings

from gharart.jobs import Job, job_task

ROOT = Path(__file__).resolve().parents[2]
APPS = ("gharart", "deployments", "siteintel", "files", "domains")
NAME = re.compile(r"^(" + "|".join(APPS) + r")\.[a-z]+(_[a-z]+)+$")
# Names queued messages, eta jobs of scheduled releases and old beat schedules may carry.
FORMER_NAMES = {
    "gharart.tasks.prune_request_log": "gharart.request_log_prune",
    "siteintel.tasks.crawl_run_execute": "siteintel.crawl_run_execute",
    "siteintel.tasks.replay_run_execute": "siteintel.replay_run_execute",
    "siteintel.tasks.reap_stale_runs": "siteintel.runs_reap",
    "deployments.tasks.deployment_process_archive": "deployments.deployment_process_archive",
    "deployments.tasks.deployment_sweep_stale": "deployments.deployment_sweep_stale",
    "deployments.tasks.scheduled_release_run": "deployments.scheduled_release_run",
    "deployments.tasks.scheduled_release_sweep": "deployments.scheduled_release_sweep",
    "domains.tasks.domains_recheck": "domains.domain_recheck_all",
}


def _entry_points():
    """``(app, function)`` for every top-level function of every app's tasks.py."""
    for app in APPS:
        tree = ast.parse((ROOT / app / "tasks.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                yield app, node


def test_tasks_modules_hold_only_job_entry_points():
    names = []
    for app, fn in _entry_points():
        decorators = [d for d in fn.decorator_list if isinstance(d, ast.Call)]
        if any(isinstance(d, ast.Attribute) and d.attr == "connect" for d in fn.decorator_list):
            continue  # a worker signal handler, not a job
        assert [getattr(d.func, "id", None) for d in decorators] == ["job"], f"{app}.tasks.{fn.name} is not declared with @job"
        name = decorators[0].args[0]
        names.append(name.value if isinstance(name, ast.Constant) else None)
        # Thin: at most a docstring and a few statements handing arguments to the body.
        body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        assert len(body) <= 4, f"{app}.tasks.{fn.name} holds a job body; move it to services or jobs.py"
    assert len(names) >= 10


def test_every_job_is_named_and_shaped_alike():
    new_names = set(FORMER_NAMES.values()) | {"files.magic_link_send", "files.magic_link_request_process", "files.docs_signin_send"}
    for name in new_names:
        assert NAME.match(name), name
        task = job_task(name)
        assert isinstance(task, Job) and task.acks_late and task.reject_on_worker_lost
        assert 0 < task.max_retries <= 50 and task.retry_backoff


def _body(task):
    run = inspect.unwrap(getattr(task, "_orig_run", task.run))  # under the autoretry wrapper
    return getattr(run, "__func__", run)


def test_former_names_still_run_the_same_body():
    for old, new in FORMER_NAMES.items():
        assert job_task(old) is not job_task(new)
        assert _body(job_task(old)) is _body(job_task(new)), old


def test_the_beat_schedule_names_current_jobs():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert NAME.match(entry["task"]) and entry["task"] not in FORMER_NAMES
        job_task(entry["task"])


@pytest.mark.django_db
def test_a_message_under_a_former_name_does_the_work(handle):
    from datetime import timedelta

    from django.utils import timezone

    from gharart.models import RequestLog

    old = RequestLog.objects.create(method="GET", path="/v2/x", status_code=200, duration_ms=1)
    RequestLog.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=settings.GHARART_REQUEST_LOG_RETENTION_DAYS + 1))
    result = job_task("gharart.tasks.prune_request_log").apply().get()
    assert result["request_log"] == 1 and not RequestLog.objects.filter(pk=old.pk).exists()
