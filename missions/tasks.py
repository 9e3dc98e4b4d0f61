"""Celery tasks of the missions app: thin, each calls a service."""

from __future__ import annotations

from celery import shared_task


@shared_task
def sync_silence_alert() -> list[str]:
    """At HQ (beat runs it in the public schema): e-mail HQ admins about missions silent longer
    than `SYNC_SILENCE_ALERT_MINUTES`, once per silence."""
    from .services.sync import sync_silence_alert as alert

    return alert()


@shared_task
def monitoring_digest() -> int:
    """At HQ: the day's digest of alerts to HQ analysts and admins, once per HQ date, from
    `MONITORING_DIGEST_HOUR` on (missions/services/monitoring.py). Returns the e-mails sent."""
    from .services.monitoring import monitoring_digest_send

    return monitoring_digest_send()
