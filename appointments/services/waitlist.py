"""The waitlist: a freed place goes to the first person waiting for that service and day, who
has an acceptance window to take it; unanswered offers expire (beat) and move on.

Joining, leaving and taking an offer are a person's own verbs (the offer link's secret stands in
for the login); offering a freed place is a step inside the transaction that freed it; expiry is
the platform's (SYSTEM)."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.history import set_acting_user
from consulate.kernel.tenancy import task_queue_on_commit
from missions.selectors import current_mission
from sync.services import outbox_event_record

from .. import locks, selectors
from ..error_codes import AppointmentError
from ..events import AppointmentTopic
from ..models import Booking, BookingPerson, Service, Slot, WaitlistEntry, WaitlistStatus
from .places import (
    Actor,
    PersonInput,
    already_booked_error,
    booking_write,
    document_index,
    persons_validate,
    service_check_bookable_alone,
    slot_place_give_back,
    slot_place_take,
)

# The event of each move, by the status it moves to.
TOPICS: dict[str, AppointmentTopic] = {
    WaitlistStatus.OFFERED: AppointmentTopic.WAITLIST_ENTRY_OFFERED,
    WaitlistStatus.ACCEPTED: AppointmentTopic.WAITLIST_ENTRY_ACCEPTED,
    WaitlistStatus.EXPIRED: AppointmentTopic.WAITLIST_ENTRY_EXPIRED,
    WaitlistStatus.LEFT: AppointmentTopic.WAITLIST_ENTRY_LEFT,
}


def offer_window() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "APPOINTMENTS_WAITLIST_OFFER_MINUTES", 120))


def _move(entry: WaitlistEntry, status: str, acting_user: Actor, *fields: str) -> None:
    """Inside the caller's transaction, on a locked entry: move it, save, record the event."""
    entry.move_to(status)
    set_acting_user(entry, acting_user)
    entry.save(update_fields=["status", *fields, "updated_at"])
    payload: dict[str, object] = {"service": entry.service.code}
    if entry.booking is not None:
        payload["booking"] = entry.booking.reference
    outbox_event_record(
        topic=TOPICS[status], aggregate_id=entry.pk, payload=payload, acting_user=acting_user
    )


def waitlist_join(
    *,
    service: Service,
    person: PersonInput,
    day_from: dt.date,
    day_to: dt.date,
    user: User,
    language: str,
    acting_user: User,
) -> WaitlistEntry:
    """Join the waitlist of `service` for the days `day_from`..`day_to` (mission time).

    Refused while the range still has times anyone can book (`WAITLIST_FREE_TIMES`: book one
    of them instead; the page links to the first), for a reversed range, days in the past or
    beyond the horizon, a document that holds a booking or is already waiting."""
    mission = current_mission()
    today = mission.today()
    if not service.is_active:
        raise ApplicationError(
            AppointmentError.SERVICE_NOT_OFFERED, _("This mission does not offer this service.")
        )
    service_check_bookable_alone(service=service)
    if day_to < day_from:
        raise ApplicationError(
            AppointmentError.INVALID,
            _("The first day must be before the last (or the same day)."),
            field="day_to",
        )
    if day_from < today:
        raise ApplicationError(
            AppointmentError.INVALID, _("Choose a range of days from today on."), field="day_from"
        )
    if day_to > today + dt.timedelta(days=service.horizon_days):
        raise ApplicationError(
            AppointmentError.SLOT_BEYOND_HORIZON,
            _("This service can be booked at most %(days)d days ahead.")
            % {"days": service.horizon_days},
            field="day_to",
        )
    free_day = selectors.slot_first_free_day(
        service=service, mission=mission, day_from=day_from, day_to=day_to
    )
    if free_day is not None:
        raise ApplicationError(
            AppointmentError.WAITLIST_FREE_TIMES,
            _("There are free times on these days (the first on %(day)s): book one instead.")
            % {"day": formats.date_format(free_day, "DATE_FORMAT")},
            field="day_from",
        )
    (person,) = persons_validate(service=service, persons=[person])
    index = document_index(person.document_number)
    if BookingPerson.objects.filter(
        service=service, is_holding=True, document_index=index
    ).exists():
        raise already_booked_error()
    entry = WaitlistEntry(
        service=service, user_id=user.pk, email=user.email, language=language,
        full_name=person.full_name, date_of_birth=person.date_of_birth,
        document_number=person.document_number, day_from=day_from, day_to=day_to,
    )  # fmt: skip
    try:
        with transaction.atomic():
            set_acting_user(entry, acting_user)
            entry.save()
            outbox_event_record(
                topic=AppointmentTopic.WAITLIST_ENTRY_JOINED,
                aggregate_id=entry.pk,
                payload={"service": service.code},
                acting_user=acting_user,
            )
    except IntegrityError as error:
        raise ApplicationError(
            AppointmentError.WAITLIST_ALREADY,
            _("This document is already on the waitlist for this service."),
        ) from error
    return entry


