"""Settings for the test suite: the real settings, with what tests must not depend on.

Each pytest-xdist worker gets its own Redis database number so cache and broker
keys of parallel workers never meet.
"""

import os
from urllib.parse import urlsplit, urlunsplit

from medtech.settings import *  # noqa: F403
from medtech.settings import CACHES, REDIS_URL, REST_KNOX

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

# Hashing cost is not what the tests measure; production keeps the strong hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests move the clock by hours between requests; the automatic logoff has its own tests
# (tests/security/test_auth_session.py), which turn it on with production's values.
SESSION_IDLE_TIMEOUT = None
SESSION_ABSOLUTE_TIMEOUT = None
# The same for API tokens: tests/api/test_auth.py turns their expiry on with production's.
REST_KNOX = {**REST_KNOX, "TOKEN_TTL": None, "AUTO_REFRESH": False}

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
# MEDTECH_TEST_REDIS_DB picks the database outright (several checkouts sharing one server).
_redis_db = int(os.environ.get("MEDTECH_TEST_REDIS_DB") or 1 + int(_worker) % 15)
TEST_REDIS_URL = urlunsplit(urlsplit(REDIS_URL)._replace(path=f"/{_redis_db}"))
CACHES = {"default": {**CACHES["default"], "LOCATION": TEST_REDIS_URL}}
CELERY_BROKER_URL = TEST_REDIS_URL
CELERY_RESULT_BACKEND = TEST_REDIS_URL
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = BASE_DIR / ".data" / "test-media" / f"gw{_worker}"  # noqa: F405

# Several checkouts or agents may share one embedded server: a suffix keeps their test
# databases apart (pytest-xdist then appends _gw0, _gw1, ...).
if _suffix := os.environ.get("MEDTECH_TEST_DB_SUFFIX"):
    DATABASES["default"]["TEST"] = {"NAME": f"test_medtech_{_suffix}"}  # noqa: F405

# The offline PIN verifier's Argon2id cost (3 passes over 64 MiB in production) is not
# under test: one pass over 1 MiB (the browser tests derive with the same, in Chromium).
PIN_OFFLINE_ITERATIONS = 1
PIN_OFFLINE_MEMORY_KIB = 1024
