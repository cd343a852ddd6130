"""Test settings: the real settings with a throwaway var/ directory and fast hashing.

DATABASE_URL and REDIS_URL are honoured exactly as in production, so `.ci/run` proves
PostgreSQL and Redis; without them the suite runs on SQLite and a local-memory cache.
"""

import os
import tempfile

os.environ.setdefault("GHARART_DEV", "1")
if "GHARART_VAR_DIR" not in os.environ:
    os.environ["GHARART_VAR_DIR"] = tempfile.mkdtemp(prefix="gharart-test-")
# Tests name sites under a real-looking domain (the dev default would be localhost:8000).
# The suite's own sites domain, whatever the shell or `make` exports (worker and server
# subprocesses inherit it, so they agree with this process).
os.environ["GHARART_SITES_DOMAIN"] = "sites.gharart.com"
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")

from gharart.settings import *  # noqa: E402,F403
from gharart.settings import DATABASES, STORAGES, VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
GHARART_PUBLIC_URL = "http://testserver"

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so a Celery worker process started by a test sees the same data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
# A worker subprocess started by a test points at the test database by name.
if os.environ.get("GHARART_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["GHARART_TEST_DB_NAME"]
if not os.environ.get("REDIS_URL"):
    # Each test process keeps its own cache (the embedded default shares one under var/).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "gharart-tests"}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
(VAR_DIR / "staticfiles").mkdir(parents=True, exist_ok=True)
