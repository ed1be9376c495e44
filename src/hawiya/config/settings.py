"""Hawiya settings: one module, read from the environment.

Safe defaults exist for the embedded mode only (SQLite under var/, local-memory cache, a secret
key generated once into var/). Anything that reaches the network or holds a secret in production
comes from an environment variable; `manage.py check --deploy` passes with demo mode off.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# Lets generic Django classes take type parameters at run time (ModelAdmin[Person], QuerySet[...]).
django_stubs_ext.monkeypatch()

SRC_DIR = Path(__file__).resolve().parents[1]
BASE_DIR = SRC_DIR.parents[1]
VAR_DIR = Path(os.environ.get("HAWIYA_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Demo mode: seeded register, demo SMS outbox, demo payment page. Never on a public host
# (a system check refuses that, see config/checks.py).
DEMO = env_bool("HAWIYA_DEMO")
DEBUG = env_bool("HAWIYA_DEBUG")
# Embedded: one machine, SQLite under var/, no DATABASE_URL.
EMBEDDED = not os.environ.get("DATABASE_URL")


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    if not (DEMO or DEBUG or EMBEDDED):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in the environment when DATABASE_URL points at a server database."
        )
    # Embedded mode: a random key generated once and kept beside the SQLite database, so
    # sessions survive a restart and no key is ever committed.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()


def _field_keys() -> list[str]:
    """The Fernet keys of secrets at rest (core/fieldcrypt.py): the first encrypts, all decrypt.

    Required with a server database, like SECRET_KEY; embedded, one key is generated once into
    var/field_keys. A key that is not a Fernet key stops the process at the system checks.
    """
    keys = env_list("HAWIYA_FIELD_KEYS", "")
    if keys:
        return keys
    if not (DEMO or DEBUG or EMBEDDED):
        raise ImproperlyConfigured(
            "HAWIYA_FIELD_KEYS must be set in the environment when DATABASE_URL points at a server "
            "database: comma-separated Fernet keys, the first one encrypts. Make one with: python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        )
    key_file = VAR_DIR / "field_keys"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        # A Fernet key: 32 random bytes in URL-safe base64. Written beside, then linked into place,
        # which fails if another process (web server and worker start together) got there first:
        # two processes must never encrypt under two different generated keys.
        draft = VAR_DIR / f".field_keys.{os.getpid()}"
        draft.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        draft.chmod(0o600)
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return [key.strip() for key in key_file.read_text().split(",") if key.strip()]


HAWIYA_FIELD_KEYS = _field_keys()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Hawiya's apps come first: their templates and their Arabic translations win over Django's own
# for identical strings ("Email", "Page not found").
INSTALLED_APPS = [
    "hawiya.config.apps.HawiyaConfig",
    "hawiya.core",
    "hawiya.audit",
    "hawiya.notifications",
    "hawiya.registry",
    "hawiya.identity",
    "hawiya.losses",
    "hawiya.replacements",
    "hawiya.payments",
    "hawiya.appointments",
    "hawiya.delivery",
    "hawiya.document_checks",
    "hawiya.approvals",
    "hawiya.casework",
    "hawiya.portal",
    "hawiya.backoffice",
    "hawiya.api",
    "hawiya.oidc",
    "oauth2_provider",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    # django-ninja's own copy of Swagger UI (static/ninja/): the API docs page loads nothing from
    # a public CDN (ninja falls back to one when it is not an installed app).
    "ninja",
]

MIDDLEWARE = [
    # First: the request id (X-Request-ID, in every log line and carried into tasks), and every
    # response timed and counted by route name for /metrics, and logged as one line (core/request_id.py).
    "hawiya.core.request_id.request_id_middleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files get the headers too (CSP itself on HTML pages only).
    "hawiya.core.headers.permissions_policy_middleware",
    "hawiya.config.csp.ContentSecurityPolicyMiddleware",
    # /healthz and /readyz answered here, before the Host header is checked (the probes use the
    # node's own address); with the security headers above.
    "hawiya.portal.middleware.probes",
    # GET /api/v1/openapi.json: a public document the same for every caller of a language, answered
    # here (api/middleware.py), before the middleware it does not need.
    "hawiya.api.middleware.openapi_document",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # The API: a NUL byte is refused (400) and every error is JSON, never a page (core/guard.py);
    # after LocaleMiddleware, so its messages are in the caller's language.
    "hawiya.core.guard.api_guard",
    "hawiya.portal.middleware.remember_language",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # With read replicas: the read-your-writes pin and the admin's list pages (core/replicas.py).
    "hawiya.core.replicas.ReplicaMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Pages: a NUL byte anywhere in the request is a 400, before any view or lookup (core/guard.py).
    "hawiya.core.guard.page_guard",
    # After authentication and messages: signs out after 15 minutes idle, with a message.
    "hawiya.portal.middleware.idle_timeout",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a ServiceBusy raised by a view (every password-hashing slot taken) into a 503 page.
    "hawiya.portal.middleware.ServiceBusyMiddleware",
]

ROOT_URLCONF = "hawiya.config.urls"
WSGI_APPLICATION = "hawiya.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hawiya.portal.context_processors.portal",
                "hawiya.backoffice.context_processors.staff",
                # CSP_NONCE for an inline <script>/<style> that cannot be a static file.
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite (WAL) is the embedded default; DATABASE_URL=postgres://... selects PostgreSQL.
# DATABASE_POOLER=transaction: the app reaches PostgreSQL through PgBouncer in transaction mode, so
# no server-side cursor may outlive a transaction (Django's docs): they are off on every alias.
# Prepared statements need nothing: Django (psycopg 3) binds parameters on the client and sets
# prepare_threshold=None; do not set server_side_binding or prepare_threshold in the URL's options
# unless PgBouncer is 1.21+ with max_prepared_statements > 0 (docs/design.md, "Replicas and PgBouncer").
DATABASE_POOLER = os.environ.get("DATABASE_POOLER", "").strip().lower()
if DATABASE_POOLER not in ("", "transaction", "session"):
    raise ImproperlyConfigured("DATABASE_POOLER must be empty, 'transaction' or 'session'.")
DEFAULT_SQLITE_URL = f"sqlite:///{VAR_DIR / 'hawiya.sqlite3'}"


def _database(url: str, test_options: dict[str, str] | None = None) -> dj_database_url.DBConfig:
    """One alias: connections kept a minute and checked before reuse, server-side cursors off
    behind a transaction pooler (DATABASE_POOLER=session needs nothing)."""
    return dj_database_url.parse(
        url,
        conn_max_age=60,
        conn_health_checks=True,
        disable_server_side_cursors=DATABASE_POOLER == "transaction",
        test_options=test_options,
    )


DATABASES = {"default": _database(os.environ.get("DATABASE_URL", DEFAULT_SQLITE_URL))}
# Read replicas (streaming standbys): DATABASE_REPLICA_URLS, comma-separated, become the aliases
# replica_1..n. Only reads that opted in (core/replicas.py: stale_reads_ok, @replica_reads) go
# there, each scope to one replica chosen at random; in tests each is a mirror of default.
DATABASE_REPLICA_URLS = env_list("DATABASE_REPLICA_URLS", "")
HAWIYA_DATABASE_REPLICAS: list[str] = []
for _index, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    _alias = f"replica_{_index}"
    DATABASES[_alias] = _database(_url, test_options={"MIRROR": "default"})
    HAWIYA_DATABASE_REPLICAS.append(_alias)
if HAWIYA_DATABASE_REPLICAS and any(
    database["ENGINE"] != "django.db.backends.postgresql" for database in DATABASES.values()
):
    raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs PostgreSQL for DATABASE_URL and every replica.")
DATABASE_ROUTERS = ["hawiya.core.replicas.ReplicaRouter"]
# A client that wrote reads the primary for this long (read-your-writes): longer than the
# replicas' usual lag.
HAWIYA_REPLICA_PIN_SECONDS = int(os.environ.get("HAWIYA_REPLICA_PIN_SECONDS", "10"))
for _alias_settings in DATABASES.values():
    if _alias_settings["ENGINE"] == "django.db.backends.postgresql":
        # A dead database must make /readyz answer 503 quickly, not hang the probe.
        _alias_settings.setdefault("OPTIONS", {})["connect_timeout"] = 5
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Connections are kept (CONN_MAX_AGE above) as on PostgreSQL: opening one per request costs
    # its PRAGMAs, and closing the last one checkpoints the WAL (bench/oidc.py: userinfo went
    # from 316 to 545 requests/s).
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the worker read while the web process writes; IMMEDIATE takes the write lock
        # at BEGIN so two writers queue on busy_timeout instead of failing with "locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, later sessions) ------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Pages for visitors without a session and the base template's fragments the same for everyone
# (portal/page_cache.py): each process keeps its own, never in the shared cache.
CACHES["pages"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "hawiya-pages",
    "OPTIONS": {"MAX_ENTRIES": 500},
}
# Cache backends every web process reaches alike (one server for all of them).
SHARED_CACHE_BACKENDS = frozenset(
    {
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.memcached.PyMemcacheCache",
        "django.core.cache.backends.memcached.PyLibMCCache",
    }
)


def session_engine(cache_backend: str) -> str:
    """Sessions live in the database; with a cache every process shares (Redis) they are read
    through it, safely against sign-outs on another process (core/session_store.py). A
    per-process cache (LocMem) would keep serving a session another process ended: the database
    alone then."""
    if cache_backend in SHARED_CACHE_BACKENDS:
        return "hawiya.core.session_store"
    return "django.contrib.sessions.backends.db"


SESSION_ENGINE = session_engine(CACHES["default"]["BACKEND"])

# --- Background work (Django Tasks API) -------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# The minute jobs (casework/scheduler.py): each runs once a period however many schedulers run
# them; a run holds its job's lease at most this long (a scheduler that dies lets it go then).
HAWIYA_SCHEDULER_PERIOD_SECONDS = int(os.environ.get("HAWIYA_SCHEDULER_PERIOD_SECONDS", "60"))
HAWIYA_SCHEDULER_LEASE_SECONDS = int(os.environ.get("HAWIYA_SCHEDULER_LEASE_SECONDS", "600"))

# The audit log (audit/services.py, audit/signing.py): the Ed25519 key that signs its tree heads
# (a base64 32-byte seed or a PEM, from the environment; required on a server, system check
# audit.E001; derived from SECRET_KEY in demo, debug or embedded mode), the events one seal takes
# at most, and on SQLite how old an event must be before it is sealed.
HAWIYA_AUDIT_SIGNING_KEY = os.environ.get("HAWIYA_AUDIT_SIGNING_KEY", "")
# After a new signing key: the public keys of the ones before it (base64, as
# /.well-known/hawiya-audit-key published them; commas or spaces between), so the seals they
# signed still verify and their proofs can still be checked (system check audit.E003).
HAWIYA_AUDIT_RETIRED_KEYS = os.environ.get("HAWIYA_AUDIT_RETIRED_KEYS", "").replace(",", " ").split()
HAWIYA_AUDIT_SEAL_BATCH = int(os.environ.get("HAWIYA_AUDIT_SEAL_BATCH", "50000"))
HAWIYA_AUDIT_SEAL_SETTLE_SECONDS = float(os.environ.get("HAWIYA_AUDIT_SEAL_SETTLE_SECONDS", "2"))
# On PostgreSQL, how long a seal waits for the transactions open when it starts to end.
HAWIYA_AUDIT_SEAL_WAIT_SECONDS = float(os.environ.get("HAWIYA_AUDIT_SEAL_WAIT_SECONDS", "10"))

# --- Retention (casework/retention.py, the minute job `retention_prune`) ------------------------------
# Rows that only grow are deleted once they are this old. Finished text messages (sent, delivered or
# failed; secret bodies are blank already) are kept 90 days, counted from when they were queued: late
# delivery reports and "I never got the text" at the help desk need them that long. Finished task
# rows (successful or failed; never ready or running) are kept 7 days after they finished. Sign-in,
# activation and passkey challenges, Django sessions and the signed-in sessions list are deleted
# this many hours after they expired; so are authorization codes and access tokens (one without a
# refresh token), and refresh tokens that many hours after the toolkit's REFRESH_TOKEN_EXPIRE_SECONDS
# (counted from their revocation, or from their access token's expiry). An exchanged code's row
# (RedeemedCode, for a replay) goes that long after every token it gave could no longer be used. An
# hourly code send quota goes once its newest send is an hour old. ID tokens are kept 30 days past
# their expiry: a party names the citizen by one (id_token_hint) when it signs them out, and the
# toolkit refuses a hint whose row is gone. The register, the audit trail, requests, bills,
# appointments, shipments, document checks and relying parties are never pruned (docs/design.md §9).
HAWIYA_RETENTION_SMS_DAYS = max(1, int(os.environ.get("HAWIYA_RETENTION_SMS_DAYS", "90")))
HAWIYA_RETENTION_TASKS_DAYS = max(1, int(os.environ.get("HAWIYA_RETENTION_TASKS_DAYS", "7")))
HAWIYA_RETENTION_EXPIRED_HOURS = max(1, int(os.environ.get("HAWIYA_RETENTION_EXPIRED_HOURS", "24")))
HAWIYA_RETENTION_ID_TOKENS_DAYS = max(1, int(os.environ.get("HAWIYA_RETENTION_ID_TOKENS_DAYS", "30")))
# Each kind is deleted in batches of this many rows (one short transaction each), at most this many
# batches a run, so a first run on a big table never holds it long; the next run goes on.
HAWIYA_RETENTION_BATCH_SIZE = max(1, int(os.environ.get("HAWIYA_RETENTION_BATCH_SIZE", "1000")))
HAWIYA_RETENTION_MAX_BATCHES = max(1, int(os.environ.get("HAWIYA_RETENTION_MAX_BATCHES", "5")))

AUTH_USER_MODEL = "identity.User"
LOGIN_URL = "portal:sign-in"
# A refused form (expired page, double submit) gets the portal's styled page, in both languages.
CSRF_FAILURE_VIEW = "hawiya.portal.signin_views.csrf_failure"
# The demo payment gateway's checkout: the portal's demo pay page (a URL name, reversed with the
# bill number). Wired here like LOGIN_URL, not read from the environment: the payments app below
# the portal names no page.
PAYMENT_DEMO_CHECKOUT_URL = "portal:payments-demo"

# --- SMS operator (notifications) -------------------------------------------------------------
# The demo client keeps messages in the outbox (shown at /dev/sms in demo mode); the http client
# talks to the operator's JSON API. One machine without a server database defaults to the demo.
HAWIYA_SMS_CLIENT = os.environ.get("HAWIYA_SMS_CLIENT") or ("demo" if (DEMO or DEBUG or EMBEDDED) else "http")
SMS_OPERATOR_URL = os.environ.get("SMS_OPERATOR_URL", "")
SMS_OPERATOR_TOKEN = os.environ.get("SMS_OPERATOR_TOKEN", "")
SMS_SENDER_ID = os.environ.get("SMS_SENDER_ID", "Hawiya")
SMS_OPERATOR_TIMEOUT = float(os.environ.get("SMS_OPERATOR_TIMEOUT", "10"))
# A worker's hold on a message it is sending (a worker that dies lets it go then; keep it well
# above the timeout), and how long an unfinished message may be overdue before the minute jobs
# hand it to a worker again.
HAWIYA_SMS_LEASE_SECONDS = int(os.environ.get("HAWIYA_SMS_LEASE_SECONDS", "120"))
HAWIYA_SMS_STALLED_AFTER_SECONDS = int(os.environ.get("HAWIYA_SMS_STALLED_AFTER_SECONDS", "120"))
# The HMAC-SHA256 secret the operator signs its delivery reports to /api/v1/sms/delivery-reports
# with; the demo client (reports from the demo /dev/sms page) derives one from SECRET_KEY.
SMS_OPERATOR_WEBHOOK_SECRET = os.environ.get("SMS_OPERATOR_WEBHOOK_SECRET", "")
# Badly signed delivery reports one address may send in 10 minutes before it is answered 429.
SMS_DELIVERY_REPORT_FAILURE_LIMIT = int(os.environ.get("SMS_DELIVERY_REPORT_FAILURE_LIMIT", "20"))
# The last line of a code message is "@<domain> #123456" so phones autofill it only on our site.
HAWIYA_SMS_DOMAIN = os.environ.get("HAWIYA_SMS_DOMAIN", "localhost")

# --- Payment gateway (payments) -------------------------------------------------------------------
# The demo gateway is the portal's demo pay page; the http gateway talks to the gateway's JSON API
# with an API key, and its callbacks to /api/v1/payments/callback are verified with the webhook
# secret (HMAC-SHA256). One machine without a server database defaults to the demo.
HAWIYA_PAYMENT_GATEWAY = os.environ.get("HAWIYA_PAYMENT_GATEWAY") or (
    "demo" if (DEMO or DEBUG or EMBEDDED) else "http"
)
HAWIYA_PAYMENT_GATEWAY_URL = os.environ.get("HAWIYA_PAYMENT_GATEWAY_URL", "")
HAWIYA_PAYMENT_API_KEY = os.environ.get("HAWIYA_PAYMENT_API_KEY", "")
HAWIYA_PAYMENT_WEBHOOK_SECRET = os.environ.get("HAWIYA_PAYMENT_WEBHOOK_SECRET", "")
HAWIYA_PAYMENT_GATEWAY_TIMEOUT = float(os.environ.get("HAWIYA_PAYMENT_GATEWAY_TIMEOUT", "10"))
# The host the gateway's checkout pages live on, when not the API's own host (checkout URLs
# anywhere else are refused).
HAWIYA_PAYMENT_CHECKOUT_HOST = os.environ.get("HAWIYA_PAYMENT_CHECKOUT_HOST", "")
# Badly signed callbacks one address may send in 10 minutes before it is answered 429.
HAWIYA_PAYMENT_CALLBACK_FAILURE_LIMIT = int(os.environ.get("HAWIYA_PAYMENT_CALLBACK_FAILURE_LIMIT", "20"))

# --- Courier (delivery) ---------------------------------------------------------------------------
# "demo": shipments are accepted at once and the demo courier page (/staff/dev/courier/) plays the
# courier; "http": new shipments are POSTed to HAWIYA_COURIER_URL/shipments with the bearer token.
# The courier calls /api/v1/courier/ signed with HMAC-SHA256 under HAWIYA_COURIER_SECRET, naming
# HAWIYA_COURIER_KEY_ID; while the secret is rotated the previous one is accepted as well. The demo
# courier falls back to a key id and secret derived from SECRET_KEY; the http courier has none.
HAWIYA_COURIER = os.environ.get("HAWIYA_COURIER") or ("demo" if (DEMO or DEBUG or EMBEDDED) else "http")
HAWIYA_COURIER_URL = os.environ.get("HAWIYA_COURIER_URL", "")
HAWIYA_COURIER_API_TOKEN = os.environ.get("HAWIYA_COURIER_API_TOKEN", "")
HAWIYA_COURIER_TIMEOUT = float(os.environ.get("HAWIYA_COURIER_TIMEOUT", "10"))
HAWIYA_COURIER_KEY_ID = os.environ.get("HAWIYA_COURIER_KEY_ID", "")
HAWIYA_COURIER_SECRET = os.environ.get("HAWIYA_COURIER_SECRET", "")
HAWIYA_COURIER_SECRET_PREVIOUS = os.environ.get("HAWIYA_COURIER_SECRET_PREVIOUS", "")
# Badly signed courier calls one address may send in 10 minutes before it is answered 429.
HAWIYA_COURIER_FAILURE_LIMIT = int(os.environ.get("HAWIYA_COURIER_FAILURE_LIMIT", "20"))

# --- Document-status checks by relying parties (document_checks, /api/v1/document-status) ---------
# Documents one party may check per minute (a batch counts each of its documents); past it, 429.
HAWIYA_DOCUMENT_STATUS_RATE_LIMIT = int(os.environ.get("HAWIYA_DOCUMENT_STATUS_RATE_LIMIT", "600"))
# App approvals (approvals/limits.py): requests one relying party may send a minute; and whether a
# callback URL may be plain http to this machine (the demo's example party; never in production).
HAWIYA_APPROVALS_RATE_LIMIT = int(os.environ.get("HAWIYA_APPROVALS_RATE_LIMIT", "120"))
HAWIYA_APPROVALS_LOOPBACK_CALLBACKS = DEMO or DEBUG or EMBEDDED

# --- Fingerprint scanner (registry.biometrics) ------------------------------------------------------
# "demo": a deterministic template from the person (demo mode and tests); "http": the workstation
# scanner bridge's JSON API at HAWIYA_FINGERPRINT_SCANNER_URL.
HAWIYA_FINGERPRINT_SCANNER = os.environ.get("HAWIYA_FINGERPRINT_SCANNER") or (
    "demo" if (DEMO or DEBUG or EMBEDDED) else "http"
)
HAWIYA_FINGERPRINT_SCANNER_URL = os.environ.get("HAWIYA_FINGERPRINT_SCANNER_URL", "")

# --- Fingerprint matcher (registry.matchers) -------------------------------------------------------
# "http": the ABIS's JSON API at HAWIYA_BIOMETRIC_MATCHER_URL enrols templates (Hawiya keeps its
# reference) and compares a new capture with one, scoring 0-100; a score at or above the threshold
# is a match. "demo" (demo mode and tests only): the reference is a keyed hash (HMAC-SHA256 with
# HAWIYA_FINGERPRINT_TEMPLATE_KEY, derived from SECRET_KEY when unset), which only the demo
# scanner's deterministic templates match.
HAWIYA_BIOMETRIC_MATCHER = os.environ.get("HAWIYA_BIOMETRIC_MATCHER") or (
    "demo" if (DEMO or DEBUG or EMBEDDED) else "http"
)
HAWIYA_BIOMETRIC_MATCHER_URL = os.environ.get("HAWIYA_BIOMETRIC_MATCHER_URL", "")
HAWIYA_BIOMETRIC_MATCHER_TOKEN = os.environ.get("HAWIYA_BIOMETRIC_MATCHER_TOKEN", "")
HAWIYA_BIOMETRIC_MATCHER_TIMEOUT = float(os.environ.get("HAWIYA_BIOMETRIC_MATCHER_TIMEOUT") or "10")
HAWIYA_BIOMETRIC_MATCH_THRESHOLD = float(os.environ.get("HAWIYA_BIOMETRIC_MATCH_THRESHOLD") or "60")
HAWIYA_FINGERPRINT_TEMPLATE_KEY = (
    os.environ.get("HAWIYA_FINGERPRINT_TEMPLATE_KEY")
    or hashlib.sha256(f"hawiya-fingerprint-template:{SECRET_KEY}".encode()).hexdigest()
)

# --- Back-office -------------------------------------------------------------------------------
# How many days before its day an appointment may be checked in. 0 in production (on the day only);
# the demo allows a month, so a walkthrough does not wait for the booked day.
HAWIYA_CHECK_IN_EARLY_DAYS = max(
    0, int(os.environ.get("HAWIYA_CHECK_IN_EARLY_DAYS") or ("30" if DEMO else "0"))
)

# --- Passwords ----------------------------------------------------------------------------------
# Argon2id at OWASP's parameters unless the operator sets stronger ones, at most
# HAWIYA_PASSWORD_HASH_CONCURRENCY hashes at once per process (identity/hashers.py). It verifies
# the hashes Django's own Argon2 hasher made (the same algorithm name) and upgrades them at the
# next sign-in; PBKDF2 stays to verify (and upgrade) any older PBKDF2 hash.
PASSWORD_HASHERS = [
    "hawiya.identity.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # Relying parties' client secrets only (CLIENT_SECRET_HASHER below; identity/client_secrets.py).
    "hawiya.identity.client_secrets.ClientSecretHasher",
]
HAWIYA_ARGON2_MEMORY_KIB = int(os.environ.get("HAWIYA_ARGON2_MEMORY_KIB", "19456"))
HAWIYA_ARGON2_TIME_COST = int(os.environ.get("HAWIYA_ARGON2_TIME_COST", "2"))
HAWIYA_ARGON2_PARALLELISM = int(os.environ.get("HAWIYA_ARGON2_PARALLELISM", "1"))
# Two at once per process (gunicorn runs 4 threads each): a flood of sign-ins takes at most two
# cores' worth of a process and 2 x 19 MiB; the rest wait this long, then get "try again" (503).
HAWIYA_PASSWORD_HASH_CONCURRENCY = int(os.environ.get("HAWIYA_PASSWORD_HASH_CONCURRENCY", "2"))
HAWIYA_PASSWORD_HASH_WAIT_SECONDS = float(os.environ.get("HAWIYA_PASSWORD_HASH_WAIT_SECONDS", "3"))
# How many requests of a process may wait for a hashing slot; the next gets the 503 at once. The
# slots plus this must stay below the web process's threads (WEB_THREADS, deploy/entrypoint; a
# system check), so that a flood of sign-ins never holds every thread and the other pages still
# get one.
HAWIYA_PASSWORD_HASH_QUEUE = int(os.environ.get("HAWIYA_PASSWORD_HASH_QUEUE", "1"))
HAWIYA_WEB_THREADS = int(os.environ.get("WEB_THREADS", "4"))
# The hashing threads' nice (0-19; identity/hashers.py): during a flood of wrong passwords the
# other pages on the same cores come first (this much below the process). 0 hashes in the
# request's own thread, at its priority.
HAWIYA_PASSWORD_HASH_NICE = int(os.environ.get("HAWIYA_PASSWORD_HASH_NICE", "10"))
# The server key of relying parties' client secrets (HMAC-SHA256, identity/client_secrets.py),
# from the environment; SECRET_KEY when unset. Set it on servers, so that a new
# SECRET_KEY does not void every party's secret; changing it voids them all (rotate each one).
# Not Argon2: secrets are random, and Argon2 on every token request would cap the token endpoint
# at a few dozen requests per second.
HAWIYA_CLIENT_SECRET_KEY = os.environ.get("HAWIYA_CLIENT_SECRET_KEY") or SECRET_KEY
# NIST SP 800-63B instead of composition rules (identity/passwords.py): 8-128 characters of
# anything, not a common password, not containing the ID number, username or names.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "hawiya.identity.passwords.LengthValidator",
        "OPTIONS": {"min_length": 8, "max_length": 128},
    },
    {"NAME": "hawiya.identity.passwords.CommonPasswordValidator"},
    {"NAME": "hawiya.identity.passwords.PersonalInformationValidator"},
]
# Absolute session lifetime 12 hours; the idle timeout is enforced by the portal.
SESSION_COOKIE_AGE = 12 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- OpenID Connect provider (oidc app, on django-oauth-toolkit) -------------------------------------
# The issuer is the site's base URL, as relying parties reach it; `check --deploy` refuses the
# local default (config/checks.py). ID tokens are signed with the keys in the database
# (identity.SigningKey, `manage.py oidc_rotate_key`), not with OIDC_RSA_PRIVATE_KEY.
HAWIYA_OIDC_ISSUER = os.environ.get("HAWIYA_OIDC_ISSUER", "http://127.0.0.1:8000").rstrip("/")
# Passkeys (WebAuthn, identity/services/passkeys.py). The origins the browser may report (scheme,
# host and port, comma-separated) default to the site's URL; the RP ID, the domain passkeys are
# bound to, to that URL's host. Passkeys made for one RP ID never work for another: choose it once.
HAWIYA_WEBAUTHN_ORIGINS = env_list("HAWIYA_WEBAUTHN_ORIGINS", HAWIYA_OIDC_ISSUER)
HAWIYA_WEBAUTHN_RP_ID = os.environ.get(
    "HAWIYA_WEBAUTHN_RP_ID", urlsplit(HAWIYA_WEBAUTHN_ORIGINS[0]).hostname or "127.0.0.1"
)
# Staff roles (officer, supervisor, administrator) whose members, once they have a passkey, must
# sign in with it: the authenticator app's code is then refused (backoffice/signin_views.py).
HAWIYA_STAFF_PASSKEY_ROLES = env_list("HAWIYA_STAFF_PASSKEY_ROLES", "")
# Not swapped; named because django-oauth-toolkit's migrations depend on these settings.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 - a model name
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OAUTH2_VALIDATOR_CLASS": "hawiya.oidc.validator.HawiyaOAuth2Validator",
    "OIDC_ISS_ENDPOINT": HAWIYA_OIDC_ISSUER,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_SUBJECT_TYPES_SUPPORTED": ["pairwise"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ],
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
    # RFC 9700 (OAuth 2.0 Security BCP), enforced rather than warned about: no implicit or
    # password grant, no PKCE "plain", bearer tokens never in a URL's query, `iss` in every
    # authorization response (RFC 9207), tokens stored as hashes. The config gates make a
    # non-compliant setting an error at `check --deploy`.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # Parties' redirect URIs are https; the demo party (and the tests) call back to a loopback
    # http address (RFC 8252), which is allowed in demo mode only.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"] if (DEMO or DEBUG) else ["https"],
    # A refresh token used twice (stolen and replayed) revokes the whole family.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
    "ID_TOKEN_EXPIRE_SECONDS": 600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "CLIENT_SECRET_HASHER": "hawiya_hmac_sha256",
    "SCOPES": {
        "openid": "OpenID Connect",
        "profile": "Names in Arabic and English",
        "national_id": "National ID number",
        "birthdate": "Date of birth (Gregorian and Hijri)",
        "phone": "Mobile number",
        "address": "National Address",
        # Party-only (client credentials): never shown to a citizen for consent.
        "document_status": "Document status checks",
        "approvals": "App approval by number matching",
    },
    "DEFAULT_SCOPES": ["openid"],
}

# --- Language and time --------------------------------------------------------------------------
LANGUAGE_CODE = "ar"
LANGUAGES = [("ar", _("Arabic")), ("en", _("English"))]
LOCALE_PATHS = [SRC_DIR / "locale"]
# Western digits, "." decimals, Sunday first (docs/ui.md §3): overrides Django's ar formats.
FORMAT_MODULE_PATH = ["hawiya.config.formats"]
TIME_ZONE = "Asia/Riyadh"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "hawiya_language"
LANGUAGE_COOKIE_SECURE = not DEBUG and not DEMO
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

# --- Static files ------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# Uploaded files (replacement photos): personal data, never served as static files.
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
# Uploads: files above this size go to a temporary file instead of memory; photos are refused above
# 5 MB by replacements.photos. Form bodies other than files stay small.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 5
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security -------------------------------------------------------------------------------------------
# The embedded mode serves plain HTTP on localhost; everywhere else the platform is HTTPS-only.
HTTPS = env_bool("HAWIYA_HTTPS", default=not (DEMO or DEBUG))
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("HAWIYA_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("HAWIYA_BEHIND_PROXY") else None
# How many proxies in front of Hawiya append to X-Forwarded-For (portal/client.py): the per-IP
# throttles must see the citizen's address, not the load balancer's.
HAWIYA_TRUSTED_PROXIES = int(os.environ.get("HAWIYA_TRUSTED_PROXIES", "0"))
# Load-balancer probes speak plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every HTML page (config/csp.py sends it; django-csp builds it): our
# own origin only, no inline script or style except one carrying the page's nonce (none does
# today: JavaScript and CSS are static files), no plugins, no framing, forms post to us (and, with
# a real gateway, redirect to its checkout: config/csp.py). Images may be data: URIs (QR codes,
# a photo shown from memory) and blob: URLs (the camera's still on the biometrics page).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF, csp_constants.NONCE],
        "style-src": [csp_constants.SELF, csp_constants.NONCE],
        "img-src": [csp_constants.SELF, "data:", "blob:"],
        "font-src": [csp_constants.SELF],
        "connect-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.SELF],
        "frame-ancestors": [csp_constants.NONE],
        "form-action": [csp_constants.SELF],
        "upgrade-insecure-requests": HTTPS,
    }
}
SILENCED_SYSTEM_CHECKS: list[str] = []

# --- Metrics (/metrics, core/metrics.py) ------------------------------------------------------------
# Prometheus scrapes /metrics with `Authorization: Bearer <HAWIYA_METRICS_TOKEN>`. Without a token
# the page answers only in demo, debug or embedded mode; in production it is a 404. With several
# processes (gunicorn workers, the task worker, the sweeps) every one of them needs the same
# PROMETHEUS_MULTIPROC_DIR, emptied before they start (config/gunicorn.py).
HAWIYA_METRICS_TOKEN = os.environ.get("HAWIYA_METRICS_TOKEN", "")
HAWIYA_METRICS_OPEN = DEMO or DEBUG or EMBEDDED
# Scrapers speak plain HTTP inside the cluster, like the load balancer's probes.
SECURE_REDIRECT_EXEMPT = [*SECURE_REDIRECT_EXEMPT, r"^metrics$"]

# --- Logging --------------------------------------------------------------------------------------------
# Plain lines by default (`make run`, development); HAWIYA_LOG_FORMAT=json writes one JSON object a
# line (time, level, logger, message, request_id; the request line adds method, route, status and
# duration_ms). Every record carries the request id (core/logs.py). Never an ID number, a code, a
# token, a path's query string.
HAWIYA_LOG_FORMAT = os.environ.get("HAWIYA_LOG_FORMAT", "plain").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "hawiya.core.logs.JsonLinesFormatter"},
    },
    "filters": {
        # An ordinary 403 or 400 is a warning without a traceback (hawiya.core.logs).
        "client_errors": {"()": "hawiya.core.logs.ClientErrorsWithoutTraceback"},
        # Hawiya's own 503s ("try again in a moment") are warnings, not errors (hawiya.core.logs).
        "busy_answers": {"()": "hawiya.core.logs.BusyAnswersAsWarnings"},
        "request_id": {"()": "hawiya.core.logs.RequestIdFilter"},
        # Django's "Not Found: <path>" lines name the route instead (a path may hold a token).
        "request_paths": {"()": "hawiya.core.logs.RequestPathsAsRoutes"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if HAWIYA_LOG_FORMAT == "json" else "plain",
            "filters": ["request_id", "request_paths"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("HAWIYA_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["client_errors", "busy_answers"]},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
