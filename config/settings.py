"""AriesOne settings: one module, every knob read from the environment.

Each variable has a laptop default so that a fresh clone runs with no configuration
(SQLite, local-memory cache, Celery tasks run eagerly). With ``DEBUG`` off, the
secrets have no default: a missing one stops start-up with one line saying which.
Every variable is listed in README.md and in ``.env.example``. A secret may also be
given as a file: ``SECRET_KEY_FILE=/run/secrets/key`` (django-environ's FileAwareEnv).
"""

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.FileAwareEnv()
# A developer's own overrides; real environment variables win over the file.
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# Development-only values. They are public (they are in this file), so they are
# used only with DEBUG on; production must bring its own.
_DEV_SECRET_KEY = "dev-insecure-secret-key-never-use-in-production-3f9a1c"
_DEV_FIELD_ENCRYPTION_KEY = "Lz61IDrdOT6WZ0DLEGPC6567LbzbnNe7naCRRXKhUIo="
_DEV_BLIND_INDEX_KEY = "dev-insecure-blind-index-key-6a1e"


def _secret(name, dev_default):
    """Return a required secret; with DEBUG on, fall back to the public dev value."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DEBUG is off "
        f"(set {name} or {name}_FILE; see README.md, Configuration)."
    )


SECRET_KEY = _secret("SECRET_KEY", _DEV_SECRET_KEY)
# Comma-separated Fernet keys, newest first: the first encrypts, any decrypts.
FIELD_ENCRYPTION_KEY = [
    key.strip()
    for key in _secret("FIELD_ENCRYPTION_KEY", _DEV_FIELD_ENCRYPTION_KEY).split(",")
    if key.strip()
]
BLIND_INDEX_KEY = _secret("BLIND_INDEX_KEY", _DEV_BLIND_INDEX_KEY)
if not DEBUG and (
    SECRET_KEY == _DEV_SECRET_KEY
    or _DEV_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEY
    or BLIND_INDEX_KEY == _DEV_BLIND_INDEX_KEY
):
    raise ImproperlyConfigured(
        "A development key is configured while DEBUG is off; generate real keys "
        "(see README.md, Configuration)."
    )

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # django.contrib.admin with the cockpit's site (grouped menu, dashboards): cockpit/site.py.
    "cockpit.apps.CockpitAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # The trigram lookups of the name and equipment searches (PostgreSQL; unused on SQLite).
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "auditlog",
    "encrypted_model_fields",
    "django_celery_beat",
    "core",
    "accounts",
    "clinical",
    "dme",
    "hme",
    "documents",
    "adherence",
    "resupply",
    "cockpit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.ActiveCompanyMiddleware",
    "core.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages: a refused PHI search term leaves a message (clinical/admin_search.py).
    "clinical.middleware.AdminPHISearchGuardMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After messages: the enrolment redirect and the lockout page both add one.
    "accounts.middleware.SignedOutNoticeMiddleware",
    "accounts.middleware.MFARequiredMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.active_company",
            ],
        },
    },
]

# Database ------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", 60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # Covering indexes (INCLUDE columns, e.g. patient_duplicates_idx) are a PostgreSQL
    # speed-up; SQLite builds the same index without them, which is all the embedded
    # default needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

# Connection pool (psycopg 3's psycopg_pool through Django; docs/operations.md, Connection
# pooling). Each process keeps its own pool: connections = processes x max size, which
# must stay under the server's max_connections. Django refuses CONN_MAX_AGE with a pool.
DATABASE_POOL = env.bool("DATABASE_POOL", default=False)
DATABASE_POOL_MIN_SIZE = env.int("DATABASE_POOL_MIN_SIZE", default=2)
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=4)
DATABASE_POOL_TIMEOUT = env.float("DATABASE_POOL_TIMEOUT", default=10.0)
if DATABASE_POOL and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    if not 0 <= DATABASE_POOL_MIN_SIZE <= DATABASE_POOL_MAX_SIZE or DATABASE_POOL_MAX_SIZE < 1:
        raise ImproperlyConfigured(
            "DATABASE_POOL_MIN_SIZE must be between 0 and DATABASE_POOL_MAX_SIZE (at least 1)."
        )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": DATABASE_POOL_MIN_SIZE,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": DATABASE_POOL_TIMEOUT,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# PostgreSQL row-level security (core.rls, docs/security/rls.md) ---------------
# The role the application's queries run as (owns nothing, no BYPASSRLS): e.g.
# "aries_app". Empty: RLS off, the application scoping (for_user) is the only wall;
# always off on SQLite.
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="")
# The explicit bypass role of operators' cross-company work (BYPASSRLS, owns nothing):
# e.g. "aries_operator". Empty: the operator acts as the login role itself (the tables'
# owner when the processes log in as the owner). Needed when they log in as a login role
# made by `setup_db_roles --login-role`, which owns nothing.
DATABASE_OPERATOR_ROLE = env.str("DATABASE_OPERATOR_ROLE", default="")
if DATABASE_OPERATOR_ROLE and not DATABASE_APP_ROLE:
    raise ImproperlyConfigured(
        "DATABASE_OPERATOR_ROLE needs DATABASE_APP_ROLE (row-level security)."
    )
if DATABASE_OPERATOR_ROLE and DATABASE_OPERATOR_ROLE == DATABASE_APP_ROLE:
    raise ImproperlyConfigured("DATABASE_OPERATOR_ROLE must differ from DATABASE_APP_ROLE.")

# Cache (throttling, idempotency locks) -------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="ariesone"),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "ariesone",
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="ariesone"),
        }
    }

# Auth ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.MembershipBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.PublishedPasswordValidator"},
]
LOGIN_URL = "admin:login"

# Staff accounts: set-password and reset e-mails ------------------------------
# New members get a link to set their own password; nobody else ever knows it.
# The link is built from the request's host; SITE_URL serves when there is none.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="AriesOne <no-reply@ariesone.test>")
# Reset and invitation links expire after 3 days (Django's default).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)

# Internationalisation ------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

# Static files --------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security (what `manage.py check --deploy` asks for when DEBUG is off) -------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Idle and absolute limits of staff sessions: see "Sign-in security" below; the cookie
# never outlives the absolute cap.
SESSION_SAVE_EVERY_REQUEST = True
# The health probes are plain HTTP from the load balancer.
SECURE_REDIRECT_EXEMPT = [r"^health/"]

# Headers and API docs ----------------------------------------------------------
# Content-Security-Policy (django-csp 4): scripts only from this site or carrying the
# request's nonce (request.csp_nonce in a template); no plugins, no framing, forms post
# here only. Styles may be inline: the admin's status colours and the Swagger UI page
# use style attributes and a <style> block, which cannot run code. The API docs are
# served from this site (drf-spectacular-sidecar, SpectacularSwaggerSplitView), so no
# page needs a CDN or an inline script.
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        # data: for the admin's proof-of-delivery signatures and Swagger UI's icons.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# The schema (/api/schema/) and docs (/api/docs/) describe every PHI-bearing endpoint:
# signed-in users only, unless this is on (default: on with DEBUG).
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=DEBUG)

# PHI -----------------------------------------------------------------------
# Audit history never keeps an encrypted field's value (core.audit registers masks).
AUDITLOG_MASK_CALLABLE = "core.audit.mask_value"
AUDITLOG_DISABLE_REMOTE_ADDR = False

# Audit trail and access log ------------------------------------------------
# History entries carry their company (core.AuditEntry), so each company's staff see
# only their own trail (45 CFR 164.312(b)).
AUDITLOG_LOGENTRY_MODEL = "core.AuditEntry"
# Key of the access log's HMAC-SHA256 hash chain (core.access). Empty: derived from
# SECRET_KEY; set it so that rotating SECRET_KEY does not break verification.
ACCESS_LOG_HASH_KEY = env.str("ACCESS_LOG_HASH_KEY", default="")
# How long a "break the glass" grant lasts (45 CFR 164.312(a)(2)(ii)).
EMERGENCY_ACCESS_MINUTES = env.int("EMERGENCY_ACCESS_MINUTES", default=60)
# Compliance events are kept 6 years (45 CFR 164.316(b)(2)(i)), then purged.
COMPLIANCE_RETENTION_DAYS = env.int("COMPLIANCE_RETENTION_DAYS", default=6 * 366)
# This many 404s on existing records of other companies within the window make one
# CROSS_TENANT_PROBE compliance event.
CROSS_TENANT_PROBE_THRESHOLD = env.int("CROSS_TENANT_PROBE_THRESHOLD", default=5)
CROSS_TENANT_PROBE_WINDOW = env.int("CROSS_TENANT_PROBE_WINDOW", default=600)

# REST API ------------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.CompanyJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.RoleModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
        "auth": env.str("API_THROTTLE_AUTH", default="20/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# No 5xx from request bodies ----
# The JSON parser refuses a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (413) or nested
# deeper than API_MAX_JSON_DEPTH (400) instead of failing in json.loads (core/api/parsers.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "core.api.parsers.JSONParser",
    "rest_framework.parsers.FormParser",
    "rest_framework.parsers.MultiPartParser",
]
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    "SIGNING_KEY": SECRET_KEY,
    "UPDATE_LAST_LOGIN": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AriesOne API",
    "DESCRIPTION": (
        "Operations API of a home and durable medical equipment supplier. "
        "Authenticate with a JWT from /api/v1/auth/token/."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation's error answers (400/401/403/404/409/...) in the one error shape.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_error_responses",
        "core.api.schema.describe_times",
    ],
}


def _enum_name_overrides(modules):
    """Name every TextChoices of our ``choices`` modules after its class in the schema
    (``AppointmentStatusEnum``) instead of the field (``status``), so that two apps'
    ``status`` choices never collide into hashed names."""
    from importlib import import_module

    from django.db.models import Choices

    overrides = {}
    for module_name in modules:
        module = import_module(module_name)
        for name, value in vars(module).items():
            is_choices = isinstance(value, type) and issubclass(value, Choices)
            if is_choices and value.__module__ == module_name:
                overrides[f"{name}Enum"] = f"{module_name}.{name}"
    return overrides


SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = _enum_name_overrides(
    [
        "core.choices",
        "accounts.choices",
        "clinical.choices",
        "dme.choices",
        "hme.choices",
        "documents.choices",
        "adherence.choices",
    ]
)
# Stored Idempotency-Key responses are kept at least this long.
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)

# Sign-in security ----------------------------------------------------------
# Proxies in front of us that append to X-Forwarded-For (0: none, the header is
# ignored). The client address of the access log, the compliance log, the throttles and
# the lockout all come from core.context.client_ip, which honours this.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth_address"] = env.str(
    "API_THROTTLE_AUTH_ADDRESS", default="100/minute"
)
SIMPLE_JWT["ROTATE_REFRESH_TOKENS"] = True
SIMPLE_JWT["BLACKLIST_AFTER_ROTATION"] = True

# Lockout (django-axes): an account after LOCKOUT_FAILURES failed sign-ins within
# LOCKOUT_MINUTES, a client address after LOCKOUT_ADDRESS_FAILURES (higher: a clinic's
# staff share one address). Sign-in failures must be limited: 45 CFR 164.308(a)(5)(ii)(C).
LOCKOUT_FAILURES = env.int("LOCKOUT_FAILURES", default=5)
LOCKOUT_ADDRESS_FAILURES = env.int("LOCKOUT_ADDRESS_FAILURES", default=20)
LOCKOUT_MINUTES = env.int("LOCKOUT_MINUTES", default=15)
AXES_FAILURE_LIMIT = LOCKOUT_FAILURES
AXES_COOLOFF_TIME = timedelta(minutes=LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "accounts.security.lockout.LockoutHandler"
AXES_USERNAME_CALLABLE = "accounts.security.lockout.attempted_email"
AXES_CLIENT_IP_CALLABLE = "accounts.security.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.security.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Attempts are kept as rows (who, from where, when); the POSTed form is not: it holds
# the attempted password.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "email", "password"]
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# MFA (django-otp: TOTP and recovery codes). The roles that must use a second factor
# (45 CFR 164.312(d), person or entity authentication); "operator" means superusers.
# MFA_ENFORCE=0 stops requiring enrolment (the DEBUG demo); a user who enrolled is still
# asked for their code. With DEBUG off it is ignored: enforcement is always on (so a
# developer's .env copied from .env.example cannot switch it off in production mode).
MFA_REQUIRED_ROLES = env.list(
    "MFA_REQUIRED_ROLES", default=["administrator", "billing", "auditor", "operator"]
)
MFA_ENFORCE = env.bool("MFA_ENFORCE", default=True) or not DEBUG
MFA_ISSUER = env.str("MFA_ISSUER", default="AriesOne")
MFA_RECOVERY_CODES = 10
OTP_TOTP_ISSUER = MFA_ISSUER

# HIPAA automatic logoff, 45 CFR 164.312(a)(2)(iii): a staff session ends after
# SESSION_IDLE_MINUTES without a request, and SESSION_MAX_HOURS after sign-in at most.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=15)
SESSION_MAX_HOURS = env.int("SESSION_MAX_HOURS", default=12)
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600

# Celery --------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker configured: tasks run in-process (the laptop default).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Schedules live in the database (django-celery-beat), editable in the admin under
# "Periodic tasks"; migration core.0004_default_schedules creates the defaults.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Backups -------------------------------------------------------------------
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(BASE_DIR / "var" / "backups")))
BACKUP_RETENTION_DAYS = env.int("BACKUP_RETENTION_DAYS", default=30)
# Comma-separated backup keys (32 random bytes, url-safe base64), newest first: the first
# encrypts new backups, any opens old ones. Distinct from the field keys, and kept apart
# from the backups: whoever holds a backup file must not also hold what opens it.
_DEV_BACKUP_ENCRYPTION_KEY = "NZnzQrkKmDqct7E4QalG3uoFPnYbMu9e0Sip0TQcECc="
BACKUP_ENCRYPTION_KEY = [
    key.strip()
    for key in _secret("BACKUP_ENCRYPTION_KEY", _DEV_BACKUP_ENCRYPTION_KEY).split(",")
    if key.strip()
]
if not DEBUG and _DEV_BACKUP_ENCRYPTION_KEY in BACKUP_ENCRYPTION_KEY:
    raise ImproperlyConfigured(
        "The development BACKUP_ENCRYPTION_KEY is configured while DEBUG is off; generate "
        "a real one (see docs/operations.md, Backup and restore)."
    )
if set(BACKUP_ENCRYPTION_KEY) & set(FIELD_ENCRYPTION_KEY):
    raise ImproperlyConfigured(
        "BACKUP_ENCRYPTION_KEY must differ from every FIELD_ENCRYPTION_KEY key "
        "(see docs/operations.md, Backup and restore)."
    )

# EDI (X12 claims out, acknowledgements in; docs/domain/edi.md) ----------------
# The clearinghouse adapter (hme.edi.adapters): the directory drop by default, with one
# sub-folder per company (its id) under the outbox and the inbox.
EDI_ADAPTER = env.str("EDI_ADAPTER", default="hme.edi.adapters.DirectoryDropAdapter")
EDI_OUTBOX_DIR = Path(env.str("EDI_OUTBOX_DIR", default=str(BASE_DIR / "var" / "edi" / "outbox")))
EDI_INBOX_DIR = Path(env.str("EDI_INBOX_DIR", default=str(BASE_DIR / "var" / "edi" / "inbox")))
# Where the encrypted 837P files of the batches are kept (the backup format, 0005).
EDI_STORE_DIR = Path(env.str("EDI_STORE_DIR", default=str(BASE_DIR / "var" / "edi" / "store")))
# Larger inbound files are set aside (failed/) unread.
EDI_MAX_INBOUND_BYTES = env.int("EDI_MAX_INBOUND_BYTES", default=50 * 1024 * 1024)
# ISA15: P production, T test (a clearinghouse's test lane).
EDI_USAGE_INDICATOR = env.str("EDI_USAGE_INDICATOR", default="P")
# Keys sealing the stored 837P files (backup key format), newest first; default: the
# backup keys.
EDI_ENCRYPTION_KEY = [
    key.strip() for key in env.str("EDI_ENCRYPTION_KEY", default="").split(",") if key.strip()
] or BACKUP_ENCRYPTION_KEY

# Logging: plain lines to stderr. Code logs record ids, never PHI values.
# core.logging.PHIScrubFilter rewrites every record before it is written: exception
# messages lose record text (ProtectedError lists the blocking records' str()), model
# instances become <app.Model pk>, logged URLs lose their query string. It sits on the
# handlers (whatever logger a record comes from) and on the loggers Django and DRF write
# to (so that every handler, a test's capture included, sees the rewritten record).
_PHI_SCRUBBED_LOGGERS = [
    "django",
    "django.request",
    "django.server",
    "django.security",
    "django.security.csrf",
    "django.security.DisallowedHost",
    "django.template",
    "rest_framework",
    "celery",
    "celery.app.trace",
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"phi": {"()": "core.logging.PHIScrubFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # runserver's access line, as Django formats it by default.
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["phi"]},
        "server": {"class": "logging.StreamHandler", "formatter": "server", "filters": ["phi"]},
    },
    "root": {
        "handlers": ["console"],
        "level": env.str("LOG_LEVEL", default="INFO"),
        "filters": ["phi"],
    },
    "loggers": {
        **{name: {"filters": ["phi"]} for name in _PHI_SCRUBBED_LOGGERS},
        "django.server": {
            "handlers": ["server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["phi"],
        },
        # SQL lines carry parameters (names, blind indexes): never below WARNING.
        "django.db.backends": {"level": "WARNING"},
    },
}

# Events (core.events, docs/events.md) ----------------------------------------
# Every request gets a correlation id (the client's X-Request-ID when well-formed),
# echoed in the response and carried by the events it causes. First, so that every
# later middleware and view runs under it.
MIDDLEWARE.insert(1, "core.middleware.CorrelationIdMiddleware")
# RabbitMQ (the production default): amqp://user:password@host:5672/vhost. Empty: no
# broker, events stay in the outbox (webhooks are still sent).
EVENTS_BROKER_URL = env.str("EVENTS_BROKER_URL", default="")
EVENTS_EXCHANGE = env.str("EVENTS_EXCHANGE", default="ariesone.events")
# Kafka: host:port[,host:port]. Empty: not used.
KAFKA_BOOTSTRAP_SERVERS = env.str("KAFKA_BOOTSTRAP_SERVERS", default="")
KAFKA_TOPIC_PREFIX = env.str("KAFKA_TOPIC_PREFIX", default="")
EVENTS_RELAY_BATCH_SIZE = env.int("EVENTS_RELAY_BATCH_SIZE", default=500)
# Published events are purged after this many days (their webhooks delivered).
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=7)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
# Webhooks to loopback, private and link-local addresses are refused (SSRF); on only
# for receivers inside a trusted network (and the test suite).
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
# Retry n waits base * 2^(n-1) seconds, at most the max: 30 s, 1 min, 2 min ... 1 h.
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=30)
WEBHOOK_RETRY_MAX_SECONDS = env.int("WEBHOOK_RETRY_MAX_SECONDS", default=3600)
# Documents (docs/domain/documents.md) ------------------------------------------
# Kept sealed (documents.crypto: the backup file format under its own key) in the
# "documents" storage: a local folder by default, an S3-compatible bucket when
# DOCUMENTS_S3_BUCKET is set (django-storages). Never served from a public URL.
DOCUMENTS_DIR = Path(env.str("DOCUMENTS_DIR", default=str(BASE_DIR / "var" / "documents")))
DOCUMENTS_S3_BUCKET = env.str("DOCUMENTS_S3_BUCKET", default="")
_DOCUMENTS_STORAGE: dict[str, Any]
if DOCUMENTS_S3_BUCKET:
    _DOCUMENTS_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": DOCUMENTS_S3_BUCKET,
            "region_name": env.str("DOCUMENTS_S3_REGION", default="") or None,
            "endpoint_url": env.str("DOCUMENTS_S3_ENDPOINT_URL", default="") or None,
            # Empty: boto3's own chain (instance role, AWS_* variables, ~/.aws).
            "access_key": env.str("DOCUMENTS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("DOCUMENTS_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("DOCUMENTS_S3_PREFIX", default="documents"),
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    _DOCUMENTS_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(DOCUMENTS_DIR),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
STORAGES["documents"] = _DOCUMENTS_STORAGE
# Comma-separated document keys (32 random bytes, url-safe base64), newest first: the
# first seals new files, any opens old ones (manage.py reencrypt_documents re-seals).
_DEV_DOCUMENT_ENCRYPTION_KEY = "PLsiEh33lAUAauqdfleVECy0wtiCti7ha7KI98RGT4k="
DOCUMENT_ENCRYPTION_KEY = [
    key.strip()
    for key in _secret("DOCUMENT_ENCRYPTION_KEY", _DEV_DOCUMENT_ENCRYPTION_KEY).split(",")
    if key.strip()
]
if not DEBUG and _DEV_DOCUMENT_ENCRYPTION_KEY in DOCUMENT_ENCRYPTION_KEY:
    raise ImproperlyConfigured(
        "The development DOCUMENT_ENCRYPTION_KEY is configured while DEBUG is off; generate "
        "a real one (see docs/domain/documents.md, Storage and encryption)."
    )
if set(DOCUMENT_ENCRYPTION_KEY) & (set(FIELD_ENCRYPTION_KEY) | set(BACKUP_ENCRYPTION_KEY)):
    raise ImproperlyConfigured(
        "DOCUMENT_ENCRYPTION_KEY must differ from every field and backup key "
        "(see docs/domain/documents.md, Storage and encryption)."
    )
# Largest accepted document (bytes); PDF, TIFF, PNG and JPEG only (by content).
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=25 * 1024 * 1024)
# Uploads up to the document limit stay in memory: a plaintext scan is never spooled
# to the server's temporary folder.
FILE_UPLOAD_MAX_MEMORY_SIZE = DOCUMENT_MAX_BYTES + 1024 * 1024
# Where the e-fax service drops incoming faxes, one sub-folder per company id.
FAX_INBOX_DIR = Path(env.str("FAX_INBOX_DIR", default=str(BASE_DIR / "var" / "fax-inbox")))
# OCR language(s) of Tesseract (tesseract-ocr-eng is installed by scripts/system-packages.sh).
OCR_LANGUAGES = env.str("OCR_LANGUAGES", default="eng")
# The readiness reasons asking for the signed written order, the prior-authorization
# decision (items that need one) and the ABN (GA lines) among an order's documents:
# "off" (not checked), "warn" (shown, still bills) or "hold" (held from billing).
DOCUMENTS_BILLING_CHECKS = env.str("DOCUMENTS_BILLING_CHECKS", default="off")
if DOCUMENTS_BILLING_CHECKS not in ("off", "warn", "hold"):
    raise ImproperlyConfigured("DOCUMENTS_BILLING_CHECKS is one of off, warn, hold.")
# How long a prescriber's signing link works.
SIGNING_LINK_HOURS = env.int("SIGNING_LINK_HOURS", default=72)

# PAP adherence (docs/domain/adherence.md) ----------------------------------------------
# Where train_adherence_model writes its model files (one per company and version); a
# file is loaded only if its SHA-256 matches the one recorded in its AI model row.
ADHERENCE_MODELS_DIR = Path(
    env.str("ADHERENCE_MODELS_DIR", default=str(BASE_DIR / "var" / "models"))
)
# A day-14 prediction of non-adherence at or above this probability raises the
# actionable "call the patient" insight.
ADHERENCE_RISK_THRESHOLD = env.float("ADHERENCE_RISK_THRESHOLD", default=0.5)
if not 0 < ADHERENCE_RISK_THRESHOLD < 1:
    raise ImproperlyConfigured("ADHERENCE_RISK_THRESHOLD is a probability between 0 and 1.")
# Caching of reference data and access (core/caching.py; docs/operations.md, Caching) --
# Lifetimes in seconds. Changes invalidate at once (signals and services bump a version);
# the TTL only bounds how long an entry nobody reads stays in the cache.
CACHE_TTL_REFERENCE = env.int("CACHE_TTL_REFERENCE", default=3600)
CACHE_TTL_PERMISSIONS = env.int("CACHE_TTL_PERMISSIONS", default=300)
CACHE_TTLS = {
    "access": CACHE_TTL_PERMISSIONS,
    "catalogue": CACHE_TTL_REFERENCE,
    "fees": CACHE_TTL_REFERENCE,
    "icd10": CACHE_TTL_REFERENCE,
    "payers": CACHE_TTL_REFERENCE,
}

# Metrics and slow queries (core/metrics.py, core/slow_queries.py) -------------------
# /metrics answers these client addresses (IPs or networks, comma-separated; the address
# NUM_PROXIES resolves) or a request carrying "Authorization: Bearer <METRICS_TOKEN>".
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"] if DEBUG else [])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_IPS: {_network!r} is not an IP address or network."
        ) from None
# Queries taking this long (milliseconds) or longer are logged by their SQL shape,
# never their parameters; 0 logs every query.
SLOW_QUERY_MS = env.float("SLOW_QUERY_MS", default=1000.0)
MIDDLEWARE.insert(0, "core.metrics.MetricsMiddleware")
SECURE_REDIRECT_EXEMPT.append(r"^metrics$")
# Scale past one machine (issue 19; docs/scaling.md) ------------------------
# Deepest row a page-numbered API list starts at; deeper pages are a 400
# ``page_too_deep`` (the big lists use cursors: docs/decisions/0003).
API_MAX_PAGE_DEPTH = env.int("API_MAX_PAGE_DEPTH", default=10_000)
# Incremental data-quality checks (the decrypting MBI/NPI passes): a full pass at least
# this often, and how far before the previous run the changed rows are re-read.
DATA_QUALITY_FULL_PASS_DAYS = env.int("DATA_QUALITY_FULL_PASS_DAYS", default=7)
DATA_QUALITY_INCREMENTAL_MARGIN = env.int("DATA_QUALITY_INCREMENTAL_MARGIN", default=10)
# A streaming replica for read-only work (dashboards, reports, exports, list endpoints
# marked safe); unset: everything reads the primary. core.db_router pins a user to the
# primary for DATABASE_REPLICA_PIN_SECONDS after a write (replication lag).
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
DATABASE_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=5)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **env.db_url_config(DATABASE_REPLICA_URL),
        "ATOMIC_REQUESTS": False,
        "CONN_MAX_AGE": DATABASES["default"].get("CONN_MAX_AGE", 0),
        "CONN_HEALTH_CHECKS": True,
        # Tests run against the primary's test database through the replica: the
        # replica streams it, so it is the same database, never one of its own.
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("core.middleware.ActorMiddleware"), "core.db_router.ReplicaPinMiddleware"
    )
# Notifications (core.notifications, docs/notifications.md) ---------------------------
# E-mail goes through EMAIL_BACKEND above (console in development, SMTP in production:
# EMAIL_HOST, EMAIL_PORT and these).
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# The SMS backend class: console (development), locmem (tests) or a provider's subclass
# of core.notifications.backends.BaseSMSBackend.
SMS_BACKEND = env.str("SMS_BACKEND", default="core.notifications.backends.ConsoleSMSBackend")
# A send is tried this many times; retry n waits base * 2^(n-1) seconds, at most the max.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=5)
NOTIFICATION_RETRY_BASE_SECONDS = env.int("NOTIFICATION_RETRY_BASE_SECONDS", default=60)
NOTIFICATION_RETRY_MAX_SECONDS = env.int("NOTIFICATION_RETRY_MAX_SECONDS", default=3600)
