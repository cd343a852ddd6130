"""Queueing Celery jobs after commit, and what a request answers when the broker is down.

``dispatch_on_commit(task, *args, undo=...)`` sends the job once the surrounding
transaction commits (never mid-transaction). If the broker cannot take it (Redis down,
connection refused or timed out), ``undo`` removes or finishes what the request made, so
nothing is left waiting for a job that will never come, and the request fails with 503
``service_unavailable`` and ``Retry-After``: the client retries the whole write later.
"""

import logging

from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gharart import constants as c
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


def dispatch(task, *args, undo=None, options=None, **kwargs):
    """Send ``task`` now; on a broker failure run ``undo`` and raise 503 ``service_unavailable``.

    ``options`` go to ``apply_async`` (e.g. ``{"eta": when}``).
    """
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
