"""The work of crawl and replay runs (called by the Celery tasks), and the reaper.

A run is *claimed* before any work: a finished run is left alone (a redelivered task does
nothing), a running run whose heartbeat is fresh belongs to another worker, and a run that
already used its attempts is failed. Progress is saved as the run goes (pages, counters,
heartbeat); a cancelled run is noticed between pages. Finishing only ever moves a run out
of ``running``, so a cancel is never overwritten.
"""

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from deployments import storage
from gharart.jobs import job_task
from siteintel import constants as c
from siteintel import crawler, inprocess, selectors, visual
from siteintel.models import CrawledPage, CrawlRun, ReplayDiff, ReplayRun, ReplayScreenshot

# The entry points of these bodies (``siteintel.tasks``), by name.
CRAWL_RUN_EXECUTE = "siteintel.crawl_run_execute"
REPLAY_RUN_EXECUTE = "siteintel.replay_run_execute"

logger = logging.getLogger("siteintel.jobs")

FLUSH_SECONDS = 0.5
FLUSH_PAGES = 200
# A cancel is looked for before a page once this many pages or seconds went by since the
# last look (so within a few pages on a fast site, before every page on a slow one).
STOP_CHECK_PAGES = 8
STOP_CHECK_SECONDS = 0.25


def _stale_before():
    return timezone.now() - timedelta(seconds=settings.SITEINTEL_RUN_STALE_SECONDS)


def run_claim(model, run_id):
    """Take a queued (or abandoned) run for this worker; None when there is nothing to do."""
    with transaction.atomic():
        run = model.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.state in c.FINAL_STATES:
            return None
        now = timezone.now()
        if run.state == c.RUNNING and run.heartbeat_at is not None and run.heartbeat_at >= _stale_before():
            return None
        if run.attempts >= c.MAX_RUN_ATTEMPTS:
            _fail(run, c.RUN_WORKER_LOST, "The worker running this job stopped, and the job was not finished after retries.")
            return None
        run.state = c.RUNNING
        run.attempts += 1
        run.started_at = run.started_at or now
        run.heartbeat_at = now
        run.save(update_fields=["state", "attempts", "started_at", "heartbeat_at", "updated_at"])
        return run


def _fail(run, code, message):
    type(run).objects.filter(pk=run.pk, state__in=c.ACTIVE_STATES).update(
        state=c.FAILED, error={"code": code, "message": message}, finished_at=timezone.now(), updated_at=timezone.now()
    )


class CrawlProgress:
    """Saves pages in batches and the run's counters/heartbeat, and notices a cancel."""

    def __init__(self, run):
        self.run = run
        self.buffer = []
        self.pages_done = run.pages_done
        self.pages_found = run.pages_found
        self.last_flush = time.monotonic()
        self.stopped = False
        self.last_check = float("-inf")
        self.pages_since_check = 0

    def on_page(self, record, pages_done, pages_found):
        self.buffer.append(CrawledPage(crawl_run_id=self.run.pk, **record.fields()))
        self.pages_since_check += 1
        self.pages_done, self.pages_found = pages_done, pages_found
        if len(self.buffer) >= FLUSH_PAGES or time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self):
        self.last_flush = time.monotonic()
        with transaction.atomic():
            if self.buffer:
                CrawledPage.objects.bulk_create(self.buffer)
                self.buffer = []
            now = timezone.now()
            updated = CrawlRun.objects.filter(pk=self.run.pk, state=c.RUNNING).update(
                pages_done=self.pages_done, pages_found=self.pages_found, heartbeat_at=now, updated_at=now
            )
        if not updated:
            self.stopped = True

    def should_stop(self):
        """Asked before each page: one indexed lookup every ``STOP_CHECK_PAGES`` pages or
        ``STOP_CHECK_SECONDS`` (whichever comes first), and every flush notices it too."""
        if self.stopped:
            return True
        now = time.monotonic()
        if self.pages_since_check < STOP_CHECK_PAGES and now - self.last_check < STOP_CHECK_SECONDS:
            return False
        self.last_check, self.pages_since_check = now, 0
        if not CrawlRun.objects.filter(pk=self.run.pk, state=c.RUNNING).exists():
            self.stopped = True
        return self.stopped


def live_fetcher(handle, hostname, start_url):
    """How the live site of ``hostname`` is fetched: in-process for the handle's own
    profile site, over HTTP (SSRF-guarded) for a registered hostname."""
    if hostname == inprocess.own_hostname(handle):
        return inprocess.profile_fetcher(handle, start_url)
    return crawler.HttpFetcher()


