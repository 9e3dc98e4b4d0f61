"""Settings shared by every environment. Environment-specific modules import * from here.

Values that differ per deployment come from the environment (django-environ); the variables
are listed in docs/operations.md.
"""

from __future__ import annotations

from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])

# The host of HQ; a mission is served at <mission-code>.<PORTAL_HOST>.
PORTAL_HOST = env("CONSULATE_PORTAL_HOST", default="localhost")
# The port in links that leave a request's context (e-mails): empty in production (443);
# `python3 dev up` sets it to the development server's port.
PORTAL_PORT = env("CONSULATE_PORTAL_PORT", default="")
# Only in the demo: seeded staff get a fixed TOTP secret so the demo logins work out of the box.
DEMO_MODE = env.bool("CONSULATE_DEMO_MODE", default=False)

# --- Tenancy (django-tenants) ------------------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "consulate",
    "consulate.kernel.accounts",
    "consulate.kernel.crypto",
    "missions",
    "fees.reference",
    "visas.reference",
    "sync.hq",
    # HQ registers built from the missions' events (their projectors register with sync)
    "appointments.register",
    "fees.register",
    "missions.register",
    "passports.register",
    "visas.register",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # before the admin: names people read get a column per language (name_en, name_tr)
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "simple_history",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
]
# Apps whose tables live in every mission schema (and in the template schema they are cloned from).
TENANT_APPS = [
    "django.contrib.contenttypes",
    "sync",
    # HQ's reference data is in public (SHARED_APPS) and, as each mission's own copy, in every
    # mission schema: a mission's search_path puts its schema first, so the selectors read its
    # copy and never HQ's table; sync replaces the copy with each signed version
    # (docs/sync.md, "Reference data")
    "fees.reference",
    "visas.reference",
    "fees",
    "appointments",
    "passports",
    "visas",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "missions.Mission"
TENANT_DOMAIN_MODEL = "missions.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New missions are cloned from this schema, migrated with every deploy (`migrate_all`).
TENANT_BASE_SCHEMA = "mission_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# How long a migration run by `migrate_all` waits for a lock before it gives way (and is tried
# again a moment later): requests on that table queue behind a migration while it waits, so
# this is how long they wait behind it at most, per attempt. 0: no limit.
CONSULATE_MIGRATE_LOCK_TIMEOUT_MS = env.int("CONSULATE_MIGRATE_LOCK_TIMEOUT_MS", default=3000)
DEFAULT_NOT_FOUND_TENANT_VIEW = "consulate.views.unknown_host"
# How long a host's mission stays in the cache (consulate/kernel/tenancy.py); 0: no cache.
CONSULATE_TENANT_CACHE_SECONDS = 300
# ... and how long each process keeps its own copy before asking the shared cache again: a
# change made through another process shows here that much later at most.
CONSULATE_TENANT_LOCAL_SECONDS = 2
# One `SET search_path` per request instead of one before every query. django-tenants forgets
# the path it set whenever PostgreSQL may have undone it (rollback, rollback to a savepoint,
# closing) and whenever the tenant is set again (each request, each schema_context);
# tests/consulate/test_search_path.py tries to make a request read another mission's rows.
TENANT_LIMIT_SET_CALLS = True
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
ROOT_URLCONF = "consulate.urls_mission"
PUBLIC_SCHEMA_URLCONF = "consulate.urls_hq"

# Two database roles (docs/operations.md, "Database roles"). The application (web, worker, beat,
# every request) connects with DATABASE_URL as a role that owns nothing: it reads and writes rows
# and cannot switch a trigger or a guard off. `migrate_all` connects as the owner of the schemas,
# DATABASE_OWNER_URL (same database), which only the deploy step needs; unset, it uses
# DATABASE_URL's role and warns.
DATABASE_URL = env("DATABASE_URL", default="")
# django-tenants' backend, remembering the search path a connection holds between requests
# (consulate/kernel/db/base.py)
DATABASE_ENGINE = "consulate.kernel.db"
DATABASES = {"default": env.db_url_config(DATABASE_URL)} if DATABASE_URL else {}
if DATABASES:
    DATABASES["default"]["ENGINE"] = DATABASE_ENGINE
DATABASE_OWNER_URL = env("DATABASE_OWNER_URL", default="")
DATABASE_OWNER = env.db_url_config(DATABASE_OWNER_URL) if DATABASE_OWNER_URL else {}
# The role `migrate_all` grants rows to; empty: the user of DATABASE_URL.
DATABASE_APP_ROLE = ""

MIDDLEWARE = [
    # first, so that the page for an unknown host, which the tenant middleware answers by
    # itself, carries the policy and the security headers (HSTS, nosniff) too
    # django-csp's, with a plain answer's policy built once per process (consulate/kernel/csp.py)
    "consulate.kernel.csp.CSPMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "consulate.kernel.tenancy.TenantMiddleware",
    # a mission moved to its own node answers from there (docs/sync.md)
    "missions.middleware.MovedMissionMiddleware",
    # before the session is read: a control character in a cookie is refused here too
    "consulate.kernel.http.BadInputMiddleware",
    # public answers (the availability feed) from the cache, before the session is read
    "consulate.kernel.public_cache.PublicResponseMiddleware",
    # a booking of a time known to be full is refused before the session's user is read
    "appointments.middleware.FullSlotRefusalMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "consulate.kernel.accounts.sessions.IdleSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # at a mission node, HQ's accounts are changed at HQ (docs/sync.md)
    "missions.middleware.NodeAccountsMiddleware",
    "consulate.kernel.accounts.middleware.StaffSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "consulate" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "consulate.context_processors.portal",
            ],
        },
    },
]
WSGI_APPLICATION = "consulate.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Content-Security-Policy (django-csp) ------------------------------------------------------
# Everything from our own origin; no inline script or style unless it carries the response's
# nonce (`nonce="{{ request.csp_nonce }}"`, as the Swagger UI page does); images may also be
# data: URLs (barcodes, the TOTP QR code, the empty favicon). No 'unsafe-inline', no eval.
# form-action is left open on purpose: a card payment redirects, after a POST, to the payment
# provider's own host.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}

