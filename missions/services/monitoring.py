"""HQ monitoring's daily digest of alerts (docs/monitoring.md, "Alerts").

The platform's own work (beat runs `missions.tasks.monitoring_digest` every half hour at HQ):
from `MONITORING_DIGEST_HOUR` of HQ's day on, the first run of the day records the day's
`AlertDigest` (its unique date is the lock, so two runs at once make one) with a delivery for
every active HQ analyst and admin; a day without alerts is recorded with none. Each delivery is
sent in its own transaction with its row locked (a run at the same time skips it) and marked
sent only once its e-mail went: one that failed is tried again by the next run of the day, up
to `DIGEST_ATTEMPTS` times. Each person's copy is in their language, the time in HQ's zone with
the zone named; the alerts are read once per language.

A mission on its own node sends no digest: HQ does (its HQ-role accounts there exist only to
log in).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from consulate.kernel.accounts.models import HqRole, User
from consulate.kernel.tenancy import absolute_url

from ..mail import plain_text_tidy
from ..models import AlertDigest, AlertDigestDelivery, Mission
from ..monitoring import Alert
from ..selectors import mission_hq
from ..selectors_monitoring import alert_list_for_digest

logger = logging.getLogger(__name__)

DIGEST_ATTEMPTS = 5


def _digest_make(day: dt.date, now: dt.datetime) -> AlertDigest | None:
    """Today's digest with its deliveries, made once; None when another run made it first."""
    count = sum(len(alerts) for _, alerts in alert_list_for_digest(now=now))
    recipients = User.objects.filter(
        hq_role__in=[HqRole.ANALYST, HqRole.ADMIN], is_active=True
    ).exclude(email="")
    try:
        with transaction.atomic():
            digest = AlertDigest.objects.create(day=day, alerts=count)
            if count:
                AlertDigestDelivery.objects.bulk_create(
                    [AlertDigestDelivery(digest=digest, user=user) for user in recipients]
                )
    except IntegrityError:
        return None
    return digest


def _copy_render(
    groups: list[tuple[Mission, list[Alert]]], *, day: dt.date, now: dt.datetime, zone: Any
) -> tuple[str, str]:
    context: dict[str, Any] = {
        "groups": groups,
        "day": day,
        "now": now,
        "zone": zone.key,
        "dashboard": absolute_url(settings.PORTAL_HOST, "/hq/"),
    }
    subject = render_to_string("missions/email/monitoring_digest_subject.txt", context)
    body = plain_text_tidy(render_to_string("missions/email/monitoring_digest.txt", context))
    return " ".join(subject.split()), body


def monitoring_digest_send(*, now: dt.datetime | None = None) -> int:
    """Make today's digest if it is due, and send the deliveries not sent yet; return the
    e-mails sent by this run."""
    if settings.SYNC_HQ_URL:  # a mission node: HQ sends the digest
        return 0
    now = now or timezone.now()
    zone = mission_hq().zone
    local = now.astimezone(zone)
    if local.hour < settings.MONITORING_DIGEST_HOUR:
        return 0
    digest = AlertDigest.objects.filter(day=local.date()).first() or _digest_make(local.date(), now)
    if digest is None:  # made by a run at the same time, which sends it
        return 0
    pending = list(
        AlertDigestDelivery.objects.filter(
            digest=digest, sent_at__isnull=True, attempts__lt=DIGEST_ATTEMPTS
        )
        .select_related("user")
        .order_by("pk")
    )
    copies: dict[str, tuple[str, str]] = {}  # per language, rendered once
    sent = 0
    for delivery in pending:
        language = delivery.user.preferred_language or settings.LANGUAGE_CODE
        if language not in copies:
            with translation.override(language), timezone.override(zone):
                # the alerts' messages are composed in the reader's language
                copies[language] = _copy_render(
                    alert_list_for_digest(now=now), day=local.date(), now=now, zone=zone
                )
        subject, body = copies[language]
        with transaction.atomic():
            row = (
                AlertDigestDelivery.objects.select_for_update(skip_locked=True)
                .filter(pk=delivery.pk, sent_at__isnull=True)
                .first()
            )
            if row is None:  # sent, or being sent, by another run
                continue
            row.attempts += 1
            try:
                EmailMessage(subject=subject, body=body, to=[delivery.user.email]).send()
            except Exception as error:  # one unreachable mailbox must not stop the others
                logger.exception("monitoring digest to %s failed", delivery.user_id)
                row.last_error = f"{type(error).__name__}: {error}"[:200]
            else:
                row.sent_at = timezone.now()
                row.last_error = ""
                sent += 1
            row.save(update_fields=["attempts", "sent_at", "last_error", "updated_at"])
    return sent