def crawl_fetcher(run):
    return live_fetcher(run.handle, run.hostname, run.start_url)


def crawl_run_execute(*, run_id):
    """Run (or resume) one crawl to the end. Safe to call again for the same run."""
    run = run_claim(CrawlRun, run_id)
    if run is None:
        return None
    progress = CrawlProgress(run)
    fetcher = None
    try:
        fetcher = crawl_fetcher(run)
        resume = list(CrawledPage.objects.filter(crawl_run=run).values("url", "depth", "links"))
        outcome = crawler.crawl(
            run.start_url,
            fetcher=fetcher,
            max_pages=run.max_pages,
            max_depth=run.max_depth,
            on_page=progress.on_page,
            should_stop=progress.should_stop,
            resume=resume,
        )
        progress.flush()
    except Exception as exc:
        logger.exception("Crawl %s failed", run.pk)
        _fail(run, c.RUN_CRAWL_ERROR, f"The crawl stopped on an unexpected error ({type(exc).__name__}).")
        return c.FAILED
    finally:
        if fetcher is not None:
            fetcher.close()
    now = timezone.now()
    CrawlRun.objects.filter(pk=run.pk, state=c.RUNNING).update(
        state=c.SUCCEEDED,
        finished_at=now,
        updated_at=now,
        heartbeat_at=now,
        stop_reason=outcome.stop_reason,
        stats=outcome.stats,
        pages_done=outcome.pages_done,
        pages_found=outcome.pages_found,
    )
    return CrawlRun.objects.values_list("state", flat=True).get(pk=run.pk)


# --- Replay ---------------------------------------------------------------------------------

def _side(status, sha256, title):
    return {"status": status, "sha256": sha256 or None, "title": title or ""}


def _is_ok(status):
    return status is not None and 200 <= status < 300


def page_diff(before, after):
    """The diff of one replayed page (or None when unchanged): ``(kind, regression)``."""
    if before.status == after.status and (before.sha256 or "") == (after.sha256 or ""):
        return None
    if _is_ok(before.status) and after.status in (404, 410):
        return c.DIFF_MISSING, True
    if before.status != after.status:
        return c.DIFF_STATUS_CHANGED, _is_ok(before.status) and not _is_ok(after.status)
    if (before.title or "") != (after.title or ""):
        return c.DIFF_TITLE_CHANGED, False
    return c.DIFF_CONTENT_CHANGED, False


def fragment_diffs(run, pages, after_records):
    """``missing_fragment`` diffs: a ``#fragment`` some page linked to, which its target had
    in the snapshot and no longer has in the candidate (while still an HTML page there;
    a target that is gone is already its own diff)."""
    before_by_url = {p.url: p for p in pages}
    out = []
    for (url, fragment), linked_from in selectors.fragment_link_targets(pages).items():
        before, after = before_by_url.get(url), after_records.get(url)
        if before is None or after is None or not selectors.is_html_page(before) or not selectors.is_html_page(after):
            continue
        if selectors.fragment_exists(fragment, set(before.anchors or [])) and not selectors.fragment_exists(fragment, set(after.anchors or [])):
            out.append(ReplayDiff(
                replay_run=run, path=before.path, kind=c.DIFF_MISSING_FRAGMENT, regression=True, fragment=fragment[:500],
                before=_side(before.status, before.sha256, before.title), after=_side(after.status, after.sha256, after.title),
                linked_from=linked_from,
            ))
    return out


def visual_pages(pages, limit):
    """The snapshot's ``limit`` most linked HTML pages (ties: shallower first, then crawl order)."""
    inbound = {}
    for page in pages:
        for link in set(page.links or []):
            if link != page.url:
                inbound[link] = inbound.get(link, 0) + 1
    html = [p for p in pages if selectors.is_html_page(p)]
    html.sort(key=lambda p: (-inbound.get(p.url, 0), p.depth, p.id))
    return html[:limit]


