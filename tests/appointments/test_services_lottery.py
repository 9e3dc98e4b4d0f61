"""Lottery release: committed seed, one entry per identity inside the window, a draw anyone can
re-run."""

import datetime as dt
import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from appointments import lottery, services
from appointments.error_codes import AppointmentError
from appointments.models import (
    BookingStatus,
    ConfirmationDue,
    LotteryEntry,
    LotteryStatus,
    ReleaseMode,
    Slot,
)
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from tests.appointments.conftest import build_catalogue, person
from tests.factories import UserFactory


@pytest.fixture
def lottery_round(in_mission_a):
    service = build_catalogue(
        counters=1, code="visa", name="Visa submission", release_mode=ReleaseMode.LOTTERY, days=10
    )
    now = timezone.now()
    return services.lottery_round_create(
        service=service,
        period_start=(now + dt.timedelta(days=3)).date(),
        period_end=(now + dt.timedelta(days=3)).date(),
        window_opens_at=now - dt.timedelta(hours=1),
        window_closes_at=now + dt.timedelta(hours=1),
        acting_user=SYSTEM,
    )


def _enter(lottery_round, number, **kwargs):
    user = UserFactory()
    return services.lottery_enter(
        lottery_round=lottery_round, person=person(number), user=user, language="en",
        acting_user=user, **kwargs,
    )  # fmt: skip


def test_the_commitment_is_the_hash_of_the_seed_published_later(lottery_round):
    assert lottery_round.seed_commitment == hashlib.sha256(lottery_round.seed.encode()).hexdigest()


def test_one_entry_per_identity(lottery_round):
    _enter(lottery_round, "L0000001")
    with pytest.raises(ApplicationError) as error:
        _enter(lottery_round, "l 000-0001")
    assert error.value.code == AppointmentError.LOTTERY_ALREADY_ENTERED
    assert LotteryEntry.objects.count() == 1


def test_an_entry_outside_the_window_is_refused(lottery_round):
    with pytest.raises(ApplicationError) as error:
        _enter(lottery_round, "L0000001", now=lottery_round.window_closes_at)
    assert error.value.code == AppointmentError.LOTTERY_CLOSED
    with pytest.raises(ApplicationError):
        _enter(
            lottery_round, "L0000001", now=lottery_round.window_opens_at - dt.timedelta(seconds=1)
        )
    assert LotteryEntry.objects.count() == 0


def test_lottery_slots_cannot_be_booked_directly(lottery_round, citizen):
    slot = Slot.objects.filter(
        service=lottery_round.service, starts_at__gt=timezone.now() + dt.timedelta(days=1)
    ).first()
    with pytest.raises(ApplicationError) as error:
        services.booking_create(
            slot_id=slot.pk, service=lottery_round.service, persons=[person()], user=citizen,
            language="en", acting_user=citizen,
        )  # fmt: skip
    assert error.value.code == AppointmentError.LOTTERY_ONLY


def test_the_draw_books_winners_in_seed_order_and_can_be_re_run(lottery_round):
    # given more entries than the day's 6 places
    entries = [_enter(lottery_round, f"L{n:07d}") for n in range(10)]
    with pytest.raises(ApplicationError):  # not before the window closes
        services.lottery_draw(lottery_round=lottery_round, acting_user=SYSTEM)
    # when the draw runs after the window
    drawn = services.lottery_draw(
        lottery_round=lottery_round, acting_user=SYSTEM, now=lottery_round.window_closes_at
    )
    # then the seed is published and the first six in seed order are booked
    assert drawn.status == LotteryStatus.DRAWN
    order = lottery.draw_order(drawn.seed, [e.ticket for e in entries])
    ranked = {e.ticket: e for e in LotteryEntry.objects.select_related("booking")}
    assert [t for t in order if ranked[t].booking is not None] == order[:6]
    assert all(ranked[t].booking.status == BookingStatus.ACTIVE for t in order[:6])
    # the draw's own e-mail tells the winners: no booking confirmation is due as well
    assert not ConfirmationDue.objects.filter(
        booking__in=[ranked[t].booking for t in order[:6]]
    ).exists()
    assert [ranked[t].rank for t in order] == list(range(1, 11))
    # and the verification command recomputes the same order
    out = io.StringIO()
    call_command("lottery_verify", "alpha", str(drawn.pk), stdout=out)
    assert "OK: 10 entries" in out.getvalue()


def test_verify_notices_a_tampered_result(lottery_round):
    for n in range(3):
        _enter(lottery_round, f"L{n:07d}")
    drawn = services.lottery_draw(
        lottery_round=lottery_round, acting_user=SYSTEM, now=lottery_round.window_closes_at
    )
    first, second = LotteryEntry.objects.order_by("rank")[:2]
    LotteryEntry.objects.filter(pk=first.pk).update(rank=2)
    LotteryEntry.objects.filter(pk=second.pk).update(rank=1)
    with pytest.raises(CommandError, match="MISMATCH"):
        call_command("lottery_verify", "alpha", str(drawn.pk), stdout=io.StringIO())