# --- Accounts, second factor, throttling --------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's and allauth's backends, loading a logged-in user with their roles and second
    # factor in one query (missions/auth.py)
    "missions.auth.ModelBackend",
    "missions.auth.AuthenticationBackend",
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
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
# subjects name the service themselves (consulate/templates/account/email/*_subject.txt)
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_ADAPTER = "consulate.kernel.accounts.adapter.AccountAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Consular e-services"
# Throttling, two layers: django-axes locks a (mission, e-mail, address) combination after
# AXES_FAILURE_LIMIT failures; allauth's rate limits (ACCOUNT_RATE_LIMITS, in the cache) also
# slow failed logins per e-mail across addresses and per address across e-mails.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "consulate.kernel.accounts.throttling.tenant_scoped_username"
AXES_USERNAME_FORM_FIELD = "login"
AXES_RESET_ON_SUCCESS = True
# Behind N reverse proxies (load balancer, nginx) the client's address is the Nth from the right
# in X-Forwarded-For; with 0 it is REMOTE_ADDR. Both throttles read it the same way (allauth's).
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("CONSULATE_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "consulate.kernel.accounts.throttling.client_ip"
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "account/locked_out.html"

# Sessions expire after this long without a request, and their key rotates at login (Django).
# A session is written again when its last write is a minute old or more, which makes
# SESSION_COOKIE_AGE an idle timeout checked on the server (the session's expiry), not only by
# the browser, without a write on every request (consulate/kernel/accounts/sessions.py).
SESSION_COOKIE_AGE = env.int("CONSULATE_SESSION_IDLE_SECONDS", default=30 * 60)
CONSULATE_SESSION_TOUCH_SECONDS = 60
# A mission's availability feed (every page and poll reads it) is kept this long in the cache.
CONSULATE_AVAILABILITY_CACHE_SECONDS = 2
# Answers marked public (the availability feed, page and API) are kept whole this long and
# served before the session is read, then renewed by one request while the others are still
# served the copy (consulate/kernel/public_cache.py); 0: off.
CONSULATE_PUBLIC_RESPONSE_SECONDS = 1
# A signed-in reader's kept home is served from a signed cookie naming what their navigation
# shows, for this long after the whole stack last read who they are (the bound on how stale
# their navigation can be: consulate/kernel/public_cache.py); 0: off.
CONSULATE_READER_NAVIGATION_SECONDS = 60
# A slot the database has found full is kept so this long in the cache: a booking of it is
# refused before the session's user is read (appointments/full_slots.py); 0: off.
APPOINTMENTS_FULL_SLOT_SECONDS = 5
# A service read by its code is kept this long in each process (under load, a statement saved on
# most bookings and calendars; a change made elsewhere shows that much later;
# appointments/selectors.py).
APPOINTMENTS_SERVICE_LOCAL_SECONDS = 2
# A booking's confirmation is sent by a sweep of the bookings whose confirmation is due, queued
# at most once per this many seconds per process and mission after bookings commit (the longest
# a confirmation waits for its sweep to start); beat sweeps every minute as well
# (appointments/services/confirmations.py).
APPOINTMENTS_CONFIRMATION_NUDGE_SECONDS = 1.0
# Read from the cache, written through to the database (a cache restart logs nobody out);
# Django's cached_db store, an existing session written in one statement.
SESSION_ENGINE = "consulate.kernel.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- Encryption of personal data ----------------------------------------------------------------
# Base64 of 32 random bytes each. The master key wraps every mission's data keys; the blind index
# key is separate so that the index reveals nothing about the ciphertexts. See docs/security.md.
CONSULATE_MASTER_KEY = env("CONSULATE_MASTER_KEY", default="")
CONSULATE_BLIND_INDEX_KEY = env("CONSULATE_BLIND_INDEX_KEY", default="")

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("tr", _("Turkish"))]
# Names people read (missions, services, exemption categories) have a value per language,
# registered in each app's translation.py; a missing one falls back to English.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_LANGUAGES = ("en", "tr")
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "clear-expired-sessions": {
        "task": "consulate.tasks.clear_expired_sessions",
        "schedule": 6 * 60 * 60,
    },
    # Appointments: each runs in public and queues one task per mission schema.
    "appointments-generate-slots": {
        "task": "appointments.tasks.every_mission_generate_slots",
        "schedule": 60 * 60,
    },
    # The confirmations a nudge after the booking did not send (a broker down at the time).
    "appointments-send-due-confirmations": {
        "task": "appointments.tasks.every_mission_send_due_confirmations",
        "schedule": 60,
    },
    "appointments-send-reminders": {
        "task": "appointments.tasks.every_mission_send_reminders",
        "schedule": 15 * 60,
    },
    "appointments-run-due-draws": {
        "task": "appointments.tasks.every_mission_run_due_draws",
        "schedule": 5 * 60,
    },
    "appointments-expire-waitlist-offers": {
        "task": "appointments.tasks.every_mission_expire_waitlist_offers",
        "schedule": 5 * 60,
    },
    # Sync: every mission pushes its new bundles to HQ (each waits out its own backoff).
    "sync-push-to-hq": {
        "task": "sync.tasks.every_mission_push_to_hq",
        "schedule": 60,
    },
    # Fees: card checkouts unanswered for 30 minutes expire, per mission schema.
    "fees-expire-stale-card-payments": {
        "task": "fees.tasks.every_mission_expire_stale_card_payments",
        "schedule": 5 * 60,
    },
    # Passports HQ printed reach their mission's timeline (passports/tasks.py).
    "passports-receive-dispatches": {
        "task": "passports.tasks.every_mission_receive_dispatches",
        "schedule": 5 * 60,
    },
    # Visas: applications whose corrections were not made by their deadline (a mission's local
    # date) are closed as withdrawn and the applicant told, per mission (visas/tasks.py).
    "visas-expire-corrections": {
        "task": "visas.tasks.every_mission_expire_corrections",
        "schedule": 60 * 60,
    },
    # Sync: each mission compares its per-day digests with HQ's once a day (sync/tasks.py).
    "sync-reconcile-daily": {
        "task": "sync.tasks.every_mission_reconcile",
        "schedule": 24 * 60 * 60,
    },
    # Sync: HQ admins hear once per silence of a mission that has not made contact (public).
    "sync-silence-alert": {
        "task": "missions.tasks.sync_silence_alert",
        "schedule": 5 * 60,
    },
    # HQ monitoring: the daily digest of alerts, once per HQ date after MONITORING_DIGEST_HOUR
    "monitoring-digest": {
        "task": "missions.tasks.monitoring_digest",
        "schedule": 30 * 60,
    },
    # Sync, at HQ: publish reference data a change committed without publishing (a crash after
    # the commit), and let every mission schema in this database catch up with the newest
    # version; nothing on a mission node (docs/sync.md, "Reference data").
    "sync-reference-refresh": {
        "task": "sync.tasks.reference_refresh",
        "schedule": 15 * 60,
    },
}

