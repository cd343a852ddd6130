"""Demo content: a first crawl of the demo handle's live profile site (in-process, inline)."""

from deployments import constants as dc
from deployments.selectors.live import live_deployment
from siteintel import constants as c
from siteintel import jobs, selectors
from siteintel.hostnames import sites_hostname
from siteintel.models import CrawlRun


def seed(*, handle, users, stdout):
    """Crawl the live profile site once so the Site intel page has a snapshot. Safe to rerun."""
    if live_deployment(handle=handle, target=dc.TARGET_SITE) is None:
        stdout.write("Site intel: no live site to crawl; skipped.")
        return
    hostname = sites_hostname(handle)
    if selectors.crawl_run_latest_succeeded(handle=handle, hostname=hostname) or selectors.crawl_run_active(handle=handle, hostname=hostname):
        stdout.write("Site intel: the demo site was crawled already.")
        return
    run = CrawlRun.objects.create(
        handle=handle, hostname=hostname, scheme=c.SCHEME_HTTPS, max_pages=200, max_depth=10, created_by=users.get("web_manager")
    )
    # Inline rather than through Celery: the seed may run before any worker is up.
    jobs.crawl_run_execute(run_id=run.pk)
    run.refresh_from_db()
    stdout.write(f"Site intel: crawled {hostname}: {run.pages_done} pages, {run.state}.")
