"""Lumen PACS settings: one module, every value from the environment (.env.example lists them)."""
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from pacs.env import envbool, envint, envlist, envpath, envsecret, envstr, local_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = envpath("LUMEN_DATA_DIR", BASE_DIR / "var")

DEBUG = envbool("DEBUG", False)
# Production sets SECRET_KEY (or SECRET_KEY_FILE); the embedded default keeps a generated key in the data dir.
SECRET_KEY = envsecret("SECRET_KEY") or local_secret_key(DATA_DIR / ".secret_key")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # DICOMweb clients authenticate with `Authorization: Token|Bearer <key>`
    "corsheaders",  # CORS for /dicomweb/ only (DICOMWEB_CORS_ALLOWED_ORIGINS)
    "django_filters",  # REST API filters (/api/studies/?modality=CT…)
    "drf_spectacular",  # OpenAPI 3 schema of the REST API at /api/schema/
    "drf_spectacular_sidecar",  # Swagger UI assets served by us: /api/docs/ works offline
    "accounts",  # the custom user model and roles; before "studies", which points at it
    "django_otp",  # TOTP second factor (accounts/twofactor.py)
    "django_otp.plugins.otp_totp",
    "studies",
    "frontend",
    "axes",  # login lockout; before "audit", whose failed-login receiver reads what axes decided
    "csp",  # Content-Security-Policy header (CONTENT_SECURITY_POLICY below)
    "audit",  # append-only audit trail (DICOM audit event ids)
    "integrations",  # RIS integration: idempotency keys of the REST API
    "annotations",  # measurements, annotations and key images saved per study and person
    "reports",  # the reading workflow: worklist, report editor, signing, delivery to the uploader
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "pacs.middleware.RejectNulMiddleware",  # a NUL in the URL is a 400, not a database error
    "corsheaders.middleware.CorsMiddleware",  # before CommonMiddleware, so preflights get CORS headers
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Roles and people that must use a second factor enrol before anything else (accounts/middleware.py).
    "accounts.middleware.TwoFactorEnrolmentMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: answers locked-out logins
]

ROOT_URLCONF = "pacs.urls"
WSGI_APPLICATION = "pacs.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL in production (DATABASE_URL), SQLite in WAL mode as the embedded default.
DATABASE_URL = envstr("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'lumen.sqlite3'}"
# Persistent connections; health checks (one extra query per request, ~1-2 ms measured on the
# image endpoints) only where the database may drop idle connections behind our back.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 600), conn_health_checks=envbool("DB_CONN_HEALTH_CHECKS", False)
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        # IMMEDIATE avoids "database is locked" upgrades when web, worker and listener write at once.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file (not :memory:) so the listener and worker processes started by tests can share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-lumen.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Files: the archive goes through Django's storage API so an object store can be plugged in later.
ARCHIVE_DIR = DATA_DIR / "archive"
SPOOL_DIR = DATA_DIR / "spool"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "media"}},
    "dicom": {"BACKEND": "studies.storage.DicomFileStorage", "OPTIONS": {"location": ARCHIVE_DIR}},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
STATIC_URL = "/static/"
# Cached a year and never rechecked: names with the manifest's hash (name.0123456789ab.js) and
# the viewer's chunks, worker and wasm codecs, which viewer.js loads by Vite's own hashed names.
_IMMUTABLE_STATIC = re.compile(
    r"^/static/(?:.+\.[0-9a-f]{12}\.[A-Za-z0-9]+|frontend/viewer/(?:assets|chunks)/[^/]+-[A-Za-z0-9_-]{8}\.(?:js|wasm|css))$"
)


def WHITENOISE_IMMUTABLE_FILE_TEST(path: str, url: str) -> bool:  # noqa: N802 (a setting)
    return bool(_IMMUTABLE_STATIC.match(url))
STATIC_ROOT = DATA_DIR / "static"
FILE_UPLOAD_TEMP_DIR = str(SPOOL_DIR / "incoming")  # same filesystem as the archive: a rename, not a copy
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024  # larger uploads stream to a temp file on disk
DATA_UPLOAD_MAX_NUMBER_FILES = envint("LUMEN_UPLOAD_BATCH_MAX_FILES", 200)

# --- Archive policy.
LUMEN_UPLOAD_MAX_BYTES = envint("LUMEN_UPLOAD_MAX_BYTES", 500 * 1024 * 1024)
LUMEN_ZIP_MAX_ENTRIES = envint("LUMEN_ZIP_MAX_ENTRIES", 20000)
LUMEN_ZIP_MAX_UNCOMPRESSED_BYTES = envint("LUMEN_ZIP_MAX_UNCOMPRESSED_BYTES", 4 * 1024 * 1024 * 1024)
LUMEN_ZIP_MAX_RATIO = envint("LUMEN_ZIP_MAX_RATIO", 200)
# What to do when a SOP Instance UID arrives again with different bytes: "keep-first" or "overwrite".
LUMEN_DUPLICATE_POLICY = envstr("LUMEN_DUPLICATE_POLICY", "keep-first")
if LUMEN_DUPLICATE_POLICY not in {"keep-first", "overwrite"}:
    raise ImproperlyConfigured("LUMEN_DUPLICATE_POLICY must be keep-first or overwrite")
