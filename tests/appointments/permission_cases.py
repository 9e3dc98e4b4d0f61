"""The appointments app's staff services for the permission-table walk
(tests/missions/test_permission_table.py; format in tests/permission_table.py).

`prepare` builds, as SYSTEM through the real services, what each call needs at the mission;
`call` makes the call as the actor. The mission admin's settings are APPOINTMENTS_SETTINGS_CHANGE;
the counter's verbs are BOOKING_PROCESS."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from appointments import selectors, services
from appointments.models import Booking, ClosureKind, ReleaseMode, Slot
from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from missions.permissions import Action
from missions.selectors import current_mission
from tests.appointments.factories import (
    BookingFactory,
    CounterFactory,
    build_catalogue,
    hours_dropped,
)
from tests.permission_table import PermissionCase

SETTINGS = Action.APPOINTMENTS_SETTINGS_CHANGE
PROCESS = Action.BOOKING_PROCESS


def _catalogue(mission: Mission) -> Any:
    return build_catalogue(counters=1, days=2, horizon_days=3, min_notice_hours=0)


def _lottery_service(mission: Mission) -> Any:
    return build_catalogue(
        counters=1, days=1, horizon_days=30, code="visa", release_mode=ReleaseMode.LOTTERY
    )


def _booking_at(starts_in: dt.timedelta) -> Booking:
    """An active booking whose time is moved to now + `starts_in` (today, or already begun)."""
    booking = BookingFactory(service=build_catalogue(counters=1, days=2, min_notice_hours=0))
    starts_at = timezone.now() + starts_in
    Slot.objects.filter(pk=booking.slot_id).update(
        starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30)
    )
    booking.refresh_from_db()
    return booking


def _booking_today(mission: Mission) -> Booking:
    return _booking_at(dt.timedelta(minutes=2))


def _booking_begun(mission: Mission) -> Booking:
    return _booking_at(-dt.timedelta(minutes=10))


def _booking_checked_in(mission: Mission) -> Booking:
    return services.booking_check_in(booking=_booking_today(mission), acting_user=SYSTEM)


def _booking_and_free_slot(mission: Mission) -> tuple[Booking, Slot]:
    """An active booking tomorrow or later, its time left outside the opening hours (the one kind
    the mission moves), and another free time of its service."""
    booking = hours_dropped(
        BookingFactory(service=build_catalogue(counters=1, days=3, min_notice_hours=0))
    )
    return booking, selectors.slot_list_available(service=booking.service)[1]


def _day_with_someone_checked_in(mission: Mission) -> dt.date:
    booking = _booking_checked_in(mission)
    return booking.slot.starts_at.astimezone(mission.zone).date()


def _lottery_round(actor: Any, service: Any) -> Any:
    now = timezone.now()
    start = (now + dt.timedelta(days=10)).date()
    return services.lottery_round_create(
        service=service,
        period_start=start,
        period_end=start,
        window_opens_at=now - dt.timedelta(hours=1),
        window_closes_at=now + dt.timedelta(hours=1),
        acting_user=actor,
    )


CASES = [
    # the settings page's read
    PermissionCase(
        "settings_overview",
        Action.APPOINTMENTS_SETTINGS_VIEW,
        prepare=_catalogue,
        call=lambda actor, _: selectors.settings_overview(
            mission=current_mission(), acting_user=actor
        ),
    ),
    # the day sheet's read: it shows the names of the day's people
    PermissionCase(
        "day_sheet",
        Action.DAY_SHEET_VIEW,
        prepare=_day_with_someone_checked_in,
        call=lambda actor, day: selectors.day_sheet(
            mission=current_mission(), day=day, acting_user=actor
        ),
    ),
    PermissionCase(
        "counter_create",
        SETTINGS,
        prepare=lambda mission: None,
        call=lambda actor, _: services.counter_create(name="Probe desk", acting_user=actor),
    ),
    PermissionCase(
        "service_create",
        SETTINGS,
        prepare=lambda mission: CounterFactory(),
        call=lambda actor, counter: services.service_create(
            code="probe", name="Probe", counters=[counter], acting_user=actor
        ),
    ),
    PermissionCase(
        "service_update",
        SETTINGS,
        prepare=_catalogue,
        call=lambda actor, service: services.service_update(
            service=service, name_en="Renamed", name_tr="Yeni ad", acting_user=actor
        ),
    ),
    PermissionCase(
        "opening_hours_set",
        SETTINGS,
        prepare=lambda mission: None,
        call=lambda actor, _: services.opening_hours_set(
            weekday=2, spans=[(dt.time(9), dt.time(10))], acting_user=actor
        ),
    ),
    PermissionCase(
        "mission_rules_update",
        SETTINGS,
        prepare=lambda mission: None,
        call=lambda actor, _: services.mission_rules_update(no_show_limit=3, acting_user=actor),
    ),
    PermissionCase(
        "closure_create",
        SETTINGS,
        prepare=_day_with_someone_checked_in,
        call=lambda actor, day: services.closure_create(
            date=day,
            kind=ClosureKind.AD_HOC,
            reason="Probe",
            acting_user=actor,
        ),
    ),
    PermissionCase(
        "slot_generate",
        SETTINGS,
        prepare=_catalogue,
        call=lambda actor, service: services.slot_generate(
            service=service, days=4, acting_user=actor
        ),
    ),
    PermissionCase(
        "slot_generate_all",
        SETTINGS,
        prepare=_catalogue,
        call=lambda actor, _: services.slot_generate_all(acting_user=actor),
    ),
    PermissionCase(
        "lottery_round_create",
        SETTINGS,
        prepare=_lottery_service,
        call=_lottery_round,
    ),
    # the mission's own move and cancel of a booking it cannot keep (outside new opening hours)
    PermissionCase(
        "booking_move_by_mission",
        SETTINGS,
        prepare=_booking_and_free_slot,
        call=lambda actor, state: services.booking_move_by_mission(
            booking=state[0], slot_id=state[1].pk, acting_user=actor
        ),
    ),
    PermissionCase(
        "booking_cancel_by_mission",
        SETTINGS,
        prepare=lambda mission: hours_dropped(
            BookingFactory(service=build_catalogue(counters=1, days=3, min_notice_hours=0))
        ),
        call=lambda actor, booking: services.booking_cancel_by_mission(
            booking=booking, acting_user=actor
        ),
    ),
    PermissionCase(
        "booking_check_in",
        PROCESS,
        prepare=_booking_today,
        call=lambda actor, booking: services.booking_check_in(booking=booking, acting_user=actor),
    ),
    PermissionCase(
        "booking_call_next",
        PROCESS,
        prepare=_booking_checked_in,
        call=lambda actor, _: services.booking_call_next(acting_user=actor),
    ),
    PermissionCase(
        "booking_mark_served",
        PROCESS,
        prepare=_booking_checked_in,
        call=lambda actor, booking: services.booking_mark_served(
            booking=booking, acting_user=actor
        ),
    ),
    PermissionCase(
        "booking_mark_no_show",
        PROCESS,
        prepare=_booking_begun,
        call=lambda actor, booking: services.booking_mark_no_show(
            booking=booking, acting_user=actor
        ),
    ),
]
