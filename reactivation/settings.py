"""Settings, read once from the environment (and from ``.env`` in a development checkout).

Two modes:
- development: ``make install`` writes a ``.env`` with ``DJANGO_DEBUG=1`` and a random key, so
  ``manage.py`` works at once on the embedded SQLite database with tasks run in-process;
- production: no ``.env``; ``DJANGO_DEBUG`` is off unless set, and ``SECRET_KEY`` and
  ``ALLOWED_HOSTS`` have no default, so a web or worker process started without its environment
  stops at start-up instead of running with debug values.
"""

from __future__ import annotations

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY")  # no default: a missing key is a start-up error
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else None
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "simple_history",
    "reactivation.apps.ReactivationConfig",
    "clients.apps.ClientsConfig",
    "calls.apps.CallsConfig",
    "reactivation.telephony.apps.TelephonyConfig",
    "reactivation.messaging.apps.MessagingConfig",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "reactivation.api.apps.ApiConfig",
    "reactivation.webhooks.apps.WebhooksConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "reactivation.middleware.RequestBodyLimitMiddleware",
    "reactivation.middleware.NoStoreForSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "reactivation.urls"
WSGI_APPLICATION = "reactivation.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "reactivation.context_processors.navigation",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# --- Data ---------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# PostgreSQL connections are kept between requests (opening one costs a new server process,
# 5-10 ms here, on every page); each is checked before reuse, so a restarted database costs one
# failed check, not an error page.
DATABASES["default"]["CONN_MAX_AGE"] = env.int(
    "CONN_MAX_AGE",
    default=60 if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" else 0,
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while an import or the nightly run writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
    )
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    # The week's covering indexes carry extra columns on PostgreSQL; SQLite builds them
    # without (same order, same results), which is all the embedded database needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: its estimates count every subplan of the dashboards' aggregates as if run per
    # row and compile for a second to run a query of milliseconds. Nothing here runs the long
    # analytical queries it pays off for.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))
MEDIA_URL = "/media/"
# Request bodies: a form's fields at most 10 MB (Django refuses more as it reads them); an
# uploaded file past 5 MB is spooled to a temporary file, not held in memory. A body larger
# than its URL takes (the import upload: UPLOAD_MAX_BYTES; any other: the form limit) is refused
# from its Content-Length before it is read (reactivation.middleware), and the web server in
# front refuses it earlier still (client_max_body_size, docs/operations.md).
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=512 * 1024 * 1024)

# --- Celery ---------------------------------------------------------------------------------
# Unset REDIS_URL: tasks run in-process, eagerly. Set: Redis is the broker. Tasks ack late and
# are re-queued when a worker dies; their hard time limits stay under the visibility timeout,
# so Redis never hands a still-running task to a second worker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_VISIBILITY_TIMEOUT = 3 * 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_TASK_TIME_LIMIT = 2 * 3600
CELERY_TASK_SOFT_TIME_LIMIT = 2 * 3600 - 300
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {}  # filled by reactivation.schedule (see that module)

# --- Auth and roles ---------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Brute-force protection (reactivation.login_lockout): a log-in is refused (HTTP 429 with
# registration/locked.html) after AXES_FAILURE_LIMIT failures of one name at one address, after
# LOGIN_FAILURES_PER_USERNAME failures of one name from any addresses (one account guessed from
# many places), and after LOGIN_FAILURES_PER_ADDRESS failures from one address over any names
# (a few passwords sprayed over every name). Each count lapses after AXES_COOLOFF_HOURS.
# axes only reads AXES_IPWARE_* when django-ipware is installed, and it is not, so the address
# comes from reactivation.client_ip: REMOTE_ADDR, or behind AXES_PROXY_COUNT reverse proxies the
# address the outermost one appended to X-Forwarded-For, which a client cannot forge by sending
# its own header.
AXES_HANDLER = "reactivation.login_lockout.LockoutHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
LOGIN_FAILURES_PER_USERNAME = env.int("LOGIN_FAILURES_PER_USERNAME", default=20)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=20)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_CLIENT_IP_CALLABLE = "reactivation.client_ip.client_ip"
TRUSTED_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)

# --- Language and time --------------------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE_CODE", default="ru")
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Europe/Moscow")  # the business timezone
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

# --- Front end ----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env.bool("STATIC_MANIFEST", default=True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# A strict policy: no inline script or style anywhere; every file is served from here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Security -----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Sessions are written through to the database and read from the cache (Redis in production):
# every page reads the session, and a cache hit costs less than a query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
CSRF_COOKIE_HTTPONLY = False  # htmx reads no cookie; the token travels in a header from <meta>
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Product --------------------------------------------------------------------------------------
COMPANY_NAME = env("COMPANY_NAME", default="")
CLIENT_LIST_PAGE_SIZE = 50

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- API (/api/v1/; see docs/api.md) ---------------------------------------------------------------
API_RATE_LIMIT = env("API_RATE_LIMIT", default="600/min")  # per key; "N/s", "N/min", "N/hour"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["reactivation.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["reactivation.api.permissions.AnyRole"],
    "DEFAULT_THROTTLE_CLASSES": ["reactivation.api.throttling.PerKeyThrottle"],
    "DEFAULT_PARSER_CLASSES": ["reactivation.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "reactivation.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Reactivation CRM API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # vendored files, served from here under the strict CSP
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ClientStatusEnum": "clients.models.Status",
        "CaseStatusEnum": "reactivation.models.Case.Status",
        "OfferStatusEnum": "reactivation.models.Offer.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "reactivation.api.schema.add_error_responses",
    ],
}

