"""Mission configuration: counters, the service catalogue, opening hours, closures, and the
slots generated from them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from consulate.kernel.tenancy import task_queue_on_commit
from sync.services import outbox_event_record

from .. import calendar
from ..error_codes import AppointmentError
from ..models import (
    HOLDING,
    Booking,
    BookingStatus,
    Closure,
    ClosureKind,
    Counter,
    MissionRules,
    OpeningHours,
    ReleaseMode,
    Service,
    Slot,
)
from .common import current_mission, mission_zone

SERVICE_FIELDS = (
    "name", "duration_minutes", "buffer_minutes", "max_persons", "horizon_days",
    "min_notice_hours", "cancel_cutoff_hours", "release_mode", "release_lead_days",
    "release_time", "is_active",
)  # fmt: skip


def _full_clean(instance: Any, **kwargs: Any) -> None:
    try:
        instance.full_clean(**kwargs)
    except ValidationError as error:
        raise ApplicationError.from_validation_error(AppointmentError.INVALID, error) from error


def _event(topic: str, aggregate_type: str, aggregate_id: Any, payload: dict[str, Any], user: Any):  # type: ignore[no-untyped-def]
    outbox_event_record(
        topic=topic,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=payload,
        acting_user=user,
    )


def counter_create(*, name: str, acting_user: User | None) -> Counter:
    counter = Counter(name=name.strip())
    _full_clean(counter)
    with transaction.atomic():
        set_acting_user(counter, acting_user)
        counter.save()
        _event("counter.created", "counter", counter.pk, {"name": counter.name}, acting_user)
    return counter


def service_create(
    *, code: str, name: str, counters: list[Counter], acting_user: User | None, **rules: Any
) -> Service:
    """Add a service to the catalogue. `rules` are the Service fields (duration, horizon, …)."""
    unknown = set(rules) - set(SERVICE_FIELDS)
    if unknown:
        raise ApplicationError(AppointmentError.INVALID, _("Unknown service settings."))
    service = Service(code=code.strip().lower(), name=name.strip(), **rules)
    _full_clean(service)
    if not counters:
        raise ApplicationError(
            AppointmentError.INVALID, _("Name at least one counter."), field="counters"
        )
    with transaction.atomic():
        set_acting_user(service, acting_user)
        service.save()
        service.counters.set(counters)
        _event(
            "service.created",
            "service",
            service.code,
            {"code": service.code, "release_mode": service.release_mode},
            acting_user,
        )
    return service


def service_update(*, service: Service, acting_user: User | None, **changes: Any) -> Service:
    unknown = set(changes) - set(SERVICE_FIELDS)
    if unknown:
        raise ApplicationError(AppointmentError.INVALID, _("Unknown service settings."))
    for field, value in changes.items():
        setattr(service, field, value)
    _full_clean(service)
    with transaction.atomic():
        set_acting_user(service, acting_user)
        service.save(update_fields=[*changes, "updated_at"])
        _event(
            "service.updated",
            "service",
            service.code,
            {"fields": sorted(changes)},
            acting_user,
        )
    return service


def opening_hours_set(
    *,
    weekday: int,
    spans: list[tuple[dt.time, dt.time]],
    acting_user: User | None,
    counter: Counter | None = None,
) -> list[OpeningHours]:
    """Replace the opening hours of one weekday (mission-wide, or of one counter)."""
    rows = [OpeningHours(weekday=weekday, opens=o, closes=c, counter=counter) for o, c in spans]
    for row in rows:
        _full_clean(row)
        if row.opens >= row.closes:
            raise ApplicationError(
                AppointmentError.INVALID, _("Opening must come before closing."), field="opens"
            )
    with transaction.atomic():
        for old in OpeningHours.objects.filter(weekday=weekday, counter=counter):
            set_acting_user(old, acting_user)
            old.delete()
        for row in rows:
            set_acting_user(row, acting_user)
            row.save()
        _event(
            "opening_hours.set",
            "opening_hours",
            f"{weekday}:{counter.pk if counter else '*'}",
            {"weekday": weekday, "spans": [[f"{o:%H:%M}", f"{c:%H:%M}"] for o, c in spans]},
            acting_user,
        )
    return rows


def mission_rules_update(*, acting_user: User | None, **changes: Any) -> MissionRules:
    with transaction.atomic():
        rules = MissionRules.objects.select_for_update().first() or MissionRules()
        for field, value in changes.items():
            setattr(rules, field, value)
        _full_clean(rules)
        set_acting_user(rules, acting_user)
        rules.save()
        _event("mission_rules.updated", "mission_rules", rules.pk, dict(changes), acting_user)
    return rules


def closure_create(
    *,
    date: dt.date,
    kind: str,
    reason: str,
    acting_user: User | None,
    counter: Counter | None = None,
) -> Closure:
    """Close the mission (or, for a counter absence, one counter) on a day.

    A whole-day closure cancels that day's bookings (status `cancelled_by_mission`) and queues a
    message to each person, in their language, with a link to rebook; the day's slots keep no
    capacity. A counter absence takes one place from each slot of the services that counter
    serves, never below what is already booked.
    """
    closure = Closure(date=date, kind=kind, reason=reason.strip(), counter=counter)
    _full_clean(closure)
    mission = current_mission()
    start, end = calendar.local_day_bounds(date, mission_zone(mission))
    day_slots = Slot.objects.filter(starts_at__gte=start, starts_at__lt=end)
    cancelled: list[int] = []
    with transaction.atomic():
        set_acting_user(closure, acting_user)
        closure.save()
        if counter is not None:
            day_slots.filter(service__counters=counter).update(
                capacity=Greatest(F("booked"), F("capacity") - 1)
            )
        else:
            from .booking import _release_persons

            for booking in (
                Booking.objects.select_for_update()
                .filter(slot__in=day_slots, status__in=HOLDING)
                .order_by("pk")
            ):
                booking.status = BookingStatus.CANCELLED_BY_MISSION
                set_acting_user(booking, acting_user)
                booking.save(update_fields=["status", "updated_at"])
                _release_persons(booking=booking, acting_user=acting_user)
                _event(
                    "booking.cancelled_by_mission",
                    "booking",
                    booking.reference,
                    {"reference": booking.reference, "closure": closure.kind},
                    acting_user,
                )
                cancelled.append(booking.pk)
            day_slots.update(capacity=0, booked=0)
        _event(
            "closure.created",
            "closure",
            closure.pk,
            {"date": date.isoformat(), "kind": kind, "cancelled_bookings": len(cancelled)},
            acting_user,
        )
        if cancelled:
            from ..tasks import send_cancelled_by_mission

            for booking_id in cancelled:
                task_queue_on_commit(send_cancelled_by_mission, booking_id)
    return closure


def _closures_import(*, years: set[int], acting_user: User | None) -> None:
    """Host-country holidays and home national days as Closure rows (idempotent)."""
    mission = current_mission()
    wanted: dict[tuple[dt.date, str], str] = {}
    for day, name in calendar.host_holidays(
        country=mission.host_country, jurisdiction=mission.jurisdiction, years=years
    ).items():
        wanted[(day, ClosureKind.HOST_HOLIDAY)] = name
    for year in years:
        for day, name in calendar.national_days(year).items():
            wanted.setdefault((day, ClosureKind.NATIONAL_DAY), name)
    have = set(
        Closure.objects.filter(
            kind__in=[ClosureKind.HOST_HOLIDAY, ClosureKind.NATIONAL_DAY],
            date__year__in=years,
        ).values_list("date", "kind")
    )
    for (day, kind), name in wanted.items():
        if (day, kind) not in have:
            closure = Closure(date=day, kind=kind, reason=name[:200])
            set_acting_user(closure, acting_user)
            closure.save()


def slot_generate(
    *,
    service: Service,
    acting_user: User | None = None,
    start: dt.date | None = None,
    days: int | None = None,
) -> int:
    """Create the service's slots from `start` (the mission's today) over its horizon. Existing
    slots are left alone, so it runs as often as one likes. Returns the number of slot times
    offered to the database (existing ones are skipped by the unique constraint).

    Capacity of a slot = the counters serving the service that are open for its whole span and
    not absent that day. Closed days get no slots. The number of queries does not depend on the
    horizon."""
    mission = current_mission()
    zone = mission_zone(mission)
    start = start or timezone.now().astimezone(zone).date()
    days = service.horizon_days + 1 if days is None else days
    dates = [start + dt.timedelta(days=offset) for offset in range(days)]
    if not dates:
        return 0
    with transaction.atomic():
        _closures_import(years={d.year for d in dates}, acting_user=acting_user)
        closures = Closure.objects.filter(date__gte=dates[0], date__lte=dates[-1])
        closed = {c.date for c in closures if c.counter_id is None}
        absent: dict[dt.date, set[int]] = defaultdict(set)
        for closure in closures:
            if closure.counter_id is not None:
                absent[closure.date].add(closure.counter_id)
        counters = list(service.counters.filter(is_active=True).values_list("pk", flat=True))
        hours = list(OpeningHours.objects.all())
        mission_spans: dict[int, list[tuple[dt.time, dt.time]]] = defaultdict(list)
        counter_spans: dict[tuple[int, int], list[tuple[dt.time, dt.time]]] = defaultdict(list)
        for row in hours:
            if row.counter_id is None:
                mission_spans[row.weekday].append((row.opens, row.closes))
            else:
                counter_spans[(row.counter_id, row.weekday)].append((row.opens, row.closes))
        duration = dt.timedelta(minutes=service.duration_minutes)
        new: list[Slot] = []
        for day in dates:
            if day in closed:
                continue
            capacity: dict[tuple[dt.datetime, dt.datetime], int] = defaultdict(int)
            for counter in counters:
                if counter in absent[day]:
                    continue
                spans = counter_spans.get((counter, day.weekday())) or mission_spans.get(
                    day.weekday(), []
                )
                for times in calendar.slot_times(
                    day=day, spans=spans, duration=duration, step=service.step, zone=zone
                ):
                    capacity[times] += 1
            bookable_from = None
            if service.release_mode == ReleaseMode.SCHEDULED:
                bookable_from = calendar.local_to_utc(
                    day - dt.timedelta(days=service.release_lead_days), service.release_time, zone
                )
            for (starts_at, ends_at), places in sorted(capacity.items()):
                new.append(
                    Slot(
                        service=service,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        capacity=places,
                        bookable_from=bookable_from,
                    )
                )
        created = Slot.objects.bulk_create(new, ignore_conflicts=True, batch_size=2000)
    return len(created)
