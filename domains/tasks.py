"""Entry points of the custom-domain jobs (bodies in ``domains.services``)."""

from domains import services
from gharart.jobs import job


@job("domains.domain_recheck_all", aliases=("domains.tasks.domains_recheck",), ignore_result=True)
def domains_recheck():
    """Re-check every serving domain's TXT record (beat schedule: hourly)."""
    return services.domain_recheck_all()
