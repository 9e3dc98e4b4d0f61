"""Settings of the booking benchmark's web server (bench/booking.py): the development settings
with DEBUG off, rate limits out of the way (every client comes from 127.0.0.1) and a broker that
drops the confirmation e-mail tasks instead of queueing them for the developer's worker."""

from consulate.settings.local import *  # noqa: F403

DEBUG = False
APPOINTMENTS_RATE_LIMITS = {action: (10**9, 60) for action in ("book", "cancel", "lottery", "read")}
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
