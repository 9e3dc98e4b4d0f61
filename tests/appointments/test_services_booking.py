"""Booking, cancelling and moving: the rules, and that bad input changes nothing."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from appointments import services
from appointments.error_codes import AppointmentError
from appointments.events import AppointmentTopic
from appointments.models import Booking, BookingPerson, BookingStatus, ClosureKind, Slot
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError, CommonError
from missions.selectors import current_mission
from sync.models import OutboxEvent
from tests.appointments.conftest import build_catalogue, first_free_slot, person


def _book(service, user, slot=None, persons=None):
    slot = slot or first_free_slot(service)
    return services.booking_create(
        slot_id=slot.pk, service=service, persons=persons or [person()], user=user,
        language="en", acting_user=user,
    )  # fmt: skip


def _snapshot():
    return (
        Booking.objects.count(),
        BookingPerson.objects.count(),
        list(Slot.objects.order_by("pk").values_list("booked", flat=True)),
        OutboxEvent.objects.count(),
    )


def test_booking_takes_a_place_and_records_history_and_event(catalogue, citizen):
    # given a free slot
    slot = first_free_slot(catalogue)
    # when a citizen books it
    booking = _book(catalogue, citizen, slot)
    # then the slot holds one booking, with its history and outbox event
    slot.refresh_from_db()
    assert slot.booked == 1
    assert booking.status == BookingStatus.ACTIVE
    assert booking.history.count() == 1
    event = OutboxEvent.objects.filter(topic=AppointmentTopic.BOOKING_CREATED).latest("seq")
    assert event.aggregate_id == str(booking.pk)
    assert event.payload["reference"] == booking.reference
    assert "U1234567" not in str(event.payload)
    assert "Ada" not in str(event.payload)


def test_the_document_number_is_encrypted_and_blind_indexed(catalogue, citizen):
    booking = _book(catalogue, citizen)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT document_number, full_name FROM appointments_bookingperson WHERE booking_id=%s",
            [booking.pk],
        )
        number, name = cursor.fetchone()
    assert b"U1234567" not in bytes(number)
    assert b"Ada" not in bytes(name)
    assert BookingPerson.objects.filter(document_index__matches="u 123-4567").exists()


def test_one_document_holds_one_active_booking_per_service(catalogue, citizen):
    from tests.factories import UserFactory

    # given a booking for passport U1234567
    _book(catalogue, citizen)
    before = _snapshot()
    other_account = UserFactory()
    # when another account books with the same number, written differently
    with pytest.raises(ApplicationError) as error:
        _book(catalogue, other_account, first_free_slot(catalogue, skip=3), [person("u123 4567")])
    # then it is refused and nothing changed
    assert error.value.code == AppointmentError.ALREADY_BOOKED
    assert _snapshot() == before


def test_the_database_refuses_a_second_active_booking_for_a_document(catalogue, citizen):
    from django.db import IntegrityError, transaction

    booking = _book(catalogue, citizen)
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingPerson.objects.create(
            booking=booking, service=catalogue, full_name="X", date_of_birth=dt.date(1990, 1, 1),
            document_number="U1234567",
        )  # fmt: skip


def test_a_group_booking_takes_one_place_for_the_family(catalogue, citizen):
    booking = _book(
        catalogue, citizen, persons=[person("P0000001", "Ana"), person("P0000002", "Bo")]
    )
    assert booking.persons.count() == 2
    assert Slot.objects.get(pk=booking.slot_id).booked == 1


@pytest.mark.parametrize(
    ("persons", "code"),
    [
        ([person("12")], AppointmentError.DOCUMENT_INVALID),
        ([person("U12345678901234567890X")], AppointmentError.DOCUMENT_INVALID),
        ([person("U123$567")], AppointmentError.DOCUMENT_INVALID),
        ([person(f"P000000{n}") for n in range(4)], AppointmentError.TOO_MANY_PERSONS),
        ([person("P0000001"), person("P000 0001")], AppointmentError.ALREADY_BOOKED),
        ([person(name="  ")], AppointmentError.INVALID),
    ],
)
def test_bad_people_are_refused_and_change_nothing(catalogue, citizen, persons, code):
    before = _snapshot()
    with pytest.raises(ApplicationError) as error:
        _book(catalogue, citizen, persons=persons)
    assert error.value.code == code
    assert str(error.value.message)
    assert _snapshot() == before


def test_a_time_in_the_past_is_refused(catalogue, citizen):
    slot = first_free_slot(catalogue)
    before = _snapshot()
    with pytest.raises(ApplicationError) as error:
        services.booking_create(
            slot_id=slot.pk, service=catalogue, persons=[person()], user=citizen, language="en",
            acting_user=citizen, now=slot.starts_at + dt.timedelta(minutes=1),
        )  # fmt: skip
    assert error.value.code == AppointmentError.SLOT_IN_PAST
    assert _snapshot() == before


def test_a_time_beyond_the_horizon_is_refused(catalogue, citizen):
    # given the horizon shortened to 2 days after the slots were made
    services.service_update(service=catalogue, horizon_days=2, acting_user=SYSTEM)
    late = Slot.objects.filter(
        service=catalogue, starts_at__gt=timezone.now() + dt.timedelta(days=5)
    ).first()
    before = _snapshot()
    with pytest.raises(ApplicationError) as error:
        _book(catalogue, citizen, late)
    assert error.value.code == AppointmentError.SLOT_BEYOND_HORIZON
    assert _snapshot() == before


def test_a_closed_day_is_refused(catalogue, citizen):
    import zoneinfo

    slot = first_free_slot(catalogue, skip=12)
    day = slot.starts_at.astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).date()
    services.closure_create(
        date=day, kind=ClosureKind.AD_HOC, reason="Staff training", acting_user=SYSTEM
    )
    before = _snapshot()
    with pytest.raises(ApplicationError) as error:
        _book(catalogue, citizen, slot)
    assert error.value.code == AppointmentError.DAY_CLOSED
    assert _snapshot() == before
    # and the calendar no longer offers that day
    from appointments.selectors import slot_list_available

    assert slot.pk not in {s.pk for s in slot_list_available(service=catalogue)}


def test_a_full_slot_is_refused(in_mission_a, citizen):
    from tests.factories import UserFactory

    service = build_catalogue(counters=1)
    slot = first_free_slot(service)
    _book(service, citizen, slot)
    before = _snapshot()
    with pytest.raises(ApplicationError) as error:
        _book(service, UserFactory(), slot, [person("Z9999999")])
    assert error.value.code == AppointmentError.SLOT_FULL
    assert _snapshot() == before


def test_a_service_the_mission_does_not_offer_is_refused(catalogue, citizen):
    slot = first_free_slot(catalogue)
    services.service_update(service=catalogue, is_active=False, acting_user=SYSTEM)
    before = _snapshot()
    with pytest.raises(ApplicationError) as error:
        _book(catalogue, citizen, slot)
    assert error.value.code == AppointmentError.SERVICE_NOT_OFFERED
    assert _snapshot() == before


def test_cancel_frees_the_place_at_once(catalogue, citizen):
    from tests.factories import UserFactory

    booking = _book(catalogue, citizen)
    # when it is cancelled
    services.booking_cancel(booking=booking, acting_user=citizen)
    # then the place is free and the same document may book again, even in the same slot
    slot = Slot.objects.get(pk=booking.slot_id)
    assert slot.booked == 0
    again = _book(catalogue, UserFactory(), slot)
    assert again.status == BookingStatus.ACTIVE
    assert OutboxEvent.objects.filter(
        topic=AppointmentTopic.BOOKING_CANCELLED,
        aggregate_id=str(booking.pk),
        payload__reference=booking.reference,
    ).exists()


def test_cancel_after_the_cutoff_is_refused(catalogue, citizen):
    booking = _book(catalogue, citizen)
    with pytest.raises(ApplicationError) as error:
        services.booking_cancel(
            booking=booking, acting_user=citizen,
            now=booking.slot.starts_at - dt.timedelta(hours=1),
        )  # fmt: skip
    assert error.value.code == AppointmentError.CUTOFF_PASSED
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


def test_moving_keeps_the_booking_and_its_reference_and_records_the_move(catalogue, citizen):
    # given a booking, its place taken
    booking = _book(catalogue, citizen)
    old_slot = booking.slot
    target = first_free_slot(catalogue, skip=8)
    events_before = OutboxEvent.objects.count()
    # when the person moves it to another time
    moved = services.booking_reschedule(booking=booking, slot_id=target.pk, acting_user=citizen)
    # then it is the same booking, with the same reference, cancel link and people, at the new time
    assert moved.pk == booking.pk
    moved.refresh_from_db()
    assert (moved.reference, moved.cancel_token) == (booking.reference, booking.cancel_token)
    assert moved.status == BookingStatus.ACTIVE
    assert moved.slot_id == target.pk
    assert moved.persons.get().document_number == "U1234567"
    assert Booking.objects.filter(user_id=citizen.pk).count() == 1
    # and the new place is taken, the old one free again
    assert Slot.objects.get(pk=old_slot.pk).booked == 0
    assert Slot.objects.get(pk=target.pk).booked == 1
    # and the history records the move from the old slot to the new one
    latest, previous = moved.history.all()[:2]
    assert (previous.slot_id, latest.slot_id) == (old_slot.pk, target.pk)
    assert latest.history_change_reason == "moved"
    assert latest.history_user_id == citizen.pk
    # and one event says so, with both starts
    (event,) = OutboxEvent.objects.order_by("seq")[events_before:]
    assert event.topic == AppointmentTopic.BOOKING_RESCHEDULED
    assert event.version == 2
    assert event.aggregate_id == str(booking.pk)
    assert event.payload == {
        "reference": booking.reference,
        "service": "passport",
        "previous_starts_at": old_slot.starts_at.isoformat(),
        "starts_at": target.starts_at.isoformat(),
        "by_mission": False,
    }


def test_a_moved_booking_is_checked_in_with_the_barcode_already_e_mailed(
    catalogue, citizen, officer_a
):
    # given a booking moved to a time later moved to today (the day sheet's day)
    booking = _book(catalogue, citizen)
    target = first_free_slot(catalogue, skip=6)
    services.booking_reschedule(booking=booking, slot_id=target.pk, acting_user=citizen)
    # (noon of the mission's today: "now + 5 minutes" is tomorrow there just before midnight)
    zone = current_mission().zone
    noon = dt.datetime.combine(timezone.now().astimezone(zone).date(), dt.time(12), tzinfo=zone)
    Slot.objects.filter(pk=target.pk).update(
        starts_at=noon, ends_at=noon + dt.timedelta(minutes=30)
    )
    # when the officer scans the reference of the first confirmation
    from appointments.selectors import booking_get_by_reference

    scanned = booking_get_by_reference(reference=booking.reference)
    checked_in = services.booking_check_in(booking=scanned, acting_user=officer_a)
    # then it is the moved booking, checked in
    assert (checked_in.pk, checked_in.status) == (booking.pk, BookingStatus.CHECKED_IN)


def test_moving_to_the_same_time_or_after_the_cutoff_changes_nothing(catalogue, citizen):
    booking = _book(catalogue, citizen)
    before = _snapshot()
    with pytest.raises(ApplicationError) as same:
        services.booking_reschedule(booking=booking, slot_id=booking.slot_id, acting_user=citizen)
    assert same.value.code == AppointmentError.INVALID
    with pytest.raises(ApplicationError) as late:
        services.booking_reschedule(
            booking=booking, slot_id=first_free_slot(catalogue, skip=6).pk, acting_user=citizen,
            now=booking.slot.starts_at - dt.timedelta(hours=1),
        )  # fmt: skip
    assert late.value.code == AppointmentError.CUTOFF_PASSED
    assert _snapshot() == before


def test_reschedule_to_a_full_slot_keeps_the_old_booking(in_mission_a, citizen):
    from tests.factories import UserFactory

    service = build_catalogue(counters=1)
    booking = _book(service, citizen)
    full = first_free_slot(service, skip=2)
    _book(service, UserFactory(), full, [person("Z9999999")])
    with pytest.raises(ApplicationError):
        services.booking_reschedule(booking=booking, slot_id=full.pk, acting_user=citizen)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert Slot.objects.get(pk=booking.slot_id).booked == 1


def test_somebody_elses_booking_cannot_be_moved(catalogue, citizen):
    from tests.factories import UserFactory

    booking = _book(catalogue, citizen)
    with pytest.raises(ApplicationError) as error:
        services.booking_reschedule(
            booking=booking,
            slot_id=first_free_slot(catalogue, skip=5).pk,
            acting_user=UserFactory(),
        )
    assert error.value.code == CommonError.NOT_FOUND


def test_emergency_closure_cancels_the_day_and_tells_everyone_in_their_language(
    catalogue, citizen, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    import zoneinfo

    from tests.factories import UserFactory

    # given two bookings on one day, one made in Turkish
    slot = first_free_slot(catalogue, skip=6)
    first = _book(catalogue, citizen, slot)
    turk = UserFactory()
    second = services.booking_create(
        slot_id=slot.pk, service=catalogue, persons=[person("T7654321")], user=turk,
        language="tr", acting_user=turk,
    )  # fmt: skip
    day = slot.starts_at.astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).date()
    # when the mission closes that day in an emergency
    with django_capture_on_commit_callbacks(execute=True):
        services.closure_create(
            date=day, kind=ClosureKind.EMERGENCY, reason="Strike", acting_user=SYSTEM
        )
    # then both are cancelled by the mission, and each person is told with a link to rebook
    for booking in (first, second):
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CANCELLED_BY_MISSION
    assert Slot.objects.get(pk=slot.pk).booked == 0
    assert len(mailoutbox) == 2
    by_address = {m.to[0]: m for m in mailoutbox}
    assert "/appointments/" in by_address[citizen.email].body
    assert by_address[turk.email].to == [turk.email]


def test_no_shows_block_new_bookings_with_the_reason(catalogue, citizen, officer_a):
    # given two bookings whose times have passed (moved into the past for the test)
    for n in range(2):
        booking = _book(
            catalogue, citizen, first_free_slot(catalogue, skip=n), [person(f"N000000{n}")]
        )
        Slot.objects.filter(pk=booking.slot_id).update(
            starts_at=timezone.now() - dt.timedelta(days=1 + n, hours=1),
            ends_at=timezone.now() - dt.timedelta(days=1 + n),
        )
        services.booking_mark_no_show(booking=booking, acting_user=officer_a)
    # when the citizen books again
    with pytest.raises(ApplicationError) as error:
        _book(catalogue, citizen, first_free_slot(catalogue, skip=4), [person("N0000009")])
    # then the rule blocks it and says until when
    assert error.value.code == AppointmentError.BLOCKED_NO_SHOWS
    assert "blocked until" in str(error.value.message)


def test_a_closure_leaves_people_already_checked_in_and_says_how_many(
    catalogue, officer_a, mission_a
):
    from appointments.events import AppointmentTopic
    from consulate.kernel.actors import SYSTEM
    from tests.appointments.factories import BookingFactory

    # given two bookings today: one still active, one checked in
    slot = first_free_slot(catalogue)
    active = BookingFactory(service=catalogue, slot=slot)
    arrived = BookingFactory(service=catalogue, slot=slot)
    Slot.objects.filter(pk=slot.pk).update(
        starts_at=timezone.now() + dt.timedelta(minutes=2),
        ends_at=timezone.now() + dt.timedelta(minutes=32),
    )
    slot.refresh_from_db()
    arrived = services.booking_check_in(booking=arrived, acting_user=officer_a)
    day = slot.starts_at.astimezone(mission_a.zone).date()
    # when the mission closes the day
    closure = services.closure_create(
        date=day, kind=ClosureKind.EMERGENCY, reason="Power cut", acting_user=SYSTEM
    )
    # then the active booking is cancelled by the mission, the checked-in one stays as it was
    active.refresh_from_db()
    arrived.refresh_from_db()
    assert active.status == BookingStatus.CANCELLED_BY_MISSION
    assert arrived.status == BookingStatus.CHECKED_IN
    # its place still counts, and nobody else can book that day
    slot.refresh_from_db()
    assert slot.booked == slot.capacity == 1
    assert first_free_slot(catalogue).starts_at.astimezone(mission_a.zone).date() != day
    # and the closure's event says one was left
    event = OutboxEvent.objects.get(topic=AppointmentTopic.CLOSURE_CREATED)
    assert event.aggregate_id == str(closure.pk)
    assert event.payload["cancelled_bookings"] == 1
    assert event.payload["checked_in_left"] == 1
    cancelled = OutboxEvent.objects.get(topic=AppointmentTopic.BOOKING_CANCELLED_BY_MISSION)
    assert cancelled.aggregate_id == str(active.pk)
    assert cancelled.payload["reference"] == active.reference


def test_a_served_booking_cannot_be_checked_in_again(catalogue, officer_a):
    from consulate.kernel.errors import CommonError
    from tests.appointments.factories import BookingFactory

    booking = BookingFactory(service=catalogue)
    Slot.objects.filter(pk=booking.slot_id).update(
        starts_at=timezone.now() + dt.timedelta(minutes=2),
        ends_at=timezone.now() + dt.timedelta(minutes=32),
    )
    booking.refresh_from_db()
    booking = services.booking_check_in(booking=booking, acting_user=officer_a)
    services.booking_mark_served(booking=booking, acting_user=officer_a)
    before = _snapshot()
    with pytest.raises(ApplicationError) as error:
        services.booking_check_in(booking=booking, acting_user=officer_a)
    assert error.value.code == CommonError.BAD_TRANSITION
    assert _snapshot() == before


def test_every_booking_event_names_the_row_and_carries_the_reference(catalogue, citizen):
    booking = _book(catalogue, citizen)
    moved = services.booking_reschedule(
        booking=booking, slot_id=first_free_slot(catalogue, skip=4).pk, acting_user=citizen
    )
    services.booking_cancel(booking=moved, acting_user=citizen)
    events = OutboxEvent.objects.filter(topic__startswith="appointments.booking.").order_by("seq")
    assert [(e.topic, e.aggregate_type) for e in events] == [
        ("appointments.booking.created", "booking"),
        ("appointments.booking.rescheduled", "booking"),
        ("appointments.booking.cancelled", "booking"),
    ]
    assert {e.aggregate_id for e in events} == {str(booking.pk)}
    assert {e.payload["reference"] for e in events} == {booking.reference}


def test_a_citizen_cannot_cancel_somebody_elses_booking(catalogue, citizen):
    from consulate.kernel.errors import CommonError
    from tests.factories import UserFactory

    booking = _book(catalogue, citizen)
    before = _snapshot()
    with pytest.raises(ApplicationError) as error:
        services.booking_cancel(booking=booking, acting_user=UserFactory())
    assert error.value.code == CommonError.NOT_FOUND
    assert _snapshot() == before
