from django.db import models
from django.db.models import Q
from django.utils import timezone

from gharart import ids
from gharart.fields import field_in, field_is, optional_user, prefixed_id
from gharart.models import Handle
from siteintel import constants as c


class Hostname(models.Model):
    """A hostname an owner/admin registered for a handle, crawled over HTTP.

    The handle's own ``{slug}.{GHARART_SITES_DOMAIN}`` is implicit and has no row.
    ``hostname`` is the netloc (``host`` or ``host:port``), lowercase, IDNA-encoded.
    """

    id = prefixed_id(ids.new_host_id)
    handle = models.ForeignKey(Handle, on_delete=models.CASCADE, related_name="siteintel_hostnames")
    hostname = models.CharField(max_length=260)
    scheme = models.CharField(max_length=5, choices=c.SCHEME_CHOICES, default=c.SCHEME_HTTPS)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = optional_user()

    class Meta:
        ordering = ["hostname"]
        constraints = [models.UniqueConstraint(fields=["handle", "hostname"], name="siteintel_unique_hostname")]

    def __str__(self):
        return f"{self.handle.slug}: {self.hostname}"


class RunBase(models.Model):
    """What crawl and replay runs share: state, progress, heartbeat and attempts."""

    handle = models.ForeignKey(Handle, on_delete=models.CASCADE, related_name="+")
    hostname = models.CharField(max_length=260)
    state = models.CharField(max_length=12, choices=c.RUN_STATE_CHOICES, default=c.QUEUED, db_index=True)
    pages_done = models.PositiveIntegerField(default=0)
    pages_found = models.PositiveIntegerField(default=0)
    # {"code", "message"} when the run failed.
    error = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = optional_user()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched by the worker as it saves progress; the reaper looks at it.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    is_active = field_in("state", c.ACTIVE_STATES)
    is_succeeded = field_is("state", c.SUCCEEDED)
    is_failed = field_is("state", c.FAILED)
    is_cancelled = field_is("state", c.CANCELLED)

    @property
    def progress_max(self):
        return max(self.pages_found, self.pages_done, 1)


class CrawlRun(RunBase):
    id = prefixed_id(ids.new_crawl_id)
    scheme = models.CharField(max_length=8, default=c.SCHEME_HTTPS)
    max_pages = models.PositiveIntegerField()
    max_depth = models.PositiveIntegerField()
    stop_reason = models.CharField(max_length=20, blank=True)
    # Counters that are not pages: {"robots_disallowed": n, "external_links": n}.
    stats = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["handle", "hostname", "-created_at"], name="siteintel_crawl_host_idx")]
        # One active crawl per hostname, enforced by the database so two racing POSTs
        # cannot both start one.
        constraints = [
            models.UniqueConstraint(
                fields=["handle", "hostname"],
                condition=Q(state__in=["queued", "running"]),
                name="siteintel_one_active_crawl",
            )
        ]

    def __str__(self):
        return f"{self.id} {self.hostname} {self.state}"

    @property
    def stop_reason_words(self):
        """Why the crawl stopped early, in words with what to change ("" when it completed)."""
        if self.stop_reason == c.STOP_MAX_PAGES:
            return (
                f"it reached its cap of {self.max_pages} pages, so pages past the cap were not crawled. "
                "Start a new crawl with a higher page limit (up to the SITEINTEL_MAX_PAGES setting) to cover them"
            )
        if self.stop_reason == c.STOP_TIME_LIMIT:
            return "it ran out of time, so some pages were not crawled. Crawl again, or crawl a smaller part of the site"
        if self.stop_reason == c.STOP_CANCELLED:
            return "it was cancelled"
        return ""

    @property
    def start_url(self):
        return f"{self.scheme}://{self.hostname}/"


