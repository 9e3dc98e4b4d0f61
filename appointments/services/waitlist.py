"""The waitlist: a freed place goes to the first person waiting for that service and day, who
has an acceptance window to take it; unanswered offers expire (beat) and move on."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from consulate.kernel.tenancy import task_queue_on_commit
from sync.services import outbox_event_record

from .. import locks
from ..error_codes import AppointmentError
from ..models import (
    Booking,
    BookingPerson,
    Service,
    Slot,
    WaitlistEntry,
    WaitlistStatus,
)
from .booking import PersonInput, _book, document_index, persons_validate
from .common import current_mission, mission_zone


def offer_window() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "APPOINTMENTS_WAITLIST_OFFER_MINUTES", 120))


def _event(topic: str, entry: WaitlistEntry, acting_user: User | None) -> None:
    outbox_event_record(
        topic=topic,
        aggregate_type="waitlist_entry",
        aggregate_id=str(entry.pk),
        payload={"service": entry.service.code, "status": entry.status},
        acting_user=acting_user,
    )


def waitlist_join(
    *,
    service: Service,
    person: PersonInput,
    day_from: dt.date,
    day_to: dt.date,
    user: User,
    language: str,
    acting_user: User | None,
) -> WaitlistEntry:
    zone = mission_zone(current_mission())
    today = timezone.now().astimezone(zone).date()
    if not service.is_active:
        raise ApplicationError(
            AppointmentError.SERVICE_NOT_OFFERED, _("This mission does not offer this service.")
        )
    if day_from < today or day_to < day_from:
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
    (person,) = persons_validate(service=service, persons=[person])
    index = document_index(person.document_number)
    if BookingPerson.objects.filter(
        service=service, is_holding=True, document_index=index
    ).exists():
        raise ApplicationError(
            AppointmentError.ALREADY_BOOKED,
            _("This document already holds a booking for this service. Cancel or move it first."),
        )
    entry = WaitlistEntry(
        service=service, user_id=user.pk, email=user.email, language=language,
        full_name=person.full_name, date_of_birth=person.date_of_birth,
        document_number=person.document_number, day_from=day_from, day_to=day_to,
    )  # fmt: skip
    try:
        with transaction.atomic():
            set_acting_user(entry, acting_user)
            entry.save()
            _event("waitlist.joined", entry, acting_user)
    except IntegrityError as error:
        raise ApplicationError(
            AppointmentError.WAITLIST_ALREADY,
            _("This document is already on the waitlist for this service."),
        ) from error
    return entry


def waitlist_offer_place(*, slot: Slot, acting_user: User | None) -> WaitlistEntry | None:
    """Inside the transaction that freed a place in `slot`: hold it for the first person waiting
    for that day, if any, and queue their offer. Returns the entry offered, or None (the place
    stays free for anyone)."""
    if slot.starts_at <= timezone.now():
        return None
    day = slot.starts_at.astimezone(mission_zone(current_mission())).date()
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
    if entry is None or not locks.slot_take(slot_id=slot.pk):
        return None
    entry.status = WaitlistStatus.OFFERED
    entry.slot = slot
    entry.offer_token = secrets.token_urlsafe(32)
    entry.offer_expires_at = min(timezone.now() + offer_window(), slot.starts_at)
    set_acting_user(entry, acting_user)
    entry.save(update_fields=["status", "slot", "offer_token", "offer_expires_at", "updated_at"])
    _event("waitlist.offered", entry, acting_user)
    from ..tasks import send_waitlist_offer

    task_queue_on_commit(send_waitlist_offer, entry.pk)
    return entry


def waitlist_accept(*, entry_id: int, token: str, acting_user: User | None) -> Booking:
    """Take the offered place: the booking is made on the place the offer held."""
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update(of=("self",))
            .select_related("service", "slot__service")
            .filter(pk=entry_id)
            .first()
        )
        if (
            entry is None
            or not entry.offer_token
            or not secrets.compare_digest(entry.offer_token, token)
        ):
            raise ApplicationError(AppointmentError.NOT_FOUND, _("Not found."))
        if entry.status != WaitlistStatus.OFFERED or entry.slot is None:
            raise ApplicationError(
                AppointmentError.OFFER_EXPIRED, _("This offer is no longer open.")
            )
        if entry.offer_expires_at and entry.offer_expires_at <= timezone.now():
            raise ApplicationError(
                AppointmentError.OFFER_EXPIRED,
                _("This offer has expired and the time went to the next person."),
            )
        user = User.objects.get(pk=entry.user_id)
        booking = _book(
            slot=entry.slot,
            persons=[PersonInput(entry.full_name, entry.date_of_birth, entry.document_number)],
            user=user,
            language=entry.language,
            acting_user=acting_user,
            take_place=False,
        )
        entry.status = WaitlistStatus.ACCEPTED
        entry.booking = booking
        set_acting_user(entry, acting_user)
        entry.save(update_fields=["status", "booking", "updated_at"])
        _event("waitlist.accepted", entry, acting_user)
        from ..tasks import send_booking_confirmation

        task_queue_on_commit(send_booking_confirmation, booking.pk)
    return booking


def waitlist_expire_offers(*, now: dt.datetime | None = None) -> int:
    """Expire unanswered offers; each held place goes to the next person waiting, or back to
    everyone. Returns the number expired."""
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
            entry.status = WaitlistStatus.EXPIRED
            set_acting_user(entry, None)
            entry.save(update_fields=["status", "updated_at"])
            _event("waitlist.expired", entry, None)
            locks.slot_release(slot_id=slot.pk)
            waitlist_offer_place(slot=slot, acting_user=None)
            expired += 1
    return expired
