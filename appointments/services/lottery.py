"""Lottery release: a round commits to a secret seed (its SHA-256 is public) before registration
opens; people enter once per identity during the window; the draw orders the entries by a
function of the seed alone (appointments/lottery.py), books the first ones into the period's
slots and publishes the seed. Speed of entry gives no advantage."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SystemActor
from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from consulate.kernel.tenancy import task_queue_on_commit
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.services import outbox_event_record

from .. import calendar, locks
from .. import lottery as draw
from ..error_codes import AppointmentError
from ..events import AppointmentTopic
from ..models import (
    BookingPerson,
    LotteryEntry,
    LotteryRound,
    LotteryStatus,
    ReleaseMode,
    Service,
    Slot,
    WaitlistEntry,
    WaitlistStatus,
)
from .places import (
    PersonInput,
    booking_write,
    document_index,
    persons_validate,
    service_check_bookable_alone,
)


def lottery_round_create(
    *,
    service: Service,
    period_start: dt.date,
    period_end: dt.date,
    window_opens_at: dt.datetime,
    window_closes_at: dt.datetime,
    acting_user: User | SystemActor,
) -> LotteryRound:
    """Open a draw for the slots of `period_start`..`period_end`: the seed is chosen and kept
    secret, its SHA-256 published at once."""
    mission = current_mission()
    permission_require(
        user=acting_user, mission=mission, action=Action.APPOINTMENTS_SETTINGS_CHANGE
    )
    if service.release_mode != ReleaseMode.LOTTERY:
        raise ApplicationError(
            AppointmentError.INVALID, _("This service is not released by lottery.")
        )
    if window_closes_at <= window_opens_at or period_end < period_start:
        raise ApplicationError(AppointmentError.INVALID, _("The dates are in the wrong order."))
    if calendar.local_day_bounds(period_start, mission.zone)[0] < window_closes_at:
        raise ApplicationError(
            AppointmentError.INVALID, _("The slots must come after registration closes.")
        )
    seed = secrets.token_hex(32)
    lottery_round = LotteryRound(
        service=service,
        period_start=period_start,
        period_end=period_end,
        window_opens_at=window_opens_at,
        window_closes_at=window_closes_at,
        seed=seed,
        seed_commitment=draw.commitment(seed),
    )
    with transaction.atomic():
        set_acting_user(lottery_round, acting_user)
        lottery_round.save()
        outbox_event_record(
            topic=AppointmentTopic.LOTTERY_ROUND_OPENED,
            aggregate_id=lottery_round.pk,
            payload={
                "service": service.code,
                "commitment": lottery_round.seed_commitment,
                "window_closes_at": window_closes_at.isoformat(),
            },
            acting_user=acting_user,
        )
    return lottery_round


def lottery_enter(
    *,
    lottery_round: LotteryRound,
    person: PersonInput,
    user: User,
    language: str,
    acting_user: User,
    now: dt.datetime | None = None,
) -> LotteryEntry:
    """One entry per identity (document number) per round, only inside the window."""
    if not lottery_round.can_enter(now=now):
        raise ApplicationError(
            AppointmentError.LOTTERY_CLOSED, _("Registration for this draw is not open.")
        )
    service_check_bookable_alone(service=lottery_round.service)
    (person,) = persons_validate(service=lottery_round.service, persons=[person])
    index = document_index(person.document_number)
    duplicate = _("This document is already registered for this draw.")
    if LotteryEntry.objects.filter(round=lottery_round, document_index=index).exists():
        raise ApplicationError(AppointmentError.LOTTERY_ALREADY_ENTERED, duplicate)
    entry = LotteryEntry(
        round=lottery_round,
        ticket=secrets.token_hex(6).upper(),
        user_id=user.pk,
        email=user.email,
        language=language,
        full_name=person.full_name,
        date_of_birth=person.date_of_birth,
        document_number=person.document_number,
    )
    try:
        with transaction.atomic():
            set_acting_user(entry, acting_user)
            entry.save()
            outbox_event_record(
                topic=AppointmentTopic.LOTTERY_ROUND_ENTERED,
                aggregate_id=lottery_round.pk,
                payload={"ticket": entry.ticket},
                acting_user=acting_user,
            )
    except IntegrityError as error:
        raise ApplicationError(AppointmentError.LOTTERY_ALREADY_ENTERED, duplicate) from error
    return entry


def _to_waitlist(
    *, lottery_round: LotteryRound, entry: LotteryEntry, acting_user: User | SystemActor
) -> None:
    """An entry not drawn waits for a freed place in the round's period."""
    if WaitlistEntry.objects.filter(
        service=lottery_round.service,
        document_index=entry.document_index,
        status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED],
    ).exists():
        return
    waiting = WaitlistEntry(
        service=lottery_round.service, user_id=entry.user_id, email=entry.email,
        language=entry.language, full_name=entry.full_name, date_of_birth=entry.date_of_birth,
        document_number=entry.document_number, day_from=lottery_round.period_start,
        day_to=lottery_round.period_end,
    )  # fmt: skip
    set_acting_user(waiting, acting_user)
    waiting.save()
    outbox_event_record(
        topic=AppointmentTopic.WAITLIST_ENTRY_JOINED,
        aggregate_id=waiting.pk,
        payload={"service": lottery_round.service.code, "lottery_round": lottery_round.pk},
        acting_user=acting_user,
    )