# --- Sync (docs/sync.md) -------------------------------------------------------------------------
# HQ's address for a mission's pushes; empty: HQ is in this database (one server for all).
SYNC_HQ_URL = env("SYNC_HQ_URL", default="")
SYNC_PUSH_TIMEOUT = env.int("SYNC_PUSH_TIMEOUT", default=60)  # seconds per round trip
# the largest push HQ's endpoint reads (a bundle of 10,000 events is about 3 MB)
SYNC_PUSH_MAX_BYTES = env.int("SYNC_PUSH_MAX_BYTES", default=64 * 1024 * 1024)
# Any request declaring a larger body is refused (413) before anything reads it: the largest
# page body is a sync push or a file for the bag (consulate/kernel/http.py).
CONSULATE_MAX_REQUEST_BYTES = SYNC_PUSH_MAX_BYTES + 1024 * 1024
# A mission HQ has not heard from for this long is "silent": marked on HQ's pages, and HQ
# admins get one e-mail per silence (missions.services.sync.sync_silence_alert).
SYNC_SILENCE_ALERT_MINUTES = env.int("SYNC_SILENCE_ALERT_MINUTES", default=60)

# HQ monitoring (docs/monitoring.md): defaults for a mission without its own thresholds
# the daily digest of alerts goes to HQ analysts and admins at this hour of HQ's day, or at the
# first beat after it
MONITORING_DIGEST_HOUR = env.int("MONITORING_DIGEST_HOUR", default=7)
MONITORING_WAIT_TARGET_DAYS = env.int("MONITORING_WAIT_TARGET_DAYS", default=30)
# a backlog that grew on this many days in a row is an alert
MONITORING_BACKLOG_GROWTH_DAYS = env.int("MONITORING_BACKLOG_GROWTH_DAYS", default=5)

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "consulate.kernel.errors.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    # Closed by default: a public endpoint says so with permission_classes = [AllowAny].
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bounded in depth and free of control characters (consulate/kernel/http.py); forms
    # are checked by BadInputMiddleware
    "DEFAULT_PARSER_CLASSES": [
        "consulate.kernel.http.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Consular e-services API",
    # each host serves the schema of its own URLconf, with its own description (urls_common.py)
    "DESCRIPTION": "HQ at the portal host; each mission at `<code>.<portal host>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
# A mail server that stops answering fails the send after this long (the default is to wait
# for ever): a sweep of confirmations then retries later instead of hanging its worker.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="no-reply@consulate.invalid")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"pgserver": {"level": "WARNING"}},
}

# --- HQ ---------------------------------------------------------------------------------------
CONSULATE_HQ_NAME = env("CONSULATE_HQ_NAME", default="Ministry of Foreign Affairs")
CONSULATE_HQ_CITY = env("CONSULATE_HQ_CITY", default="Ankara")
CONSULATE_HQ_TIMEZONE = env("CONSULATE_HQ_TIMEZONE", default="Europe/Istanbul")
CONSULATE_HOME_COUNTRY = env("CONSULATE_HOME_COUNTRY", default="TR")
# The same State as ICAO Doc 9303 names it in an MRZ and a seal (issuing state, nationality).
CONSULATE_ISSUING_STATE = env("CONSULATE_ISSUING_STATE", default="TUR")
# HQ's base currency: fee schedules are set in it and mission revenue is reported in it.
CONSULATE_BASE_CURRENCY = env("CONSULATE_BASE_CURRENCY", default="EUR")
# HMAC secret of the card payment provider's webhooks (fees.providers).
CONSULATE_PAYMENT_WEBHOOK_SECRET = env("CONSULATE_PAYMENT_WEBHOOK_SECRET", default="")
