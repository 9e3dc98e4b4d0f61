"""Production: every secret and address comes from the environment (docs/operations.md)."""

import base64

from django.core.exceptions import ImproperlyConfigured

from consulate.kernel.cache import cache_of_url

from .base import *  # noqa: F403
from .base import (
    ALLOWED_HOSTS,
    CELERY_BROKER_URL,
    CONSULATE_BLIND_INDEX_KEY,
    CONSULATE_MASTER_KEY,
    DATABASE_OWNER,
    DATABASES,
    SECRET_KEY,
    SYNC_HQ_URL,
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

# Fail at start, not at the first encryption: both keys decode to 32 bytes, and they differ
# (one key for both would undo the separation of the blind index from the ciphertexts).
if CONSULATE_MASTER_KEY == CONSULATE_BLIND_INDEX_KEY:
    raise ImproperlyConfigured("CONSULATE_MASTER_KEY and CONSULATE_BLIND_INDEX_KEY must differ.")
for _key in ("CONSULATE_MASTER_KEY", "CONSULATE_BLIND_INDEX_KEY"):
    try:
        if len(base64.b64decode(env(_key), validate=True)) != 32:
            raise ValueError
    except ValueError as _error:
        raise ImproperlyConfigured(f"{_key} must be 32 random bytes, base64-encoded.") from _error
# A mission node sends its events, and receives its staff's password hashes and second-factor
# seeds (docs/sync.md, down sets), over this address: never in clear.
if SYNC_HQ_URL and not SYNC_HQ_URL.startswith("https://"):
    raise ImproperlyConfigured("SYNC_HQ_URL must be an https:// address in production.")
if DATABASE_OWNER and DATABASE_OWNER.get("NAME") != DATABASES["default"]["NAME"]:
    raise ImproperlyConfigured("DATABASE_OWNER_URL must name the database of DATABASE_URL.")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the portal host and .<portal host>.")
if not env("CACHE_URL", default=""):
    # allauth's rate limits and its memory of used TOTP codes must be shared by every process.
    raise ImproperlyConfigured("CACHE_URL must name a shared cache (e.g. redis://...).")

DEBUG = False
DEMO_MODE = False
# Persistent connections: each gunicorn thread keeps its connection between requests instead of
# opening one per request. A request's mission never leaks into the next one: the tenant
# middleware sets the mission on every request, which makes django-tenants send `SET
# search_path` again before the request's first query (tests/consulate/test_search_path.py).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
# Every mission is a subdomain of the portal host (<code>.<portal host>): all of them are HTTPS
# only, so HSTS covers them, and the portal may be submitted to the browsers' preload list.
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
# A shared cache (redis://...) makes allauth's rate limits and used-TOTP-code memory hold across
# every gunicorn worker and host; the per-process default only suits a single process.
CACHES = {"default": cache_of_url(env.cache_url("CACHE_URL"))}
# Outgoing mail, e.g. smtp+tls://user:password@smtp.example.org:587
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
