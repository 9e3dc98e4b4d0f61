"""HQ monitoring's daily digest of alerts (docs/monitoring.md, "Alerts").

The platform's own work (beat runs `missions.tasks.monitoring_digest` every half hour at HQ):
from `MONITORING_DIGEST_HOUR` of HQ's day on, the first run of the day records the day's
`AlertDigest` (its unique date is the lock, so two runs at once send one digest) and, after
the commit, e-mails every active HQ analyst and admin the alerts of every open mission, in
their own language, times in HQ's zone with the zone named. A day without alerts is recorded
and sends nothing."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from consulate.kernel.accounts.models import User
from consulate.kernel.tenancy import absolute_url

from ..models import AlertDigest
from ..selectors import mission_hq
from ..selectors_monitoring import alerts_for_digest

logger = logging.getLogger(__name__)


def monitoring_digest_send(*, now: dt.datetime | None = None) -> int:
    """Send today's digest if it is due and not sent yet; return the e-mails sent."""
    now = now or timezone.now()
    zone = mission_hq().zone
    local = now.astimezone(zone)
    if local.hour < settings.MONITORING_DIGEST_HOUR:
        return 0
    if AlertDigest.objects.filter(day=local.date()).exists():
        return 0
    recipients = list(
        User.objects.filter(hq_role__in=["analyst", "admin"], is_active=True)
        .exclude(email="")
        .order_by("pk")
    )
    # read in English for the count only; each reader's copy is rendered in their language
    grouped = alerts_for_digest(now=now)
    count = sum(len(alerts) for _, alerts in grouped)
    try:
        with transaction.atomic():
            AlertDigest.objects.create(
                day=local.date(),
                sent_at=now,
                alerts=count,
                recipients=len(recipients) if count else 0,
            )
    except IntegrityError:  # another run recorded today's digest first
        return 0
    if not count:
        return 0
    sent = 0
    for user in recipients:
        language = user.preferred_language or settings.LANGUAGE_CODE
        with translation.override(language), timezone.override(zone):
            # the alerts' messages are composed in the reader's language
            context: dict[str, Any] = {
                "groups": alerts_for_digest(now=now),
                "day": local.date(),
                "now": now,
                "zone": zone.key,
                "dashboard": absolute_url(settings.PORTAL_HOST, "/hq/"),
            }
            subject = render_to_string("missions/email/monitoring_digest_subject.txt", context)
            body = render_to_string("missions/email/monitoring_digest.txt", context)
        try:
            EmailMessage(subject=" ".join(subject.split()), body=body, to=[user.email]).send()
            sent += 1
        except Exception:  # one unreachable mailbox must not stop the others
            logger.exception("monitoring digest to %s failed", user.pk)
    return sent
