"""AOS Control Plane settings: one file, driven by environment variables.

Nothing set = the embedded default (SQLite, local-memory cache, eager Celery tasks).
Production sets DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG=0 and the integrations it uses.
Every variable is listed with its default in `.env.example`. Mistakes are reported by the
system checks in `aosproject/checks.py`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from dotenv import load_dotenv

from aosproject.log_context import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

# A local `.env` (see `.env.example`) is read when present; variables already in the environment
# win (override=False), so production's real environment is never shadowed by a stray file.
# python-dotenv rather than a hand-written parser: quoting, inline comments and `export` lines.
load_dotenv(os.environ.get("AOS_ENV_FILE") or BASE_DIR / ".env", override=False)


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        # Reported by the system check aos.E005 rather than a traceback at import time.
        INVALID_ENV.append(name)
        return default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        INVALID_ENV.append(name)
        return default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


INVALID_ENV: list[str] = []


def crontab_or_none(spec: str):
    """A Celery crontab from five cron fields (minute hour day-of-month month day-of-week), or None."""
    from celery.schedules import crontab

    fields = spec.split()
    if len(fields) != 5:
        return None
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        return crontab(
            minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year, day_of_week=day_of_week
        )
    except ValueError:
        return None


DEBUG = env_bool("DEBUG", True)
DEV_SECRET_KEY = "django-insecure-aos-embedded-default-only"
SECRET_KEY_FROM_ENV = bool(env("SECRET_KEY"))
SECRET_KEY = env("SECRET_KEY") or DEV_SECRET_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
AOS_BASE_URL = env("AOS_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# The raw demo API key of `make run` (seed_demo), kept so that re-runs print the same key.
DEMO_KEY_FILE = env("DEMO_KEY_FILE", str(BASE_DIR / ".demo-key"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files, no CDN
    "mozilla_django_oidc",
    "axes",  # login throttling; before accounts, whose admin makes axes' pages superuser-only
    "accounts",
    "aosproject",  # the shared API layer's IdempotencyRecord
    "runtime",
    "traces",
    "triage",
    "alerts",
    "vault",
    "demo",  # seed_demo (make run); depends on every app above
]

MIDDLEWARE = [
    "aosproject.request_log.RequestLogMiddleware",  # first: its request id and duration cover everything
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "aosproject.middleware.ApiTrailingSlashMiddleware",
    "aosproject.middleware.ApiBodyLimitMiddleware",
    "aosproject.middleware.ApiDebugErrorMiddleware",
    "accounts.ratelimit_middleware.RateLimitHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After authentication: answers a locked-out login (django-axes documents it as the last one).
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "aosproject.urls"
WSGI_APPLICATION = "aosproject.wsgi.application"

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
                "aosproject.context_processors.sso",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}
DATABASES: dict[str, Any]
if DATABASE_URL and DATABASE_URL.partition("://")[0] not in DATABASE_SCHEMES:
    # Reported by the system check aos.E002; the dummy engine refuses every query meanwhile.
    DATABASES = {"default": {"ENGINE": "django.db.backends.dummy"}}
elif DATABASE_URL:
    # Behind PgBouncer in transaction mode: DB_DISABLE_SERVER_SIDE_CURSORS=1 (`.iterator()` then
    # fetches client-side; a WITH HOLD cursor would not survive the pooler; docs/operations.md).
    # Persistent connections are checked before a request reuses them (CONN_HEALTH_CHECKS): one that
    # PostgreSQL, PgBouncer or a failover dropped while idle is replaced instead of failing a request.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
            disable_server_side_cursors=env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False),
            conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", True),
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {"timeout": 20},
            # Tests use a file, not shared-cache memory: concurrent writers then wait on the busy
            # timeout as they do in production instead of failing with "table is locked".
            "TEST": {"NAME": env("SQLITE_TEST_PATH", str(BASE_DIR / ".test-db.sqlite3"))},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, idempotency claims, locks) ---------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "aos"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
    # Same Redis, a backend that serves django-ratelimit's add+incr in one round trip.
    CACHES["ratelimit"] = {**CACHES["default"], "BACKEND": "accounts.ratelimit_cache.FusedCounterRedisCache"}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "aos"}}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A broker that is down must not hold a web thread: fail fast (POST /runs answers 503).
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CELERY_BROKER_CONNECTION_TIMEOUT", 2.0)
# visibility_timeout: a message a worker took (acks_late) and never acknowledged, because the worker
# was killed, goes back to the queue this long after it was delivered. Above the longest countdown
# a task is retried with (mismatch notifications: 30 min), or Redis hands ETA tasks out twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600),
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}
# Safety net for mismatch notifications whose retries were lost (worker restart, broker outage).
CELERY_BEAT_SCHEDULE["mismatch-notify-sweep"] = {"task": "traces.mismatch_notify_sweep", "schedule": 300.0}
# Trace retention (same as `manage.py prune_traces`), daily at a fixed time; runs never overlap (lock).
# A crontab, not an interval: an interval entry first runs one interval after beat starts, so a
# daily one never ran on a beat restarted daily. Five cron fields, UTC (CELERY_TIMEZONE).
RETENTION_CRONTAB = env("RETENTION_CRONTAB", "17 3 * * *")
RETENTION_SCHEDULE = crontab_or_none(RETENTION_CRONTAB)  # None = not five valid fields: aos.E051
CELERY_BEAT_SCHEDULE["prune-traces-daily"] = {
    "task": "traces.prune_traces",
    "schedule": RETENTION_SCHEDULE or crontab_or_none("17 3 * * *"),
}
# Expired Idempotency-Key records are ignored already; this only keeps the table small. Hourly at :07.
CELERY_BEAT_SCHEDULE["idempotency-purge-hourly"] = {
    "task": "runtime.idempotency_purge",
    "schedule": crontab_or_none("7 * * * *"),
}
# Applied GitHub webhook deliveries older than GITHUB_WEBHOOK_DELIVERY_RETENTION_DAYS, daily at 03:37.
CELERY_BEAT_SCHEDULE["webhook-deliveries-purge-daily"] = {
    "task": "traces.webhook_deliveries_purge",
    "schedule": crontab_or_none("37 3 * * *"),
}
# Ends runs stuck past their deadline (ERR_ABANDONED) and re-sends queued runs (same as `manage.py reap_runs`).
CELERY_BEAT_SCHEDULE["reap-runs"] = {
    "task": "runtime.reap_runs",
    "schedule": env_float("AOS_REAP_INTERVAL_SECONDS", 60.0),
    "options": {"expires": 50},
}
# Worker heartbeat (alerts.worker_heartbeat) behind aos_worker_heartbeat_timestamp_seconds / AOSWorkerUnhealthy.
# `expires` drops heartbeats queued while no worker consumed, so a returning worker skips the backlog.
CELERY_BEAT_SCHEDULE["worker-heartbeat"] = {
    "task": "alerts.worker_heartbeat",
    "schedule": 60.0,
    "options": {"expires": 50},
}

# --- Auth ---------------------------------------------------------------------------------
# Django's full set; they apply where a password is chosen (admin forms, changepassword).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out login before any backend checks a password (or SSO).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username from
# one address, that pair is locked out for LOGIN_COOLOFF_MINUTES (HTTP 429); a success resets it.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failed attempts are kept (AccessAttempt); successful logins are not logged


# OIDC: names follow mozilla-django-oidc, plus issuer/audience/tenant claim for bearer tokens.
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", "openid email profile")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT")
OIDC_OP_LOGOUT_ENDPOINT = env("OIDC_OP_LOGOUT_ENDPOINT")
OIDC_ISSUER = env("OIDC_ISSUER")
OIDC_AUDIENCE = env("OIDC_AUDIENCE") or OIDC_RP_CLIENT_ID
OIDC_TENANT_CLAIM = env("OIDC_TENANT_CLAIM", "tenant_id")
OIDC_JWKS_CACHE_SECONDS = env_int("OIDC_JWKS_CACHE_SECONDS", 300)
# An unknown `kid` refetches the JWKS once, at most once per this many seconds (docs/decisions/0003).
OIDC_JWKS_REFETCH_COOLDOWN_SECONDS = env_int("OIDC_JWKS_REFETCH_COOLDOWN_SECONDS", 10)
# A failed JWKS fetch is not retried for this many seconds: bearer requests get 503 (or the last
# known keys) at once instead of each waiting OIDC_TIMEOUT for its own fetch.
OIDC_JWKS_FAILURE_COOLDOWN_SECONDS = env_int("OIDC_JWKS_FAILURE_COOLDOWN_SECONDS", 15)
# Seconds to wait for the IdP (JWKS, token and userinfo endpoints) before giving up.
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 5)
OIDC_JWT_ALGORITHMS = env_list("OIDC_JWT_ALGORITHMS", "RS256,ES256")
OIDC_LEEWAY_SECONDS = env_int("OIDC_LEEWAY_SECONDS", 30)
OIDC_VERIFY_SSL = env_bool("OIDC_VERIFY_SSL", True)
# Browser SSO is on when the flow's endpoints and client are configured.
OIDC_SSO_ENABLED = all(
    [OIDC_RP_CLIENT_ID, OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_JWKS_ENDPOINT]
)
if OIDC_SSO_ENABLED:
    AUTHENTICATION_BACKENDS.append("accounts.oidc.TenantOIDCBackend")
LOGIN_URL = "/admin/login/"
LOGIN_REDIRECT_URL = "/admin/"
LOGOUT_REDIRECT_URL = "/admin/login/"
LOGIN_REDIRECT_URL_FAILURE = "/admin/login/?sso=failed"
OIDC_CREATE_USER = True
# Admin logout also ends the provider session (RP-initiated logout) when OIDC_OP_LOGOUT_ENDPOINT is set.
OIDC_STORE_ID_TOKEN = True
OIDC_OP_LOGOUT_URL_METHOD = "accounts.oidc.provider_logout_url"

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.ApiKeyAuthentication",
        "accounts.auth.JWTAuthentication",
        "accounts.auth.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsViewer"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.ratelimit.TenantRateThrottle"],
    "EXCEPTION_HANDLER": "aosproject.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser plus the request guard (depth, NUL/surrogates, numbers canonical JSON can hold).
    "DEFAULT_PARSER_CLASSES": ["aosproject.parsers.GuardedJSONParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "ENUM_NAME_OVERRIDES": {
        "TraceStatusEnum": "traces.models.TraceStatus",
        "AlertStatusEnum": "alerts.models.AlertStatus",
        "StepStatusEnum": "traces.models.StepStatus",
        "MismatchReasonEnum": "triage.models.MismatchReason",
        "MismatchGroupStatusEnum": "triage.models.GroupStatus",
        "ResolutionKindEnum": "triage.models.ResolutionKind",
        "MismatchGroupEventKindEnum": "triage.models.GroupEventKind",
        "ReportedViaEnum": "triage.models.MismatchSource",
    },
    # OpenAPI 3.1: skill params are JSON Schema 2020-12, embedded as they are (aosproject/openapi.py).
    "OAS_VERSION": "3.1.0",
    # Separate request and response components (`RunInputRequest` vs `RunDetail`) for generated clients.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "aosproject.openapi.postprocess"],
    "TITLE": "AOS Control Plane API",
    "DESCRIPTION": "Simulate, run and deterministically replay AI-agent plans; hash-chained traces.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Request bodies larger than this are refused with 413 before any parsing.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# JSON bodies nested deeper than this are refused with 400 before they are parsed (aosproject/jsonguard.py).
API_MAX_JSON_DEPTH = env_int("API_MAX_JSON_DEPTH", 64)

# --- Product limits and integrations ---------------------------------------------------------
AOS_MAX_PLAN_STEPS = env_int("AOS_MAX_PLAN_STEPS", 200)
AOS_MAX_TRACE_STEPS = env_int("AOS_MAX_TRACE_STEPS", 10000)
AOS_DEFAULT_BUDGET_CENTS = env_int("AOS_DEFAULT_BUDGET_CENTS", 1000)
HTTP_CALL_ALLOWED_HOSTS = env_list("HTTP_CALL_ALLOWED_HOSTS")
# Execution limits (PRODUCT.md §14; README "Execution limits"), one policy for runs, replays, simulate.
AOS_RUN_DEADLINE_SECONDS = env_float("AOS_RUN_DEADLINE_SECONDS", 300.0)
# `wait: true` answers 202 with the run's URL after this long; below gunicorn's timeout (deploy/gunicorn.conf.py).
AOS_RUN_WAIT_SECONDS = env_float("AOS_RUN_WAIT_SECONDS", 20.0)
# Web threads per process that may wait on a run at once; past it `wait: true` answers 202 at once.
AOS_RUN_WAIT_SLOTS = env_int("AOS_RUN_WAIT_SLOTS", 4)
# A run still queued/running this long after its deadline is ended ERR_ABANDONED by the reaper.
AOS_RUN_REAP_GRACE_SECONDS = env_float("AOS_RUN_REAP_GRACE_SECONDS", 60.0)
# A run still queued this long after it was accepted is sent to the broker again by the reaper.
AOS_RUN_REDISPATCH_SECONDS = env_float("AOS_RUN_REDISPATCH_SECONDS", 60.0)
# deploy/gunicorn.conf.py reads the same variable; AOS_RUN_WAIT_SECONDS must stay below it (aos.E031).
GUNICORN_TIMEOUT = env_int("GUNICORN_TIMEOUT", 30)
AOS_MAX_CONCURRENT_RUNS = env_int("AOS_MAX_CONCURRENT_RUNS", 5)
AOS_CONCURRENCY_RETRY_AFTER_SECONDS = env_int("AOS_CONCURRENCY_RETRY_AFTER_SECONDS", 2)
AOS_MAX_STEP_OUTPUT_BYTES = env_int("AOS_MAX_STEP_OUTPUT_BYTES", 1024 * 1024)
AOS_MAX_PARAMS_BYTES = env_int("AOS_MAX_PARAMS_BYTES", 2 * 1024 * 1024)
AOS_MAX_EXPRESSION_CHARS = env_int("AOS_MAX_EXPRESSION_CHARS", 1024)
AOS_MAX_EXPRESSION_DEPTH = env_int("AOS_MAX_EXPRESSION_DEPTH", 32)
IDEMPOTENCY_TTL_SECONDS = env_int("IDEMPOTENCY_TTL_SECONDS", 24 * 3600)
# An in-flight claim older than this is treated as abandoned (the worker died mid-request).
IDEMPOTENCY_LOCK_SECONDS = env_int("IDEMPOTENCY_LOCK_SECONDS", 300)

# Tenant secrets (vault/): Fernet keys, comma-separated; encrypt with the first, decrypt with any.
AOS_SECRETS_KEYS = env_list("AOS_SECRETS_KEYS")
# Without keys the embedded default (DEBUG on) derives a development key from SECRET_KEY; DEBUG off: aos.E013.
AOS_SECRETS_DEV_KEY = DEBUG and not AOS_SECRETS_KEYS
AOS_SECRET_MAX_BYTES = env_int("AOS_SECRET_MAX_BYTES", 16384)

GITHUB_TOKEN = env("GITHUB_TOKEN")
GITHUB_REPO = env("GITHUB_REPO")
# Repositories a tenant's github_repo may name (the platform token writes there): owners or owner/name.
GITHUB_REPO_ALLOWLIST = env_list("GITHUB_REPO_ALLOWLIST")
GITHUB_API_URL = env("GITHUB_API_URL", "https://api.github.com")
GITHUB_WEBHOOK_SECRET = env("GITHUB_WEBHOOK_SECRET")
# Applied webhook deliveries are remembered this long, so a replay within it is ignored.
GITHUB_WEBHOOK_DELIVERY_RETENTION_DAYS = env_int("GITHUB_WEBHOOK_DELIVERY_RETENTION_DAYS", 30)
GITHUB_CLOSE_ON_RESOLVE = env_bool("GITHUB_CLOSE_ON_RESOLVE", True)
# PyGithub pauses this long between write calls (GitHub asks integrations to pace writes).
GITHUB_WRITE_INTERVAL_SECONDS = env_float("GITHUB_WRITE_INTERVAL_SECONDS", 1.0)
SLACK_MISMATCH_WEBHOOK = env("SLACK_MISMATCH_WEBHOOK")
# A notification attempt holds its mismatch this long (traces/notify.py): longer than a few GitHub and
# Slack calls with their 10 s timeouts. A worker killed mid-attempt delays the retry by at most this.
MISMATCH_NOTIFY_LEASE_SECONDS = env_int("MISMATCH_NOTIFY_LEASE_SECONDS", 120)

# API-key principals (and JWT tenants) cached per process (accounts/principal_cache.py): any change to a
# key or tenant takes effect within AOS_PRINCIPAL_CACHE_SECONDS (0 = no cache), a saved one within the poll.
AOS_PRINCIPAL_CACHE_SECONDS = env_float("AOS_PRINCIPAL_CACHE_SECONDS", 5.0)
AOS_PRINCIPAL_VERSION_POLL_SECONDS = env_float("AOS_PRINCIPAL_VERSION_POLL_SECONDS", 1.0)

RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_USE_CACHE = "ratelimit" if REDIS_URL else "default"
RATELIMIT_FAIL_OPEN = True


def env_tier_limits(name: str) -> dict[str, int]:
    """`tier=limit,...`; a malformed entry is reported by the system check aos.E005."""
    limits: dict[str, int] = {}
    for item in env_list(name):
        tier, _, limit = item.partition("=")
        if tier.strip() and limit.strip().isdigit():
            limits[tier.strip()] = int(limit)
        elif name not in INVALID_ENV:
            INVALID_ENV.append(name)
    return limits


# Replaces built-in per-minute limits (accounts.ratelimit.TIER_LIMITS), e.g. "free=120,pro=2000".
RATELIMIT_TIER_OVERRIDES = env_tier_limits("RATELIMIT_TIER_OVERRIDES")
METRICS_BEARER_TOKEN = env("METRICS_BEARER_TOKEN")
# Batch commands (prune_traces, notify_pending) push their metrics here when set (aosproject/metrics_push.py).
PROMETHEUS_PUSHGATEWAY_URL = env("PROMETHEUS_PUSHGATEWAY_URL").rstrip("/")
PROMETHEUS_PUSHGATEWAY_TIMEOUT = env_float("PROMETHEUS_PUSHGATEWAY_TIMEOUT", 5.0)
# The `instance` grouping label of pushed metrics; empty = the host name.
PROMETHEUS_PUSHGATEWAY_INSTANCE = env("PROMETHEUS_PUSHGATEWAY_INSTANCE")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS")
# /metrics without a token or IP list: open only when this is on (default: DEBUG, so closed in production).
METRICS_OPEN = env_bool("METRICS_OPEN", DEBUG)

# --- Alerts (inject_synthetic_alert, Alertmanager webhook receiver) -------------------------
ALERTMANAGER_URL = env("ALERTMANAGER_URL", "http://127.0.0.1:9093").rstrip("/")
ALERTMANAGER_TIMEOUT = env_float("ALERTMANAGER_TIMEOUT", 5.0)
# Bearer token Alertmanager sends to POST /api/v1/alerts/webhook (http_config.authorization). Empty = receiver off.
ALERTS_WEBHOOK_TOKEN = env("ALERTS_WEBHOOK_TOKEN")
# `environment` label of injected alerts, and where alert runbook links point.
AOS_ENVIRONMENT = env("AOS_ENVIRONMENT", "development")
ALERT_RUNBOOK_BASE_URL = env(
    "ALERT_RUNBOOK_BASE_URL", "https://github.com/aos-control-plane/aos/blob/main/docs/runbooks"
).rstrip("/")

# --- i18n, static -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Admin dates to the second with the zone ("2026-12-01 13:22:04 UTC"): aosproject/formats/en/formats.py.
FORMAT_MODULE_PATH = ["aosproject.formats"]
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_LEVEL = env("LOG_LEVEL", "INFO")
# JSON lines (python-json-logger) in production, readable text locally; either way every line carries
# request, tenant, principal, trace, run and task ids (aosproject/log_context.py).
LOG_FORMATS = ("json", "text")
LOG_FORMAT_RAW = env("LOG_FORMAT").strip().lower() or ("text" if DEBUG else "json")  # empty = the default
LOG_FORMAT = LOG_FORMAT_RAW if LOG_FORMAT_RAW in LOG_FORMATS else "json"  # a typo is aos.E050, not a crash
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
# Celery workers log through the same configuration instead of their own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