LUMEN_DEMO_DIR = envpath("LUMEN_DEMO_DIR", BASE_DIR.parent / "shared" / "dicom-samples")
LUMEN_HTTP_BIND = envstr("LUMEN_HTTP_BIND", "127.0.0.1:8000")  # where `make run` serves the web UI
# One audit row per person and series per this many seconds for rendered images (audit/events.py).
LUMEN_IMAGE_AUDIT_WINDOW = envint("LUMEN_IMAGE_AUDIT_WINDOW", 600)

# A study is complete when no new instance arrived for this many seconds: it then joins the
# worklist and fires studies.signals.study_completed (webhooks "study.received").
LUMEN_STUDY_STABLE_SECONDS = envint("LUMEN_STUDY_STABLE_SECONDS", 60)
# Celery beat runs the completion checks that were lost (worker died holding them) this often;
# a check counts as lost once it is this many seconds overdue.
LUMEN_COMPLETION_SWEEP_SECONDS = envint("LUMEN_COMPLETION_SWEEP_SECONDS", 60)

# --- Outgoing webhooks (integrations/webhooks.py, docs/webhooks.md).
LUMEN_WEBHOOK_TIMEOUT = envint("LUMEN_WEBHOOK_TIMEOUT", 10)  # seconds per attempt (connect, and each read)
LUMEN_WEBHOOK_MAX_ATTEMPTS = envint("LUMEN_WEBHOOK_MAX_ATTEMPTS", 8)
# Retry n waits base × 2^(n-1) seconds (30 s, 1 min, 2 min, … with the default), capped.
LUMEN_WEBHOOK_BACKOFF_SECONDS = float(envstr("LUMEN_WEBHOOK_BACKOFF_SECONDS", "30"))
LUMEN_WEBHOOK_BACKOFF_MAX_SECONDS = envint("LUMEN_WEBHOOK_BACKOFF_MAX_SECONDS", 3600)
LUMEN_WEBHOOK_SWEEP_SECONDS = envint("LUMEN_WEBHOOK_SWEEP_SECONDS", 60)  # lost deliveries are queued again this late
# On: refuse endpoints that resolve to loopback/private/link-local addresses (SSRF defence in depth).
LUMEN_WEBHOOK_BLOCK_PRIVATE_ADDRESSES = envbool("LUMEN_WEBHOOK_BLOCK_PRIVATE_ADDRESSES", False)

# --- Links and mail: notifications carry a link (never medical content) built on LUMEN_BASE_URL.
LUMEN_BASE_URL = envstr("LUMEN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
LUMEN_INSTITUTION_NAME = envstr("LUMEN_INSTITUTION_NAME", "Lumen PACS")  # report letterhead, SR InstitutionName
# Default: each mail is a file under var/mail (the embedded default needs no mail server);
# production sets EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST/PORT/….
EMAIL_BACKEND = envstr("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Lumen PACS <lumen@localhost>")

# --- DICOM listener.
DICOM_AE_TITLE = envstr("DICOM_AE_TITLE", "LUMEN")
DICOM_PORT = envint("DICOM_PORT", 11112)
DICOM_BIND_ADDRESS = envstr("DICOM_BIND_ADDRESS", "0.0.0.0")
DICOM_ALLOWED_CALLING_AES = envlist("DICOM_ALLOWED_CALLING_AES")  # empty: any calling AE
# On: only the AEs above and the registered remote nodes (admin) may associate (studies/dimse/nodes.py).
DICOM_REQUIRE_KNOWN_NODES = envbool("DICOM_REQUIRE_KNOWN_NODES", False)
DICOM_MAX_ASSOCIATIONS = envint("DICOM_MAX_ASSOCIATIONS", 20)
DICOM_MAX_PDU = envint("DICOM_MAX_PDU", 1024 * 1024)
DICOM_ASSOCIATION_TIMEOUT = envint("DICOM_ASSOCIATION_TIMEOUT", 5)  # seconds to send an A-ASSOCIATE-RQ
DICOM_NETWORK_TIMEOUT = envint("DICOM_NETWORK_TIMEOUT", 60)
DICOM_PROCESSES = envint("DICOM_PROCESSES", 0)  # 0: one per core

# --- Celery: Redis in production, a local file-based queue under the data dir as the embedded default.
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL") or "filesystem://"
CELERY_QUEUE_DIR = DATA_DIR / "queue"
if CELERY_BROKER_URL == "filesystem://":
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR),
        "data_folder_out": str(CELERY_QUEUE_DIR),
        "control_folder": str(CELERY_QUEUE_DIR / "control"),  # kombu's default is ./control in the CWD
        "store_processed": False,
        # The folder is polled (kombu's default: once a second); an upload's ingest should start at once.
        "polling_interval": 0.1,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = envstr("LUMEN_TASK_QUEUE", "lumen")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Periodic work (bin/run-all runs beat inside the worker: `celery worker --beat`).