def lottery_draw(
    *,
    lottery_round: LotteryRound,
    acting_user: User | SystemActor,
    now: dt.datetime | None = None,
) -> LotteryRound:
    """After the window: rank every entry by the seed, book the first ones into the period's
    free slots (time order), publish the seed; the others join the waitlist for the period.
    Entries whose document already holds a booking for the service are passed over. Tells
    everyone the result on commit."""
    now = now or timezone.now()
    zone = current_mission().zone
    with transaction.atomic():
        lottery_round = locks.lottery_round_lock(pk=lottery_round.pk)
        if not lottery_round.can_draw(now=now):
            raise ApplicationError(
                AppointmentError.LOTTERY_CLOSED, _("This draw cannot be run now.")
            )
        start = calendar.local_day_bounds(lottery_round.period_start, zone)[0]
        end = calendar.local_day_bounds(lottery_round.period_end, zone)[1]
        # every slot the draw may book, locked (pk order) and read in one statement before its
        # first event (locks.py: slots, then the outbox counter), so that no booking of one of
        # them waits on the draw's counter
        period = Slot.objects.select_for_update().filter(
            service=lottery_round.service, starts_at__gte=start, starts_at__lt=end,
            starts_at__gt=now,
        ).order_by("pk")  # fmt: skip
        places: list[Slot] = []
        for slot in sorted(period, key=lambda slot: slot.starts_at):
            places.extend([slot] * (slot.capacity - slot.booked))
        entries = {entry.ticket: entry for entry in lottery_round.entries.all()}
        holding = set(
            BookingPerson.objects.filter(
                service=lottery_round.service,
                is_holding=True,
                document_index__in=[e.document_index for e in entries.values()],
            ).values_list("document_index", flat=True)
        )
        users = {u.pk: u for u in User.objects.filter(pk__in=[e.user_id for e in entries.values()])}
        booked = 0
        for rank, ticket in enumerate(draw.draw_order(lottery_round.seed, entries), start=1):
            entry = entries[ticket]
            entry.rank = rank
            if places and entry.document_index not in holding and entry.user_id in users:
                entry.booking = booking_write(
                    slot=places.pop(0),
                    persons=[
                        PersonInput(entry.full_name, entry.date_of_birth, entry.document_number)
                    ],
                    user=users[entry.user_id],
                    language=entry.language,
                    acting_user=acting_user,
                )
                booked += 1
            elif entry.document_index not in holding:
                _to_waitlist(lottery_round=lottery_round, entry=entry, acting_user=acting_user)
            set_acting_user(entry, acting_user)
            entry.save(update_fields=["rank", "booking", "updated_at"])
        lottery_round.move_to(LotteryStatus.DRAWN)
        lottery_round.drawn_at = now
        set_acting_user(lottery_round, acting_user)
        lottery_round.save(update_fields=["status", "drawn_at", "updated_at"])
        outbox_event_record(
            topic=AppointmentTopic.LOTTERY_ROUND_DRAWN,
            aggregate_id=lottery_round.pk,
            payload={"seed": lottery_round.seed, "entries": len(entries), "booked": booked},
            acting_user=acting_user,
        )
        from ..tasks import send_lottery_result

        for entry in entries.values():
            task_queue_on_commit(send_lottery_result, entry.pk)
    return lottery_round
