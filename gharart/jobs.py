"""Celery jobs: their one shape, queueing them after commit, and what a request answers when
the broker is down.

Every ``<app>/tasks.py`` holds only entry points declared with ``@job("<app>.<entity>_<verb>")``
on the shared ``Job`` base (acked late, bounded retries with backoff, expected errors
never retried); the bodies live in the app's services or ``jobs.py``. Code that starts a
job names it (``dispatch_on_commit("files.magic_link_send", ...)``), so services never
import the tasks that call them.

``dispatch_on_commit(task, *args, undo=...)`` sends the job once the surrounding
transaction commits (never mid-transaction). If the broker cannot take it (Redis down,
connection refused or timed out), ``undo`` removes or finishes what the request made, so
nothing is left waiting for a job that will never come, and the request fails with 503
``service_unavailable`` and ``Retry-After``: the client retries the whole write later.
"""

import logging

from celery import Task, shared_task
from django.db import transaction
from django.utils.module_loading import autodiscover_modules
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gharart import constants as c
from gharart.celery import app
from gharart.errors import ApplicationError

logger = logging.getLogger("gharart.jobs")

# Raised by ``apply_async`` when the message cannot be handed to the broker.
BROKER_ERRORS = (KombuOperationalError, RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
RETRY_AFTER_SECONDS = 30


def broker_unavailable():
    return ApplicationError(
        c.SERVICE_UNAVAILABLE,
        "The job queue is unavailable, so this could not be started; nothing was kept. Try again shortly.",
        status=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class Job(Task):
    """The base of every entry point: acked once the body ran (a worker that dies mid-job
    leaves it queued), at most ``max_retries`` retries with exponential backoff and jitter
    of the transient errors the entry point names in ``autoretry_for`` (nothing else), and
    ``ApplicationError`` (a refusal the body decided on) an expected outcome, logged
    without a traceback and, unless named as transient (``StorageUnavailable``), not retried."""

    acks_late = True
    reject_on_worker_lost = True
    max_retries = 3
    retry_backoff = True
    retry_backoff_max = 600
    retry_jitter = True
    throws = (ApplicationError,)


def job(name, *, aliases=(), **options):
    """Declare a Celery entry point on ``Job`` named ``name`` (``<app>.<entity>_<verb>``).

    ``aliases`` are former names still registered to the same function, so messages queued
    (or eta jobs scheduled) under an old name still run after an upgrade.
    """

    def register(fn):
        task = shared_task(name=name, base=Job, **options)(fn)
        for alias in aliases:
            shared_task(name=alias, base=Job, **options)(fn)
        return task

    return register


_discovered = False


def job_task(name):
    """The registered task named ``name`` (every app's ``tasks.py`` is imported once)."""
    global _discovered
    if name not in app.tasks and not _discovered:
        autodiscover_modules("tasks")
        _discovered = True
    return app.tasks[name]


def dispatch(task, *args, undo=None, options=None, **kwargs):
    """Send ``task`` (a task or its name) now; on a broker failure run ``undo`` and raise 503
    ``service_unavailable``.

    ``options`` go to ``apply_async`` (e.g. ``{"eta": when}``).
    """
    if isinstance(task, str):
        task = job_task(task)
    options = options or {}
    if task.app.conf.task_always_eager:
        # Run inline (tests, debugging): no broker, and the task's own errors are its own.
        return task.apply_async(args=args, kwargs=kwargs, **options)
    try:
        return task.apply_async(args=args, kwargs=kwargs, **options)
    except BROKER_ERRORS as exc:
        logger.warning("broker unavailable, %s not queued: %s: %s", task.name, type(exc).__name__, exc)
        if undo is not None:
            try:
                undo()
            except Exception:
                logger.exception("undoing the effects of %s after a broker failure failed", task.name)
        raise broker_unavailable()


def dispatch_on_commit(task, *args, undo=None, options=None, **kwargs):
    """``dispatch`` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: dispatch(task, *args, undo=undo, options=options, **kwargs))
