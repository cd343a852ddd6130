"""Reads for site intel: hostnames, runs, snapshots, and the overview panel."""

from collections import Counter, defaultdict
from urllib.parse import unquote

from django.db.models import Q

from gharart import constants as gc
from gharart.errors import ApplicationError
from siteintel import constants as c
from siteintel.hostnames import Target, sites_hostname
from siteintel.models import CrawledPage, CrawlRun, Hostname, ReplayRun, ReplayScreenshot


def hostname_list(*, handle):
    """The handle's crawlable sites: its own profile site first, then registered ones."""
    targets = [Target(hostname=sites_hostname(handle), scheme=c.SCHEME_HTTPS, internal=True)]
    for row in Hostname.objects.filter(handle=handle).order_by("hostname"):
        targets.append(Target(hostname=row.hostname, scheme=row.scheme, internal=False))
    return targets


def hostname_get(*, handle, hostname):
    """The handle's site for ``hostname`` or 404 ``hostname_not_registered``."""
    wanted = (hostname or "").strip().lower()
    if wanted == sites_hostname(handle):
        return Target(hostname=wanted, scheme=c.SCHEME_HTTPS, internal=True)
    row = Hostname.objects.filter(handle=handle, hostname=wanted).first()
    if row is None:
        raise ApplicationError(
            c.HOSTNAME_NOT_REGISTERED,
            f"The hostname '{hostname}' is not registered for this handle.",
            status=404,
            details={"hostname": hostname},
        )
    return Target(hostname=row.hostname, scheme=row.scheme, internal=False)


def crawl_run_list(*, handle, hostname=None):
    qs = CrawlRun.objects.filter(handle=handle).select_related("created_by")
    if hostname is not None:
        qs = qs.filter(hostname=hostname)
    return qs.order_by("-created_at", "-pk")


def crawl_run_get(*, handle, hostname, run_id):
    run = CrawlRun.objects.select_related("created_by").filter(handle=handle, hostname=hostname, pk=run_id).first()
    if run is None:
        raise ApplicationError(c.CRAWL_RUN_NOT_FOUND, "No such crawl run for this hostname.", status=404)
    return run


def crawl_run_active(*, handle, hostname):
    return CrawlRun.objects.filter(handle=handle, hostname=hostname, state__in=c.ACTIVE_STATES).first()


def crawl_run_latest_succeeded(*, handle, hostname):
    return CrawlRun.objects.filter(handle=handle, hostname=hostname, state=c.SUCCEEDED).order_by("-finished_at", "-created_at").first()


def replay_run_list(*, handle, hostname=None, deployment_id=None):
    qs = ReplayRun.objects.filter(handle=handle).select_related("created_by").prefetch_related("diffs")
    if hostname is not None:
        qs = qs.filter(hostname=hostname)
    if deployment_id is not None:
        qs = qs.filter(deployment_id=deployment_id)
    return qs.order_by("-created_at", "-pk")


def replay_run_get(*, handle, run_id, hostname=None):
    qs = ReplayRun.objects.select_related("created_by").prefetch_related("diffs").filter(handle=handle, pk=run_id)
    if hostname is not None:
        qs = qs.filter(hostname=hostname)
    run = qs.first()
    if run is None:
        raise ApplicationError(c.REPLAY_RUN_NOT_FOUND, "No such replay run.", status=404)
    return run


def replay_screenshot_get(*, handle, hostname, run_id, sha256):
    """A PNG of one of the handle's visual replays, or 404 ``screenshot_not_found`` (also
    for a blob that exists but belongs to no screenshot of this run)."""
    shot = ReplayScreenshot.objects.filter(
        replay_run__handle=handle, replay_run__hostname=hostname, replay_run_id=run_id, sha256=(sha256 or "").lower(),
    ).first()
    if shot is None:
        raise ApplicationError(c.SCREENSHOT_NOT_FOUND, "No such screenshot in this replay.", status=404)
    return shot


def page_status_key(status):
    return str(status) if status is not None else "error"


