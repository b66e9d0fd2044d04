"""Settings from environment variables, with working defaults for one machine (SQLite, local Redis).

Secrets come from the environment. On a single machine with no ``DJANGO_SECRET_KEY`` set, a random key
is made once and kept in the data directory with mode 0600, so sessions survive restarts.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

DATA_DIR = Path(env("EI_DATA_DIR", default=str(BASE_DIR / ".run")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or _secret_key()
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served by us: the docs page works offline
    "channels",
    # records (each imports only controlplane.core), then the apps that act on them
    "controlplane.scaling",
    "controlplane.registry",
    "controlplane.inference",
    "controlplane.quantization",
    "controlplane.streams",
    "controlplane.realtime",
    "controlplane.telemetry",
    "controlplane.orchestration",
    "controlplane.dashboard",
    "controlplane.analytics",
    "controlplane.metrics_api",  # the Kubernetes metrics API over the heartbeats (serve_metrics_api)
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "controlplane.config.urls"
ASGI_APPLICATION = "controlplane.config.asgi.application"

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

# SQLite by default; the server, Celery and the supervisor write at once, so WAL, a busy timeout and
# immediate transactions keep "database is locked" away. PostgreSQL through DATABASE_URL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"  # collectstatic target for container images
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
WHITENOISE_USE_FINDERS = True  # serve straight from the apps and static/, no collectstatic needed
MEDIA_ROOT = Path(env("EI_MEDIA_ROOT", default=str(DATA_DIR / "media")))
MEDIA_URL = "media/"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Timeouts on every broker socket: a worker that (re)connected while Redis or its Service was coming up was
# seen to wait forever on a connection that never answered (a pod, with 472 tasks queued); with these it
# gives up on the read, reconnects and serves again. Kombu's BRPOP polls for 1 s, well within them.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 5, "socket_timeout": 30, "socket_keepalive": True, "health_check_interval": 25,
}

# Orchestration: which backend runs the fleet, and where.
EI_BACKEND = env("EI_BACKEND", default="local")
if EI_BACKEND not in ("local", "kubernetes"):
    raise environ.ImproperlyConfigured(f"EI_BACKEND must be local or kubernetes, not {EI_BACKEND!r}")
EI_K8S_NAMESPACE = env("EI_K8S_NAMESPACE", default="elastic-inference")
EI_RECONCILE_INTERVAL = env.float("EI_RECONCILE_INTERVAL", default=30.0)
# Kubernetes backend: in-cluster config, else KUBECONFIG / ~/.kube/config.
EI_K8S_WORKER_IMAGE = env("EI_K8S_WORKER_IMAGE", default="elastic-inference/worker:latest")
EI_K8S_IMAGE_PULL_POLICY = env("EI_K8S_IMAGE_PULL_POLICY", default="IfNotPresent")
EI_K8S_CONTROL_PLANE_URL = env("EI_K8S_CONTROL_PLANE_URL", default="http://elastic-inference-controlplane:8000")
# Secret (in EI_K8S_NAMESPACE) with keys redis-url and model-token, read by worker and producer pods.
EI_K8S_WORKER_SECRET = env("EI_K8S_WORKER_SECRET", default="elastic-inference-worker")
EI_K8S_WORKER_RESOURCES = {
    "requests": {"cpu": env("EI_K8S_WORKER_CPU_REQUEST", default="500m"),
                 "memory": env("EI_K8S_WORKER_MEMORY_REQUEST", default="512Mi")},
    "limits": {"cpu": env("EI_K8S_WORKER_CPU_LIMIT", default="2"),
               "memory": env("EI_K8S_WORKER_MEMORY_LIMIT", default="2Gi")},
}
CELERY_BEAT_SCHEDULE = {
    "reconcile": {"task": "controlplane.orchestration.tasks.reconcile_fleet", "schedule": EI_RECONCILE_INTERVAL},
    # the dashboard's charts: one sample of every service's figures per 5 s slot; a late one is pointless
    "sample-fleet": {"task": "controlplane.telemetry.tasks.sample_fleet", "schedule": 5.0, "options": {"expires": 5}},
    # quantization jobs whose worker died end failed ("interrupted") instead of running forever
    "quantization-interrupted": {
        "task": "controlplane.quantization.tasks.fail_interrupted_jobs", "schedule": 60.0, "options": {"expires": 60},
    },
    # the history older than EI_EVENT_RETENTION_DAYS goes, snapshots included; a missed hour waits for the next
    "purge-old-events": {
        "task": "controlplane.analytics.tasks.purge_old_events", "schedule": 3600.0, "options": {"expires": 3600},
    },
}
# Days the history (events, their snapshots, the counts) is kept.
EI_EVENT_RETENTION_DAYS = env.int("EI_EVENT_RETENTION_DAYS", default=30)

# Quantization jobs: a stream that gives no new result for this long fails the job (is a service running?);
# a running job not heard from for this long (its Celery worker died) is marked failed, interrupted.
EI_QUANTIZATION_IDLE_SECONDS = env.float("EI_QUANTIZATION_IDLE_SECONDS", default=60.0)
EI_QUANTIZATION_STALE_SECONDS = env.float("EI_QUANTIZATION_STALE_SECONDS", default=120.0)
# Seconds each model (FP32 parent, INT8 child) is timed for when a job measures them side by side.
EI_QUANTIZATION_MEASURE_SECONDS = env.float("EI_QUANTIZATION_MEASURE_SECONDS", default=4.0)

# Anyone who can reach the server may watch streams read-only when this is on.
EI_ANONYMOUS_READ = env.bool("EI_ANONYMOUS_READ", default=False)
EI_MAX_MODEL_UPLOAD_BYTES = env.int("EI_MAX_MODEL_UPLOAD_BYTES", default=512 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# A quantization may be calibrated on up to 2000 uploaded pictures plus the 500 held out (its view spools
# each to a temporary file, never to memory); Django's default refuses more than 100 files in a request.
DATA_UPLOAD_MAX_NUMBER_FILES = 2600

REST_FRAMEWORK = {
    # Token first: a request without credentials then gets 401 with `WWW-Authenticate: Token`, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["controlplane.core.permissions.ModelPermissionsOrReader"],
    # JSON only: a form parser reads a missing checkbox as false, so the same request would mean another
    # record in another encoding. The model upload alone takes multipart (its view says so); others get 415.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_METADATA_CLASS": "controlplane.core.metadata.ChoicesForReaders",
    "DEFAULT_PAGINATION_CLASS": "controlplane.config.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "controlplane.config.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth": "20/minute"},
    # Throttles key on the client address: the socket's, unless this many proxies in front of the server
    # append to X-Forwarded-For (a client can send that header itself, so it is not trusted by default).
    "NUM_PROXIES": env.int("EI_NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Elastic Inference control plane",
    "DESCRIPTION": "Streams, models, inference services, scaling policies and live fleet telemetry.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Services and streams share one set of fleet states; models have their own.
    "ENUM_NAME_OVERRIDES": {
        "FleetStatusEnum": "controlplane.core.status.FleetStatus",
        "ModelStatusEnum": "controlplane.registry.models.InferenceModel.Status",
        "QuantizationStateEnum": "controlplane.quantization.models.QuantizationJob.State",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "controlplane.config.schema.add_error_responses",
    ],
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": env("EI_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
