"""Statuses, record names and error codes of custom domains and site hosts."""

from datetime import timedelta

# --- Custom domain statuses -------------------------------------------------------------
PENDING = "pending"  # added, TXT record not seen yet: not served
VERIFIED = "verified"  # TXT record seen at the last check: served
# Verified before, but the last scheduled check did not find the record: still served
# until the grace period (settings.GHARART_DOMAIN_GRACE) runs out, then back to pending.
FAILING = "failing"
STATUS_CHOICES = [(PENDING, "Pending"), (VERIFIED, "Verified"), (FAILING, "Record missing")]
SERVING_STATUSES = (VERIFIED, FAILING)

# --- The verification record ------------------------------------------------------------
RECORD_TYPE = "TXT"
CHALLENGE_LABEL = "_gharart-challenge"
VALUE_PREFIX = "gharart-verify="
DNS_TIMEOUT_SECONDS = 5.0

# --- Site hosts -------------------------------------------------------------------------
HOST_LIVE = "live"
HOST_PREVIEW = "preview"
HOST_CUSTOM = "custom"
HOST_UNKNOWN = "unknown"  # under the sites domain, but names nothing: 404
HOST_UNVERIFIED = "unverified"  # a custom domain not (or no longer) verified: 404
PREVIEW_SEPARATOR = "--"
PREVIEW_TOKEN_PARAM = "preview_token"
PREVIEW_COOKIE = "gharart_preview"

# --- Error codes ------------------------------------------------------------------------
DOMAIN_TAKEN = "domain_taken"
DOMAIN_VERIFICATION_FAILED = "domain_verification_failed"
DOMAIN_NOT_FOUND = "domain_not_found"
PREVIEW_TOKEN_REQUIRED = "preview_token_required"

DEFAULT_GRACE = timedelta(hours=72)

# --- Audit actions ----------------------------------------------------------------------
AUDIT_ADD = "domain.add"
AUDIT_VERIFY = "domain.verify"
AUDIT_REMOVE = "domain.remove"
