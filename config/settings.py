"""AriesOne settings: one module, every knob read from the environment.

Each variable has a laptop default so that a fresh clone runs with no configuration
(SQLite, local-memory cache, Celery tasks run eagerly). With ``DEBUG`` off, the
secrets have no default: a missing one stops start-up with one line saying which.
Every variable is listed in README.md and in ``.env.example``. A secret may also be
given as a file: ``SECRET_KEY_FILE=/run/secrets/key`` (django-environ's FileAwareEnv).
"""

from datetime import timedelta
from pathlib import Path

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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "django_filters",
    "drf_spectacular",
    "auditlog",
    "encrypted_model_fields",
    "django_celery_beat",
    "core",
    "accounts",
    "clinical",
    "dme",
    "hme",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.ActiveCompanyMiddleware",
    "core.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
AUTHENTICATION_BACKENDS = ["accounts.backends.MembershipBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

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
# Staff sessions on shared clinic computers: expire after 8 idle hours.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_SAVE_EVERY_REQUEST = True
# The health probes are plain HTTP from the load balancer.
SECURE_REDIRECT_EXEMPT = [r"^health/"]

# PHI -----------------------------------------------------------------------
# Audit history never keeps an encrypted field's value (core.audit registers masks).
AUDITLOG_MASK_CALLABLE = "core.audit.mask_value"
AUDITLOG_DISABLE_REMOTE_ADDR = False

# REST API ------------------------------------------------------------------
REST_FRAMEWORK = {
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
    ["core.choices", "accounts.choices", "clinical.choices", "dme.choices", "hme.choices"]
)
# Stored Idempotency-Key responses are kept at least this long.
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)

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
        "a real one (see README.md, Backup and restore)."
    )
if set(BACKUP_ENCRYPTION_KEY) & set(FIELD_ENCRYPTION_KEY):
    raise ImproperlyConfigured(
        "BACKUP_ENCRYPTION_KEY must differ from every FIELD_ENCRYPTION_KEY key "
        "(see README.md, Backup and restore)."
    )

# Logging: plain lines to stderr. Code logs record ids, never PHI values.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django logs a failing request's full URL; query strings never carry PHI here.
        "django.db.backends": {"level": "WARNING"},
    },
}