def waitlist_leave(*, entry: WaitlistEntry, acting_user: User) -> WaitlistEntry:
    """The person leaves the waitlist (their own entry only: anyone else's does not exist for
    them). Leaving with an offer declines it: the held place goes to the next person waiting
    for that day, or back to everyone."""
    if acting_user is None or entry.user_id != acting_user.pk:
        raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))
    with transaction.atomic():
        entry = locks.waitlist_entry_lock(pk=entry.pk)
        if not entry.can_leave():
            raise ApplicationError(
                CommonError.BAD_TRANSITION, _("You are no longer on this waitlist.")
            )
        held = entry.slot if entry.status == WaitlistStatus.OFFERED else None
        if held is not None:  # the slot's row before the outbox counter (locks.py)
            slot_place_give_back(pk=held.pk)
        _move(entry, WaitlistStatus.LEFT, acting_user)
        if held is not None:
            waitlist_offer_place(slot=held, acting_user=acting_user)
    return entry


def waitlist_offer_place(*, slot: Slot, acting_user: Actor) -> WaitlistEntry | None:
    """Inside the transaction that freed a place in `slot`: hold it for the first person waiting
    for that day, if any, and queue their offer. Returns the entry offered, or None (the place
    stays free for anyone)."""
    if slot.starts_at <= timezone.now():
        return None
    day = slot.starts_at.astimezone(current_mission().zone).date()
    entry = (
        WaitlistEntry.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("service")
        .filter(
            service_id=slot.service_id,
            status=WaitlistStatus.WAITING,
            day_from__lte=day,
            day_to__gte=day,
        )
        .order_by("created_at", "id")
        .first()
    )
    if entry is None or not slot_place_take(pk=slot.pk):
        return None
    entry.slot = slot
    entry.offer_token = secrets.token_urlsafe(32)
    entry.offer_expires_at = min(timezone.now() + offer_window(), slot.starts_at)
    _move(entry, WaitlistStatus.OFFERED, acting_user, "slot", "offer_token", "offer_expires_at")
    from ..tasks import send_waitlist_offer

    task_queue_on_commit(send_waitlist_offer, entry.pk)
    return entry


def waitlist_accept(*, entry_id: int, token: str, acting_user: User | None) -> Booking:
    """Take the offered place: the booking is made on the place the offer held, for the person
    who joined (the link's secret stands in for their login)."""
    if selectors.waitlist_entry_get_by_offer_token(pk=entry_id, token=token) is None:
        raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))
    with transaction.atomic():
        entry = locks.waitlist_entry_lock(pk=entry_id)
        slot = entry.slot
        if slot is None or not entry.can_accept():
            if entry.can_move_to(WaitlistStatus.ACCEPTED) and slot is not None:
                message = _("This offer has expired and the time went to the next person.")
            else:
                message = _("This offer is no longer open.")
            raise ApplicationError(AppointmentError.OFFER_EXPIRED, message)
        entry.booking = booking_write(
            slot=slot,
            persons=[PersonInput(entry.full_name, entry.date_of_birth, entry.document_number)],
            user=User.objects.get(pk=entry.user_id),
            language=entry.language,
            acting_user=acting_user,
            take_place=False,
            confirm=True,
        )
        _move(entry, WaitlistStatus.ACCEPTED, acting_user, "booking")
    return entry.booking


def waitlist_expire_offers(*, now: dt.datetime | None = None) -> int:
    """Expire unanswered offers (beat, as SYSTEM); each held place goes to the next person
    waiting, or back to everyone. Returns the number expired."""
    now = now or timezone.now()
    expired = 0
    for pk in list(
        WaitlistEntry.objects.filter(
            status=WaitlistStatus.OFFERED, offer_expires_at__lte=now
        ).values_list("pk", flat=True)
    ):
        with transaction.atomic():
            entry = (
                WaitlistEntry.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("service", "slot")
                .filter(pk=pk, status=WaitlistStatus.OFFERED)
                .first()
            )
            if entry is None or entry.slot is None:
                continue
            slot = entry.slot
            slot_place_give_back(pk=slot.pk)  # the slot's row before the outbox counter
            _move(entry, WaitlistStatus.EXPIRED, SYSTEM)
            waitlist_offer_place(slot=slot, acting_user=SYSTEM)
            expired += 1
    return expired
