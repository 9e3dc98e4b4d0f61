"""Production: every secret and address comes from the environment (docs/operations.md)."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    CELERY_BROKER_URL,
    CONSULATE_BLIND_INDEX_KEY,
    CONSULATE_MASTER_KEY,
    DATABASES,
    SECRET_KEY,
    env,
)

for _name, _value in {
    "DJANGO_SECRET_KEY": SECRET_KEY,
    "DATABASE_URL (with a database name)": DATABASES.get("default", {}).get("NAME"),
    "CELERY_BROKER_URL": CELERY_BROKER_URL,
    "CONSULATE_MASTER_KEY": CONSULATE_MASTER_KEY,
    "CONSULATE_BLIND_INDEX_KEY": CONSULATE_BLIND_INDEX_KEY,
}.items():
    if not _value:
        raise ImproperlyConfigured(f"{_name} must be set in production.")

DEBUG = False
DEMO_MODE = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_CONTENT_TYPE_NOSNIFF = True
# A shared cache (redis://...) makes allauth's rate limits and used-TOTP-code memory hold across
# every gunicorn worker and host; the per-process default only suits a single process.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# Outgoing mail, e.g. smtp+tls://user:password@smtp.example.org:587
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
