"""States, choices, limits and error codes of support reports, escalations and content reports."""

# --- Support reports (filed by end users) -----------------------------------------------
REPORT_OPEN = "open"
REPORT_ESCALATED = "escalated"
REPORT_RESOLVED = "resolved"
REPORT_CLOSED = "closed"
REPORT_STATUS_CHOICES = [
    (REPORT_OPEN, "Open"),
    (REPORT_ESCALATED, "Escalated"),
    (REPORT_RESOLVED, "Resolved"),
    (REPORT_CLOSED, "Closed"),
]
# Badge class per status, shared by the dashboard templates.
REPORT_STATUS_BADGES = {REPORT_OPEN: "warn", REPORT_ESCALATED: "bad", REPORT_RESOLVED: "ok", REPORT_CLOSED: ""}

SUMMARY_MAX = 200
DETAILS_MAX = 10_000
SESSION_ID_MAX = 200
REQUEST_ID_MAX = 128
REPRO_ARTIFACT_MAX = 2_000

# --- Escalations (operators only) -------------------------------------------------------
SEVERITY_LOW = "low"
SEVERITY_MEDIUM = "medium"
SEVERITY_HIGH = "high"
SEVERITY_CRITICAL = "critical"
SEVERITY_CHOICES = [
    (SEVERITY_LOW, "Low"),
    (SEVERITY_MEDIUM, "Medium"),
    (SEVERITY_HIGH, "High"),
    (SEVERITY_CRITICAL, "Critical"),
]
ESCALATION_OPEN = "open"
ESCALATION_RESOLVED = "resolved"
ESCALATION_STATUS_CHOICES = [(ESCALATION_OPEN, "Open"), (ESCALATION_RESOLVED, "Resolved")]
NOTES_MAX = 10_000

# --- Content reports (anonymous abuse reports about a URL on the platform) --------------
REASON_SPAM = "spam"
REASON_ABUSE = "abuse"
REASON_COPYRIGHT = "copyright"
REASON_OTHER = "other"
REASON_CHOICES = [
    (REASON_SPAM, "Spam"),
    (REASON_ABUSE, "Abuse"),
    (REASON_COPYRIGHT, "Copyright"),
    (REASON_OTHER, "Other"),
]
CONTENT_NEW = "new"
CONTENT_REVIEWING = "reviewing"
CONTENT_ACTIONED = "actioned"
CONTENT_DISMISSED = "dismissed"
CONTENT_STATUS_CHOICES = [
    (CONTENT_NEW, "New"),
    (CONTENT_REVIEWING, "Reviewing"),
    (CONTENT_ACTIONED, "Actioned"),
    (CONTENT_DISMISSED, "Dismissed"),
]
URL_MAX = 2_000
CONTENT_DETAILS_MAX = 5_000
# Paths on the public host that serve customer content (anything else is the dashboard/API).
CONTENT_PATH_PREFIXES = ("/profiles/", "/previews/", "/_edge/docs/", "/v2/public/files/")

# --- Operators --------------------------------------------------------------------------
OPERATORS_GROUP = "operators"

# --- Throttle scopes (rates in settings.GHARART_THROTTLES) ------------------------------
THROTTLE_SUPPORT_REPORT = "support_report"
THROTTLE_CONTENT_REPORT = "content_report"

# --- Error codes ------------------------------------------------------------------------
OPERATOR_ONLY = "operator_only"
SUPPORT_REPORT_NOT_FOUND = "support_report_not_found"
