"""Mission configuration: counters, the service catalogue, opening hours, the booking rules,
closures, and the slots generated from them.

Every service here is a staff service of the mission admin: it asks the permission table
(`Action.APPOINTMENTS_SETTINGS_CHANGE`) before anything else. Beat and the demo act as SYSTEM."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SystemActor
from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from consulate.kernel.tenancy import task_queue_on_commit
from missions.models import Mission
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.services import outbox_event_record

from .. import calendar, locks
from ..error_codes import AppointmentError
from ..events import AppointmentTopic
from ..full_slots import full_slot_forget_on_commit
from ..models import (
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
    WaitlistEntry,
)
from .availability import availability_report_nudge
from .places import booking_cancel_write

# A service's name has a value per language (appointments/translation.py): `name_en` (required)
# and `name_tr` (empty: English is shown). Services never set `name` itself, which would write
# the name of whatever language the request happens to be in.
NAME_FIELDS = ("name_en", "name_tr")
RULE_FIELDS = (
    "duration_minutes", "buffer_minutes", "max_persons", "horizon_days",
    "min_notice_hours", "cancel_cutoff_hours", "release_mode", "release_lead_days",
    "release_time", "is_active", "purpose",
)  # fmt: skip
SERVICE_FIELDS = NAME_FIELDS + RULE_FIELDS
RULES_FIELDS = ("no_show_limit", "no_show_window_days", "no_show_block_days")


def _settings_change_require(acting_user: User | SystemActor) -> Mission:
    mission = current_mission()
    permission_require(
        user=acting_user, mission=mission, action=Action.APPOINTMENTS_SETTINGS_CHANGE
    )
    return mission


def _full_clean(instance: Any, **kwargs: Any) -> None:
    try:
        instance.full_clean(**kwargs)
    except ValidationError as error:
        raise ApplicationError.from_validation_error(AppointmentError.INVALID, error) from error


def _known(changes: dict[str, Any], fields: tuple[str, ...]) -> None:
    if set(changes) - set(fields):
        raise ApplicationError(AppointmentError.INVALID, _("Unknown service settings."))


def counter_create(*, name: str, acting_user: User | SystemActor) -> Counter:
    _settings_change_require(acting_user)
    counter = Counter(name=name.strip())
    _full_clean(counter)
    with transaction.atomic():
        set_acting_user(counter, acting_user)
        counter.save()
        outbox_event_record(
            topic=AppointmentTopic.COUNTER_CREATED,
            aggregate_id=counter.pk,
            payload={"name": counter.name},
            acting_user=acting_user,
        )
    return counter


def _names_clean(changes: dict[str, Any]) -> None:
    """Trim the names given; an empty Turkish name is none (English is shown); English is
    required."""
    for field in NAME_FIELDS:
        if field in changes:
            changes[field] = (changes[field] or "").strip() or None
    if "name_en" in changes and not changes["name_en"]:
        raise ApplicationError(
            AppointmentError.INVALID, _("Enter the service's name in English."), field="name_en"
        )


def service_create(
    *,
    code: str,
    name: str,
    counters: list[Counter],
    acting_user: User | SystemActor,
    name_tr: str = "",
    **rules: Any,
) -> Service:
    """Add a service to the catalogue. `name` is its English name, `name_tr` its Turkish one
    (empty: English is shown); `rules` are the other Service fields (duration, horizon, …)."""
    _settings_change_require(acting_user)
    _known(rules, RULE_FIELDS)
    names = {"name_en": name, "name_tr": name_tr}
    _names_clean(names)
    service = Service(code=code.strip().lower(), **names, **rules)
    _full_clean(service)
    if not counters:
        raise ApplicationError(
            AppointmentError.INVALID, _("Name at least one counter."), field="counters"
        )
    with transaction.atomic():
        set_acting_user(service, acting_user)
        service.save()
        service.counters.set(counters)
        outbox_event_record(
            topic=AppointmentTopic.SERVICE_CREATED,
            aggregate_id=service.pk,
            payload={"code": service.code, "release_mode": service.release_mode},
            acting_user=acting_user,
        )
    return service


def service_update(*, service: Service, acting_user: User | SystemActor, **changes: Any) -> Service:
    _settings_change_require(acting_user)
    _known(changes, SERVICE_FIELDS)
    _names_clean(changes)
    for field, value in changes.items():
        setattr(service, field, value)
    _full_clean(service)
    with transaction.atomic():
        set_acting_user(service, acting_user)
        service.save(update_fields=[*changes, "updated_at"])
        outbox_event_record(
            topic=AppointmentTopic.SERVICE_UPDATED,
            aggregate_id=service.pk,
            payload={"code": service.code, "fields": sorted(changes)},
            acting_user=acting_user,
        )
        availability_report_nudge()  # offered or not, its horizon, notice, release
    return service


def opening_hours_set(
    *,
    weekday: int,
    spans: list[tuple[dt.time, dt.time]],
    acting_user: User | SystemActor,
    counter: Counter | None = None,
) -> list[OpeningHours]:
    """Replace the opening hours of one weekday (mission-wide, or of one counter): the old rows
    are deleted and the new ones written, each with its event, and in the same transaction the
    future slots of that weekday follow the new hours (`_slots_follow_hours`): no time of the
    old hours stays bookable, and bookings outside the new ones are listed on the settings
    page for the mission admin to move or cancel (`booking_move_by_mission`,
    `booking_cancel_by_mission`, which tell the person)."""
    mission = _settings_change_require(acting_user)
    rows = [OpeningHours(weekday=weekday, opens=o, closes=c, counter=counter) for o, c in spans]
    for row in rows:
        _full_clean(row)
        if row.opens >= row.closes:
            raise ApplicationError(
                AppointmentError.INVALID, _("Opening must come before closing."), field="opens"
            )
    ordered = sorted(rows, key=lambda row: row.opens)
    for before, after in itertools.pairwise(ordered):
        if after.opens < before.closes:
            raise ApplicationError(
                AppointmentError.INVALID,
                _("The times %(first)s and %(second)s overlap: give each time of day once.")
                % {
                    "first": f"{before.opens:%H:%M}–{before.closes:%H:%M}",
                    "second": f"{after.opens:%H:%M}–{after.closes:%H:%M}",
                },
                field="opens",
            )
    where = {"weekday": weekday, "counter": counter.pk if counter else None}
    with transaction.atomic():
        deleted = []
        for old in OpeningHours.objects.filter(weekday=weekday, counter=counter):
            deleted.append(old.pk)
            set_acting_user(old, acting_user)
            old.delete()
        for row in rows:
            set_acting_user(row, acting_user)
            row.save()
        # the slots (locked there) before the first event, which holds the outbox counter until
        # COMMIT (locks.py): a booking or a cancel holds its slot and then writes its event
        _slots_follow_hours(mission=mission, weekday=weekday, acting_user=acting_user)
        for pk in deleted:
            outbox_event_record(
                topic=AppointmentTopic.OPENING_HOURS_DELETED,
                aggregate_id=pk,
                payload=where,
                acting_user=acting_user,
            )
        for row in rows:
            outbox_event_record(
                topic=AppointmentTopic.OPENING_HOURS_SET,
                aggregate_id=row.pk,
                payload={**where, "opens": f"{row.opens:%H:%M}", "closes": f"{row.closes:%H:%M}"},
                acting_user=acting_user,
            )
        availability_report_nudge()
    return rows


def mission_rules_update(*, acting_user: User | SystemActor, **changes: Any) -> MissionRules:
    """Change the no-show rule (the mission's one MissionRules row, written on first use)."""
    _settings_change_require(acting_user)
    _known(changes, RULES_FIELDS)
    with transaction.atomic():
        existing = MissionRules.objects.values_list("pk", flat=True).first()
        rules = locks.mission_rules_lock(pk=existing) if existing else MissionRules()
        for field, value in changes.items():
            setattr(rules, field, value)
        _full_clean(rules)
        set_acting_user(rules, acting_user)
        rules.save()
        outbox_event_record(
            topic=AppointmentTopic.MISSION_RULES_UPDATED,
            aggregate_id=rules.pk,
            payload=dict(changes),
            acting_user=acting_user,
        )
    return rules


def closure_create(
    *,
    date: dt.date,
    kind: str,
    reason: str,
    acting_user: User | SystemActor,
    counter: Counter | None = None,
) -> Closure:
    """Close the mission (or, for a counter absence, one counter) on a day: today or a day
    ahead, in the mission's time zone. A day already over is refused (nothing it could close
    is left, and its bookings were served, missed or cancelled already).

    A whole-day closure cancels that day's active bookings still to come (`cancelled_by_mission`),
    frees their places and queues a message to each person, in their language, with a link to
    rebook; the day's slots take no new booking. Closing today (an emergency) cancels what
    remains of the day: an appointment whose time has started is left to the counter (the
    person may be at the desk; served or no-show), as are people already checked in, whom the
    workflow does not cancel; the event says how many checked in were left. A counter absence
    takes one place from each slot of the services that counter serves, never below what is
    already booked.
    """
    mission = _settings_change_require(acting_user)
    if date < mission.today():
        raise ApplicationError(
            AppointmentError.CLOSURE_DAY_PAST,
            _("This day is over at the mission. Choose today or a day ahead."),
            field="date",
        )
    closure = Closure(date=date, kind=kind, reason=reason.strip(), counter=counter)
    _full_clean(closure)
    start, end = calendar.local_day_bounds(date, mission.zone)
    now = timezone.now()
    day_slots = Slot.objects.filter(starts_at__gte=start, starts_at__lt=end)
    cancelled: list[int] = []
    checked_in_left = 0
    with transaction.atomic():
        set_acting_user(closure, acting_user)
        closure.save()
        if counter is not None:
            day_slots.filter(service__counters=counter).update(
                capacity=Greatest(F("booked"), F("capacity") - 1)
            )
        else:
            active = list(
                Booking.objects.filter(
                    slot__in=day_slots.filter(starts_at__gt=now), status=BookingStatus.ACTIVE
                )
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            # every booking, then every slot, before the first cancellation's event (locks.py:
            # bookings, slots, then the outbox counter), so that no later cancellation waits for
            # a row while this transaction holds the counter
            locks.bookings_lock(pks=active)
            locks.slots_lock(pks=list(day_slots.values_list("pk", flat=True)))
            for pk in active:
                booking = locks.booking_lock(pk=pk)
                if not booking.can_move_to(BookingStatus.CANCELLED_BY_MISSION):
                    continue  # moved on (checked in) since it was read
                booking_cancel_write(
                    booking=booking,
                    status=BookingStatus.CANCELLED_BY_MISSION,
                    topic=AppointmentTopic.BOOKING_CANCELLED_BY_MISSION,
                    payload={
                        "reference": booking.reference,
                        "closure": closure.pk,
                        "kind": closure.kind,
                    },
                    acting_user=acting_user,
                )
                cancelled.append(booking.pk)
            checked_in_left = Booking.objects.filter(
                slot__in=day_slots, status=BookingStatus.CHECKED_IN
            ).count()
            # No new booking that day; the places of people already there stay counted.
            day_slots.update(capacity=F("booked"))
        outbox_event_record(
            topic=AppointmentTopic.CLOSURE_CREATED,
            aggregate_id=closure.pk,
            payload={
                "date": date.isoformat(),
                "kind": kind,
                "counter": counter.pk if counter else None,
                "cancelled_bookings": len(cancelled),
                "checked_in_left": checked_in_left,
            },
            acting_user=acting_user,
        )
        from ..tasks import send_cancelled_by_mission

        for booking_id in cancelled:
            task_queue_on_commit(send_cancelled_by_mission, booking_id)
        availability_report_nudge()
    return closure


def _closures_import(*, mission: Mission, years: set[int], acting_user: User | SystemActor) -> None:
    """Host-country holidays and home national days as Closure rows (idempotent)."""
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


@dataclasses.dataclass(frozen=True)
class SlotPlan:
    """What the hours, counters and closures make of a service's days: the slots they give
    (unsaved) and the days closed to everyone (which have none)."""

    slots: list[Slot]
    closed: set[dt.date]


def _slot_plan(
    *, mission: Mission, service: Service, dates: list[dt.date], acting_user: User | SystemActor
) -> SlotPlan:
    """Inside the caller's transaction: the slots `dates` should have (a fixed number of
    queries, whatever the number of days). Imports the years' holidays as closures first."""
    zone = mission.zone
    if not dates:
        return SlotPlan([], set())
    _closures_import(mission=mission, years={d.year for d in dates}, acting_user=acting_user)
    closures = Closure.objects.filter(date__gte=min(dates), date__lte=max(dates))
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
    slots: list[Slot] = []
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
            slots.append(
                Slot(
                    service=service,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    capacity=places,
                    bookable_from=bookable_from,
                )
            )
    return SlotPlan(slots, closed)


def _slot_generate(
    *,
    mission: Mission,
    service: Service,
    acting_user: User | SystemActor,
    start: dt.date | None,
    days: int | None,
) -> int:
    start = start or mission.today()
    days = service.horizon_days + 1 if days is None else days
    dates = [start + dt.timedelta(days=offset) for offset in range(days)]
    if not dates:
        return 0
    with transaction.atomic():
        plan = _slot_plan(mission=mission, service=service, dates=dates, acting_user=acting_user)
        created = Slot.objects.bulk_create(plan.slots, ignore_conflicts=True, batch_size=2000)
    return len(created)


def _slots_follow_hours(
    *, mission: Mission, weekday: int, acting_user: User | SystemActor
) -> list[int]:
    """Inside the transaction that changed a weekday's opening hours: make every service's
    future slots of that weekday (over its horizon; closed days aside) what the hours give.

    A time the new hours keep keeps its slot (its capacity follows the counters, never below
    what is booked); a new time gets a slot; a time they drop is no longer bookable: its slot
    is deleted when nothing ever referred to it, and otherwise closed (`capacity = booked`,
    `outside_hours`), its bookings left for the mission admin to move or cancel (the settings
    page lists them). The slots are locked (pk order) first, so a concurrent booking either
    lands before (and is listed) or finds the time gone. Returns the ids of the active
    bookings left outside the hours."""
    now = timezone.now()
    today = mission.today()
    for service in Service.objects.order_by("pk"):
        dates = [
            today + dt.timedelta(days=offset)
            for offset in range(service.horizon_days + 1)
            if (today + dt.timedelta(days=offset)).weekday() == weekday
        ]
        if not dates:
            continue
        plan = _slot_plan(mission=mission, service=service, dates=dates, acting_user=acting_user)
        planned = {slot.starts_at: slot for slot in plan.slots}
        start = calendar.local_day_bounds(dates[0], mission.zone)[0]
        end = calendar.local_day_bounds(dates[-1], mission.zone)[1]
        existing = [
            slot
            for slot in Slot.objects.select_for_update()
            .filter(service=service, starts_at__gt=now, starts_at__gte=start, starts_at__lt=end)
            .order_by("pk")
            if slot.starts_at.astimezone(mission.zone).date() in dates
            and slot.starts_at.astimezone(mission.zone).date() not in plan.closed
        ]
        changed: list[Slot] = []
        dropped: list[int] = []
        for slot in existing:
            wanted = planned.pop(slot.starts_at, None)
            if wanted is not None:
                capacity = max(slot.booked, wanted.capacity)
                if (slot.capacity, slot.outside_hours) != (capacity, False):
                    slot.capacity, slot.outside_hours = capacity, False
                    changed.append(slot)
            elif (slot.capacity, slot.outside_hours) != (slot.booked, True):
                slot.capacity, slot.outside_hours = slot.booked, True
                changed.append(slot)
                if slot.booked == 0:
                    dropped.append(slot.pk)
        Slot.objects.bulk_update(changed, ["capacity", "outside_hours"], batch_size=2000)
        full_slot_forget_on_commit(slot_ids=[slot.pk for slot in changed])  # a desk more
        # Slots a booking or an offer ever named stay (closed), for the history's sake.
        Slot.objects.filter(pk__in=dropped).exclude(
            Exists(Booking.objects.filter(slot=OuterRef("pk")))
        ).exclude(Exists(WaitlistEntry.objects.filter(slot=OuterRef("pk")))).delete()
        if service.is_active:  # as the hourly generation: only offered services get new times
            Slot.objects.bulk_create(list(planned.values()), ignore_conflicts=True, batch_size=2000)
    return list(
        Booking.objects.filter(
            status=BookingStatus.ACTIVE, slot__outside_hours=True, slot__starts_at__gt=now
        ).values_list("pk", flat=True)
    )


def slot_generate(
    *,
    service: Service,
    acting_user: User | SystemActor,
    start: dt.date | None = None,
    days: int | None = None,
) -> int:
    """Create the service's slots from `start` (the mission's today) over its horizon. Existing
    slots are left alone, so it runs as often as one likes. Returns the number of slot times
    offered to the database (existing ones are skipped by the unique constraint).

    Capacity of a slot = the counters serving the service that are open for its whole span and
    not absent that day. Closed days get no slots. The number of queries does not depend on the
    horizon."""
    mission = _settings_change_require(acting_user)
    return _slot_generate(
        mission=mission, service=service, acting_user=acting_user, start=start, days=days
    )


def slot_generate_all(*, acting_user: User | SystemActor) -> int:
    """`slot_generate` for every offered service (the settings page's button; hourly beat)."""
    mission = _settings_change_require(acting_user)
    return sum(
        _slot_generate(
            mission=mission, service=service, acting_user=acting_user, start=None, days=None
        )
        for service in Service.objects.filter(is_active=True).order_by("pk")
    )
