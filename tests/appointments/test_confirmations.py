"""Booking confirmations: due with the booking (in its own statement), sent by a sweep that a
booking nudges on commit (one task queued for many bookings) and beat runs every minute."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import random
import smtplib
import threading
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import schema_context

from appointments import emails, services, tasks
from appointments.models import Booking, BookingStatus, ConfirmationDue, Service
from consulate.kernel import tenancy
from consulate.kernel.actors import SYSTEM
from consulate.kernel.tenancy import Nudges
from tests.appointments.conftest import build_catalogue, first_free_slot, person
from tests.factories import UserFactory

KEY = ("appointments.tasks.send_due_confirmations", "alpha")


def _book(service: Service, n: int, *, skip: int = 0) -> Booking:
    user = UserFactory()
    return services.booking_create(
        slot_id=first_free_slot(service, skip=skip).pk, service=service,
        persons=[person(f"C{n:07d}")], user=user, language="en", acting_user=user,
    )  # fmt: skip


# --- The nudge -----------------------------------------------------------------------------


def test_the_first_change_queues_a_run_at_once_and_the_next_a_run_an_interval_later() -> None:
    clock = [100.0]
    nudges = Nudges(clock=lambda: clock[0])
    assert nudges.reserve(KEY, 1.0) == 0.0
    clock[0] = 100.2
    assert nudges.reserve(KEY, 1.0) == pytest.approx(0.8)  # the run at 101.0
    clock[0] = 100.5
    assert nudges.reserve(KEY, 1.0) is None  # the run at 101.0 will see it
    clock[0] = 101.0
    assert nudges.reserve(KEY, 1.0) == pytest.approx(1.0)  # that run may have read already
    # another schema or task has its own runs
    assert nudges.reserve(("appointments.tasks.send_due_confirmations", "beta"), 1.0) == 0.0


def test_every_change_is_followed_by_a_run_within_the_interval_and_runs_are_spaced() -> None:
    rng = random.Random(7)
    clock = [0.0]
    for _ in range(200):
        clock[0] = 0.0
        nudges = Nudges(clock=lambda: clock[0])
        every = rng.choice([0.5, 1.0, 2.0])
        starts: list[float] = []
        for _ in range(rng.randint(1, 60)):
            clock[0] += rng.expovariate(rng.choice([0.5, 5.0, 200.0]))
            countdown = nudges.reserve(KEY, every)
            if countdown is not None:
                assert 0 <= countdown <= every
                starts.append(clock[0] + countdown)
            # a run starts at or after this change, and at most `every` seconds after it
            assert any(clock[0] <= start <= clock[0] + every for start in starts)
        assert all(b - a >= every - 1e-9 for a, b in itertools.pairwise(starts))


def test_a_run_that_could_not_be_queued_is_not_counted_on() -> None:
    clock = [100.0]
    nudges = Nudges(clock=lambda: clock[0])
    assert nudges.reserve(KEY, 1.0) == 0.0
    clock[0] = 100.1
    assert nudges.reserve(KEY, 1.0) == pytest.approx(0.9)
    nudges.forget(KEY)  # the broker refused it
    assert nudges.reserve(KEY, 1.0) == 0.0


def test_a_burst_of_bookings_queues_two_sweeps_and_every_booking_is_confirmed(
    catalogue, mission_a, monkeypatch, django_capture_on_commit_callbacks
):
    clock = [500.0]
    monkeypatch.setattr(tenancy, "_nudges", Nudges(clock=lambda: clock[0]))
    queued: list[tuple[str, float | None]] = []

    def apply_async(*args: Any, countdown: float | None = None, **kwargs: Any) -> None:
        queued.append((tenancy.current_schema(), countdown))

    monkeypatch.setattr(tasks.send_due_confirmations, "apply_async", apply_async)
    # when five bookings commit within the same instant
    bookings = []
    for n in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            bookings.append(_book(catalogue, n, skip=n))
    # then one sweep is queued at once and one a second later, in the mission's schema
    schema = mission_a.schema_name
    assert queued == [(schema, None), (schema, pytest.approx(1.0))]
    # and each booking's confirmation is due until that sweep sends it
    assert ConfirmationDue.objects.count() == 5
    tasks.send_due_confirmations()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(b.email for b in bookings)
    assert all(b.reference in m.subject for b, m in zip(bookings, mail.outbox, strict=True))
    assert not ConfirmationDue.objects.exists()


def test_with_tasks_run_in_process_every_booking_is_confirmed_at_once(
    catalogue, eager_tasks, django_capture_on_commit_callbacks
):
    # given tasks that run in-process (no broker to spare): no booking waits for a later run
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            booking = _book(catalogue, n, skip=n)
        assert mail.outbox[-1].to == [booking.email]
        assert booking.reference in mail.outbox[-1].subject
    assert len(mail.outbox) == 3


# --- The sweep -----------------------------------------------------------------------------


def test_a_booking_cancelled_before_its_confirmation_went_gets_none(catalogue):
    booking = _book(catalogue, 1)
    services.booking_cancel(booking=booking, acting_user=SYSTEM)
    mail.outbox.clear()  # the cancellation's own e-mail, if any
    assert services.booking_confirmations_send_due() == 0
    assert mail.outbox == []
    assert not ConfirmationDue.objects.exists()


def test_a_confirmation_whose_time_has_passed_is_dropped(catalogue):
    booking = _book(catalogue, 1)
    later = booking.slot.starts_at + dt.timedelta(minutes=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert services.booking_confirmations_send_due() == 0
    assert mail.outbox == []
    assert not ConfirmationDue.objects.exists()


def test_a_failing_mail_server_leaves_the_confirmation_due_backs_off_and_the_others_go(
    catalogue, monkeypatch, caplog
):
    first, second = _book(catalogue, 1), _book(catalogue, 2, skip=1)
    send = emails.booking_confirmation_send

    def refuse_the_first(*, booking: Booking) -> None:
        if booking.pk == first.pk:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        send(booking=booking)

    monkeypatch.setattr(emails, "booking_confirmation_send", refuse_the_first)
    # when the mail server fails on the first booking's e-mail
    with caplog.at_level(logging.ERROR):
        assert services.booking_confirmations_send_due() == 1
    # then the second's goes, the first's stays due for a minute later, and it is logged
    assert [m.to[0] for m in mail.outbox] == [second.email]
    due = ConfirmationDue.objects.get(booking=first)
    assert due.attempts == 1
    assert due.next_attempt_at is not None
    waited = due.next_attempt_at - timezone.now()
    assert dt.timedelta(seconds=55) < waited <= dt.timedelta(minutes=1)
    assert f"The confirmation of booking {first.reference} was not sent (attempt 1)" in caplog.text
    # and a sweep before then does not try it again; each further failure waits twice as long,
    # at most an hour
    assert services.booking_confirmations_send_due() == 0
    for attempts, minutes in [(2, 2), (3, 4), (7, 60), (12, 60)]:
        ConfirmationDue.objects.filter(booking=first).update(
            next_attempt_at=None, attempts=attempts - 1
        )
        services.booking_confirmations_send_due()
        due = ConfirmationDue.objects.get(booking=first)
        assert due.attempts == attempts
        assert due.next_attempt_at is not None
        waited = due.next_attempt_at - timezone.now()
        assert dt.timedelta(minutes=minutes, seconds=-5) < waited <= dt.timedelta(minutes=minutes)
    # and once the server answers, the first sweep after the wait sends it, once
    monkeypatch.setattr(emails, "booking_confirmation_send", send)
    ConfirmationDue.objects.filter(booking=first).update(next_attempt_at=timezone.now())
    assert services.booking_confirmations_send_due() == 1
    assert services.booking_confirmations_send_due() == 0
    assert [m.to[0] for m in mail.outbox] == [second.email, first.email]


def test_a_booking_is_not_locked_while_its_confirmation_is_being_sent(
    throwaway_mission, monkeypatch
):
    # given a booking whose confirmation the sweep is sending to a slow mail server
    with schema_context(throwaway_mission.schema_name):
        service = build_catalogue(counters=2, days=3)
        booking = _book(service, 1)
    sending, answered = threading.Event(), threading.Event()
    send = emails.booking_confirmation_send

    def slow(*, booking: Booking) -> None:
        sending.set()
        assert answered.wait(10)
        send(booking=booking)

    monkeypatch.setattr(emails, "booking_confirmation_send", slow)

    def sweep() -> None:
        try:
            with schema_context(throwaway_mission.schema_name):
                services.booking_confirmations_send_due()
        finally:
            connections.close_all()

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    try:
        assert sending.wait(10)
        # when the citizen cancels meanwhile (a lock wait would fail after 2 s)
        with schema_context(throwaway_mission.schema_name):
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '2s'")
            try:
                services.booking_cancel(
                    booking=Booking.objects.get(pk=booking.pk), acting_user=SYSTEM
                )
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("RESET lock_timeout")
            # then the cancel did not wait for the mail server
            assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED
    finally:
        answered.set()
        sweeper.join(10)


def test_two_sweeps_at_once_send_each_confirmation_once(throwaway_mission, monkeypatch):
    # given six committed bookings whose confirmations are due
    with schema_context(throwaway_mission.schema_name):
        service = build_catalogue(counters=2, days=3)
        bookings = [_book(service, n, skip=n) for n in range(6)]
    sent: list[int] = []
    holding, released = threading.Event(), threading.Event()
    send = emails.booking_confirmation_send

    def slow_first(*, booking: Booking) -> None:
        if booking.pk == bookings[0].pk:
            holding.set()  # the first sweep holds the first booking's lock
            assert released.wait(10)
        sent.append(booking.pk)
        send(booking=booking)

    monkeypatch.setattr(emails, "booking_confirmation_send", slow_first)

    counts: list[int] = []

    def sweep() -> None:
        try:
            with schema_context(throwaway_mission.schema_name):
                counts.append(services.booking_confirmations_send_due())
        finally:
            connections.close_all()

    # when a second sweep runs while the first is sending the first e-mail
    first = threading.Thread(target=sweep)
    first.start()
    assert holding.wait(10)
    sweep()  # skips the locked booking, sends the rest, without waiting for it
    assert counts == [5]
    released.set()
    first.join(10)
    # then every confirmation went exactly once
    assert counts == [5, 1]
    assert sorted(sent) == sorted(b.pk for b in bookings)
    with schema_context(throwaway_mission.schema_name):
        assert not ConfirmationDue.objects.exists()


def test_a_confirmation_queued_by_the_previous_release_is_still_sent_once(catalogue):
    # given a booking made by the previous release: no confirmation due, a task queued instead
    booking = _book(catalogue, 1)
    ConfirmationDue.objects.filter(booking=booking).delete()
    # when a worker of this release takes that task, and sweeps
    tasks.send_booking_confirmation(booking.pk)
    tasks.send_due_confirmations()
    # then the e-mail goes, once
    (message,) = mail.outbox
    assert booking.reference in message.subject