def visual_diffs(run, crawl, deployment, pages, after_records, *, heartbeat):
    """Render the most linked pages live and in the candidate; a ``visual_changed`` diff per
    page whose share of changed pixels exceeds the run's threshold. Returns ``(diffs,
    screenshots, stats)``; raises ``visual.VisualUnavailable`` when Chromium cannot start."""
    chosen = visual_pages(pages, run.visual_max_pages)
    live = live_fetcher(run.handle, crawl.hostname, crawl.start_url)
    candidate = inprocess.preview_fetcher(deployment, crawl.start_url)
    diffs, screenshots, changed = [], {}, 0

    def keep(png):
        info = storage.blob_put_bytes(png)
        screenshots[info.sha256] = info.size
        return info.sha256

    # The pixel diffs run in a second thread (Pillow releases the GIL while decoding and
    # encoding) so this one stays free to answer the browser's requests.
    compared = []
    try:
        by_url = {page.url: page for page in chosen}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="visual-diff") as pool, \
                visual.Renderer(crawl.start_url, {"live": live, "candidate": candidate}) as renderer:
            for url, shots in renderer.render_all(list(by_url)):
                before, after = shots["live"], shots["candidate"]
                future = None
                if not (before.error or after.error):
                    future = pool.submit(visual.compare, before.png, after.png, threshold=run.visual_threshold)
                compared.append((by_url[url], before, after, future))
                if not heartbeat():
                    return None
            for page, before, after, future in compared:
                record = after_records.get(page.url)
                sides = {
                    "before": _side(page.status, page.sha256, page.title),
                    "after": _side(record.status, record.sha256, record.title) if record else None,
                }
                if future is None:
                    changed += 1
                    diffs.append(ReplayDiff(
                        replay_run=run, path=page.path, kind=c.DIFF_VISUAL_CHANGED, regression=run.visual_gate, **sides,
                        visual={"changed_ratio": None, "error": (after.error and f"candidate: {after.error}") or f"live: {before.error}"},
                    ))
                    continue
                result = future.result()
                if result.changed_ratio > run.visual_threshold:
                    changed += 1
                    diffs.append(ReplayDiff(
                        replay_run=run, path=page.path, kind=c.DIFF_VISUAL_CHANGED, regression=run.visual_gate, **sides,
                        visual={
                            "changed_ratio": round(result.changed_ratio, 6),
                            "before": keep(before.png), "after": keep(after.png), "diff": keep(result.diff_png),
                        },
                    ))
    finally:
        live.close()
        candidate.close()
    return diffs, screenshots, {"pages": len(chosen), "changed": changed}


