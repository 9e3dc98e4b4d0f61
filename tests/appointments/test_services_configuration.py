"""Slot generation from the configuration: DST days, holidays, per-counter hours, counter
absences, scheduled release; reminders."""

import datetime as dt
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone

from appointments import services
from appointments.error_codes import AppointmentError
from appointments.models import ClosureKind, ReleaseMode, Slot
from appointments.services.reminders import booking_remind_due
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from tests.appointments.conftest import build_catalogue, first_free_slot, person, today_in_minutes
from tests.appointments.factories import booking_made_ahead

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def _local(slot):
    return slot.starts_at.astimezone(BERLIN)


def test_slots_on_the_berlin_dst_day_keep_their_local_times(in_mission_a):
    # given hours 09:00–12:00 every day, slots generated across the 2027 spring change
    service = build_catalogue(start=dt.date(2027, 3, 27), days=2, horizon_days=800)
    by_day = {}
    for slot in Slot.objects.filter(service=service).order_by("starts_at"):
        by_day.setdefault(_local(slot).date(), []).append(slot)
    # then each day has the same six local times, and the UTC times shift by an hour
    # (29 March 2027 is Easter Monday, closed)
    for day in (dt.date(2027, 3, 27), dt.date(2027, 3, 28)):
        assert [f"{_local(s):%H:%M}" for s in by_day[day]] == [
            "09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
        ]  # fmt: skip
    assert by_day[dt.date(2027, 3, 27)][0].starts_at.hour == 8  # CET, UTC+1
    assert by_day[dt.date(2027, 3, 28)][0].starts_at.hour == 7  # CEST, UTC+2


def test_host_holidays_and_national_days_have_no_slots(in_mission_a):
    service = build_catalogue(start=dt.date(2026, 12, 24), days=3)
    days = {_local(s).date() for s in Slot.objects.filter(service=service)}
    assert dt.date(2026, 12, 24) in days
    assert dt.date(2026, 12, 25) not in days  # Christmas (DE)
    assert dt.date(2026, 12, 26) not in days
    national = build_catalogue(code="notarial", counters=1, start=dt.date(2027, 10, 28), days=3)
    national_days = {_local(s).date() for s in Slot.objects.filter(service=national)}
    assert dt.date(2027, 10, 29) not in national_days  # a home national day
    assert dt.date(2027, 10, 28) in national_days


def test_generation_is_idempotent(in_mission_a):
    service = build_catalogue(days=5)
    before = Slot.objects.filter(service=service).count()
    services.slot_generate(service=service, days=5, acting_user=SYSTEM)
    assert Slot.objects.filter(service=service).count() == before


def test_a_counters_own_hours_and_absences_set_the_capacity(in_mission_a):
    # given two counters; counter 2 only opens 09:00–10:00 on the day's weekday
    day = dt.date(2027, 2, 3)
    service = build_catalogue(start=day, days=0)
    desk2 = service.counters.order_by("name")[1]
    services.opening_hours_set(
        weekday=day.weekday(), spans=[(dt.time(9), dt.time(10))], counter=desk2, acting_user=SYSTEM
    )
    services.service_update(service=service, horizon_days=800, acting_user=SYSTEM)
    services.slot_generate(service=service, start=day, days=2, acting_user=SYSTEM)
    capacity = {f"{_local(s):%H:%M}": s.capacity for s in Slot.objects.filter(service=service)
                if _local(s).date() == day}  # fmt: skip
    assert capacity["09:00"] == 2
    assert capacity["09:30"] == 2
    assert capacity["10:00"] == 1
    # when counter 1 is absent the next day, that day's slots lose a place
    next_day = day + dt.timedelta(days=1)
    services.closure_create(
        date=next_day, kind=ClosureKind.COUNTER_ABSENCE, reason="Leave",
        counter=service.counters.order_by("name")[0], acting_user=SYSTEM,
    )  # fmt: skip
    next_capacity = {s.capacity for s in Slot.objects.filter(service=service)
                     if _local(s).date() == next_day}  # fmt: skip
    assert next_capacity == {1}


