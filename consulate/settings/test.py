"""Tests (`python3 dev test`): real PostgreSQL (embedded or DATABASE_URL), fast hashes."""

import os

import consulate.embedded_db as embedded_db

from .local import *  # noqa: F403
from .local import DATABASE_OWNER, DATABASES, env

DEBUG = False
DEMO_MODE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tests change missions with queryset updates between requests; the host cache is on only where
# a test turns it on (the query-count pins, which count what production sends).
CONSULATE_TENANT_CACHE_SECONDS = 0
CONSULATE_AVAILABILITY_CACHE_SECONDS = 0
CONSULATE_PUBLIC_RESPONSE_SECONDS = 0
APPOINTMENTS_FULL_SLOT_SECONDS = 0
APPOINTMENTS_SERVICE_LOCAL_SECONDS = 0
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")
AXES_ENABLED = True
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"pgserver": {"level": "WARNING"}},
}
# The test-only tenant app that exercises consulate.kernel.crypto (tests/crypto_app).
TENANT_APPS, INSTALLED_APPS = ([*a, "tests.crypto_app"] for a in (TENANT_APPS, INSTALLED_APPS))

# Tests connect as a superuser (or, given DATABASE_OWNER_URL, as that owner), who creates and
# drops the test database, migrates it (so it is the owner role here) and lets tests attack the
# database's guards from above.
# The application's role is granted by `migrate_all` exactly as in production, and
# tests/consulate/test_database_roles.py connects as it (DATABASE_APP) to show what it cannot do.
_app = {key: DATABASES["default"].get(key, "") for key in ("USER", "PASSWORD", "HOST", "PORT")}
if not env("DATABASE_URL", default=""):
    DATABASES["default"]["USER"] = embedded_db.SUPERUSER
elif DATABASE_OWNER:
    # DATABASE_URL names the application's role and DATABASE_OWNER_URL the owner, as in production
    DATABASES["default"].update(
        {key: DATABASE_OWNER[key] for key in ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
         if key in DATABASE_OWNER}
    )  # fmt: skip
else:
    # one URL, a superuser's (a developer's server): the application's role is one of our own,
    # created by migrate_all
    _app.update(USER=env("CONSULATE_TEST_APP_ROLE", default="consulate_app"), PASSWORD="")
DATABASE_APP = _app
DATABASE_APP_ROLE = _app["USER"]
DATABASE_OWNER = {}

# One test database per test run, so that runs in parallel (several checkouts, a developer and
# CI) never drop each other's database.
DATABASES["default"]["TEST"] = {"NAME": f"test_consulate_{os.getpid()}"}
