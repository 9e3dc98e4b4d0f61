"""The availability report: what HQ knows of each service's free times (docs/sync.md,
"Registers").

HQ never reads a mission's schema, so a mission tells it, as an event, what its public
availability feed says of each offered service: the next bookable time, the next scheduled
release, when an open draw closes, how many places are free over the next 30 days, and the
service's name in each language (HQ's public wait-times page shows it). Beat reports hourly,
after extending the slots (`appointments.tasks.generate_slots`), and a change that removes free
times in bulk (a closure, opening hours, a service's rules) reports on commit
(`availability_report_nudge`); a service whose figures and
names did not change since its last report records nothing, so a quiet mission adds nothing
to its outbox; a service no longer offered is reported once more, as `offered: false`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from consulate.kernel.actors import SystemActor
from consulate.kernel.tenancy import task_nudge_on_commit
from missions.models import Mission
from sync.models import OutboxEvent
from sync.services import outbox_event_record

from ..events import AppointmentTopic
from ..models import Service, Slot
from ..selectors import availability_feed, service_list_offered

TOPIC = AppointmentTopic.SERVICE_AVAILABILITY_REPORTED
FREE_PLACES_DAYS = 30
# A change that removes free times in bulk reports at once; further ones within this many
# seconds share one run queued after it (`task_nudge_on_commit`).
NUDGE_SECONDS = 60


def _utc(text: str | None) -> str | None:
    moment = parse_datetime(text) if text else None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _free_places(now: dt.datetime) -> dict[int, int]:
    """Free places per service over the next FREE_PLACES_DAYS days (bookable now or later)."""
    return dict(
        Slot.objects.filter(
            starts_at__gt=now,
            starts_at__lte=now + dt.timedelta(days=FREE_PLACES_DAYS),
            booked__lt=F("capacity"),
        )
        .values("service")
        .annotate(places=Sum(F("capacity") - F("booked")))
        .values_list("service", "places")
    )


def service_names(service: Service) -> dict[str, str]:
    """The service's name in every language it has one in, for HQ's pages (which cannot read
    the mission's catalogue): {"en": "Passport", "tr": "Pasaport"}."""
    names = {}
    for language in settings.MODELTRANSLATION_LANGUAGES:
        name = getattr(service, f"name_{language}", None)
        if name:
            names[language] = name
    return names


def _last_reported() -> dict[str, dict[str, Any]]:
    """Each service's last reported payload (its aggregate id is the service's pk)."""
    rows = (
        OutboxEvent.objects.filter(topic=TOPIC.value)
        .order_by("aggregate_id", "-seq")
        .distinct("aggregate_id")
        .values_list("aggregate_id", "payload")
    )
    return dict(rows)


def availability_report_nudge() -> None:
    """After the current transaction commits, report the availability again soon: a closure,
    new opening hours or a service's changed rules remove (or add) free times in bulk, and HQ's
    wait times and dashboard showed a closed day's time as the next free one until the hourly
    report (a user trial). The hourly report stays what makes it certain."""
    from ..tasks import report_availability

    task_nudge_on_commit(report_availability, every=NUDGE_SECONDS)


def availability_report(
    *, mission: Mission, acting_user: SystemActor, now: dt.datetime | None = None
) -> int:
    """Record the availability of every offered service whose figures changed since its last
    report; returns how many were recorded. The platform's (beat), never a person's."""
    now = now or timezone.now()
    services = list(service_list_offered())
    feed = availability_feed(mission=mission, now=now, services=services)
    free = _free_places(now)
    with transaction.atomic():
        last = _last_reported()
        recorded = 0
        for service, row in zip(services, feed, strict=True):
            payload = {
                "service": service.code,
                "release_mode": service.release_mode,
                "next_bookable": _utc(row["next_bookable"]),
                "next_release": _utc(row["next_release"]),
                "lottery_closes": _utc(row["lottery_closes"]),
                "free_places_30d": int(free.get(service.pk, 0)),
                "names": service_names(service),
                "offered": True,
            }
            if last.get(str(service.pk)) == payload:
                continue
            outbox_event_record(
                topic=TOPIC, aggregate_id=service.pk, payload=payload, acting_user=acting_user
            )
            recorded += 1
        # a service reported before and no longer offered is said to be so, once, so that HQ
        # stops showing its last figures
        offered = {str(service.pk) for service in services}
        for pk, previous in sorted(last.items()):
            if pk in offered or previous.get("offered", True) is False:
                continue
            payload = {
                **previous,
                "next_bookable": None,
                "next_release": None,
                "lottery_closes": None,
                "free_places_30d": 0,
                "offered": False,
            }
            outbox_event_record(
                topic=TOPIC, aggregate_id=int(pk), payload=payload, acting_user=acting_user
            )
            recorded += 1
    return recorded
