"""Settings of the benchmarks' web server (bench/booking.py, bench/release_rush.py) and of
their set-up, the single place the server's configuration comes from: the development settings
with DEBUG off, a broker that drops the tasks (the nudges of the confirmation sweep, so the
bookings' confirmations stay due in the benchmark's database) instead of queueing them for the
developer's worker, and CACHE_URL when given (e.g. redis://127.0.0.1:6379/9; production
requires one).

Rate limits: every benchmark client comes from 127.0.0.1, so the per-address budget would stop
them; it is lifted for loopback only. The per-account budget keeps its default: the benchmarks
spread their requests over enough accounts, and check that one account is still refused."""

from consulate.kernel.cache import cache_of_url
from consulate.settings.base import env
from consulate.settings.local import *  # noqa: F403

DEBUG = False
# as in production (consulate/settings/production.py): each server thread keeps its connection
DATABASES["default"]["CONN_MAX_AGE"] = 600  # noqa: F405
APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES = ["127.0.0.1", "::1"]
if env("CACHE_URL", default=""):
    CACHES = {"default": cache_of_url(env.cache_url("CACHE_URL"))}
CELERY_BROKER_URL = "memory://"
AXES_ENABLED = False
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "ERROR"},
    # Refused bookings (a full slot) are answers, not errors worth a log line each.
    "loggers": {"django": {"level": "ERROR"}, "django.request": {"level": "ERROR"}},
}
