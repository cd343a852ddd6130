"""Celery jobs of custom domains."""

from celery import shared_task

from domains import services


@shared_task(name="domains.tasks.domains_recheck", acks_late=True, ignore_result=True)
def domains_recheck():
    """Re-check every serving domain's TXT record (beat schedule: hourly)."""
    return services.domain_recheck_all()
