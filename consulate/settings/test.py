"""Tests (`python3 dev test`): real PostgreSQL (embedded or DATABASE_URL), fast hashes."""

import os

from .local import *  # noqa: F403
from .local import DATABASES, env

DEBUG = False
DEMO_MODE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
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

# One test database per test run, so that runs in parallel (several checkouts, a developer and
# CI) never drop each other's database.
DATABASES["default"]["TEST"] = {"NAME": f"test_consulate_{os.getpid()}"}
