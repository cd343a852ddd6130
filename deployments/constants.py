"""States, targets, gate values, release kinds, warnings and error codes of deployments.

Used alike by models, services, serializers, templates and tests.
"""

# Error codes every app answers with: one spelling, in gharart.constants.
from gharart.constants import FILE_TOO_LARGE, PAYLOAD_TOO_LARGE  # noqa: F401

# --- Deployment states ------------------------------------------------------------------
UPLOADING = "uploading"
PROCESSING = "processing"
READY = "ready"
FAILED = "failed"
STATE_CHOICES = [
    (UPLOADING, "Uploading"),
    (PROCESSING, "Processing"),
    (READY, "Ready"),
    (FAILED, "Failed"),
]
FINAL_STATES = (READY, FAILED)

# --- Targets ----------------------------------------------------------------------------
TARGET_SITE = "site"
TARGET_DOCS = "docs"
TARGET_CHOICES = [(TARGET_SITE, "Profile site"), (TARGET_DOCS, "Internal docs")]
TARGETS = (TARGET_SITE, TARGET_DOCS)

# --- Preview gate -----------------------------------------------------------------------
GATE_PENDING = "pending"
GATE_PASSED = "passed"
GATE_FAILED = "failed"
GATE_CHOICES = [(GATE_PENDING, "Pending"), (GATE_PASSED, "Passed"), (GATE_FAILED, "Failed")]

# --- Release kinds ----------------------------------------------------------------------
RELEASE_PROMOTE = "promote"
RELEASE_ROLLBACK = "rollback"
RELEASE_FORCED_PROMOTE = "forced_promote"
RELEASE_KIND_CHOICES = [
    (RELEASE_PROMOTE, "Promote"),
    (RELEASE_ROLLBACK, "Rollback"),
    (RELEASE_FORCED_PROMOTE, "Forced promote"),
]

# --- Function bindings ------------------------------------------------------------------
FUNCTION_FORM_CAPTURE = "form-capture"
FUNCTION_REDIRECT = "redirect"
FUNCTION_JSON = "json"
FUNCTION_CHOICES = [
    (FUNCTION_FORM_CAPTURE, "Form capture"),
    (FUNCTION_REDIRECT, "Redirect"),
    (FUNCTION_JSON, "JSON response"),
]
BINDING_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
BINDING_ACTIVE = "active"
# Pinned to a deployment that is no longer live: it does not answer on the live site.
BINDING_STALE = "stale"
REDIRECT_STATUSES = (301, 302, 307, 308)
FORM_CAPTURE_MAX_BYTES_LIMIT = 1024 * 1024

# --- What the profile route serves (site-mode "serving" and X-Gharart-Site-Mode) -------
SERVING_LINKS_PAGE = "links_page"
SERVING_DEPLOYMENT = "deployment"
SERVING_MAINTENANCE_PAGE = "maintenance_page"
SERVING_NO_SITE = "no_site_published"
MAINTENANCE_RETRY_AFTER_SECONDS = 600

# --- Warnings (codes in "warnings", explained in "warning_details") ---------------------
WARNING_NO_INDEX_HTML = "no_index_html"
WARNING_SITE_MODE_NOT_DEPLOYMENT = "site_mode_not_deployment"
WARNING_STALE_FUNCTION_BINDINGS = "stale_function_bindings"
WARNING_SITE_MODE_MISMATCH = "site_mode_mismatch"
WARNING_MISSING_ARTIFACT_FILES = "deployment_artifact_missing"
# Lines of the deployment's /_redirects or /_headers that could not be read (skipped).
WARNING_REDIRECTS_INVALID = "redirects_invalid"
WARNING_HEADERS_INVALID = "headers_invalid"

# --- Error codes ------------------------------------------------------------------------
INVALID_ARTIFACT = "invalid_artifact"
DEPLOYMENT_NOT_FOUND = "deployment_not_found"
DEPLOYMENT_NOT_READY = "deployment_not_ready"
DEPLOYMENT_NOT_UPLOADING = "deployment_not_uploading"
DEPLOYMENT_ARTIFACT_MISSING = "deployment_artifact_missing"
PREVIEW_GATE_PENDING = "preview_gate_pending"
NOT_A_PREVIOUS_RELEASE = "not_a_previous_release"
BLOB_HASH_MISMATCH = "blob_hash_mismatch"
BLOB_NOT_REQUIRED = "blob_not_required"
UPLOAD_INCOMPLETE = "upload_incomplete"
PROCESSING_FAILED = "processing_failed"
BINDING_CONFLICT = "binding_conflict"
BINDING_NOT_FOUND = "binding_not_found"
PREVIEW_NOT_FOUND = "preview_not_found"
PREVIEW_EXPIRED = "preview_expired"

# details.reason of invalid_artifact
REASON_NOT_AN_ARCHIVE = "not_an_archive"
REASON_UNSAFE_PATH = "unsafe_path"
REASON_SYMLINK = "symlink"
REASON_TOO_MANY_FILES = "too_many_files"
REASON_FILE_TOO_LARGE = "file_too_large"
REASON_ARCHIVE_TOO_LARGE = "archive_too_large"
REASON_COMPRESSION_RATIO = "compression_ratio"
REASON_EMPTY = "empty"
INVALID_ARTIFACT_REASONS = (
    REASON_NOT_AN_ARCHIVE,
    REASON_UNSAFE_PATH,
    REASON_SYMLINK,
    REASON_TOO_MANY_FILES,
    REASON_FILE_TOO_LARGE,
    REASON_ARCHIVE_TOO_LARGE,
    REASON_COMPRESSION_RATIO,
    REASON_EMPTY,
)

# The page meta tag that marks an internal docs page as confidential.
CLASSIFICATION_META = "gharart:classification"
CLASSIFICATION_CONFIDENTIAL = "confidential"

# --- Scheduled releases and the publishing lock ------------------------------------------
SCHEDULE_SCHEDULED = "scheduled"
SCHEDULE_RUNNING = "running"
SCHEDULE_DONE = "done"
SCHEDULE_FAILED = "failed"
SCHEDULE_CANCELLED = "cancelled"
SCHEDULE_STATE_CHOICES = [
    (SCHEDULE_SCHEDULED, "Scheduled"),
    (SCHEDULE_DONE, "Done"),
    (SCHEDULE_FAILED, "Failed"),
    (SCHEDULE_CANCELLED, "Cancelled"),
]
SCHEDULE_FINAL_STATES = (SCHEDULE_DONE, SCHEDULE_FAILED, SCHEDULE_CANCELLED)
SCHEDULED_RELEASE_NOT_FOUND = "scheduled_release_not_found"
SCHEDULED_RELEASE_FINISHED = "scheduled_release_finished"
PUBLISHING_LOCKED = "publishing_locked"

# What each deployment warning says (API ``warning_details`` and the dashboard).
WARNING_MESSAGES = {
    WARNING_NO_INDEX_HTML: "The site has no /index.html, so its root answers 404.",
    WARNING_REDIRECTS_INVALID: "Some lines of _redirects could not be used and are skipped.",
    WARNING_HEADERS_INVALID: "Some lines of _headers could not be used and are skipped.",
}
