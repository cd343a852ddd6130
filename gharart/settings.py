"""Settings for Gharart.

The environment is read once, here. With no environment at all the project runs on
embedded defaults: SQLite and files under ``var/``, a local-memory cache and Celery on
kombu's filesystem transport (jobs still run asynchronously in a worker process).
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GHARART_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


DEBUG = _env_bool("DEBUG")
# GHARART_DEV=1 (set by `make run` and the test settings) keeps a generated key in var/.
GHARART_DEV = _env_bool("GHARART_DEV")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if GHARART_DEV or DEBUG:
        _key_file = VAR_DIR / "secret_key"
        if not _key_file.exists():
            import secrets

            _key_file.parent.mkdir(parents=True, exist_ok=True)
            _key_file.write_text(secrets.token_urlsafe(50))
        SECRET_KEY = _key_file.read_text().strip()
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "*" if DEBUG or GHARART_DEV else "localhost,127.0.0.1").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "gharart",
    "deployments",
    "siteintel",
    "files",
    "support",
    "domains",
]

MIDDLEWARE = [
    "gharart.request_id.RequestIDMiddleware",
    "blobs.middleware.NotModifiedMiddleware",
    # 400 for a NUL character in a URL, query or form (PostgreSQL cannot compare it).
    "gharart.request_guard.NulCharacterMiddleware",
    # 503 when the database is unreachable mid-request, 507 when the disk is full.
    "gharart.degraded.DependencyErrorMiddleware",
    # Site hosts ({handle}.{GHARART_SITES_DOMAIN}, previews, custom domains) are answered
    # here: nothing below (sessions, CSRF, auth, ALLOWED_HOSTS) ever runs for them.
    "domains.routing.SiteHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "gharart.request_log.RequestLogMiddleware",
]

ROOT_URLCONF = "gharart.urls"
WSGI_APPLICATION = "gharart.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # {% partialdef %} in every template: render_page answers HTMX with one fragment.
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gharart.context_processors.dashboard",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=_env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "gharart.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker -----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # Bounded waits: a Redis that hangs costs a request a second or two, never forever
    # (gharart/degraded.py then skips the cache for a while).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "gharart",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    # socket_timeout stays above the worker's 1 s BRPOP poll; a frozen Redis fails a publish in seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2, "socket_timeout": 3}
else:
    # Files under var/, so the web server and the Celery worker share one cache: a release
    # the worker promotes (a scheduled one) bumps the live-state generation the web reads.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }
    _broker_dir = VAR_DIR / "celery"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "data_folder_processed": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = _env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queueing a job gives up within seconds when the broker is down or frozen, and the
# request answers 503 service_unavailable (gharart/jobs.py) instead of hanging.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# Task names are <app>.<entity>_<verb>; each app's tasks.py keeps its former names registered too.
CELERY_BEAT_SCHEDULE = {
    "prune-request-log": {"task": "gharart.request_log_prune", "schedule": timedelta(hours=6)},
    # Resume or fail site-intel runs whose worker died (none stays "running" forever).
    "siteintel-reap-stale-runs": {"task": "siteintel.runs_reap", "schedule": timedelta(minutes=1)},
    "deployments-fail-stale-uploads": {"task": "deployments.deployment_sweep_stale", "schedule": timedelta(minutes=15)},
    # Scheduled releases whose eta job was lost (worker down at the time) run within a minute.
    "deployments-scheduled-release-sweep": {"task": "deployments.scheduled_release_sweep", "schedule": timedelta(minutes=1)},
    # Custom domains whose TXT record vanished stop serving after GHARART_DOMAIN_GRACE.
    "domains-recheck": {"task": "domains.domain_recheck_all", "schedule": timedelta(hours=1)},
}

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
SESSION_COOKIE_HTTPONLY = True
# Host-only dashboard cookies: never a Domain attribute, so no site host (a subdomain of a
# shared parent, or *.localhost) ever receives the session or the CSRF token.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = _env_bool("GHARART_SECURE_COOKIES", not DEBUG and _env_bool("GHARART_HTTPS"))
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "SAMEORIGIN"
if _env_bool("GHARART_HTTPS"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ---------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("GHARART_MEDIA_ROOT", VAR_DIR / "media"))
FILE_UPLOAD_TEMP_DIR = os.environ.get("GHARART_UPLOAD_TMP") or None
# Uploads above this are streamed to a temporary file, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

S3_BUCKET = os.environ.get("GHARART_S3_BUCKET", "")
if S3_BUCKET:
    from gharart.object_storage import blob_storage_config

    _blob_storage = blob_storage_config(
        bucket=S3_BUCKET,
        endpoint_url=os.environ.get("GHARART_S3_ENDPOINT_URL"),
        region=os.environ.get("GHARART_S3_REGION"),
        access_key=os.environ.get("GHARART_S3_ACCESS_KEY_ID"),
        secret_key=os.environ.get("GHARART_S3_SECRET_ACCESS_KEY"),
        location=os.environ.get("GHARART_S3_LOCATION", "blobs"),
        presign_seconds=_env_int("GHARART_S3_PRESIGN_SECONDS", 60),
        connect_timeout=float(os.environ.get("GHARART_S3_CONNECT_TIMEOUT", "2")),
        read_timeout=float(os.environ.get("GHARART_S3_READ_TIMEOUT", "5")),
        max_attempts=_env_int("GHARART_S3_MAX_ATTEMPTS", 2),
    )
else:
    _blob_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": MEDIA_ROOT / "blobs"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": MEDIA_ROOT}},
    "blobs": _blob_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage" if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Email ----------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if not os.environ.get("EMAIL_HOST") else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Gharart <no-reply@gharart.com>")

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "gharart.auth.BearerAuthentication",
        "gharart.auth.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        # DRF's parsers, refusing NUL characters in text (gharart/request_guard.py).
        "gharart.request_guard.JSONParser",
        "gharart.request_guard.MultiPartParser",
        "gharart.request_guard.FormParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [],
    "EXCEPTION_HANDLER": "gharart.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=_env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=_env_int("JWT_REFRESH_DAYS", 7)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "SIGNING_KEY": SECRET_KEY,
    # Every token carries a digest of the password hash it was issued under: a password
    # change (dashboard, admin, changepassword) ends every access and refresh token issued
    # before it (gharart/auth.py checks refreshes too).
    "CHECK_REVOKE_TOKEN": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gharart API",
    "DESCRIPTION": "Publish a brand's storefront site and share its media kits.",
    "VERSION": "2",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/v2",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The shared error responses (envelope, auth, throttles, idempotency) on every operation.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "gharart.openapi.add_error_responses"],
    # One name per choice set (model choices carry labels, serializer choices do not).
    "ENUM_NAME_OVERRIDES": {
        "DeploymentTargetEnum": "deployments.constants.TARGET_CHOICES",
        "DeploymentTargetValueEnum": "deployments.constants.TARGETS",
        "DeploymentStateEnum": "deployments.constants.STATE_CHOICES",
        "DeploymentStateValueEnum": ["uploading", "processing", "ready", "failed"],
        "RunStateEnum": "siteintel.constants.RUN_STATE_CHOICES",
        "FileAccessEnum": "files.constants.ACCESS_CHOICES",
        "FileAccessValueEnum": "files.constants.ACCESS_VALUES",
    },
}

# --- Gharart --------------------------------------------------------------------------
GHARART_CONTENT_ORIGIN = os.environ.get("GHARART_CONTENT_ORIGIN", "")
GHARART_PUBLIC_URL = os.environ.get("GHARART_PUBLIC_URL", "http://localhost:8000").rstrip("/")
# Every handle's site lives at {handle}.{GHARART_SITES_DOMAIN}. Embedded default (dev):
# localhost:{port of GHARART_PUBLIC_URL}; browsers send every *.localhost to loopback.
_public_port = urlsplit(GHARART_PUBLIC_URL).port or 8000
GHARART_SITES_DOMAIN = os.environ.get("GHARART_SITES_DOMAIN") or (f"localhost:{_public_port}" if GHARART_DEV else "sites.gharart.com")
GHARART_SITES_SCHEME = os.environ.get("GHARART_SITES_SCHEME") or ("https" if _env_bool("GHARART_HTTPS") else "http")
# Custom domains: where TXT look-ups go ("ip" or "ip:port", comma-separated; empty: the
# system resolver), and how long a verified domain whose record vanished keeps serving.
GHARART_DNS_NAMESERVERS = os.environ.get("GHARART_DNS_NAMESERVERS", "")
GHARART_DOMAIN_GRACE = timedelta(hours=_env_int("GHARART_DOMAIN_GRACE_HOURS", 72))
# Live-host static files answered before Django (domains.fast_path), and how often each
# node re-reads a handle's live-state generation from the cache (0: every request).
GHARART_SITE_FAST_PATH = _env_bool("GHARART_SITE_FAST_PATH", True)
GHARART_SITE_FAST_PATH_RECHECK_MS = _env_int("GHARART_SITE_FAST_PATH_RECHECK_MS", 200)
# Small site files are held in memory by each web process (content-addressed: never stale).
GHARART_SITE_FAST_PATH_BODY_MAX_BYTES = _env_int("GHARART_SITE_FAST_PATH_BODY_MAX_BYTES", 64 * 1024)
GHARART_SITE_FAST_PATH_MEMORY_BYTES = _env_int("GHARART_SITE_FAST_PATH_MEMORY_BYTES", 16 * 1024 * 1024)
GHARART_ACCEL_REDIRECT = _env_bool("GHARART_ACCEL_REDIRECT")
GHARART_ACCEL_REDIRECT_PREFIX = os.environ.get("GHARART_ACCEL_REDIRECT_PREFIX", "/_blobs/")
# With S3 blobs: public file downloads answer 302 to a short-lived presigned URL (after
# every access check and the download count) instead of streaming through Django.
GHARART_S3_REDIRECT = _env_bool("GHARART_S3_REDIRECT")
# With S3 blobs and GHARART_ACCEL_REDIRECT: the internal nginx location that proxies to the
# S3 endpoint (README, "Production": the nginx hand-off on S3).
GHARART_ACCEL_S3_PREFIX = os.environ.get("GHARART_ACCEL_S3_PREFIX", "/_s3/")
# The unreferenced-blob sweep leaves blobs stored (or stored again) within this window.
GHARART_BLOB_SWEEP_GRACE_SECONDS = _env_int("GHARART_BLOB_SWEEP_GRACE_SECONDS", 86400)
GHARART_DEMO_PASSWORD = os.environ.get("GHARART_DEMO_PASSWORD", "")

# Rows the request log writes per minute and address for anonymous /v2 calls (the rest is counted).
GHARART_REQUEST_LOG_ANONYMOUS_PER_MINUTE = _env_int("GHARART_REQUEST_LOG_ANONYMOUS_PER_MINUTE", 30)
# Rate limits: "<count>/<sec|min|hour|day>" per caller (per IP for anonymous routes).
GHARART_THROTTLES = {
    "read": os.environ.get("GHARART_THROTTLE_READ", "1200/min"),
    "write": os.environ.get("GHARART_THROTTLE_WRITE", "120/min"),
    # A digest deploy PUTs one request per missing file: its own, larger budget.
    "blob_upload": os.environ.get("GHARART_THROTTLE_BLOB_UPLOAD", "3000/min"),
    # Password sign-ins per IP (POST /v2/auth/token, /accounts/login/, /admin/login/ together).
    "auth_token": os.environ.get("GHARART_THROTTLE_AUTH_TOKEN", "20/min"),
    # Wrong passwords per username, from any address; the username is refused until the window ends.
    "signin_username_failures": os.environ.get("GHARART_THROTTLE_SIGNIN_USERNAME_FAILURES", "10/min"),
    "magic_link_ip": os.environ.get("GHARART_THROTTLE_MAGIC_LINK_IP", "10/min"),
    "magic_link_file_email": os.environ.get("GHARART_THROTTLE_MAGIC_LINK_FILE_EMAIL", "3/hour"),
    "content_report": os.environ.get("GHARART_THROTTLE_CONTENT_REPORT", "10/hour"),
    "docs_access": os.environ.get("GHARART_THROTTLE_DOCS_ACCESS", "10/min"),
    "function_binding": os.environ.get("GHARART_THROTTLE_FUNCTION_BINDING", "60/min"),
    "support_report": os.environ.get("GHARART_THROTTLE_SUPPORT_REPORT", "30/hour"),
    "public_download": os.environ.get("GHARART_THROTTLE_PUBLIC_DOWNLOAD", "600/min"),
    # Wrong credentials per IP (brute force): bearer tokens, and magic-link tokens.
    "auth_failures": os.environ.get("GHARART_THROTTLE_AUTH_FAILURES", "30/min"),
    "magic_link_failures": os.environ.get("GHARART_THROTTLE_MAGIC_LINK_FAILURES", "30/min"),
    # Wrong passwords of password-protected files: per IP, and per file from any address.
    "file_password_ip_failures": os.environ.get("GHARART_THROTTLE_FILE_PASSWORD_IP_FAILURES", "10/min"),
    "file_password_file_failures": os.environ.get("GHARART_THROTTLE_FILE_PASSWORD_FILE_FAILURES", "30/hour"),
}
# Daily write quotas per handle (UTC day).
GHARART_DAILY_QUOTAS = {
    "deployments": _env_int("GHARART_DAILY_DEPLOYMENTS", 200),
    "file_uploads": _env_int("GHARART_DAILY_FILE_UPLOADS", 1000),
}
GHARART_IDEMPOTENCY_TTL = timedelta(hours=24)
GHARART_REQUEST_LOG_RETENTION_DAYS = _env_int("GHARART_REQUEST_LOG_RETENTION_DAYS", 30)

# Deployments
DEPLOY_MAX_FILES = _env_int("GHARART_DEPLOY_MAX_FILES", 20_000)
DEPLOY_MAX_FILE_BYTES = _env_int("GHARART_DEPLOY_MAX_FILE_BYTES", 50 * 1024 * 1024)
DEPLOY_MAX_TOTAL_BYTES = _env_int("GHARART_DEPLOY_MAX_TOTAL_BYTES", 500 * 1024 * 1024)
DEPLOY_MAX_COMPRESSION_RATIO = _env_int("GHARART_DEPLOY_MAX_COMPRESSION_RATIO", 200)
# The ratio check applies to members (and archives) that inflate past this many bytes.
DEPLOY_COMPRESSION_RATIO_MIN_BYTES = _env_int("GHARART_DEPLOY_COMPRESSION_RATIO_MIN_BYTES", 1024 * 1024)
DEPLOY_INLINE_MAX_BYTES = _env_int("GHARART_DEPLOY_INLINE_MAX_BYTES", 5 * 1024 * 1024)
# Text files up to this size are also kept brotli- and gzip-compressed (made on first use).
COMPRESS_MAX_BYTES = _env_int("GHARART_COMPRESS_MAX_BYTES", 10 * 1024 * 1024)
COMPRESS_BROTLI_QUALITY = _env_int("GHARART_COMPRESS_BROTLI_QUALITY", 9)
DEPLOY_UPLOAD_TIMEOUT = timedelta(hours=24)
# Batch blob uploads (POST .../blobs, a tar stream): members and bytes per request.
DEPLOY_BLOB_BATCH_MAX_BLOBS = _env_int("GHARART_DEPLOY_BLOB_BATCH_MAX_BLOBS", 2000)
DEPLOY_BLOB_BATCH_MAX_BYTES = _env_int("GHARART_DEPLOY_BLOB_BATCH_MAX_BYTES", 100 * 1024 * 1024)
# GET of a deployment lists at most this many `required` hashes per page.
DEPLOY_REQUIRED_PAGE = _env_int("GHARART_DEPLOY_REQUIRED_PAGE", 1000)
PREVIEW_URL_TTL = timedelta(hours=_env_int("GHARART_PREVIEW_TTL_HOURS", 24))

# Site intel
SITEINTEL_ALLOW_PRIVATE_NETWORKS = _env_bool("SITEINTEL_ALLOW_PRIVATE_NETWORKS")
SITEINTEL_MAX_PAGES = _env_int("SITEINTEL_MAX_PAGES", 500)
SITEINTEL_MAX_DEPTH = _env_int("SITEINTEL_MAX_DEPTH", 10)
SITEINTEL_CONCURRENCY = _env_int("SITEINTEL_CONCURRENCY", 4)
SITEINTEL_DELAY_SECONDS = float(os.environ.get("SITEINTEL_DELAY_SECONDS", "0"))
SITEINTEL_TIMEOUT_SECONDS = float(os.environ.get("SITEINTEL_TIMEOUT_SECONDS", "10"))
SITEINTEL_MAX_SECONDS = _env_int("SITEINTEL_MAX_SECONDS", 600)
SITEINTEL_MAX_REDIRECTS = _env_int("SITEINTEL_MAX_REDIRECTS", 5)
SITEINTEL_MAX_BODY_BYTES = _env_int("SITEINTEL_MAX_BODY_BYTES", 5 * 1024 * 1024)
SITEINTEL_RUN_STALE_SECONDS = _env_int("SITEINTEL_RUN_STALE_SECONDS", 900)
# Visual replay: Debian's Chromium, driven by Playwright. No binary there: visual replays
# answer 409 visual_replay_unavailable.
SITEINTEL_CHROMIUM_PATH = os.environ.get("SITEINTEL_CHROMIUM_PATH", "/usr/bin/chromium")
# One page's navigation, fonts and screenshot, in seconds.
SITEINTEL_VISUAL_PAGE_TIMEOUT = float(os.environ.get("SITEINTEL_VISUAL_PAGE_TIMEOUT", "30"))

# Files
FILES_MAX_UPLOAD_BYTES = _env_int("GHARART_FILES_MAX_UPLOAD_BYTES", 2 * 1024 * 1024 * 1024)
MAGIC_LINK_TTL = timedelta(days=_env_int("MAGIC_LINK_TTL_DAYS", 7))
# max_downloads: bytes one download may be sent twice (lost in flight when a client with
# several connections or a broken one asks again), never more than half the file.
GHARART_DOWNLOAD_RESEND_BYTES = _env_int("GHARART_DOWNLOAD_RESEND_BYTES", 16 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "gharart.request_id.RequestIDLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "django.server": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
GHARART_TRUST_X_FORWARDED_FOR = _env_bool("GHARART_TRUST_X_FORWARDED_FOR")
# How many proxies in front of the app append to X-Forwarded-For: the client is the entry
# the outermost of them added (counting from the right), never the leftmost.
GHARART_TRUSTED_PROXY_COUNT = _env_int("GHARART_TRUSTED_PROXY_COUNT", 1)
# JSON request bodies above this are 413 payload_too_large (gharart/request_guard.py).
GHARART_MAX_JSON_BYTES = _env_int("GHARART_MAX_JSON_BYTES", 1024 * 1024)
# Functions returning {"template": ..., "context": {...}} for the handle overview page.
GHARART_OVERVIEW_PANELS = [
    "deployments.selectors.site.overview_panel",
    "siteintel.selectors.overview_panel",
    "files.selectors.overview_panel",
]
