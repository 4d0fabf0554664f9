"""Settings shared by every environment.

Environment variables are read here only, through ``env_str``/``env_bool``/``env_int``/
``env_list``, which raise ``ImproperlyConfigured`` on bad values. ``dev``, ``test`` and
``prod`` import everything from here and change only what differs.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be a boolean (1/0, true/false), got {raw!r}"
    )


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default


SECRET_KEY = env_str("PORTAL_SECRET_KEY")
DEBUG = env_bool("PORTAL_DEBUG", False)
ALLOWED_HOSTS = env_list("PORTAL_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("PORTAL_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal",
    "accounts",
    "models_store",
    "demos",
]

MIDDLEWARE = [
    "portal.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.StaticFilesMiddleware",  # whitenoise, streamed under ASGI
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.SecurityHeadersMiddleware",
    "portal.middleware.TemporaryFailureMiddleware",
    "portal.sweeper.PeriodicSweepMiddleware",
    # Last: turns a locked-out login (any path) into accounts.ratelimit's 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
            ],
        },
    },
]

# Runtime data lives under var/ (git-ignored) unless the environment says otherwise.
VAR_DIR = env_path("PORTAL_VAR_DIR", BASE_DIR / "var")
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # portal/asgi.py sets 0: under ASGI each request has a thread of its own.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("PORTAL_DB_CONN_MAX_AGE", 60)
        )
    }
else:
    # Seconds a SQLite connection waits for another writer before "database is
    # locked": web and worker processes share one file, so writes queue up.
    SQLITE_TIMEOUT = env_int("PORTAL_SQLITE_TIMEOUT", 20)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # WAL (readers never wait), IMMEDIATE transactions (a transaction takes
            # the write lock at BEGIN, where the busy timeout applies, never half-way
            # through, where SQLite fails at once to avoid a deadlock) and the busy
            # timeout set once, by the driver.
            "OPTIONS": {
                "timeout": SQLITE_TIMEOUT,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

AUTH_USER_MODEL = "accounts.User"
_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "en"
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date format per language for every page and the admin (portal/formats/).
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = env_str("PORTAL_TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("PORTAL_STATIC_ROOT", VAR_DIR / "staticfiles")
# Uploads are private: they are never served from a public URL, only through views
# that check ownership. MEDIA_URL is deliberately unset.
MEDIA_ROOT = env_path("PORTAL_MEDIA_ROOT", VAR_DIR / "media")
MODELS_DIR = env_path("PORTAL_MODELS_DIR", VAR_DIR / "models")
FEATURE_MAP_CACHE_DIR = env_path("PORTAL_FEATURE_MAP_CACHE_DIR", VAR_DIR / "cache")
# The feature-map cache's size cap: past it the oldest cached runs are removed
# (one run of a large model is ~1-5 MB; a busy class writes ~240 MB a minute).
FEATURE_MAP_CACHE_MAX_BYTES = env_int("PORTAL_FEATURE_MAP_CACHE_MB", 2048) * 2**20
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}
# Private media (runs, job uploads) on MEDIA_ROOT (a local or shared filesystem
# path, the default) or, with PORTAL_STORAGE=s3, in an S3-compatible bucket
# (AWS, MinIO, Ceph...). Credentials come from AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY (boto3's own names; an instance role works too). Objects
# are private and never linked: the ownership-checking views stream them.
MEDIA_STORAGE = env_str("PORTAL_STORAGE", "filesystem").strip().lower()
if MEDIA_STORAGE == "s3":
    if not env_str("PORTAL_S3_BUCKET"):
        raise ImproperlyConfigured("PORTAL_STORAGE=s3 needs PORTAL_S3_BUCKET.")
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("PORTAL_S3_BUCKET"),
            "endpoint_url": env_str("PORTAL_S3_ENDPOINT_URL") or None,
            "region_name": env_str("PORTAL_S3_REGION") or None,
            "location": env_str("PORTAL_S3_PREFIX", "").strip("/"),
            "default_acl": "private",
            "file_overwrite": True,  # names are unique per run; skip a HEAD per save
            "querystring_auth": True,  # any URL built by mistake is signed, not public
        },
    }
elif MEDIA_STORAGE != "filesystem":
    raise ImproperlyConfigured(
        f"PORTAL_STORAGE must be filesystem or s3, got {MEDIA_STORAGE!r}"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Throttle counters, login gates and upload locks live in the cache: Redis when
# REDIS_URL is set (atomic INCR, shared by every process), else the database
# (its table comes with `migrate`; portal/counting.py locks around its counters).
if env_str("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("REDIS_URL"),
            "KEY_PREFIX": "portal",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
        }
    }

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated request gets 401 + WWW-Authenticate.
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "portal.lib.api.PortalAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "portal.lib.api.exception_handler",
    # JSON nested past 32 levels is a 400 (a 4 KB body of brackets was a 500).
    "DEFAULT_PARSER_CLASSES": [
        "portal.lib.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "uploads": env_str("PORTAL_UPLOAD_THROTTLE", "120/min"),
        # Pasted exercise printouts checked, per student: ten times what one
        # student clicking "check" needs, far below what a script sends.
        "checks": env_str("PORTAL_CHECK_THROTTLE", "30/min"),
    },
}
# API tokens (django-rest-knox): stored as SHA-512 digests, expiring, revoked on a
# password change and by "log out everywhere" (accounts/services.py).
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env_int("PORTAL_API_TOKEN_HOURS", 24 * 7)),
    "TOKEN_LIMIT_PER_USER": 20,
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Deep-learning teaching portal API",
    "DESCRIPTION": "Person detection, lessons and CNN visualisations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Login limits (accounts/ratelimit.py): django-axes counts failed logins on every
# path that authenticates (site, admin, token API) and locks the pair (username,
# client address) after AXES_FAILURE_LIMIT failures for AXES_COOLOFF_TIME, so a
# guesser elsewhere never locks the owner out; a gate serialises checks per pair.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("PORTAL_LOGIN_BURST", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("PORTAL_LOGIN_COOLOFF_SECONDS", 900))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# accounts/admin.py shows axes' tables under the portal's own (translated) names.
AXES_ENABLE_ADMIN = False
# Failures per address per cool-off window across all usernames (password
# spraying) after which each password check from that address waits
# LOGIN_ADDRESS_DELAY_SECONDS first: a slow-down, never a refusal, because a whole
# class reaches us through one NAT address (ASVS 2.2.1).
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("PORTAL_LOGIN_ADDRESS_BURST", 60)
LOGIN_ADDRESS_DELAY_SECONDS = env_int("PORTAL_LOGIN_ADDRESS_DELAY_SECONDS", 1)
# Sign-ups per client address (a whole class may share one NAT address).
SIGNUP_THROTTLE = env_str("PORTAL_SIGNUP_THROTTLE", "50/hour")
# Password-reset requests per client address (a class shares one) and mails per
# target address: past the second, nothing more is sent and the page looks the same.
PASSWORD_RESET_ADDRESS_THROTTLE = env_str("PORTAL_RESET_THROTTLE", "30/hour")
PASSWORD_RESET_TARGET_THROTTLE = env_str("PORTAL_RESET_TARGET_THROTTLE", "3/hour")
AXES_LOCKOUT_CALLABLE = "accounts.ratelimit.lockout_response"
AXES_CLIENT_IP_CALLABLE = "portal.lib.clients.client_address"


def _networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(item, strict=False) for item in env_list(name)]
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from exc


# X-Forwarded-For counts only from these proxies (addresses or networks, e.g. the
# nginx of docs/deploy.md: 127.0.0.1); from anyone else it is ignored.
PORTAL_TRUSTED_PROXIES = _networks("PORTAL_TRUSTED_PROXIES")
if env_bool("PORTAL_USE_X_FORWARDED_FOR", False):
    raise ImproperlyConfigured(
        "PORTAL_USE_X_FORWARDED_FOR is gone: list your proxies in "
        "PORTAL_TRUSTED_PROXIES (e.g. 127.0.0.1) instead."
    )

# Uploads and images (demos/common/imaging.py receives these as ImageLimits).
MAX_UPLOAD_BYTES = env_int("PORTAL_MAX_UPLOAD_BYTES", 15 * 1024 * 1024)
MAX_IMAGE_PIXELS = env_int("PORTAL_MAX_IMAGE_PIXELS", 40_000_000)
MAX_IMAGE_SIDE = env_int("PORTAL_MAX_IMAGE_SIDE", 10_000)
MIN_IMAGE_SIDE = env_int("PORTAL_MIN_IMAGE_SIDE", 16)
MAX_FILES_PER_UPLOAD = env_int("PORTAL_MAX_FILES_PER_UPLOAD", 10)
# What one decode may allocate (Pillow's buffer + the RGB copy), and the size
# larger photos are decoded *to* (JPEG at 1/2..1/8 scale, others reduced).
MAX_DECODE_BYTES = env_int("PORTAL_MAX_DECODE_BYTES", 256 * 1024 * 1024)
# Photos are stored at most 2048 px wide (demos/people/services.py), so decoding
# more is wasted: a 39-megapixel JPEG now peaks at ~60 MB instead of ~135 MB.
MAX_WORKING_PIXELS = env_int("PORTAL_MAX_WORKING_PIXELS", 6_000_000)
# One upload in flight per student; the lock expires after this if a process dies.
# gunicorn kills a request after its timeout (120 s, gunicorn.conf.py), so no live
# upload holds it longer: a crashed worker's lock no longer blocks for 300 s.
UPLOAD_LOCK_SECONDS = env_int("PORTAL_UPLOAD_LOCK_SECONDS", 130)
# Non-file fields in memory; files above 2 MB spool to disk; and the app's own cap
# on a whole request body (portal.middleware.RequestBodyLimitMiddleware → 413):
# a full upload form plus room for the form fields and multipart framing.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 1024 * 1024
# Requests each web process runs in Django at once (portal/asgi.py; the threads
# of gunicorn's gthread workers before): more queue in the event loop.
REQUEST_THREADS = env_int("GUNICORN_THREADS", 4)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
MAX_REQUEST_BYTES = MAX_FILES_PER_UPLOAD * MAX_UPLOAD_BYTES + 1024 * 1024
# Files one request may carry (portal.lib.uploads.FileCountLimit, a bare 400 or the
# API's JSON 400 above it). It sits above the upload form's own limit, so a student
# sending a few photos too many gets the form's explanation instead. A view wrapped
# in portal.lib.uploads.accepts_files may take more (see TRANSFER_MAX_PHOTOS).
MAX_FILES_PER_REQUEST = 2 * MAX_FILES_PER_UPLOAD
FILE_UPLOAD_HANDLERS = [
    "portal.lib.uploads.FileCountLimit",  # first: refuses before a file is written
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Detection: the default detector is yolox-nano when its file is in the store,
# else opencv-hog. An explicit PORTAL_PERSON_DETECTOR overrides that choice.
PERSON_DETECTOR = env_str("PORTAL_PERSON_DETECTOR", "")
# gunicorn's post_worker_init hook loads the default detector in the background
# (demos/ml/detection/warmup.py); never in migrate, tests or other management commands.
WARM_DETECTOR = env_bool("PORTAL_WARM_DETECTOR", True)
# ... and the feature-map lesson's ImageNet CNN (EfficientNet-Lite0), off the request
# path.
WARM_CNN = env_bool("PORTAL_WARM_CNN", True)
# EfficientNet-Lite0 runs on ONNX Runtime from the export `manage.py models
# export-onnx` makes (`make run` does), so web workers need no torch for it; off,
# or without an export, it runs on torch.
CNN_ONNX = env_bool("PORTAL_CNN_ONNX", True)
DETECTION_FLOOR_SCORE = 0.05
DEFAULT_SCORE_THRESHOLD = 0.5
TORCH_THREADS = env_int("PORTAL_TORCH_THREADS", max(1, (os.cpu_count() or 2) // 2))
# The training lesson's widget: runs the training runner trains at once, and each
# run's time cap. Who trains (demos/widgets/run_queue.py): TRAINING_RUN_BACKEND,
# set below the Celery block ("celery" with Redis, else "runner").
TRAINING_RUN_WORKERS = env_int("PORTAL_TRAINING_WORKERS", 2)
TRAINING_RUN_SECONDS = env_int("PORTAL_TRAINING_SECONDS", 30)
# Transfer-learning runs (one at a time per process): time cap and dataset ZIP size.
TRANSFER_RUN_SECONDS = env_int("PORTAL_TRANSFER_SECONDS", 300)
TRANSFER_MAX_ZIP_BYTES = env_int("PORTAL_TRANSFER_MAX_ZIP_BYTES", 50 * 2**20)
# Photos per class sent at once from the transfer page (the page shrinks each to
# 512 px first): only that endpoint accepts this many files (accepts_files).
TRANSFER_MAX_PHOTOS = env_int("PORTAL_TRANSFER_MAX_PHOTOS", 200)
# Django's own stop on files per request is one number for the whole site, which
# no view can raise: the most any view accepts. FileCountLimit holds the others
# to MAX_FILES_PER_REQUEST.
DATA_UPLOAD_MAX_NUMBER_FILES = max(MAX_FILES_PER_REQUEST, TRANSFER_MAX_PHOTOS + 1)
# Device of the torchvision detectors: auto (cuda when available, else cpu), cpu,
# cuda or cuda:N. GPU workers (the "gpu" queue) set cuda so a missing GPU fails loudly.
TORCH_DEVICE = env_str("PORTAL_TORCH_DEVICE", "auto").strip().lower() or "auto"
if TORCH_DEVICE not in {"auto", "cpu", "cuda"} and not (
    TORCH_DEVICE.startswith("cuda:") and TORCH_DEVICE[5:].isdigit()
):
    raise ImproperlyConfigured(
        f"PORTAL_TORCH_DEVICE must be auto, cpu, cuda or cuda:N, got {TORCH_DEVICE!r}"
    )
# Outgoing e-mail (password reset): SMTP from the environment. prod.py sends
# through it; a system check (portal/checks.py) warns when no host is set.
PORTAL_EMAIL_HOST = env_str("PORTAL_EMAIL_HOST")
EMAIL_HOST = PORTAL_EMAIL_HOST or "localhost"
EMAIL_PORT = env_int("PORTAL_EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("PORTAL_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("PORTAL_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("PORTAL_EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("PORTAL_EMAIL_FROM", "webmaster@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
RETENTION_DAYS = env_int("PORTAL_RETENTION_DAYS", 30)
# /healthz answers 503 "degraded" when the media disk has less free space than this.
HEALTHZ_MIN_FREE_BYTES = env_int("PORTAL_MIN_FREE_DISK_MB", 1024) * 1024 * 1024
# Uploads are refused (507) below the same free space; each student's stored photos
# may take at most this much (a stored photo is ~0.2-1 MB: see demos/people/services).
STORAGE_QUOTA_BYTES = env_int("PORTAL_STORAGE_QUOTA_MB", 300) * 2**20

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("PORTAL_LOG_LEVEL", "INFO")},
}

# Content-Security-Policy (portal/middleware.py): no inline script or style anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; "
    "style-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
    "form-action 'self'"
)
# The one exception (portal/lib/csp.py, ``runs_webassembly``): the page of the people
# exercise runs Pyodide (Python compiled to WebAssembly) in a worker of its own origin.
# Compiling WebAssembly needs 'wasm-unsafe-eval' (not 'unsafe-eval': no JS eval).
CONTENT_SECURITY_POLICY_WASM = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self';", "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self';"
)

# --- Celery: detection jobs (demos/people/jobs/, demos/tasks.py, docs/deploy.md) ---
# With REDIS_URL, jobs go to Redis and run on `celery -A portal worker` processes on
# any machine sharing the database and MEDIA_ROOT. Without it they run in-process
# (eager), so `make run` needs no broker.
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
# A job's state lives in DetectionJob rows; Celery's own results are not read.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("PORTAL_JOB_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = env_int("PORTAL_JOB_TIME_LIMIT", 150)
# Acknowledge after the task, and put it back if its worker process dies: a
# killed worker's job is retried, never lost (tasks are idempotent).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis re-delivers unacknowledged jobs after this; it must exceed the hard limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * CELERY_TASK_TIME_LIMIT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queues by model: ResNet-50 detectors on `gpu` workers, everything else on `cpu`.
# One machine without a GPU worker: PORTAL_GPU_QUEUE=cpu puts every job on `cpu`.
CELERY_TASK_DEFAULT_QUEUE = env_str("PORTAL_CPU_QUEUE", "cpu")
JOB_GPU_QUEUE = env_str("PORTAL_GPU_QUEUE", "gpu")
CELERY_TASK_ROUTES = ["demos.tasks.route_task"]
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-jobs": {"task": "demos.tasks.sweep_stale_jobs", "schedule": 60.0},
    "sweep-stale-runs": {"task": "demos.tasks.sweep_stale_runs", "schedule": 60.0},
    "cleanup-media": {"task": "demos.tasks.cleanup_media", "schedule": 3600.0},
}
# Without Redis there is no beat: each web process runs the same two tasks in a
# background thread, started on its first request (portal.sweeper), every this
# many seconds; 0 turns it off (tests, or when cron runs the commands).
PORTAL_INPROCESS_SWEEP_SECONDS = env_int(
    "PORTAL_INPROCESS_SWEEP_SECONDS", 0 if REDIS_URL else 900
)
# Pages queue one job per photo (and poll) when workers exist; eager mode keeps
# the synchronous upload (the result page right after the POST).
PORTAL_ASYNC_UPLOADS = env_bool("PORTAL_ASYNC_UPLOADS", bool(REDIS_URL))
JOB_MAX_ATTEMPTS = env_int("PORTAL_JOB_MAX_ATTEMPTS", 3)
JOB_RETRY_SECONDS = env_int("PORTAL_JOB_RETRY_SECONDS", 30)
# A queued job no worker picked up within this many seconds fails with the reason.
JOB_QUEUED_TIMEOUT = env_int("PORTAL_JOB_QUEUED_TIMEOUT", 3600)
# Training and transfer runs never train in a web worker (a restart would wait for
# them): "celery" sends each to a Celery worker (needs REDIS_URL), "runner" leaves
# it queued for `manage.py run_training_worker` (make run starts it beside
# gunicorn), "inline" trains on commit in the request's process (tests).
TRAINING_RUN_BACKEND = env_str(
    "PORTAL_TRAINING_BACKEND", "celery" if REDIS_URL else "runner"
)
if TRAINING_RUN_BACKEND not in {"celery", "runner", "inline"}:
    raise ImproperlyConfigured(
        "PORTAL_TRAINING_BACKEND must be celery, runner or inline, "
        f"got {TRAINING_RUN_BACKEND!r}"
    )
if TRAINING_RUN_BACKEND == "celery" and not REDIS_URL:
    raise ImproperlyConfigured("PORTAL_TRAINING_BACKEND=celery needs REDIS_URL")
# A run queued this long without a trainer picking it up fails with the reason.
RUN_QUEUED_TIMEOUT = env_int("PORTAL_RUN_QUEUED_TIMEOUT", 1800)
