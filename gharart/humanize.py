"""Times in words for prose ("in 3 hours", "2 days ago"): never a raw ISO timestamp."""

from datetime import datetime

from django.utils import timezone


def duration_words(seconds: float) -> str:
    """``seconds`` (>= 0) as the largest sensible unit: "1 minute", "3 hours", "2 days".

    Under an hour counts minutes (at least 1), under two days hours, then days, each
    rounded to the nearest whole unit (a time set 10 days ahead reads "10 days" a moment
    later, not "9 days").
    """
    seconds = max(0.0, float(seconds))
    if seconds < 3570:
        value, unit = max(1, int(seconds / 60 + 0.5)), "minute"
    elif seconds < 2 * 86400 - 1800:
        value, unit = int(seconds / 3600 + 0.5), "hour"
    else:
        value, unit = int(seconds / 86400 + 0.5), "day"
    return f"{value} {unit}{'' if value == 1 else 's'}"


def relative_words(when: datetime | None, now: datetime | None = None) -> str:
    """"in 3 hours" for a time ahead, "3 hours ago" (or "just now") for one past, "" for None."""
    if when is None:
        return ""
    now = now or timezone.now()
    delta = (when - now).total_seconds()
    if delta >= 0:
        return f"in {duration_words(delta)}"
    if delta > -60:
        return "just now"
    return f"{duration_words(-delta)} ago"


# --- Codes in words ------------------------------------------------------------------
# The dashboard shows people words, never a raw code: every state, warning, error code,
# audit action and stop reason a page can show is named here (the API keeps the codes;
# pages may keep them in data attributes). A code missing from the table still reads as
# words ("some_new_code" -> "Some new code").
CODE_WORDS = {
    # Run, deployment and schedule states
    "queued": "Queued",
    "running": "Running",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "uploading": "Uploading",
    "processing": "Processing",
    "ready": "Ready",
    "scheduled": "Scheduled",
    "done": "Done",
    "pending": "Pending",
    "passed": "Passed",
    # Site modes and what the profile route serves
    "links": "Links page",
    "deployment": "Deployed site",
    "maintenance": "Maintenance",
    "links_page": "links page",
    "maintenance_page": "maintenance page",
    "no_site_published": "“no site published” page",
    # Deployment warnings
    "no_index_html": "No home page",
    "site_mode_not_deployment": "Live site not served",
    "site_mode_mismatch": "Site mode mismatch",
    "stale_function_bindings": "Functions not answering",
    "deployment_artifact_missing": "Files missing from storage",
    "redirects_invalid": "Unreadable redirect rules",
    "headers_invalid": "Unreadable header rules",
    # Files and docs warnings
    "policy_too_permissive": "Too open",
    "confidential_not_covered": "Confidential pages without a confidential path",
    "confidential_path_unused": "A confidential path matches no page",
    # Error codes a person can meet on the dashboard
    "validation_error": "Check the form",
    "malformed_json": "Unreadable request",
    "not_found": "Not found",
    "method_not_allowed": "Not allowed here",
    "internal_error": "Server error",
    "authentication_required": "Sign-in needed",
    "invalid_token": "Token not valid",
    "handle_not_found": "Handle not found",
    "forbidden": "Not allowed for your role",
    "insufficient_scope": "Token lacks the permission",
    "idempotency_key_reused": "Repeated request with other content",
    "idempotency_request_in_progress": "Same request still running",
    "rate_limited": "Too many requests",
    "daily_write_limit_exceeded": "Daily limit reached",
    "unsupported_media_type": "Unsupported kind of upload",
    "service_unavailable": "Temporarily unavailable",
    "payload_too_large": "Upload too large",
    "invalid_artifact": "Archive refused",
    "deployment_not_found": "Deployment not found",
    "deployment_not_ready": "Deployment not ready",
    "deployment_not_uploading": "Upload already finished",
    "preview_gate_pending": "Preview gate not open",
    "not_a_previous_release": "Never live before",
    "blob_hash_mismatch": "File bytes do not match",
    "file_too_large": "File too large",
    "upload_incomplete": "Upload incomplete",
    "processing_failed": "Processing failed",
    "publishing_locked": "Publishing locked",
    "preview_expired": "Preview link expired",
    "hostname_not_registered": "Hostname not registered",
    # Why a crawl stopped
    "completed": "crawled every page it found",
    "max_pages": "the page limit",
    "time_limit": "the time limit",
    # Per-page crawl errors
    "hostname_not_allowed": "Other host",
    "dns_error": "Name not found",
    "connect_error": "Could not connect",
    "timeout": "Timed out",
    "too_many_redirects": "Too many redirects",
    "redirect_loop": "Redirect loop",
    "body_too_large": "Page too large",
    "protocol_error": "Broken answer",
    "invalid_url": "Invalid address",
    # Audit actions
    "deployment.promote": "Promoted a deployment",
    "deployment.forced_promote": "Forced a promote",
    "deployment.rollback": "Rolled back",
    "site.mode_change": "Changed the site mode",
    "docs.policy_change": "Changed the docs access policy",
    "file.access_change": "Changed a file's access",
    "file.sharing_change": "Changed a file's sharing",
    "file.password_change": "Changed a file's password",
    "file.magic_link_create": "Sent a magic link",
    "token.create": "Created a token",
    "token.revoke": "Revoked a token",
    "user.password_change": "Changed a password",
    "deployment.release_scheduled": "Scheduled a release",
    "deployment.release_schedule_cancelled": "Cancelled a scheduled release",
    "deployment.scheduled_release_failed": "A scheduled release failed",
    "site.publishing_lock": "Changed the publishing lock",
    "deployment.publishing_lock_overridden": "Published through the lock",
    "campaign.create": "Created a campaign",
    "campaign.update": "Changed a campaign",
    "campaign.delete": "Deleted a campaign",
    "domain.add": "Added a custom domain",
    "domain.verify": "Verified a custom domain",
    "domain.remove": "Removed a custom domain",
}


def code_words(code) -> str:
    """A code as words for a person: the table above, else the code with its separators spaced."""
    if code is None or code == "":
        return ""
    code = str(code)
    if code in CODE_WORDS:
        return CODE_WORDS[code]
    words = code.replace(".", " ").replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]
