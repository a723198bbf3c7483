"""Settings, all from environment variables (12-factor).

With ``DATABASE_URL`` and ``REDIS_URL`` unset the checkout runs on embedded
servers (see ``medtech.devservices``) and is treated as a development checkout:
a per-checkout secret key, localhost only, console e-mail. Anything else is
production: secure defaults, and ``SECRET_KEY`` and ``ALLOWED_HOSTS`` must be
given.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
EMBEDDED_SERVICES = not env("DATABASE_URL", default="") or not env("REDIS_URL", default="")


def _database_url() -> str:
    if url := env("DATABASE_URL", default=""):
        return url
    from medtech import devservices

    return devservices.postgres_url()


def _redis_url() -> str:
    if url := env("REDIS_URL", default=""):
        return url
    from medtech import devservices

    return devservices.redis_url()


def _dev_secret_key() -> str:
    key_file = BASE_DIR / ".data" / "secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not EMBEDDED_SERVICES:
        raise ImproperlyConfigured("SECRET_KEY must be set in production.")
    SECRET_KEY = _dev_secret_key()

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if EMBEDDED_SERVICES else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Secure by default outside a development checkout; each can be turned off explicitly.
_SECURE_DEFAULT = not DEBUG and not EMBEDDED_SERVICES
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_SECURE_DEFAULT)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_SECURE_DEFAULT)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_SECURE_DEFAULT)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if _SECURE_DEFAULT else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_SECURE_DEFAULT)
# The preload directive only allows a submission to the browsers' list (hstspreload.org);
# set SECURE_HSTS_PRELOAD=0 if the domain's subdomains cannot all be HTTPS.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=_SECURE_DEFAULT)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp 4): only the app's own scripts, styles and
# connections; no inline script, style or event handler anywhere (templates/ has none;
# tests/browser/test_csp.py watches for violations). Photos may be data: or blob: URLs.
# The med pass pages and the lock screen add 'wasm-unsafe-eval' for the offline PIN check's
# Argon2id (medtech.csp.allow_webassembly).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Automatic logoff (HIPAA 164.312(a)(2)(iii)): medtech.middleware.SessionTimeoutMiddleware
# signs a session out after 10 minutes without activity (background polls do not count)
# and 12 hours after sign-in whatever happens. The cookie lives as long as the longest.
SESSION_IDLE_TIMEOUT = timedelta(minutes=env.int("SESSION_IDLE_MINUTES", default=10))
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "pgtrigger",
    "axes",
    "medtech",
    "staff",
    "residents",
    "mar",
    "drugref",
    "inventory",
    "nurse",
    "printing",
    "api",
    "demo",
]

MIDDLEWARE = [
    "medtech.middleware.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the input: a NUL character is a 400, never a server error.
    "medtech.input_guard.RejectNulMiddleware",
    "medtech.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Signed-in responses are never stored by a browser or proxy; idle and 12-hour logoff.
    "medtech.middleware.NoStoreMiddleware",
    "medtech.middleware.SessionTimeoutMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "residents.middleware.FacilityTimeZoneMiddleware",
    # After HtmxMiddleware: a locked tablet session reaches only the lock screen.
    "staff.middleware.TabletLockMiddleware",
    # Last: turns a lockout flagged during sign-in into the answer (medtech.security).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "medtech.urls"
WSGI_APPLICATION = "medtech.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mar.context_processors.notifications",
                "staff.context_processors.tablet",
            ],
            "builtins": [
                "template_partials.templatetags.partials",
                # The one way every page says an order, a dose and a route in words.
                "mar.templatetags.wording",
            ],
        },
    },
]

DATABASES = {"default": env.db_url_config(_database_url())}
DATABASES["default"].update(
    {
        "CONN_MAX_AGE": env.int("CONN_MAX_AGE", default=60),
        # A pooled connection is checked before use, so a PostgreSQL restart is survived.
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": False,
    }
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = _redis_url()
# Nothing in the cache is a record: while Redis is down it answers "not cached" (see
# medtech.cache) and sessions stay in PostgreSQL, so pages, charting and the API go on.
CACHES = {
    "default": {
        "BACKEND": "medtech.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

AUTH_USER_MODEL = "staff.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id first; the others only check (and upgrade) older hashes. PINs use the same.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Axes watches every sign-in (password page, admin, API token, tablet PIN); the PIN
# backend checks only a PIN (staff.backends).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "staff.backends.PinBackend",
]
# 5 failed sign-ins for one username from one address: that pair waits 15 minutes. Never
# by address alone, which would lock out a whole community behind one network.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A fixed 15 minutes: tries during the pause are refused and audited, not counted.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "medtech.security.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "pin", "password", "witness_secret"]
AXES_VERBOSE = False
# A username longer than any can be is recorded cut short, not a server error.
AXES_USERNAME_CALLABLE = "medtech.input_guard.axes_username"
# How many reverse proxies in front of the app append to X-Forwarded-For (0: none, the
# client's address is REMOTE_ADDR). medtech.middleware.ClientAddressMiddleware puts the
# client's address into REMOTE_ADDR, for the lockout and the audit trail alike.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

LANGUAGE_CODE = "en-us"
# Stored times are UTC; pages show each facility's own zone. TIME_ZONE (the variable)
# is the zone a new facility gets when none is given.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_FACILITY_TIME_ZONE = env("TIME_ZONE", default="America/Chicago")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "medtech.storage.StaticStorage"
        if not (DEBUG or EMBEDDED_SERVICES)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or EMBEDDED_SERVICES
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="MedTech eMAR <emar@localhost>")

# API tokens (django-rest-knox, staff.tokens): stored as digests, one per sign-in. A token
# lives as long as the pages' idle limit, renewed on use (written at most once a minute),
# and never past the pages' 12 hours.
KNOX_TOKEN_MODEL = "staff.ApiToken"  # noqa: S105 - a model name, not a secret
# knox's own migrations would make a table for its stock token model, which staff.ApiToken
# replaces (it also keeps what ends a token at a password change): that table is not made.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": SESSION_IDLE_TIMEOUT,
    "AUTO_REFRESH": True,
    "AUTO_REFRESH_MAX_TTL": SESSION_ABSOLUTE_TIMEOUT,
    "MIN_REFRESH_INTERVAL": 60,
    "AUTH_HEADER_PREFIX": "Token",
}

REST_FRAMEWORK = {
    # Token first: a request without credentials is answered 401 with
    # "WWW-Authenticate: Token" (session alone can only say 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "staff.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Any body the server cannot parse (even one nested 3,000 deep) is a 400.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.SafeJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MedTech eMAR API",
    "DESCRIPTION": (
        "The electronic Medication Administration Record for pharmacies, clinical systems "
        "and the tablets' scripts. Authenticate with `Authorization: Token <token>` "
        "(from `POST /api/v1/auth/token/`: one per device, it expires after the pages' idle "
        "limit without use and 12 hours after it was issued; end it with "
        "`POST /api/v1/auth/logout/`) or a signed-in session. Everything is scoped to "
        "the caller's communities: another community's ids answer 404. Errors are JSON: "
        '`{"detail": ..., "field": ...}`. Read-only HL7 FHIR R4 is served under `/fhir/r4/`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and Swagger UI are for signed-in people; Swagger UI comes from the app's
    # own static files (drf-spectacular-sidecar), never a CDN.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # OAS 3.0.3 read strictly: nullable nested objects, 405/406/415 (api.openapi).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.openapi.nullable_references",
        "api.openapi.transport_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "AdministrationStatusEnum": "mar.models.Administration.Status",
        "OrderStatusEnum": "mar.models.Order.Status",
        "AllergyReasonEnum": "mar.models.OrderAcknowledgement.Reason",
        "DoseStateEnum": "api.serializers.DOSE_STATES",
        "ResidentStatusEnum": "residents.models.Resident.Status",
        "VitalEnum": "mar.models.Vital",
    },
}

# Celery: Redis is broker and result store. Tasks are idempotent, so a task whose
# worker died is delivered again rather than lost.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(days=1)
# A message not acknowledged within the visibility timeout is delivered again (Redis has
# no other way to notice a dead worker), so no task may be scheduled further ahead than
# it: beat sends every job when it is due, and nothing uses countdown or eta
# (tests/security/test_faults.py holds both to that).
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
    # A request sending a task while Redis is down gives up quickly (medtech.celery.enqueue).
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL = 30
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
}
# Every job is idempotent; none is scheduled further ahead than the visibility timeout.
CELERY_BEAT_SCHEDULE = {
    "materialize-doses": {"task": "mar.materialize_doses", "schedule": 15 * 60},
    "remind-doses-due": {"task": "mar.remind_doses_due", "schedule": 60},
    "close-missed-doses": {"task": "mar.close_missed_doses", "schedule": 60},
    "remind-prn-followups": {"task": "mar.remind_prn_followups", "schedule": 5 * 60},
    "remind-order-verifications": {"task": "mar.remind_order_verifications", "schedule": 10 * 60},
    "raise-overdue-followups": {"task": "mar.raise_overdue_followups", "schedule": 5 * 60},
    "send-notification-emails": {"task": "mar.send_notification_emails", "schedule": 60},
    "remind-certification-expiry": {
        "task": "mar.remind_certification_expiry",
        "schedule": crontab(hour=6, minute=0),
    },
    "remind-psychotropic-prn-ending": {
        "task": "mar.remind_psychotropic_prn_ending",
        "schedule": 60 * 60,
    },
    "daily-stock-check": {
        "task": "inventory.daily_stock_check",
        "schedule": crontab(hour=6, minute=15),
    },
    # Printing: residents' months kept rendered (only changed ones are rendered again),
    # each cart's downtime sheet renewed at every shift (only when its doses changed).
    "prerender-resident-months": {
        "task": "printing.prerender_resident_months",
        "schedule": 15 * 60,
    },
    "refresh-downtime-sheets": {"task": "printing.refresh_downtime_sheets", "schedule": 10 * 60},
    "prune-print-files": {
        "task": "printing.prune_print_files",
        "schedule": crontab(hour=9, minute=30),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "pgserver": {"level": "WARNING"},
        # WeasyPrint logs each rendering step (hundreds per community print); axes logs
        # every sign-in at INFO. Failures still come through at WARNING.
        "weasyprint.progress": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
