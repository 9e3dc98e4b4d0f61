"""Each workflow's one TRANSITIONS table names every state, and the predicates read it."""

from __future__ import annotations

import datetime as dt

import pytest

from appointments.models import (
    BOOKING_TRANSITIONS,
    LOTTERY_TRANSITIONS,
    WAITLIST_TRANSITIONS,
    Booking,
    BookingStatus,
    LotteryRound,
    LotteryStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from consulate.kernel.workflows import transitions_check


@pytest.mark.parametrize(
    ("model", "table", "states"),
    [
        (Booking, BOOKING_TRANSITIONS, BookingStatus),
        (WaitlistEntry, WAITLIST_TRANSITIONS, WaitlistStatus),
        (LotteryRound, LOTTERY_TRANSITIONS, LotteryStatus),
    ],
    ids=["booking", "waitlist", "lottery"],
)
def test_each_workflow_has_one_table_naming_every_state(model, table, states):
    transitions_check(table, states)
    assert model.TRANSITIONS is table


def test_a_checked_in_booking_cannot_be_cancelled_by_the_mission():
    booking = Booking(status=BookingStatus.CHECKED_IN)
    assert not booking.can_move_to(BookingStatus.CANCELLED_BY_MISSION)
    assert not booking.can_move_to(BookingStatus.CANCELLED)
    assert booking.can_move_to(BookingStatus.SERVED)


def test_a_draw_runs_once_and_only_after_registration():
    closes = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    lottery_round = LotteryRound(
        window_opens_at=closes - dt.timedelta(days=1), window_closes_at=closes
    )
    assert lottery_round.can_enter(now=closes - dt.timedelta(minutes=1))
    assert not lottery_round.can_draw(now=closes - dt.timedelta(minutes=1))
    assert lottery_round.can_draw(now=closes)
    lottery_round.move_to(LotteryStatus.DRAWN)
    assert not lottery_round.can_draw(now=closes)
    assert not lottery_round.can_enter(now=closes - dt.timedelta(minutes=1))


def test_waiting_is_left_only_by_an_offer_or_by_leaving():
    entry = WaitlistEntry(status=WaitlistStatus.WAITING)
    assert not entry.can_accept()
    assert entry.can_move_to(WaitlistStatus.OFFERED)
    assert entry.can_move_to(WaitlistStatus.LEFT)
    assert not entry.can_move_to(WaitlistStatus.EXPIRED)
