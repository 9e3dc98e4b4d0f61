"""The waitlist: a freed place is held for the first person waiting for that day, who can take
it within the acceptance window; unanswered offers expire and move on."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from appointments import services
from appointments.error_codes import AppointmentError
from appointments.models import (
    BookingStatus,
    ConfirmationDue,
    Slot,
    WaitlistEntry,
    WaitlistStatus,
)
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError, CommonError
from tests.appointments.conftest import (
    build_catalogue,
    first_free_slot,
    lottery_round_entered,
    person,
)
from tests.factories import UserFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def _join(service, day, number, user=None):
    user = user or UserFactory()
    return services.waitlist_join(
        service=service, person=person(number), day_from=day, day_to=day, user=user,
        language="en", acting_user=user,
    )  # fmt: skip


def test_a_cancelled_place_is_held_for_the_first_person_waiting(full_day):
    service, day, bookings = full_day
    first = _join(service, day, "W0000001")
    _join(service, day, "W0000002")
    # when a booking of that day is cancelled
    services.booking_cancel(booking=bookings[0], acting_user=SYSTEM)
    # then the place is held (not free to anyone) and offered to the first in line
    first.refresh_from_db()
    assert first.status == WaitlistStatus.OFFERED
    assert first.slot_id == bookings[0].slot_id
    assert Slot.objects.get(pk=bookings[0].slot_id).booked == 1
    assert WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING).count() == 1


def test_a_place_freed_by_a_move_is_held_for_the_first_person_waiting(full_day):
    from consulate.kernel.accounts.models import User

    service, day, bookings = full_day
    entry = _join(service, day, "W0000001")
    # when a booking of that day moves to another day
    moving = bookings[0]
    services.booking_reschedule(
        booking=moving,
        slot_id=first_free_slot(service).pk,
        acting_user=User.objects.get(pk=moving.user_id),
    )
    # then its old place is held for the person waiting
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    assert entry.slot_id == moving.slot_id
    assert Slot.objects.get(pk=moving.slot_id).booked == 1


def test_accepting_the_offer_books_the_held_place(full_day):
    service, day, bookings = full_day
    entry = _join(service, day, "W0000001")
    services.booking_cancel(booking=bookings[0], acting_user=SYSTEM)
    entry.refresh_from_db()
    booking = services.waitlist_accept(entry_id=entry.pk, token=entry.offer_token, acting_user=None)
    assert booking.status == BookingStatus.ACTIVE
    assert booking.slot_id == bookings[0].slot_id
    assert Slot.objects.get(pk=booking.slot_id).booked == 1  # the held place, not a second one
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.ACCEPTED
    # and its confirmation is due, as for any booking
    assert ConfirmationDue.objects.filter(booking=booking).exists()


def test_accepting_the_offer_sends_the_confirmation(
    full_day, eager_tasks, django_capture_on_commit_callbacks
):
    from django.core import mail

    service, day, bookings = full_day
    user = UserFactory()
    entry = _join(service, day, "W0000001", user=user)
    services.booking_cancel(booking=bookings[0], acting_user=SYSTEM)
    entry.refresh_from_db()
    mail.outbox.clear()  # the offer
    # when the person waiting takes the place
    with django_capture_on_commit_callbacks(execute=True):
        booking = services.waitlist_accept(
            entry_id=entry.pk, token=entry.offer_token, acting_user=None
        )
    # then the confirmation goes as for any booking (with those of the day's bookings, whose
    # sweep no commit has nudged in this test's transaction)
    (message,) = [m for m in mail.outbox if m.to == [user.email]]
    assert booking.reference in message.subject


def test_an_unanswered_offer_expires_and_moves_to_the_next_person(full_day):
    service, day, bookings = full_day
    first = _join(service, day, "W0000001")
    second = _join(service, day, "W0000002")
    services.booking_cancel(booking=bookings[0], acting_user=SYSTEM)
    first.refresh_from_db()
    # when the window passes
    expired = services.waitlist_expire_offers(now=first.offer_expires_at + dt.timedelta(seconds=1))
    # then the next person gets the same place, and the first cannot take it any more
    assert expired == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == WaitlistStatus.EXPIRED
    assert second.status == WaitlistStatus.OFFERED
    assert second.slot_id == bookings[0].slot_id
    with pytest.raises(ApplicationError) as error:
        services.waitlist_accept(entry_id=first.pk, token=first.offer_token, acting_user=None)
    assert error.value.code == AppointmentError.OFFER_EXPIRED
    # and when nobody else waits, the place goes back to everyone
    services.waitlist_expire_offers(now=second.offer_expires_at + dt.timedelta(seconds=1))
    assert Slot.objects.get(pk=bookings[0].slot_id).booked == 0


def test_one_waitlist_entry_per_person_and_service(full_day):
    service, day, _ = full_day
    _join(service, day, "W0000001")
    with pytest.raises(ApplicationError) as error:
        _join(service, day, "w000-0001")
    assert error.value.code == AppointmentError.WAITLIST_ALREADY


def test_a_range_in_the_past_or_beyond_the_horizon_is_refused(full_day):
    service, day, _ = full_day
    user = UserFactory()
    for day_from, day_to in (
        (day - dt.timedelta(days=30), day),
        (day, day + dt.timedelta(days=400)),
        (day, day - dt.timedelta(days=1)),
    ):
        with pytest.raises(ApplicationError):
            services.waitlist_join(
                service=service, person=person("W0000009"), day_from=day_from, day_to=day_to,
                user=user, language="en", acting_user=user,
            )  # fmt: skip
    assert WaitlistEntry.objects.count() == 0


def test_a_wrong_token_finds_nothing(full_day):
    service, day, bookings = full_day
    entry = _join(service, day, "W0000001")
    services.booking_cancel(booking=bookings[0], acting_user=SYSTEM)
    with pytest.raises(ApplicationError) as error:
        services.waitlist_accept(entry_id=entry.pk, token="guess", acting_user=None)
    assert error.value.code == CommonError.NOT_FOUND


def test_lottery_losers_join_the_waitlist_for_the_period(in_mission_a):
    from appointments.models import ReleaseMode

    service = build_catalogue(counters=1, days=6, code="visa", release_mode=ReleaseMode.LOTTERY)
    day = (timezone.now() + dt.timedelta(days=3)).date()
    lottery_round = lottery_round_entered(service, day=day, entries=8)
    services.lottery_draw(
        lottery_round=lottery_round, acting_user=SYSTEM, now=lottery_round.window_closes_at
    )
    waiting = WaitlistEntry.objects.filter(service=service, status=WaitlistStatus.WAITING)
    assert waiting.count() == 2  # 8 entries, 6 places
    assert {w.day_from for w in waiting} == {lottery_round.period_start}


def test_leaving_with_an_offer_passes_the_held_place_to_the_next_person(full_day):
    service, day, bookings = full_day
    first_user = UserFactory()
    first = _join(service, day, "W0000001", user=first_user)
    second = _join(service, day, "W0000002")
    services.booking_cancel(booking=bookings[0], acting_user=SYSTEM)
    first.refresh_from_db()
    assert first.status == WaitlistStatus.OFFERED
    # when the first person leaves instead of taking the time
    services.waitlist_leave(entry=first, acting_user=first_user)
    # then the held place goes to the second, still held (not free to anyone)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == WaitlistStatus.LEFT
    assert second.status == WaitlistStatus.OFFERED
    assert second.slot_id == bookings[0].slot_id
    assert Slot.objects.get(pk=bookings[0].slot_id).booked == 1


def test_leaving_is_for_the_person_and_once(full_day):
    service, day, _ = full_day
    user = UserFactory()
    entry = _join(service, day, "W0000001", user=user)
    # somebody else cannot make them leave: the entry does not exist for them
    with pytest.raises(ApplicationError) as error:
        services.waitlist_leave(entry=entry, acting_user=UserFactory())
    assert error.value.code == CommonError.NOT_FOUND
    services.waitlist_leave(entry=entry, acting_user=user)
    # and leaving twice is refused
    with pytest.raises(ApplicationError) as again:
        services.waitlist_leave(entry=entry, acting_user=user)
    assert again.value.code == CommonError.BAD_TRANSITION
    # and a person who left may join again
    assert _join(service, day, "W0000001", user=user).status == WaitlistStatus.WAITING


def test_joining_is_refused_while_the_range_has_free_times(full_day):
    service, day, _ = full_day
    before = WaitlistEntry.objects.count()
    # the full day and the next, which has free times
    with pytest.raises(ApplicationError) as error:
        services.waitlist_join(
            service=service, person=person("W0000009"), day_from=day,
            day_to=day + dt.timedelta(days=1), user=UserFactory(), language="en",
            acting_user=UserFactory(),
        )  # fmt: skip
    assert error.value.code == AppointmentError.WAITLIST_FREE_TIMES
    assert WaitlistEntry.objects.count() == before


def test_a_reversed_range_is_refused_with_a_clear_message(full_day):
    service, day, _ = full_day
    with pytest.raises(ApplicationError) as error:
        services.waitlist_join(
            service=service, person=person("W0000009"), day_from=day + dt.timedelta(days=1),
            day_to=day, user=UserFactory(), language="en", acting_user=UserFactory(),
        )  # fmt: skip
    assert str(error.value.message) == "The first day must be before the last (or the same day)."
    assert error.value.field == "day_to"
