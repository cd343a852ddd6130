from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from gharart import idempotency
from gharart.models import RequestLog


@shared_task(name="gharart.tasks.prune_request_log", acks_late=True)
def prune_request_log():
    """Delete request-log rows past retention and expired idempotency records."""
    cutoff = timezone.now() - timedelta(days=settings.GHARART_REQUEST_LOG_RETENTION_DAYS)
    deleted, _ = RequestLog.objects.filter(created_at__lt=cutoff).delete()
    return {"request_log": deleted, "idempotency": idempotency.prune()}
