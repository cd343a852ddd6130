"""Entry points of the project's own jobs (bodies in ``gharart.request_log``)."""

from gharart import request_log
from gharart.jobs import job


@job("gharart.request_log_prune", aliases=("gharart.tasks.prune_request_log",))
def prune_request_log():
    """Delete request-log rows past retention and expired idempotency records."""
    return request_log.request_log_prune()
