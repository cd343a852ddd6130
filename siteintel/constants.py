"""States, limits, diff kinds and error codes of site intel (API, services, templates, tests)."""

# The preview gate a replay writes, and the deployment it replays against, belong to
# deployments: their values and codes are the same names here.
from deployments.constants import (  # noqa: F401
    DEPLOYMENT_NOT_FOUND,
    DEPLOYMENT_NOT_READY,
    GATE_FAILED,
    GATE_PASSED,
)

# --- Run states (crawl runs and replay runs) ------------------------------------------
QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
RUN_STATE_CHOICES = [
    (QUEUED, "Queued"),
    (RUNNING, "Running"),
    (SUCCEEDED, "Succeeded"),
    (FAILED, "Failed"),
    (CANCELLED, "Cancelled"),
]
ACTIVE_STATES = (QUEUED, RUNNING)
FINAL_STATES = (SUCCEEDED, FAILED, CANCELLED)

# Why a crawl stopped before running out of links.
STOP_COMPLETED = "completed"
STOP_MAX_PAGES = "max_pages"
STOP_TIME_LIMIT = "time_limit"
STOP_CANCELLED = "cancelled"

# --- Hostnames ------------------------------------------------------------------------
SCHEME_HTTP = "http"
SCHEME_HTTPS = "https"
SCHEME_CHOICES = [(SCHEME_HTTPS, "https"), (SCHEME_HTTP, "http")]

# --- Request limits for a crawl (the settings give the defaults) -------------------------
MAX_PAGES_LIMIT = 20_000
MAX_DEPTH_LIMIT = 100
# A run is resumed this many times after its worker died, then failed.
MAX_RUN_ATTEMPTS = 2

# --- Per-page errors recorded by the crawler -------------------------------------------
PAGE_HOSTNAME_NOT_ALLOWED = "hostname_not_allowed"
PAGE_DNS_ERROR = "dns_error"
PAGE_CONNECT_ERROR = "connect_error"
PAGE_TIMEOUT = "timeout"
PAGE_TOO_MANY_REDIRECTS = "too_many_redirects"
PAGE_REDIRECT_LOOP = "redirect_loop"
PAGE_BODY_TOO_LARGE = "body_too_large"
PAGE_PROTOCOL_ERROR = "protocol_error"
PAGE_INVALID_URL = "invalid_url"

# --- Replay diff kinds ------------------------------------------------------------------
DIFF_MISSING = "missing"
DIFF_STATUS_CHANGED = "status_changed"
DIFF_CONTENT_CHANGED = "content_changed"
DIFF_TITLE_CHANGED = "title_changed"
DIFF_NEW_BROKEN_LINK = "new_broken_link"
DIFF_MISSING_FRAGMENT = "missing_fragment"
DIFF_VISUAL_CHANGED = "visual_changed"
DIFF_KIND_CHOICES = [
    (DIFF_MISSING, "Missing"),
    (DIFF_STATUS_CHANGED, "Status changed"),
    (DIFF_CONTENT_CHANGED, "Content changed"),
    (DIFF_TITLE_CHANGED, "Title changed"),
    (DIFF_NEW_BROKEN_LINK, "New broken link"),
    (DIFF_MISSING_FRAGMENT, "Missing fragment"),
    (DIFF_VISUAL_CHANGED, "Looks different"),
]

# --- Visual replay ------------------------------------------------------------------------
VISUAL_MAX_PAGES_DEFAULT = 25
VISUAL_MAX_PAGES_LIMIT = 200
VISUAL_THRESHOLD_DEFAULT = 0.002
# Fragments every HTML page has without an element of that id (HTML: "top" scrolls to
# the top; ":~:" starts a text directive).
IMPLICIT_FRAGMENTS = ("top",)


# --- Error codes --------------------------------------------------------------------------
HOSTNAME_NOT_REGISTERED = "hostname_not_registered"
HOSTNAME_NOT_ALLOWED = "hostname_not_allowed"
HOSTNAME_EXISTS = "hostname_exists"
CRAWL_ALREADY_RUNNING = "crawl_already_running"
CRAWL_RUN_NOT_FOUND = "crawl_run_not_found"
CRAWL_RUN_FINISHED = "crawl_run_finished"
SNAPSHOT_NOT_FOUND = "snapshot_not_found"
REPLAY_RUN_NOT_FOUND = "replay_run_not_found"
VISUAL_REPLAY_UNAVAILABLE = "visual_replay_unavailable"
SCREENSHOT_NOT_FOUND = "screenshot_not_found"

# Run-level error codes (in a run's ``error`` object).
RUN_WORKER_LOST = "worker_lost"
RUN_CRAWL_ERROR = "crawl_error"
RUN_REPLAY_ERROR = "replay_error"
RUN_NO_DEPLOYMENT = "deployment_unavailable"
RUN_VISUAL_ERROR = "visual_replay_failed"
