"""Roles, scopes and error codes used across the project (API, dashboard, tests)."""

# --- Roles ------------------------------------------------------------------------------
OWNER = "owner"
ADMIN = "admin"
WEB_MANAGER = "web_manager"
PARTNERSHIPS = "partnerships"
VIEWER = "viewer"
ROLE_CHOICES = [
    (OWNER, "Owner"),
    (ADMIN, "Admin"),
    (WEB_MANAGER, "Web experience manager"),
    (PARTNERSHIPS, "Brand partnerships manager"),
    (VIEWER, "Viewer"),
]
ALL_ROLES = frozenset(r for r, _ in ROLE_CHOICES)
ADMIN_ROLES = frozenset({OWNER, ADMIN})
SITE_ROLES = frozenset({OWNER, ADMIN, WEB_MANAGER})
FILES_ROLES = frozenset({OWNER, ADMIN, PARTNERSHIPS})
READ_ROLES = ALL_ROLES

# --- PAT scopes -------------------------------------------------------------------------
SCOPE_SITES_READ = "sites:read"
SCOPE_SITES_WRITE = "sites:write"
SCOPE_SITES_PROMOTE = "sites:promote"
SCOPE_SITEINTEL_READ = "siteintel:read"
SCOPE_SITEINTEL_WRITE = "siteintel:write"
SCOPE_FILES_READ = "files:read"
SCOPE_FILES_WRITE = "files:write"
SCOPE_DOCS_READ = "docs:read"
SCOPE_DOCS_WRITE = "docs:write"
SCOPE_SUPPORT_WRITE = "support:write"
ALL_SCOPES = (
    SCOPE_SITES_READ,
    SCOPE_SITES_WRITE,
    SCOPE_SITES_PROMOTE,
    SCOPE_SITEINTEL_READ,
    SCOPE_SITEINTEL_WRITE,
    SCOPE_FILES_READ,
    SCOPE_FILES_WRITE,
    SCOPE_DOCS_READ,
    SCOPE_DOCS_WRITE,
    SCOPE_SUPPORT_WRITE,
)

# --- Throttle scopes (keys of settings.GHARART_THROTTLES) and daily quotas ----------------
THROTTLE_READ = "read"
THROTTLE_WRITE = "write"
THROTTLE_BLOB_UPLOAD = "blob_upload"
THROTTLE_AUTH_TOKEN = "auth_token"
THROTTLE_SIGNIN_USERNAME_FAILURES = "signin_username_failures"
THROTTLE_AUTH_FAILURES = "auth_failures"
THROTTLE_MAGIC_LINK_IP = "magic_link_ip"
THROTTLE_MAGIC_LINK_FILE_EMAIL = "magic_link_file_email"
THROTTLE_MAGIC_LINK_FAILURES = "magic_link_failures"
THROTTLE_FILE_PASSWORD_IP_FAILURES = "file_password_ip_failures"
THROTTLE_FILE_PASSWORD_FILE_FAILURES = "file_password_file_failures"
THROTTLE_PUBLIC_DOWNLOAD = "public_download"
THROTTLE_DOCS_ACCESS = "docs_access"
THROTTLE_FUNCTION_BINDING = "function_binding"
THROTTLE_REQUEST_LOG_ANONYMOUS = "request_log_anonymous"
# Keys of settings.GHARART_DAILY_QUOTAS: writes per handle and UTC day.
QUOTA_DEPLOYMENTS = "deployments"
QUOTA_FILE_UPLOADS = "file_uploads"

# --- Site modes -------------------------------------------------------------------------
SITE_MODE_LINKS = "links"
SITE_MODE_DEPLOYMENT = "deployment"
SITE_MODE_MAINTENANCE = "maintenance"
SITE_MODE_CHOICES = [
    (SITE_MODE_LINKS, "Links page"),
    (SITE_MODE_DEPLOYMENT, "Deployed site"),
    (SITE_MODE_MAINTENANCE, "Maintenance"),
]

# --- Error codes shared by every app ----------------------------------------------------
VALIDATION_ERROR = "validation_error"
MALFORMED_JSON = "malformed_json"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
INTERNAL_ERROR = "internal_error"
AUTHENTICATION_REQUIRED = "authentication_required"
INVALID_TOKEN = "invalid_token"
HANDLE_NOT_FOUND = "handle_not_found"
FORBIDDEN = "forbidden"
INSUFFICIENT_SCOPE = "insufficient_scope"
IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
IDEMPOTENCY_REQUEST_IN_PROGRESS = "idempotency_request_in_progress"
RATE_LIMITED = "rate_limited"
DAILY_WRITE_LIMIT_EXCEEDED = "daily_write_limit_exceeded"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
SERVICE_UNAVAILABLE = "service_unavailable"
TOKEN_NOT_FOUND = "token_not_found"
PAYLOAD_TOO_LARGE = "payload_too_large"
FILE_TOO_LARGE = "file_too_large"

# Audit actions (written by services, shown to owners/admins).
AUDIT_PROMOTE = "deployment.promote"
AUDIT_FORCED_PROMOTE = "deployment.forced_promote"
AUDIT_ROLLBACK = "deployment.rollback"
AUDIT_SITE_MODE = "site.mode_change"
AUDIT_DOCS_POLICY = "docs.policy_change"
AUDIT_FILE_ACCESS = "file.access_change"
AUDIT_FILE_SHARING = "file.sharing_change"
AUDIT_FILE_PASSWORD = "file.password_change"
AUDIT_MAGIC_LINK_CREATE = "file.magic_link_create"
AUDIT_TOKEN_CREATE = "token.create"
AUDIT_TOKEN_REVOKE = "token.revoke"
AUDIT_PASSWORD_CHANGE = "user.password_change"
AUDIT_SCHEDULED_RELEASE_CREATE = "deployment.release_scheduled"
AUDIT_SCHEDULED_RELEASE_CANCEL = "deployment.release_schedule_cancelled"
AUDIT_SCHEDULED_RELEASE_FAILED = "deployment.scheduled_release_failed"
AUDIT_PUBLISHING_LOCK = "site.publishing_lock"
AUDIT_LOCK_OVERRIDE = "deployment.publishing_lock_overridden"
AUDIT_CAMPAIGN_CREATE = "campaign.create"
AUDIT_CAMPAIGN_UPDATE = "campaign.update"
AUDIT_CAMPAIGN_DELETE = "campaign.delete"