def snapshot_get(*, handle, hostname, crawl_run=None):
    """The snapshot of the latest succeeded crawl (or of ``crawl_run``).

    ``{"hostname", "crawl_run_id", "taken_at", "page_count", "status_counts",
    "broken_links": [{"url", "status", "error", "linked_from", "kinds", "references"}],
    "broken_fragments": [{"url", "fragment", "linked_from"}], "pages": [CrawledPage]}``.
    Raises 404 ``snapshot_not_found`` when no crawl of the hostname has succeeded.
    """
    run = crawl_run or crawl_run_latest_succeeded(handle=handle, hostname=hostname)
    if run is None:
        raise ApplicationError(c.SNAPSHOT_NOT_FOUND, f"No crawl of '{hostname}' has succeeded yet.", status=404, details={"hostname": hostname})
    pages = list(CrawledPage.objects.filter(crawl_run=run).order_by("depth", "id"))
    return {
        "hostname": run.hostname,
        "crawl_run_id": run.id,
        "taken_at": run.finished_at,
        "page_count": len(pages),
        "status_counts": dict(sorted(Counter(page_status_key(p.status) for p in pages).items())),
        "broken_links": broken_links(pages),
        "broken_fragments": broken_fragments(pages),
        "pages": pages,
        "run": run,
    }


def broken_links(pages):
    """Each broken page (4xx/5xx or no response) with the crawled pages that reference it
    and how: ``references`` is ``[{"page", "kind"}]`` (``a``, ``img``, ``css_url``...)."""
    inbound = defaultdict(list)
    found_as = defaultdict(list)
    for page in pages:
        for link in page.links or []:
            inbound[link].append(page.url)
        for ref in page.references or []:
            found_as[ref["url"]].append({"page": page.url, "kind": ref["kind"]})
    out = []
    for page in pages:
        if page.is_broken:
            refs = found_as.get(page.url, [])
            out.append({
                "url": page.url, "status": page.status, "error": page.error, "linked_from": inbound.get(page.url, []),
                "kinds": sorted({r["kind"] for r in refs}), "references": refs,
            })
    return out


def is_html_page(page):
    content_type = (page.content_type or "").split(";", 1)[0].strip().lower()
    return page.status is not None and 200 <= page.status < 300 and content_type in ("text/html", "application/xhtml+xml")


def fragment_exists(fragment, anchors):
    """An HTML page has ``#fragment`` when an element id or ``<a name>`` is the fragment
    (as written or percent-decoded); ``#top`` and text directives always exist."""
    if not fragment or fragment.lower() in c.IMPLICIT_FRAGMENTS or fragment.startswith(":~:"):
        return True
    return fragment in anchors or unquote(fragment) in anchors


def fragment_link_targets(pages):
    """``{(url, fragment): [linking page urls]}`` over the crawled HTML targets."""
    targets = {}
    for page in pages:
        for link in page.fragment_links or []:
            targets.setdefault((link["url"], link["fragment"]), []).append(page.url)
    return targets


def broken_fragments(pages):
    """Links to ``#fragment`` of a crawled HTML page that has no such id or ``<a name>``."""
    by_url = {p.url: p for p in pages}
    out = []
    for (url, fragment), linked_from in fragment_link_targets(pages).items():
        target = by_url.get(url)
        if target is None or not is_html_page(target):
            continue
        if not fragment_exists(fragment, set(target.anchors or [])):
            out.append({"url": url, "fragment": fragment, "linked_from": linked_from})
    return out


def snapshot_pages_search(*, crawl_run, query="", status=""):
    """Pages of a crawl filtered by URL/title text and status class (``2xx``, ``404``, ``error``)."""
    qs = CrawledPage.objects.filter(crawl_run=crawl_run)
    query = (query or "").strip()
    if query:
        qs = qs.filter(Q(url__icontains=query) | Q(title__icontains=query))
    status = (status or "").strip().lower()
    if status == "error":
        qs = qs.filter(status__isnull=True)
    elif status.endswith("xx") and status[:1].isdigit():
        base = int(status[0]) * 100
        qs = qs.filter(status__gte=base, status__lt=base + 100)
    elif status.isdigit():
        qs = qs.filter(status=int(status))
    return qs.order_by("depth", "id")


def overview_panel(*, handle, membership):
    """The handle overview's site-intel card: latest crawl of the profile site, broken links."""
    hostname = sites_hostname(handle)
    latest = CrawlRun.objects.filter(handle=handle).order_by("-created_at").first()
    snapshot = None
    try:
        snapshot = snapshot_get(handle=handle, hostname=hostname)
    except ApplicationError:
        pass
    return {
        "template": "siteintel/_overview_panel.html",
        "context": {
            "latest": latest,
            "hostname": hostname,
            "broken_count": len(snapshot["broken_links"]) if snapshot else None,
            "page_count": snapshot["page_count"] if snapshot else None,
            "taken_at": snapshot["taken_at"] if snapshot else None,
            "can_crawl": membership is not None and membership.role in gc.SITE_ROLES,
        },
    }