CELERY_BEAT_SCHEDULE = {
    "sweep-study-completions": {"task": "studies.sweep_completions", "schedule": float(LUMEN_COMPLETION_SWEEP_SECONDS)},
    "sweep-webhooks": {"task": "integrations.sweep_webhooks", "schedule": float(LUMEN_WEBHOOK_SWEEP_SECONDS)},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Auth.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "study-list"
LOGOUT_REDIRECT_URL = "login"
LUMEN_ADMIN_PASSWORD = envsecret("LUMEN_ADMIN_PASSWORD")
# TOTP second factor: the issuer name authenticator apps show next to the account.
OTP_TOTP_ISSUER = envstr("LUMEN_TOTP_ISSUER", "Lumen PACS")
# People of these roles (comma-separated, e.g. "Admin,Radiologist") must enrol an authenticator
# app before they can use anything else; an admin can also require it per person.
LUMEN_REQUIRE_2FA_ROLES = envlist("LUMEN_REQUIRE_2FA_ROLES")
# One-time links that set a password (accounts.AccountLink): invitation and password reset lifetimes.
LUMEN_INVITATION_DAYS = envint("LUMEN_INVITATION_DAYS", 7)
LUMEN_PASSWORD_RESET_HOURS = envint("LUMEN_PASSWORD_RESET_HOURS", 24)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses a locked-out username or address before any password is checked.
# accounts.backends.ModelBackend is Django's, loading a session's person with their role in one query.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "accounts.backends.ModelBackend"]
# Lockout (django-axes): after AXES_FAILURE_LIMIT failed logins for one username, or from one
# address, that username / address is refused for LUMEN_LOCKOUT_MINUTES; a success resets it.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LUMEN_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each counted on its own: per user and per IP
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "audit/locked_out.html"
AXES_VERBOSE = False
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 8 * 3600)  # seconds: a working shift
SESSION_ENGINE = "accounts.sessions"  # Django's database sessions, looked up by SQL compiled once
SESSION_COOKIE_HTTPONLY = True
# HTTPS: on in production (DEBUG off and a real host name in ALLOWED_HOSTS), off for the embedded
# default on http://127.0.0.1:8000 (`make run`); LUMEN_HTTPS=0/1 decides explicitly.
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
LUMEN_HTTPS = envbool("LUMEN_HTTPS", not DEBUG and any(host not in _LOCAL_HOSTS for host in ALLOWED_HOSTS))
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", LUMEN_HTTPS)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("LUMEN_TRUST_X_FORWARDED_PROTO", False) else None
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if LUMEN_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", LUMEN_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content Security Policy (django-csp): no inline script or style, nothing from other origins.
# Pages carry data for their scripts with json_script (a data block, not executed).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Audit trail (audit/): on, a row that cannot be written raises instead of being logged at CRITICAL.
LUMEN_AUDIT_STRICT = envbool("LUMEN_AUDIT_STRICT", False)
# On PostgreSQL, audit rows commit without waiting for the WAL flush (audit/services.py says what that trades).
LUMEN_AUDIT_ASYNC_COMMIT = envbool("LUMEN_AUDIT_ASYNC_COMMIT", True)

REST_FRAMEWORK = {
    # A RIS sends `Authorization: Token <key>` or `Bearer <key>`; the web UI uses its session.
    # The token class first: an anonymous request gets 401 with a WWW-Authenticate challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "studies.api.authentication.TokenOrBearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every API error is {"detail": "...", "code": "..."} (studies/api/errors.py).
    "EXCEPTION_HANDLER": "studies.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lumen PACS REST API",
    "DESCRIPTION": "Read the archive (patients, studies, series, instances), upload studies and follow jobs. "
    "Authenticate with `Authorization: Token <key>` (or `Bearer <key>`). A POST may carry an "
    "`Idempotency-Key` header: a retry with the same key returns the first answer.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["studies.api.schema.only_rest_api"],
    "ENUM_NAME_OVERRIDES": {
        "UploadStatusEnum": "studies.models.UploadJob.Status",
        "SendJobStatusEnum": "studies.models.SendJob.Status",
        "ReportStatusEnum": "reports.models.Report.Status",
    },
}

# --- DICOMweb (PS3.18) under /dicomweb/: CORS lets a viewer served from another origin use it.
DICOMWEB_CORS_ALLOWED_ORIGINS = envlist("DICOMWEB_CORS_ALLOWED_ORIGINS")  # e.g. https://viewer.example.org
CORS_URLS_REGEX = r"^/dicomweb/.*$"
CORS_ALLOWED_ORIGINS = DICOMWEB_CORS_ALLOWED_ORIGINS
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "x-csrftoken", "x-requested-with")
CORS_EXPOSE_HEADERS = ("content-type", "content-length", "content-location", "warning", "www-authenticate")
CORS_PREFLIGHT_MAX_AGE = 3600
DICOMWEB_QIDO_MAX_RESULTS = envint("DICOMWEB_QIDO_MAX_RESULTS", 1000)  # larger answers are cut with a 299 Warning

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"pynetdicom": {"level": "WARNING"}, "pydicom": {"level": "ERROR"}},
}
