"""What a passport or visa case's recorded visit does to its booking
(`services.booking_visit_record`, an internal step of the case's visit; the cases themselves are
tested in tests/passports/test_services_casework.py and tests/visas/test_casework.py): served on
its day, cancelled by the mission with its place given back when the person came before it, and
anything else left as it is. The day is the mission's (Berlin), read at an instant whose UTC
date is another."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from appointments import services
from appointments.events import AppointmentTopic
from appointments.models import Booking, BookingPerson, BookingStatus, Slot
from consulate.kernel.actors import SYSTEM
from sync.models import OutboxEvent
from tests.appointments.conftest import BERLIN, first_free_slot, person


def _book(service, user, slot=None) -> Booking:  # type: ignore[no-untyped-def]
    slot = slot or first_free_slot(service, skip=6)  # a day ahead or more
    return services.booking_create(
        slot_id=slot.pk, service=service, persons=[person()], user=user, language="en",
        acting_user=user,
    )  # fmt: skip


def _at(booking: Booking, clock: dt.time, *, days_before: int = 0) -> dt.datetime:
    """`clock` in Berlin on the booking's day (or that many days before it)."""
    day = booking.slot.starts_at.astimezone(BERLIN).date() - dt.timedelta(days=days_before)
    return dt.datetime.combine(day, clock, tzinfo=BERLIN)


def _visit(booking: Booking, at: dt.datetime, acting_user) -> Booking:  # type: ignore[no-untyped-def]
    with transaction.atomic():  # the case's transaction
        return services.booking_visit_record(
            booking_id=booking.pk, visited_at=at, acting_user=acting_user
        )


def _topics(booking: Booking) -> list[str]:
    events = OutboxEvent.objects.filter(aggregate_type="booking", aggregate_id=str(booking.pk))
    return list(events.order_by("seq").values_list("topic", flat=True))


def _today(slot: Slot) -> None:
    """Move `slot` to noon of the mission's today, so that its booking may be checked in
    ("now + 2 minutes" is tomorrow there just before midnight)."""
    noon = dt.datetime.combine(timezone.now().astimezone(BERLIN).date(), dt.time(12), BERLIN)
    Slot.objects.filter(pk=slot.pk).update(starts_at=noon, ends_at=noon + dt.timedelta(minutes=30))


def test_a_visit_on_the_day_checks_the_booking_in_and_serves_it(catalogue, citizen, officer_a):
    # given a booking at 09:00 or later, Berlin time
    booking = _book(catalogue, citizen)
    # when the case records the visit at 00:30 that day in Berlin (the day before, in UTC)
    at = _at(booking, dt.time(0, 30))
    assert at.astimezone(dt.UTC).date() != at.date()
    served = _visit(booking, at, officer_a)
    # then it is checked in with the day's first ticket and served, each with its event
    served.refresh_from_db()
    assert served.status == BookingStatus.SERVED
    assert (served.queue_number, served.checked_in_at) == (1, at)
    assert _topics(booking) == [
        AppointmentTopic.BOOKING_CREATED,
        AppointmentTopic.BOOKING_CHECKED_IN,
        AppointmentTopic.BOOKING_SERVED,
    ]
    # with the officer in its history
    assert served.history.latest().history_user_id == officer_a.pk
    # its place stays used; its person may book the service again
    assert Slot.objects.get(pk=booking.slot_id).booked == 1
    assert not BookingPerson.objects.filter(booking=booking, is_holding=True).exists()


def test_a_booking_checked_in_at_the_counter_is_served(catalogue, citizen, officer_a):
    # given a booking of today, checked in at the counter
    booking = _book(catalogue, citizen)
    _today(booking.slot)
    booking = services.booking_check_in(booking=booking, acting_user=officer_a)
    # when the case records the visit
    served = _visit(booking, timezone.now(), officer_a)
    # then it is served, with its ticket
    assert (served.status, served.queue_number) == (BookingStatus.SERVED, booking.queue_number)
    assert _topics(booking).count(AppointmentTopic.BOOKING_CHECKED_IN) == 1
    assert _topics(booking)[-1] == AppointmentTopic.BOOKING_SERVED


def test_a_visit_before_the_day_cancels_the_booking_as_the_mission_and_frees_its_place(
    catalogue, citizen, officer_a
):
    # given a booking a day ahead or more
    booking = _book(catalogue, citizen)
    # when the case records the visit the evening before (the person came early)
    cancelled = _visit(booking, _at(booking, dt.time(18), days_before=1), officer_a)
    # then the mission cancelled it and its place is free again
    cancelled.refresh_from_db()
    assert cancelled.status == BookingStatus.CANCELLED_BY_MISSION
    assert Slot.objects.get(pk=booking.slot_id).booked == 0
    assert not BookingPerson.objects.filter(booking=booking, is_holding=True).exists()
    # with the mission's cancellation event, saying why, and the officer in its history
    event = OutboxEvent.objects.get(
        topic=AppointmentTopic.BOOKING_CANCELLED_BY_MISSION, aggregate_id=str(booking.pk)
    )
    assert event.payload == {
        "reference": booking.reference,
        "closure": None,
        "kind": "visit_recorded",
    }
    assert cancelled.history.latest().history_user_id == officer_a.pk


def _cancelled(booking: Booking, officer) -> Booking:  # type: ignore[no-untyped-def]
    return services.booking_cancel(booking=booking, acting_user=SYSTEM)


def _cancelled_by_mission(booking: Booking, officer) -> Booking:  # type: ignore[no-untyped-def]
    return services.booking_cancel_by_mission(booking=booking, acting_user=SYSTEM)


def _no_show(booking: Booking, officer) -> Booking:  # type: ignore[no-untyped-def]
    Slot.objects.filter(pk=booking.slot_id).update(
        starts_at=timezone.now() - dt.timedelta(hours=1),
        ends_at=timezone.now() - dt.timedelta(minutes=30),
    )
    return services.booking_mark_no_show(booking=booking, acting_user=officer)


def _served(booking: Booking, officer) -> Booking:  # type: ignore[no-untyped-def]
    _today(booking.slot)
    booking = services.booking_check_in(booking=booking, acting_user=officer)
    return services.booking_mark_served(booking=booking, acting_user=officer)


def _day_past(booking: Booking, officer) -> Booking:  # type: ignore[no-untyped-def]
    return booking  # still active; the visit below comes the day after


@pytest.mark.parametrize(
    "state",
    [_cancelled, _cancelled_by_mission, _no_show, _served, _day_past],
    ids=lambda state: state.__name__.strip("_"),
)
def test_a_booking_over_or_past_is_left_as_it_is(catalogue, citizen, officer_a, state):
    # given a booking cancelled, cancelled by the mission, missed, served, or of a day past
    booking = state(_book(catalogue, citizen), officer_a)
    booking.refresh_from_db()
    at = (
        _at(booking, dt.time(10), days_before=-1)
        if state is _day_past
        else booking.slot.starts_at + dt.timedelta(minutes=5)
    )
    before = (booking.status, Slot.objects.get(pk=booking.slot_id).booked, _topics(booking))
    # when the case records the visit
    _visit(booking, at, officer_a)
    # then nothing changes
    booking.refresh_from_db()
    assert (booking.status, Slot.objects.get(pk=booking.slot_id).booked, _topics(booking)) == before