class CrawledPage(models.Model):
    """One URL fetched by a crawl, with what the response looked like."""

    crawl_run = models.ForeignKey(CrawlRun, on_delete=models.CASCADE, related_name="pages")
    url = models.CharField(max_length=2000)
    path = models.CharField(max_length=2000)
    depth = models.PositiveIntegerField(default=0)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=500, blank=True)
    links = models.JSONField(default=list, blank=True)
    # [{"url", "kind"}]: each reference once per kind (a, img, srcset, css_url, ...).
    references = models.JSONField(default=list, blank=True)
    # Fragment targets of an HTML page: its element ids and <a name>s.
    anchors = models.JSONField(default=list, blank=True)
    # [{"url", "fragment"}]: links to a fragment of a page.
    fragment_links = models.JSONField(default=list, blank=True)
    # [{"url", "status"}] for each redirect followed, in order.
    redirect_chain = models.JSONField(default=list, blank=True)
    final_url = models.CharField(max_length=2000, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["crawl_run", "id"]
        indexes = [models.Index(fields=["crawl_run", "url"], name="siteintel_page_url_idx")]

    def __str__(self):
        return f"{self.url} {self.status}"

    @property
    def is_broken(self):
        return self.status is None or self.status >= 400


class ReplayRun(RunBase):
    id = prefixed_id(ids.new_replay_id)
    crawl_run = models.ForeignKey(CrawlRun, on_delete=models.CASCADE, related_name="replay_runs")
    # Kept as the id string so a run outlives nothing it should not; checked at creation.
    deployment_id = models.CharField(max_length=40, db_index=True)
    # {"total", "unchanged", "changed", "regressions"} once finished.
    summary = models.JSONField(null=True, blank=True)
    gate_status = models.CharField(max_length=10, blank=True)
    # Visual replay: render the most linked pages in Chromium, live and candidate, and diff.
    visual = models.BooleanField(default=False)
    visual_max_pages = models.PositiveIntegerField(default=c.VISUAL_MAX_PAGES_DEFAULT)
    visual_threshold = models.FloatField(default=c.VISUAL_THRESHOLD_DEFAULT)
    visual_gate = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.id} {self.deployment_id} {self.state}"

    gate_passed = field_is("gate_status", c.GATE_PASSED)
    gate_failed = field_is("gate_status", c.GATE_FAILED)


class ReplayDiff(models.Model):
    replay_run = models.ForeignKey(ReplayRun, on_delete=models.CASCADE, related_name="diffs")
    path = models.CharField(max_length=2000)
    kind = models.CharField(max_length=20, choices=c.DIFF_KIND_CHOICES)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    regression = models.BooleanField(default=False)
    # For new broken links and missing fragments: the pages that link to it.
    linked_from = models.JSONField(default=list, blank=True)
    # For missing fragments: the #fragment the candidate no longer has.
    fragment = models.CharField(max_length=500, blank=True)
    # For visual changes: {"changed_ratio", "before", "after", "diff"} with the sha256 of
    # each PNG (the API turns them into URLs), or {"error"} when a side did not render.
    visual = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["replay_run", "-regression", "path", "id"]

    def __str__(self):
        return f"{self.kind} {self.path}"

    is_visual_change = field_is("kind", c.DIFF_VISUAL_CHANGED)

    def screenshot_url(self, sha256):
        from django.urls import reverse

        run = self.replay_run
        return reverse("api-siteintel-replay-screenshot", kwargs={
            "handle": run.handle.slug, "hostname": run.hostname, "run_id": run.pk, "sha256": sha256,
        })

    @property
    def visual_percent(self):
        """The share of changed pixels for people: "3.4%", "under 0.1%"."""
        ratio = (self.visual or {}).get("changed_ratio")
        if ratio is None:
            return ""
        return "under 0.1%" if ratio < 0.001 else f"{ratio * 100:.1f}%"

    def visual_output(self):
        """``visual`` as the API shows it: the PNGs' sha256 turned into their URLs."""
        if not self.visual:
            return None
        out = {"changed_ratio": self.visual.get("changed_ratio")}
        for name in ("before", "after", "diff"):
            if self.visual.get(name):
                out[name] = self.screenshot_url(self.visual[name])
        if self.visual.get("error"):
            out["error"] = self.visual["error"]
        return out


class ReplayScreenshot(models.Model):
    """A PNG a visual replay stored as a blob (before, after or diff of a page).

    The row is the blob's reference (the blob store keeps bytes something refers to) and
    what the screenshot route checks: a screenshot is readable through its own run only.
    """

    replay_run = models.ForeignKey(ReplayRun, on_delete=models.CASCADE, related_name="screenshots")
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["replay_run", "sha256"], name="siteintel_unique_screenshot")]

    def __str__(self):
        return f"{self.replay_run_id} {self.sha256[:12]}"
