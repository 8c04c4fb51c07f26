"""Settings shared by every environment.

Everything an operator may change is read from the environment here, once, so the
other settings modules only differ in defaults that matter for their use.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

from hub.datadir import data_dir

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# --- Data directory: SQLite database, bare git repos, LFS objects, broker files ---------
# One rule for every process (hub/datadir.py): $HUB_DATA_DIR (relative to the checkout), else
# <checkout>/data, so `make run` and a `manage.py` in another terminal find the same one.
DATA_DIR = data_dir()
REPOS_ROOT = DATA_DIR / "repos"
LFS_ROOT = DATA_DIR / "lfs"
TMP_ROOT = DATA_DIR / "tmp"  # same filesystem as LFS_ROOT so uploads finish with a rename


def _secret_key() -> str:
    """Read SECRET_KEY from the environment, else a key persisted in the data dir.

    Persisting it keeps sessions and signed LFS URLs valid across restarts of `make run`
    without asking the operator to invent a key.
    """
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key


SECRET_KEY = _secret_key()
DEBUG = False
HUB_PORT = int(os.environ.get("HUB_PORT", "8000"))
# The base URL clients put in HF_ENDPOINT. Absolute URLs we emit (commitUrl, LFS hrefs, Link
# headers) are built from it, never from the Host header.
PUBLIC_URL = os.environ.get("HUB_PUBLIC_URL", f"http://127.0.0.1:{HUB_PORT}").rstrip("/")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "guardian",
    "accounts",
    "repos",
    "jobs",
    "safety",
]

MIDDLEWARE = [
    # Outermost: every response, whatever answered it, carries the request's id
    # (hub/http/request_id.py).
    "hub.http.request_id.RequestIdMiddleware",
    # Next: it wraps every other middleware, so static files (WhiteNoise), redirects and
    # Django's own refusals get the security headers too (hub/http/headers.py).
    "hub.http.headers.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.auth.middleware.TokenAuthenticationMiddleware",
    # After authentication: writes are counted per user (hub/http/ratelimit.py).
    "hub.http.ratelimit.RateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hub.http.middleware.HubErrorMiddleware",
]

ROOT_URLCONF = "hub.urls"
# CSRF refusals answer like every other error of their route (hub/http/errors.py).
CSRF_FAILURE_VIEW = "hub.http.handlers.csrf_failure"
WSGI_APPLICATION = "hub.wsgi.application"
# HF URLs never end in "/"; a redirect would drop POST bodies of API clients.
APPEND_SLASH = False

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
                "repos.reviews.context_processors.notifications",
                "accounts.web.context_processors.site",
            ],
            # Display filters every template uses without {% load %} (sizes in decimal units).
            "builtins": ["hub.template_filters", "repos.templatetags.numbers"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Connections persist per thread like PostgreSQL's (60 s above): opening SQLite and running
    # the PRAGMAs below on every request was a third of a metadata request's CPU (bench/metadata.py).
    # WAL lets readers run beside the single writer; IMMEDIATE transactions take the write
    # lock up front so two writers queue on the busy timeout instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.auth.ratelimit.RateLimitedModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login"
# Anyone may create an account at /join (the embedded default). HUB_OPEN_SIGNUP=0: only
# operators do (`manage.py users create`); the page says so. hub.settings.prod: off by default.
HUB_OPEN_SIGNUP = env_bool("HUB_OPEN_SIGNUP", True)

# --- Email (password resets, notifications) ---------------------------------------------
# HUB_EMAIL_HOST set: mail goes out through that SMTP server; else it is printed on the web
# server's console (enough to try the hub; nobody receives a reset link). EMAIL_BACKEND, if
# set, wins (e.g. django.core.mail.backends.filebased.EmailBackend).
EMAIL_HOST = os.environ.get("HUB_EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("HUB_EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("HUB_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("HUB_EMAIL_PASSWORD", "")
EMAIL_USE_SSL = env_bool("HUB_EMAIL_USE_SSL", False)  # implicit TLS (port 465)
EMAIL_USE_TLS = env_bool("HUB_EMAIL_USE_TLS", not EMAIL_USE_SSL and EMAIL_PORT == 587)  # STARTTLS
EMAIL_TIMEOUT = int(os.environ.get("HUB_EMAIL_TIMEOUT", "30"))
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend")
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
GUARDIAN_ANONYMOUS_USER_NAME = None  # anonymous access is decided by repos.gate

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(DATA_DIR / "media")}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # The byte door's backend (repos.objects): large-file objects, content-addressed. Temporary
    # files live on the same filesystem so that publishing an object is an atomic rename.
    "lfs": {"BACKEND": "repos.objects.backends.local.LocalBackend",
            "OPTIONS": {"location": str(LFS_ROOT), "tmp_location": str(TMP_ROOT)}},
}
# Encryption at rest of the LFS objects of private (or opted-in) repositories
# (repos/objects/encryption.py). The master key comes from HUB_MASTER_KEY (64 hex or base64 of
# 32 bytes; older keys in HUB_MASTER_KEY_PREVIOUS while rotating), else from a key file outside
# the data directory. The embedded default generates that file on first use (loudly);
# production settings never generate one.
HUB_MASTER_KEY = os.environ.get("HUB_MASTER_KEY") or None
HUB_MASTER_KEY_PREVIOUS = os.environ.get("HUB_MASTER_KEY_PREVIOUS") or None
HUB_MASTER_KEY_FILE = os.environ.get("HUB_MASTER_KEY_FILE") or str(DATA_DIR.parent / f"{DATA_DIR.name}.master-key")
HUB_MASTER_KEY_GENERATE = env_bool("HUB_MASTER_KEY_GENERATE", True)
# Filter chains of the byte door (repos/objects/filters.py): dotted paths of classes.
HUB_OBJECT_INGEST_FILTERS: list[str] = []
# Rules on the content of the files a commit or push adds (repos/policy/content.py): dotted
# paths of classes. safety's rule refuses files the model-file scanner does not judge safe in
# repositories whose owner turned "block unsafe files" on.
HUB_CONTENT_RULES: list[str] = ["safety.rules.BlockUnsafeFiles"]
HUB_OBJECT_READ_FILTERS: list[str] = []
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

# Form posts (paths-info) may carry up to 1000 paths; bodies of commits, packs and LFS
# objects are streamed by their views and never go through request.body.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.drf.HubTokenAuthentication",
        "accounts.auth.drf.HubSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "hub.http.drf.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "hub.http.drf.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "hub.http.openapi.HubAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# The published API schema (hub/http/openapi.py): every client route, DRF views and plain ones.
SPECTACULAR_SETTINGS = {
    "TITLE": "ModelHub API",
    "DESCRIPTION": "The Hugging Face Hub compatible API (huggingface_hub, transformers, git, git-lfs, hf_xet) "
                   "and ModelHub's own endpoints. Errors carry X-Error-Code and X-Error-Message; every "
                   "response carries X-Request-Id.",
    "VERSION": "1",
    "DEFAULT_GENERATOR_CLASS": "hub.http.openapi.HubSchemaGenerator",
    # APIViews without serializers are documented by path and method; no console noise.
    "DISABLE_ERRORS_AND_WARNINGS": True,
    "SERVE_INCLUDE_SCHEMA": True,
}

# Tensor diffs (repos/reviews/services/tensor_diffs.py): pairs with at most this many bytes of
# same-shaped tensors (both sides) are compared in the request, within this many seconds;
# larger ones by the worker, the page showing progress.
HUB_TENSOR_DIFF_INLINE_BYTES = int(os.environ.get("HUB_TENSOR_DIFF_INLINE_BYTES", str(64 * 1024 * 1024)))
HUB_TENSOR_DIFF_INLINE_SECONDS = float(os.environ.get("HUB_TENSOR_DIFF_INLINE_SECONDS", "5"))
# Dataset viewer (repos/services/dataset_preview.py): CSV/JSONL/Parquet files up to this size
# are previewed in the request, larger ones by the worker ("being prepared" until then).
HUB_DATASET_PREVIEW_INLINE_BYTES = int(os.environ.get("HUB_DATASET_PREVIEW_INLINE_BYTES", str(4 * 1000 * 1000)))
DEFAULT_FROM_EMAIL = (os.environ.get("HUB_EMAIL_FROM") or os.environ.get("DEFAULT_FROM_EMAIL")
                      or "ModelHub <noreply@modelhub.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Cache (rate-limit counters, ...) ---------------------------------------------------
# Shared by every web process: Redis when CACHE_URL says so (production), else files in the
# data dir, so `make run`'s several gunicorn workers count login failures and writes together.
# The file cache culls a third of its entries at MAX_ENTRIES (300 by default): counters would
# vanish on a busy hub long before their window ends.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES: dict[str, dict[str, Any]]
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(DATA_DIR / "cache" / "django"),
                          "OPTIONS": {"MAX_ENTRIES": 50000}}}

# --- Rate limits (hub/http/ratelimit.py, README "Rate limits") ----------------------------
# "N/SECONDS": at most N requests per fixed window of SECONDS per user (per client address when
# anonymous), counted in the cache above; "0" turns a limit off. HUB_RATE_LIMIT_<BUCKET>
# overrides one, e.g. HUB_RATE_LIMIT_COMMIT=100/3600. Reads are never limited.
_RATE_LIMIT_DEFAULTS = {
    "auth_failure": "100/300",  # failed token authentications (Bearer, git/LFS Basic), per address
    "signup": "20/3600",  # new accounts, per address
    "password_reset": "10/3600",  # reset mails asked for, per address
    "token_create": "60/3600",  # new access tokens (API and settings page)
    "repo_create": "300/3600",  # new repositories (API and browser)
    "commit": "1000/3600",  # API commits, pushes, browser uploads/edits, merges, super-squashes
    "upload": "1000/3600",  # LFS upload batches (each covers up to 1000 files)
    "discussion": "300/3600",  # new discussions and pull requests, comments, reviews
}


def _rate_limit(bucket: str, default: str) -> str:
    value = os.environ.get(f"HUB_RATE_LIMIT_{bucket.upper()}", default).strip().lower()
    count, slash, window = value.partition("/")
    if value not in ("0", "off") and not (count.isdigit() and slash and window.isdigit()
                                          and int(count) > 0 and int(window) > 0):
        raise ValueError(f"HUB_RATE_LIMIT_{bucket.upper()}={value!r}: use N/SECONDS (e.g. 100/3600) or 0 for none")
    return value


HUB_RATE_LIMITS: dict[str, str] = {bucket: _rate_limit(bucket, default)
                                   for bucket, default in _RATE_LIMIT_DEFAULTS.items()}

# --- Celery ------------------------------------------------------------------------------
# Embedded default: kombu's filesystem transport needs no server process. Redis in
# production (CELERY_BROKER_URL=redis://...).
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        # Exchange tables (worker remote control); kombu's default is relative to the cwd.
        "control_folder": str(BROKER_DIR / "control"),
        # kombu polls the folder once a second by default: that second is added to every task.
        "polling_interval": 0.1,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_IGNORE_RESULT = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HUB_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# Bounds of every walk over a repository's trees (repos/git/limits.py): pushes and commits
# beyond them are refused with a clear message; reads stop at them and say so. Far above any
# real model or dataset repository; a few kilobytes of git objects can describe 10^9 paths.
HUB_TREE_MAX_PATHS = int(os.environ.get("HUB_TREE_MAX_PATHS", "1000000"))
HUB_TREE_MAX_DEPTH = int(os.environ.get("HUB_TREE_MAX_DEPTH", "64"))
HUB_TREE_MAX_ENTRIES = int(os.environ.get("HUB_TREE_MAX_ENTRIES", "100000"))
HUB_WALK_SECONDS = float(os.environ.get("HUB_WALK_SECONDS", "30"))
# `siblings` of repo info list at most this many files (the answer says when it stopped).
HUB_INFO_MAX_SIBLINGS = int(os.environ.get("HUB_INFO_MAX_SIBLINGS", "100000"))
# Personal-data reports of dataset files (safety/dataset_reports.py): a scan stops at the first
# bound it reaches and its report says so ("truncated"); a truncated report is not clean.
HUB_PII_MAX_ROWS = int(os.environ.get("HUB_PII_MAX_ROWS", "1000000"))
HUB_PII_MAX_BYTES = int(os.environ.get("HUB_PII_MAX_BYTES", str(2 * 1024**3)))
HUB_PII_MAX_SECONDS = float(os.environ.get("HUB_PII_MAX_SECONDS", "600"))
# Malware scanning by ClamAV's daemon (safety/scanners/antivirus.py; README "Model-file and
# secrets scanning"). Both empty (the default): no antivirus runs and `avScan` stays null.
# HUB_CLAMD_SOCKET: the path of clamd's LocalSocket; HUB_CLAMD_ADDRESS: "host:port" of its
# TCPSocket (the socket wins when both are set). Every file is then streamed to clamd (INSTREAM,
# never a path): a virus makes it "unsafe", clamd unreachable or answering ERROR makes it
# "error" (retried). HUB_CLAMD_MAX_BYTES must not exceed clamd.conf's StreamMaxLength (nor its
# MaxFileSize and MaxScanSize; set AlertExceedsMax yes): larger files are not sent and stay
# "unscanned", never "safe". HUB_CLAMD_TIMEOUT: seconds for one send and for clamd's answer.
HUB_CLAMD_SOCKET = os.environ.get("HUB_CLAMD_SOCKET", "")
HUB_CLAMD_ADDRESS = os.environ.get("HUB_CLAMD_ADDRESS", "")
HUB_CLAMD_MAX_BYTES = int(os.environ.get("HUB_CLAMD_MAX_BYTES", str(25 * 1024**2)))
HUB_CLAMD_CONNECT_TIMEOUT = float(os.environ.get("HUB_CLAMD_CONNECT_TIMEOUT", "5"))
HUB_CLAMD_TIMEOUT = float(os.environ.get("HUB_CLAMD_TIMEOUT", "120"))

# git clones/fetches share packs through repos/git/pack_cache.py; HUB_PACK_CACHE=0 turns it off.
HUB_PACK_CACHE = env_bool("HUB_PACK_CACHE", True)
HUB_PACK_CACHE_DIR = DATA_DIR / "cache" / "packs"
HUB_PACK_CACHE_MAX_BYTES = int(os.environ.get("HUB_PACK_CACHE_MAX_BYTES", str(2 * 1024**3)))
HUB_PACK_CACHE_TTL = float(os.environ.get("HUB_PACK_CACHE_TTL", "3600"))

# Bounds of writers (README "Configuration"): how long a write waits for a repository's lock,
# how long one git transfer may run and how large a push may be.
HUB_REPO_LOCK_TIMEOUT = float(os.environ.get("HUB_REPO_LOCK_TIMEOUT", "30"))
HUB_GIT_TIMEOUT = float(os.environ.get("HUB_GIT_TIMEOUT", "3600"))
HUB_GIT_MAX_PUSH_BYTES = int(os.environ.get("HUB_GIT_MAX_PUSH_BYTES", str(10 * 1024**3)))
# `manage.py reap` removes push quarantines and upload temporaries older than this (seconds);
# unset: HUB_GIT_TIMEOUT + 10 minutes, older than any live push or upload can be.
HUB_REAP_AGE = float(os.environ["HUB_REAP_AGE"]) if os.environ.get("HUB_REAP_AGE") else None
# A push is refused (507) before receive-pack starts when the repositories' disk has less free
# space than this: receive-pack would fail part-way anyway, after the client sent the pack.
HUB_PUSH_MIN_FREE_BYTES = int(os.environ.get("HUB_PUSH_MIN_FREE_BYTES", str(32 * 1024**2)))
# --- Xet storage (repos/services/xet.py, XET.md) ----------------------------------------
# The CAS lives under {PUBLIC_URL}/xet. HUB_XET_ENABLED=0 stops advertising Xet (no "xet"
# transfer, no X-Xet-Hash/xetHash): clients then download over plain HTTP; uploads from
# huggingface_hub >= 1.20 still need the CAS, so the routes stay.
HUB_XET_ENABLED = env_bool("HUB_XET_ENABLED", True)
HUB_XET_TOKEN_TTL = int(os.environ.get("HUB_XET_TOKEN_TTL", "3600"))  # >= 90 s (clients refresh 30-60 s early)
HUB_XET_FETCH_TTL = int(os.environ.get("HUB_XET_FETCH_TTL", "900"))  # signed fetch URLs
HUB_XET_DEDUP_TTL = int(os.environ.get("HUB_XET_DEDUP_TTL", str(24 * 3600)))  # dedup answers, client side
# Unused xorbs and files are collected this long after their last use (> HUB_XET_DEDUP_TTL).
HUB_XET_GC_GRACE = int(os.environ.get("HUB_XET_GC_GRACE", str(3 * 24 * 3600)))
CELERY_BEAT_SCHEDULE = {
    # `celery -A hub beat` (or a worker started with -B) runs it; `manage.py xet_gc` by hand.
    "xet-collect-garbage": {"task": "repos.xet_collect_garbage", "schedule": 6 * 3600.0},
    # Jobs whose worker died or whose message the broker lost (`manage.py jobs reap` by hand).
    "jobs-reap": {"task": "jobs.reap", "schedule": 60.0},
    # Redactions whose worker died, and lost queued ones (safety/dataset_redaction.py).
    "safety-reap-redactions": {"task": "safety.reap_redactions", "schedule": 300.0},
}
# --- Jobs (jobs/, README "Jobs") ---------------------------------------------------------
# Runs execute in bubblewrap (jobs/sandbox.py); a worker without it refuses jobs with a clear
# error unless the operator turns the sandbox off here (trusted inputs only).
HUB_JOBS_DIR = DATA_DIR / "jobs"
HUB_JOBS_SANDBOX = env_bool("HUB_JOBS_SANDBOX", True)
HUB_JOBS_DEVICE = os.environ.get("HUB_JOBS_DEVICE", "auto")  # auto | cpu | cuda
HUB_JOB_WALL_SECONDS = float(os.environ.get("HUB_JOB_WALL_SECONDS", "3600"))
# RLIMIT_AS of a run; 0: none (GPU nodes, where CUDA reserves huge address space: use cgroups).
HUB_JOB_MEMORY_BYTES = int(os.environ.get("HUB_JOB_MEMORY_BYTES", str(16 * 1024**3)))
HUB_JOB_THREADS = int(os.environ.get("HUB_JOB_THREADS", "0")) or None  # torch/OMP threads; 0: default
HUB_JOB_MAX_ATTEMPTS = int(os.environ.get("HUB_JOB_MAX_ATTEMPTS", "2"))  # starts, infrastructure failures only
# A running job's worker writes a heartbeat this often; the reaper takes a job whose heartbeat
# is older than HUB_JOB_STALE_SECONDS as orphaned, and re-sends a job queued longer than
# HUB_JOB_QUEUED_STALE_SECONDS with no worker having started it (a lost broker message).
HUB_JOB_HEARTBEAT_SECONDS = float(os.environ.get("HUB_JOB_HEARTBEAT_SECONDS", "5"))
HUB_JOB_STALE_SECONDS = float(os.environ.get("HUB_JOB_STALE_SECONDS", "120"))
HUB_JOB_QUEUED_STALE_SECONDS = float(os.environ.get("HUB_JOB_QUEUED_STALE_SECONDS", "900"))
HUB_JOB_LOG_MAX_CHARS = int(os.environ.get("HUB_JOB_LOG_MAX_CHARS", str(256 * 1024)))
# Jobs refuse inputs holding a file any of these flags (dotted paths, `guard(repo, sha) -> paths`):
# the safety scanner's verdicts (unsafe, caution, unscanned, error; files not scanned yet are
# scanned first). jobs does not import safety.
HUB_JOB_FILE_GUARDS = ["safety.scanning.job_file_guard"]
# The hub's own account (jobs/bot.py): evaluation comments and fine-tuning PRs. Reserved name.
HUB_BOT_USERNAME = os.environ.get("HUB_BOT_USERNAME", "modelhub-bot")
# A PR evaluation "regresses" when a declared metric gets worse than the base by more than this.
HUB_EVAL_REGRESSION_TOLERANCE = float(os.environ.get("HUB_EVAL_REGRESSION_TOLERANCE", "0"))
HUB_JOB_SNAPSHOT_MAX_BYTES = int(os.environ.get("HUB_JOB_SNAPSHOT_MAX_BYTES", str(20 * 1024**3)))
# Snapshots of repositories encrypted at rest go to this memory-backed directory (a tmpfs), so
# their plaintext never reaches the data disk; empty: under HUB_JOBS_DIR like the others.
HUB_JOBS_PRIVATE_SNAPSHOT_DIR = os.environ.get(
    "HUB_JOBS_PRIVATE_SNAPSHOT_DIR", "/dev/shm/modelhub-snapshots" if os.path.isdir("/dev/shm") else "")
# Paths whose Authorization header carries a CAS token, not a hub token (accounts' middleware).
TOKEN_AUTH_EXEMPT_PREFIXES = ("/xet/",)

# Every process (web, worker, management command) expects these to exist.
for _d in (DATA_DIR, REPOS_ROOT, LFS_ROOT, TMP_ROOT, BROKER_DIR / "out", BROKER_DIR / "processed",
           BROKER_DIR / "control", STATIC_ROOT):
    _d.mkdir(parents=True, exist_ok=True)
