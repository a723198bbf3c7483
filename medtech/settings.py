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
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_ENGINE = "django.contrib.sessions.backends.db"

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
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_htmx",
    "template_partials",
    "staff",
    "residents",
    "mar",
    "inventory",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "medtech.middleware.FacilityTimeZoneMiddleware",
    # After HtmxMiddleware: a locked tablet session reaches only the lock screen.
    "staff.middleware.TabletLockMiddleware",
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
            "builtins": ["template_partials.templatetags.partials"],
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
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
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
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
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

REST_FRAMEWORK = {
    # Token first: a request without credentials is answered 401 with
    # "WWW-Authenticate: Token" (session alone can only say 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mar.api.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MedTech eMAR API",
    "DESCRIPTION": (
        "The electronic Medication Administration Record for pharmacies, clinical systems "
        "and the tablets' scripts. Authenticate with `Authorization: Token <token>` "
        "(from `POST /api/v1/auth/token/`) or a signed-in session. Everything is scoped to "
        "the caller's communities: another community's ids answer 404. Errors are JSON: "
        '`{"detail": ..., "field": ...}`. Read-only HL7 FHIR R4 is served under `/fhir/r4/`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AdministrationStatusEnum": "mar.models.Administration.Status",
        "OrderStatusEnum": "mar.models.Order.Status",
        "DoseStateEnum": "mar.api.serializers.DOSE_STATES",
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
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Every job is idempotent; none is scheduled further ahead than the visibility timeout.
CELERY_BEAT_SCHEDULE = {
    "materialize-doses": {"task": "mar.materialize_doses", "schedule": 15 * 60},
    "remind-doses-due": {"task": "mar.remind_doses_due", "schedule": 60},
    "close-missed-doses": {"task": "mar.close_missed_doses", "schedule": 60},
    "remind-prn-followups": {"task": "mar.remind_prn_followups", "schedule": 5 * 60},
    "remind-order-verifications": {"task": "mar.remind_order_verifications", "schedule": 10 * 60},
    "send-notification-emails": {"task": "mar.send_notification_emails", "schedule": 60},
    "remind-certification-expiry": {
        "task": "mar.remind_certification_expiry",
        "schedule": crontab(hour=6, minute=0),
    },
    "daily-stock-check": {
        "task": "inventory.daily_stock_check",
        "schedule": crontab(hour=6, minute=15),
    },
    # Printing: residents' months kept rendered (only changed ones are rendered again),
    # each cart's downtime sheet renewed at every shift (only when its doses changed).
    "prerender-resident-months": {"task": "mar.prerender_resident_months", "schedule": 15 * 60},
    "refresh-downtime-sheets": {"task": "mar.refresh_downtime_sheets", "schedule": 10 * 60},
    "prune-print-files": {"task": "mar.prune_print_files", "schedule": crontab(hour=9, minute=30)},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}},
}