# --- Imports --------------------------------------------------------------------------------------
# Caps checked while a file is read, each with its own error before memory grows (docs/import.md).
# Sized for real exports: a million-row sheet unpacks to about 300 MB; Excel holds at most 32,767
# characters in a cell.
IMPORT_MAX_UNPACKED_BYTES = env.int("IMPORT_MAX_UNPACKED_BYTES", default=2 * 1024**3)
IMPORT_MAX_CELL_BYTES = env.int("IMPORT_MAX_CELL_BYTES", default=256 * 1024)
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=300)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=5_000_000)
# A job still running after this many seconds is failed by the watchdog; one whose worker died
# is started again at most this many times in all.
IMPORT_JOB_TIME_LIMIT = env.int("IMPORT_JOB_TIME_LIMIT", default=CELERY_TASK_TIME_LIMIT)
IMPORT_JOB_MAX_ATTEMPTS = env.int("IMPORT_JOB_MAX_ATTEMPTS", default=3)
# A folder that other systems drop files into (1C's way): beat imports each new file and moves it
# to done/ or failed/ with its report beside it. Empty: off (docs/api.md, "The drop folder").
IMPORT_DROP_DIR = env("IMPORT_DROP_DIR", default="")
# A file is taken once its size has not changed for this many seconds (it is still being copied).
IMPORT_DROP_SETTLE_SECONDS = env.int("IMPORT_DROP_SETTLE_SECONDS", default=10)

# --- Webhooks out (docs/api.md, "Webhooks"): sent by the worker, never by a web request ----------
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600.0)
# Events whose deliveries have all ended are deleted after this many days (with their attempts).
WEBHOOK_KEEP_DAYS = env.int("WEBHOOK_KEEP_DAYS", default=30)

# --- Messages (SMS, e-mail, Telegram; see docs/messages.md) -------------------------------------
SMS_PROVIDER = env("SMS_PROVIDER", default="console")  # console, smsru, smsc, smsaero
SMS_BASE_URL = env("SMS_BASE_URL", default="")  # empty: the provider's own address
SMSRU_API_ID = env("SMSRU_API_ID", default="")
SMSC_LOGIN, SMSC_PASSWORD = env("SMSC_LOGIN", default=""), env("SMSC_PASSWORD", default="")
SMSAERO_EMAIL = env("SMSAERO_EMAIL", default="")
SMSAERO_API_KEY = env("SMSAERO_API_KEY", default="")
SMS_SENDER = env("SMS_SENDER", default="")
TELEGRAM_BOT_TOKEN = env("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_BOT_USERNAME = env("TELEGRAM_BOT_USERNAME", default="")
TELEGRAM_BASE_URL = env("TELEGRAM_BASE_URL", default="https://api.telegram.org")
TELEGRAM_WEBHOOK_SECRET = env("TELEGRAM_WEBHOOK_SECRET", default="")
# Any anymail ESP too, e.g. anymail.backends.unisender_go.EmailBackend.
_MAIL = "console" if DEBUG else "smtp"
EMAIL_BACKEND = env("EMAIL_BACKEND", default=f"django.core.mail.backends.{_MAIL}.EmailBackend")
# The ESP's settings as JSON, e.g. {"UNISENDER_GO_API_KEY": "...", "WEBHOOK_SECRET": "u:p"}.
ANYMAIL = env.json("ANYMAIL", default={})
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="webmaster@localhost")
MESSAGES_EMAIL_DOMAIN = env("MESSAGES_EMAIL_DOMAIN", default="localhost")
# The address links in messages (unsubscribe, callbacks) start with.
MESSAGES_PUBLIC_URL = env("MESSAGES_PUBLIC_URL", default="http://127.0.0.1:8000")
MESSAGES_QUIET_HOURS = env("MESSAGES_QUIET_HOURS", default="21-9")  # business time; empty: none
# At most MESSAGES_CAP advertising messages per client per channel in MESSAGES_CAP_DAYS days.
MESSAGES_CAP = env.int("MESSAGES_CAP", default=2)
MESSAGES_CAP_DAYS = env.int("MESSAGES_CAP_DAYS", default=7)

# --- Telephony (docs/telephony.md) ------------------------------------------------------------------
# The environment's phone system, used when none is set on Settings -> Phone system.
PHONE_PROVIDER = env("PHONE_PROVIDER", default="")  # zadarma, mango, generic; empty: none
PHONE_API_KEY = env("PHONE_API_KEY", default="")
PHONE_API_SECRET = env("PHONE_API_SECRET", default="")
PHONE_BASE_URL = env("PHONE_BASE_URL", default="")  # empty: the provider's own address
PHONE_WEBHOOK_TOKEN = env("PHONE_WEBHOOK_TOKEN", default="")  # /hooks/phone/<provider>/<token>/
PHONE_TIMEZONE = env("PHONE_TIMEZONE", default=TIME_ZONE)  # how event times are read
PHONE_MATCH_WINDOW_SECONDS = env.int("PHONE_MATCH_WINDOW_SECONDS", default=180)
# Recordings copied under MEDIA_ROOT this long after the call, kept this many days (0: not copied).
PHONE_RECORDING_DELAY_SECONDS = env.int("PHONE_RECORDING_DELAY_SECONDS", default=60)
PHONE_RECORDING_RETENTION_DAYS = env.int("PHONE_RECORDING_RETENTION_DAYS", default=0)