def test_a_scheduled_slot_is_not_bookable_before_its_release(in_mission_a, citizen):
    service = build_catalogue(release_mode=ReleaseMode.SCHEDULED, days=20, min_notice_hours=0)
    services.service_update(service=service, release_lead_days=3, acting_user=SYSTEM)
    late = Slot.objects.filter(
        service=service, starts_at__gt=timezone.now() + dt.timedelta(days=10)
    ).first()
    # slots made with the default 14-day lead: make this one's release lie ahead
    Slot.objects.filter(pk=late.pk).update(bookable_from=timezone.now() + dt.timedelta(days=1))
    with pytest.raises(ApplicationError) as error:
        services.booking_create(
            slot_id=late.pk, service=service, persons=[person()], user=citizen, language="en",
            acting_user=citizen,
        )  # fmt: skip
    assert error.value.code == AppointmentError.SLOT_NOT_RELEASED
    from appointments.selectors import slot_list_available

    assert late.pk not in {s.pk for s in slot_list_available(service=service)}


def test_queue_tickets_count_up_through_the_day(catalogue, citizen, officer_a):
    from tests.factories import UserFactory

    tickets = []
    for n in range(3):
        user = UserFactory()
        booking = services.booking_create(
            slot_id=first_free_slot(catalogue, skip=n).pk, service=catalogue,
            persons=[person(f"Q{n:07d}")], user=user, language="en", acting_user=user,
        )  # fmt: skip
        starts_at = today_in_minutes(n + 1, BERLIN)
        Slot.objects.filter(pk=booking.slot_id).update(
            starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30)
        )
        booking.refresh_from_db()
        tickets.append(
            services.booking_check_in(booking=booking, acting_user=officer_a).queue_number
        )
    assert tickets == [1, 2, 3]
    called = services.booking_call_next(acting_user=officer_a)
    assert called.queue_number == 1


def test_reminders_go_once_in_the_persons_language(catalogue, citizen):
    # given a booking made two days before its time
    booking = services.booking_create(
        slot_id=first_free_slot(catalogue, skip=2).pk, service=catalogue, persons=[person()],
        user=citizen, language="tr", acting_user=citizen,
    )  # fmt: skip
    booking_made_ahead(booking)
    # when the reminders run three hours before it, twice
    now = booking.slot.starts_at - dt.timedelta(hours=3)
    assert booking_remind_due(now=now) == 1
    assert booking_remind_due(now=now) == 0
    # then one reminder went, to the person
    (message,) = mail.outbox
    assert booking.reference in message.subject
    assert message.to == [citizen.email]
    assert "/appointments/cancel/" in message.body


@pytest.mark.parametrize(
    "spans",
    [
        [(dt.time(0), dt.time(23, 59)), (dt.time(0), dt.time(23, 59))],
        [(dt.time(9), dt.time(13)), (dt.time(12), dt.time(16))],
        [(dt.time(14), dt.time(18)), (dt.time(9), dt.time(14, 30))],
    ],
)
def test_opening_hours_that_overlap_are_refused_and_change_nothing(in_mission_a, spans):
    # given a weekday's hours
    services.opening_hours_set(weekday=2, spans=[(dt.time(9), dt.time(13))], acting_user=SYSTEM)
    # when an admin types the same time twice, or two spans that overlap
    with pytest.raises(ApplicationError) as refused:
        services.opening_hours_set(weekday=2, spans=spans, acting_user=SYSTEM)
    # then they are told which ones, and the hours stay as they were
    assert refused.value.code == AppointmentError.INVALID
    assert "overlap" in str(refused.value.message)
    from appointments.models import OpeningHours

    assert list(
        OpeningHours.objects.filter(weekday=2, counter=None).values_list("opens", "closes")
    ) == [(dt.time(9), dt.time(13))]


def test_hours_that_only_touch_are_two_spans(in_mission_a):
    rows = services.opening_hours_set(
        weekday=3, spans=[(dt.time(9), dt.time(12)), (dt.time(12), dt.time(15))],
        acting_user=SYSTEM,
    )  # fmt: skip
    assert len(rows) == 2