def replay_run_execute(*, run_id):
    """Replay every page of the run's snapshot against its deployment, diff, set the gate."""
    run = run_claim(ReplayRun, run_id)
    if run is None:
        return None
    try:
        deployment = inprocess.deployment_get(handle=run.handle, deployment_id=run.deployment_id)
        if deployment is None:
            _fail(run, c.RUN_NO_DEPLOYMENT, "The deployment no longer exists.")
            return c.FAILED
        crawl = run.crawl_run
        fetcher = inprocess.deployment_fetcher(deployment, crawl.start_url)
        pages = list(CrawledPage.objects.filter(crawl_run=crawl).order_by("depth", "id"))
        before_by_url = {p.url: p for p in pages}
        ReplayDiff.objects.filter(replay_run=run).delete()  # a resumed replay starts over
        diffs, after_records, pages_done, last_flush = [], {}, 0, time.monotonic()
        n_visual = len(visual_pages(pages, run.visual_max_pages)) if run.visual else 0
        pages_found = len(pages) + n_visual

        def heartbeat(force=False):
            nonlocal last_flush
            if not force and time.monotonic() - last_flush < FLUSH_SECONDS:
                return True
            last_flush = time.monotonic()
            now = timezone.now()
            return bool(ReplayRun.objects.filter(pk=run.pk, state=c.RUNNING).update(
                pages_done=pages_done, pages_found=pages_found, heartbeat_at=now, updated_at=now,
            ))

        for page in pages:
            record = crawler.build_record(page.url, page.depth, fetcher.fetch(page.url))
            after_records[page.url] = record
            found = page_diff(page, record)
            if found is not None:
                kind, regression = found
                diffs.append(ReplayDiff(
                    replay_run=run, path=page.path, kind=kind, regression=regression,
                    before=_side(page.status, page.sha256, page.title), after=_side(record.status, record.sha256, record.title),
                ))
            pages_done += 1
            if not heartbeat():
                return None  # reaped or removed meanwhile
        # Links the new version adds to pages the snapshot never saw: broken ones are new.
        origin = crawler.origin_of(crawl.start_url)
        inbound = {}
        for url, record in after_records.items():
            for link in record.links:
                if crawler.origin_of(link) == origin and link not in before_by_url:
                    inbound.setdefault(link, []).append(url)
        for link, linked_from in list(inbound.items())[: c.MAX_PAGES_LIMIT]:
            record = crawler.build_record(link, 0, fetcher.fetch(link))
            if record.is_broken:
                diffs.append(ReplayDiff(
                    replay_run=run, path=record.path, kind=c.DIFF_NEW_BROKEN_LINK, regression=True,
                    before=None, after=_side(record.status, record.sha256, record.title), linked_from=linked_from,
                ))
        diffs.extend(fragment_diffs(run, pages, after_records))
        screenshots, visual_stats = {}, None
        if run.visual:
            def visual_heartbeat():
                nonlocal pages_done
                pages_done += 1
                return heartbeat(force=True)

            try:
                done = visual_diffs(run, crawl, deployment, pages, after_records, heartbeat=visual_heartbeat)
            except visual.VisualUnavailable as exc:
                _fail(run, c.RUN_VISUAL_ERROR, f"The pages could not be rendered: {exc}")
                return c.FAILED
            if done is None:
                return None
            visual_diffs_found, screenshots, visual_stats = done
            diffs.extend(visual_diffs_found)
        changed_paths = {d.path for d in diffs if d.kind != c.DIFF_NEW_BROKEN_LINK}
        summary = {
            "total": len(pages),
            "unchanged": len(pages) - len(changed_paths),
            "changed": len(changed_paths),
            "regressions": sum(1 for d in diffs if d.regression),
        }
        if visual_stats is not None:
            summary["visual"] = {**visual_stats, "gate": run.visual_gate, "threshold": run.visual_threshold}
        gate = c.GATE_PASSED if summary["regressions"] == 0 else c.GATE_FAILED
        with transaction.atomic():
            now = timezone.now()
            updated = ReplayRun.objects.filter(pk=run.pk, state=c.RUNNING).update(
                state=c.SUCCEEDED, pages_done=pages_done, pages_found=pages_found, summary=summary,
                gate_status=gate, finished_at=now, heartbeat_at=now, updated_at=now,
            )
            if updated:
                ReplayDiff.objects.bulk_create(diffs)
                ReplayScreenshot.objects.bulk_create(
                    [ReplayScreenshot(replay_run=run, sha256=sha, size=size) for sha, size in screenshots.items()], ignore_conflicts=True,
                )
                inprocess.gate_set(deployment=deployment, status=gate, replay_run_id=run.pk, summary=summary)
    except Exception as exc:
        logger.exception("Replay %s failed", run.pk)
        _fail(run, c.RUN_REPLAY_ERROR, f"The replay stopped on an unexpected error ({type(exc).__name__}).")
        return c.FAILED
    return c.SUCCEEDED if updated else None


# --- Reaper ------------------------------------------------------------------------------------

def runs_reap():
    """Resume or fail runs whose worker died, so none stays ``running`` forever.

    A run whose heartbeat is older than ``SITEINTEL_RUN_STALE_SECONDS`` is queued again
    (a crawl resumes from the pages it saved) until it used ``MAX_RUN_ATTEMPTS``, then
    failed with ``worker_lost``. A run still queued long after it was created (its message
    was lost) is dispatched again, and failed if it never starts.
    """
    dispatch = {CrawlRun: job_task(CRAWL_RUN_EXECUTE), ReplayRun: job_task(REPLAY_RUN_EXECUTE)}
    stale_before = _stale_before()
    never_started_before = timezone.now() - timedelta(seconds=6 * settings.SITEINTEL_RUN_STALE_SECONDS)
    counts = {"resumed": 0, "failed": 0}
    for model, task in dispatch.items():
        stale = model.objects.filter(state=c.RUNNING, heartbeat_at__lt=stale_before) | model.objects.filter(
            state=c.QUEUED, updated_at__lt=stale_before
        )
        for run_id in list(stale.values_list("pk", flat=True)):
            with transaction.atomic():
                run = model.objects.select_for_update().filter(pk=run_id).first()
                if run is None or run.state in c.FINAL_STATES:
                    continue
                if run.state == c.RUNNING and run.heartbeat_at and run.heartbeat_at >= stale_before:
                    continue
                if run.attempts >= c.MAX_RUN_ATTEMPTS or (run.state == c.QUEUED and run.created_at < never_started_before):
                    _fail(run, c.RUN_WORKER_LOST, "The worker running this job stopped, and the job was not finished after retries.")
                    counts["failed"] += 1
                    continue
                run.state = c.QUEUED
                run.heartbeat_at = None
                run.save(update_fields=["state", "heartbeat_at", "updated_at"])
                transaction.on_commit(lambda t=task, pk=run.pk: t.delay(pk))
                counts["resumed"] += 1
    return counts
