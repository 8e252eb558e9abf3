"""Django settings, all from the environment (django-environ).

Every variable, its default and its meaning is listed in README.md ("Configuration").
The embedded default needs nothing installed: a SQLite file in the project folder and
Celery's broker and results in files under var/celery/. Set DATABASE_URL and
CELERY_BROKER_URL for PostgreSQL and Redis.
"""

import sys
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for development).")
    SECRET_KEY = "development-only-not-secret"  # noqa: S105 - only ever used with DEBUG on

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_prometheus",
    "borrowers",
    "banks",
    "loans",
    "audit",
    "reports",
    "tasks",
    "web",
    "accounts",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "config.errors.ApiErrorShapeMiddleware",
    "config.api.RefuseNulInPathMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "web.nav.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# The development server serves every request in a thread of its own, and a thread that
# keeps its connection for CONN_MAX_AGE (its keep-alive socket left open by the browser)
# holds one PostgreSQL connection each: a few seconds of clicking ran out of connections.
# So development (DEBUG on, or runserver) closes the connection after each request;
# gunicorn's and Celery's long-lived processes keep theirs (one each, see README).
DEVELOPMENT_SERVER = DEBUG or sys.argv[1:2] == ["runserver"]
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if DEVELOPMENT_SERVER else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer fails a request (and the health check) in
    # seconds instead of hanging it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # The hottest queries (config/prepared.py) become server-side prepared statements
    # after this many runs on a connection, so PostgreSQL stops parsing and planning them
    # anew; 0 turns it off (a pooler that cannot keep prepared statements: PgBouncer in
    # transaction mode before 1.21). Django's own queries are never prepared.
    PREPARE_THRESHOLD = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
    if PREPARE_THRESHOLD > 0:
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", PREPARE_THRESHOLD)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has one writer at a time. A transaction that starts as a reader and later
    # writes cannot wait for the lock (SQLite answers "database is locked" at once), so
    # every transaction takes the write lock when it begins (IMMEDIATE) and waits up to
    # SQLITE_TIMEOUT seconds for it. WAL lets reads go on while one request writes;
    # synchronous=NORMAL is the safe setting with WAL (a power cut may lose the last
    # commits, never corrupt the file).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_TIMEOUT", default=20),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The throttle counters live in the cache: with several web processes set CACHE_URL to
# Redis (redis://host:6379/1) so they share one count per client.
CACHE_URL = env.str("CACHE_URL", default="")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            # A cache that is down is noticed in a second, and the login guard counts in
            # the process instead (config/api.py), not after the operating system's timeout.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "wibawa"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="id")
