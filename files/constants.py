"""States, error codes and limits of files, magic links and internal docs access."""

# An error code every app answers with: one spelling, in gharart.constants.
from gharart.constants import FILE_TOO_LARGE  # noqa: F401

# --- File access modes ------------------------------------------------------------------
ACCESS_PRIVATE = "private"
ACCESS_LINK = "link"
ACCESS_PUBLIC = "public"
ACCESS_CHOICES = [
    (ACCESS_PRIVATE, "Private (members only)"),
    (ACCESS_LINK, "Magic link (named recipients)"),
    (ACCESS_PUBLIC, "Public (anyone with the URL)"),
]
ACCESS_VALUES = tuple(a for a, _ in ACCESS_CHOICES)

# --- Error codes ------------------------------------------------------------------------
FILE_NOT_FOUND = "file_not_found"
FILE_EXPIRED = "file_expired"
DOWNLOAD_LIMIT_REACHED = "download_limit_reached"
MAGIC_LINK_REQUIRED = "magic_link_required"
MAGIC_LINK_INVALID = "magic_link_invalid"
MAGIC_LINK_REVOKED = "magic_link_revoked"
MAGIC_LINK_EXPIRED = "magic_link_expired"
MAGIC_LINK_NOT_FOUND = "magic_link_not_found"
FILE_PASSWORD_REQUIRED = "file_password_required"
FILE_PASSWORD_INVALID = "file_password_invalid"

# Passwords on shared files (hashed with Django's hashers; never stored or logged in clear).
FILE_PASSWORD_MIN_LENGTH = 6
FILE_PASSWORD_MAX_LENGTH = 200
# Scripts send the password in this header; browsers unlock once and get a signed cookie.
FILE_PASSWORD_HEADER = "X-File-Password"
FILE_UNLOCK_COOKIE_PREFIX = "gharart_file_"
FILE_UNLOCK_MAX_AGE = 12 * 3600
DOCS_NOT_FOUND = "docs_not_found"
DOCS_ACCESS_WINDOW_CLOSED = "docs_access_window_closed"
DOCS_ACCESS_DENIED = "docs_access_denied"
DOCS_MEMBERS_ONLY = "docs_members_only"
FILE_NOT_YET_AVAILABLE = "file_not_yet_available"
CAMPAIGN_NOT_FOUND = "campaign_not_found"
CAMPAIGN_IN_USE = "campaign_in_use"

# Where a file's effective expires_at comes from ("expiry_source").
EXPIRY_SOURCE_FILE = "file"
EXPIRY_SOURCE_CAMPAIGN = "campaign"

# Why a magic link stopped working (details.reason of magic_link_revoked).
REVOKE_FILE_ACCESS_CHANGED = "file_access_changed"
REVOKE_BY_MEMBER = "revoked_by_member"
REVOKE_RECIPIENT_REMOVED = "recipient_removed"
REVOKE_REASON_CHOICES = [
    (REVOKE_FILE_ACCESS_CHANGED, "The file's access mode changed"),
    (REVOKE_BY_MEMBER, "Revoked by a member"),
    (REVOKE_RECIPIENT_REMOVED, "The address was removed from the recipients"),
]

# --- Internal docs visibility -----------------------------------------------------------
VISIBILITY_MEMBERS = "members"
VISIBILITY_PARTNERS = "partners"
VISIBILITY_PUBLIC = "public"
VISIBILITY_CHOICES = [
    (VISIBILITY_MEMBERS, "Members of the handle only"),
    (VISIBILITY_PARTNERS, "Members and invited partners"),
    (VISIBILITY_PUBLIC, "Anyone"),
]
VISIBILITY_VALUES = tuple(v for v, _ in VISIBILITY_CHOICES)

# Policy warnings.
WARNING_POLICY_TOO_PERMISSIVE = "policy_too_permissive"
WARNING_CONFIDENTIAL_NOT_COVERED = "confidential_not_covered"
WARNING_CONFIDENTIAL_PATH_UNUSED = "confidential_path_unused"
# How the dashboard titles each warning (the code stays for the API).
WARNING_TITLES = {
    WARNING_POLICY_TOO_PERMISSIVE: "Too open",
    WARNING_CONFIDENTIAL_NOT_COVERED: "Confidential pages without a confidential path",
    WARNING_CONFIDENTIAL_PATH_UNUSED: "A confidential path matches no page",
}

# Who read an edge docs page (DocsAccessLog.viewer_kind).
VIEWER_MEMBER = "member"
VIEWER_PARTNER = "partner"
VIEWER_PUBLIC = "public"
VIEWER_CHOICES = [(VIEWER_MEMBER, "Member"), (VIEWER_PARTNER, "Partner"), (VIEWER_PUBLIC, "Public")]

# Mail providers anyone can sign up with: a partner *domain* on one of these lets in strangers.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
        "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.com",
        "yandex.ru", "zoho.com", "fastmail.com", "hey.com", "qq.com", "163.com", "126.com",
        "rediffmail.com", "tutanota.com", "mail.ru", "hotmail.co.uk", "yahoo.co.uk",
    }
)

# The edge docs partner cookie, path-scoped to /_edge/docs/<handle>/.
DOCS_COOKIE_NAME = "gharart_docs"
DOCS_COOKIE_MAX_AGE = 12 * 3600
# A docs sign-in link is valid for this long.
DOCS_SIGNIN_MAX_AGE = 30 * 60

# Inline (rendered by the browser) only for types that cannot run script on our origin.
INLINE_CONTENT_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# "Expiring soon" on the dashboard and overview.
EXPIRING_SOON_DAYS = 7