LANGUAGES = [("id", _("Indonesian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Jakarta")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
COLLECTED_STATIC = BASE_DIR / "staticfiles"
# Without a collectstatic run (development, tests) WhiteNoise serves from the apps'
# own static folders; the Docker image runs collectstatic (with
# WHITENOISE_USE_FINDERS=0) and serves the compressed, hashed copies.
WHITENOISE_USE_FINDERS = env.bool(
    "WHITENOISE_USE_FINDERS", default=not (COLLECTED_STATIC / "staticfiles.json").is_file()
)
STATIC_ROOT = None if WHITENOISE_USE_FINDERS else COLLECTED_STATIC
#: Uploaded files (field-visit photos). Served by the web server in front, never by Django.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"
#: Where documents and reports are kept: the filesystem under REPORTS_ROOT by default;
#: any django-storages backend (e.g. storages.backends.s3.S3Storage for S3-compatible
#: storage, so workers on several machines share the files) by REPORTS_STORAGE_BACKEND,
#: with its options as JSON in REPORTS_STORAGE_OPTIONS.
REPORTS_ROOT = env.path("REPORTS_ROOT", default=BASE_DIR / "media" / "reports")
REPORTS_STORAGE_BACKEND = env.str("REPORTS_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage")
REPORTS_STORAGE_OPTIONS = env.json(
    "REPORTS_STORAGE_OPTIONS",
    default={"location": str(REPORTS_ROOT)}
    if REPORTS_STORAGE_BACKEND == "django.core.files.storage.FileSystemStorage"
    else {},
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "reports": {"BACKEND": REPORTS_STORAGE_BACKEND, "OPTIONS": REPORTS_STORAGE_OPTIONS},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not WHITENOISE_USE_FINDERS
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["drf_orjson_renderer.renderers.ORJSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["drf_orjson_renderer.parsers.ORJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "config.api.AutoSchema",
    "EXCEPTION_HANDLER": "config.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}

#: Public simulator requests allowed per client address ("600/min", "10/second", ...).
SIMULATION_THROTTLE = env.str("SIMULATION_THROTTLE", default="600/min")
#: How many proxies sit in front of the app: the client address is then read from
#: X-Forwarded-For (0 = use the connection's address).
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
#: The programme's region (Kemendagri code): a borrower's KTP address must lie in it.
PROGRAMME_REGION_CODE = env.str("PROGRAMME_REGION_CODE", default="33.74")
#: Login attempts (token or session) allowed per client address.
LOGIN_THROTTLE = env.str("LOGIN_THROTTLE", default="30/min")
#: Failed logins for one username, within one window of LOGIN_LOCKOUT_SECONDS, that lock
#: the account for LOGIN_LOCKOUT_SECONDS (every address; a success resets the count).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)
#: Days an API token is accepted after it was issued; then POST auth/token/ issues a new one.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=90)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES

#: Who may read /metrics (config/metrics.py): a bearer of METRICS_TOKEN, or a request from
#: one of METRICS_ALLOWED_IPS that came through no proxy (comma-separated; empty: none).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = frozenset(env.list("METRICS_ALLOWED_IPS", default=[]))

#: Pages: where a stranger signs in, and how long a signed-in person may stay idle
#: (SESSION_IDLE_SECONDS; every request starts the time again).
LOGIN_URL = "web:login"
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
#: The language a person chose is remembered in this cookie for a year.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60

SPECTACULAR_SETTINGS = {
    "TITLE": "Wibawa API",
    "DESCRIPTION": (
        "Loan management for Kredit Wibawa, the City of Semarang's 3% microcredit programme. "
        "Money is whole rupiah as JSON integers; rates are decimal strings in percent."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BusinessKindEnum": "borrowers.models.Business.Kind",
        "BankKindEnum": "banks.models.Bank.Kind",
        "RepaymentStatusEnum": "loans.models.Repayment.Status",
        "RepaymentChannelEnum": "loans.models.Repayment.Channel",
        "ReportKindEnum": "reports.models.Report.Kind",
        "ReportStatusEnum": "reports.models.Report.Status",
        "StaffRoleEnum": "accounts.models.StaffRole",
    },
}

# --- Celery -----------------------------------------------------------------------
# Tasks always run outside web requests, in a Celery worker, on one of two brokers:
# * CELERY_BROKER_URL (Redis in production; required when DEBUG is off), results in
#   CELERY_RESULT_BACKEND (default: the broker);
# * the embedded broker, development's default (DEBUG on, no CELERY_BROKER_URL): kombu's
#   filesystem transport and Celery's file-system result backend, folders under
#   EMBEDDED_BROKER_DIR (var/celery/), for the worker and beat that `make run` starts
#   beside the web (manage.py runall). Nothing to install; one machine only.
# CELERY_TASK_ALWAYS_EAGER=1 runs tasks in-process instead (the test suite, and seeding).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
if not CELERY_BROKER_URL and not CELERY_TASK_ALWAYS_EAGER and not DEBUG:
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL must be set when DEBUG is off (e.g. redis://host:6379/0): "
        "without a broker tasks would run inside web requests (set DEBUG=1 for development)."
    )
#: Development's embedded broker (see above) is in use.
EMBEDDED_BROKER = not CELERY_BROKER_URL and not CELERY_TASK_ALWAYS_EAGER
EMBEDDED_BROKER_DIR = Path(env.str("EMBEDDED_BROKER_DIR", default=str(BASE_DIR / "var" / "celery")))
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if EMBEDDED_BROKER:
    # One folder for messages both ways (every process sends and receives), the
    # exchanges' bindings, and the results (which the close's chord waits on).
    for folder in ("messages", "control", "results"):
        (EMBEDDED_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(EMBEDDED_BROKER_DIR / "messages"),
        "data_folder_out": str(EMBEDDED_BROKER_DIR / "messages"),
        "control_folder": str(EMBEDDED_BROKER_DIR / "control"),
        "polling_interval": 0.5,
    }
elif not CELERY_BROKER_URL:
    # Eager tasks still take a producer: give it the in-memory transport, or kombu looks
    # for AMQP on localhost and logs "No hostname was supplied" at every start.
    CELERY_BROKER_WRITE_URL = "memory://localhost//"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND",
    default=f"file://{EMBEDDED_BROKER_DIR / 'results'}" if EMBEDDED_BROKER else CELERY_BROKER_URL or "cache+memory://",
)
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request that enqueues after its commit must answer at once even with the broker
# down: connecting and publishing give up after about a second (one retry, for a pooled
# connection that went stale when Redis restarted), the enqueue is logged and the beat
# sweep (store-pending-schedules) does the work later. Reads and writes on a live
# connection wait at most BROKER_SOCKET_TIMEOUT (above the worker's 1 s BRPOP wait).
# The Redis result backend, which each send subscribes to, is bounded the same way
# (its default retries for 19 s).
BROKER_CONNECT_TIMEOUT = env.float("BROKER_CONNECT_TIMEOUT", default=1.0)
BROKER_SOCKET_TIMEOUT = env.float("BROKER_SOCKET_TIMEOUT", default=5.0)
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_CONNECT_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS.update(
    {"socket_connect_timeout": BROKER_CONNECT_TIMEOUT, "socket_timeout": BROKER_SOCKET_TIMEOUT}
)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = BROKER_CONNECT_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = BROKER_SOCKET_TIMEOUT
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": CELERY_TASK_PUBLISH_RETRY_POLICY}
CELERY_TIMEZONE = TIME_ZONE
CELERY_IMPORTS = ["tasks.schedules", "tasks.close", "tasks.reports"]
#: The queue tasks are sent to and workers consume (one per deployment sharing a Redis).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="wibawa")


def celery_queues(default: str) -> tuple[list[Queue], dict[str, dict[str, str]]]:
    """Each kind of work on a queue of its own, named after the deployment's ``default``
    queue: ``<default>.schedules`` (storing schedules), ``<default>.documents`` (documents
    and reports), ``<default>.close`` (the nightly close), the rest on ``<default>``. A
    worker started without ``-Q`` takes them all (``make run``, one worker); production
    gives each its own workers (docker-compose.yml), so a month's documents never delay a
    disbursement's schedule or the night's close."""
    routes = {
        "tasks.schedules.*": {"queue": f"{default}.schedules"},
        "tasks.reports.*": {"queue": f"{default}.documents"},
        "tasks.close.*": {"queue": f"{default}.close"},
    }
    names = [default, *(route["queue"] for route in routes.values())]
    return [Queue(name, routing_key=name) for name in names], routes


CELERY_TASK_QUEUES, CELERY_TASK_ROUTES = celery_queues(CELERY_TASK_DEFAULT_QUEUE)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # A safety net: stores any schedule whose task was lost (broker outage at commit) or
    # whose worker died (the loans' row locks die with its connection): the bound on a
    # pending schedule, SCHEDULES_SWEEP_SECONDS (see "Recovery bounds" above).
    "store-pending-schedules": {
        "task": "tasks.schedules.store_pending_schedules",
        "schedule": env.float("SCHEDULES_SWEEP_SECONDS", default=60.0),
    },
    # The nightly close of yesterday (and of any night missed before it), Asia/Jakarta.
    "close-business-date": {"task": "tasks.close.close_catch_up", "schedule": crontab(hour=0, minute=30)},
    # Every bank's monthly report and the city's books of the month before, after the close.
    "reports-monthly": {"task": "tasks.reports.reports_monthly", "schedule": crontab(day_of_month=1, hour=2, minute=0)},
    # A document whose worker died goes to the next worker.
    "reports-sweep": {
        "task": "tasks.reports.reports_sweep",
        "schedule": env.float("REPORTS_SWEEP_SECONDS", default=60.0),
    },
}
#: The address the documents' QR codes and verification links point at (the public site).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
#: A document still running with no sign of life from its worker for this many seconds
#: is taken to have lost its worker: the sweep gives it to the next worker (up to
#: REPORT_MAX_ATTEMPTS tries, then it is failed). A worker beats at least every few seconds.
REPORT_STALE_SECONDS = env.int("REPORT_STALE_SECONDS", default=120)
REPORT_MAX_ATTEMPTS = env.int("REPORT_MAX_ATTEMPTS", default=3)
#: Hard time limit of one document (seconds): past it the worker is stopped and the
#: report failed (it can be asked for again).
REPORT_TIME_LIMIT = env.int("REPORT_TIME_LIMIT", default=1800)
#: Receipts after each repayment and settlement letters after each pay-off.
REPORTS_AUTO_PAPERS = env.bool("REPORTS_AUTO_PAPERS", default=True)

#: Loans one chunk task of the nightly close takes (one transaction each).
CLOSE_CHUNK_LOANS = env.int("CLOSE_CHUNK_LOANS", default=25_000)
#: A close still running after this many seconds is taken to have died: the next close
#: marks it failed and takes over.
CLOSE_STALE_SECONDS = env.int("CLOSE_STALE_SECONDS", default=3600)

# --- Recovery bounds: how long until a killed worker's work is redone ---------------------
# Tasks are acknowledged after they run (CELERY_TASK_ACKS_LATE): a worker killed mid-task
# (kill -9, a lost machine) leaves its message unacknowledged in Redis, and its database
# transaction is rolled back, row locks released, as its connection dies. Then, while beat
# and at least one worker run (README "Failure drills"):
# * a schedule store: the beat sweep store-pending-schedules stores every loan still
#   pending within SCHEDULES_SWEEP_SECONDS (default 60 s) plus one store (about a second
#   for a thousand loans);
# * a document: the sweep reports-sweep gives it to the next worker once its heartbeat
#   is older than REPORT_STALE_SECONDS: within REPORT_STALE_SECONDS + REPORTS_SWEEP_SECONDS
#   (default 3 min) plus the document's own time;
# * a chunk of the nightly close: Redis gives its message to another worker once it has
#   been unacknowledged for BROKER_VISIBILITY_TIMEOUT; a worker looks for such messages
#   every BROKER_RESTORE_SECONDS (and when it starts). Then that chunk (about a second for
#   25,000 loans) and the close's end run: within BROKER_VISIBILITY_TIMEOUT +
#   BROKER_RESTORE_SECONDS (default 32 min) of the chunk being taken. A chunk runs in one
#   transaction, so the killed one left nothing behind; the close's run stays `running`
#   meanwhile, and the chord finishes it as if nothing had happened.
# Redis redelivers ANY message unacknowledged for BROKER_VISIBILITY_TIMEOUT, even one a
# live worker is still running or holds for a retry's countdown (at most 300 s, see
# tasks/base.py), so it must exceed the longest of these: a document may run
# REPORT_TIME_LIMIT + 30 s (its hard limit). A shorter timeout would hand a live task to a
# second worker: harmless for a document (a live worker's claim is left alone) and for a
# schedule store (loans are taken under SKIP LOCKED), but a close chunk would count twice
# in its chord, which would then finish the close before its last chunk. So the default
# is the safe one, and the close's bound follows REPORT_TIME_LIMIT. Every worker sharing
# a Redis must use the same value (the restore runs in whichever worker looks first).
BROKER_VISIBILITY_TIMEOUT = env.int("BROKER_VISIBILITY_TIMEOUT", default=REPORT_TIME_LIMIT + 120)
BROKER_RESTORE_SECONDS = env.int("BROKER_RESTORE_SECONDS", default=10)
CELERY_BROKER_TRANSPORT_OPTIONS.update(
    {
        "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
        "unacked_restore_interval": BROKER_RESTORE_SECONDS,
        # kombu otherwise looks only at every 10th interval.
        "unacked_restore_throttle": 1,
    }
)

#: Log lines: "json" (one JSON object a line: time, level, logger, request_id, message; the
#: default without DEBUG) or "plain" (readable; the default with DEBUG). See config/logs.py.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}")
# Workers log through the same handler (JSON lines with the request id), not Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
LOGGING = logging_config(log_format=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))

# Celery events, so Flower (or `celery events`) can watch the workers and tasks; not on
# the embedded broker, where nobody watches and every event would be a file. The
# "task-sent" event (a task queued, not yet taken) is a second publish for every task a
# request queues (a repayment's receipt: 0.6 ms of its 9): only with CELERY_SENT_EVENTS=1;
# the queue lengths are in /metrics either way.
CELERY_WORKER_SEND_TASK_EVENTS = not EMBEDDED_BROKER
CELERY_TASK_SEND_SENT_EVENT = not EMBEDDED_BROKER and env.bool("CELERY_SENT_EVENTS", default=False)

# Security headers (`manage.py check --deploy` passes with DEBUG off; README "Security settings").
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = env.str("SECURE_REFERRER_POLICY", default="same-origin")
#: A TLS-terminating proxy in front names the scheme in this header (e.g. X-Forwarded-Proto;
#: the proxy must set it on every request, overwriting the client's). Empty: no proxy.
_PROXY_SSL_HEADER = env.str("SECURE_PROXY_SSL_HEADER", default="")
if _PROXY_SSL_HEADER:
    _PROXY_SSL_HEADER = _PROXY_SSL_HEADER.upper().replace("-", "_")
    SECURE_PROXY_SSL_HEADER = (
        _PROXY_SSL_HEADER if _PROXY_SSL_HEADER.startswith("HTTP_") else f"HTTP_{_PROXY_SSL_HEADER}",
        "https",
    )

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # Plain HTTP is redirected to HTTPS, except the health check, which load balancers
    # and the docker-compose health check call over plain HTTP.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    # Preloading puts the domain in the browsers' built-in HTTPS-only lists, which takes
    # months to undo and binds every subdomain of the city's domain: a choice for the
    # domain's owner, not a default. So it is off unless set, and only its warning
    # (security.W021) is silenced; every other deployment check stays on.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
