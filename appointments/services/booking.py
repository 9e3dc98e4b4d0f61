"""Booking, cancelling, rescheduling, and the counter workflow (check-in, call, served,
no-show). Each verb is one transaction that writes the change, its history and its outbox
event; mail is queued on commit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.crypto.blind_index import blind_index, normalise
from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from consulate.kernel.tenancy import current_schema, task_queue_on_commit
from sync.services import outbox_event_record

from .. import calendar, locks
from ..error_codes import AppointmentError
from ..models import (
    HOLDING,
    Booking,
    BookingPerson,
    BookingStatus,
    Closure,
    MissionRules,
    ReleaseMode,
    Service,
    Slot,
)
from .common import current_mission, mission_zone

DOCUMENT_PATTERN = re.compile(r"^[A-Z0-9]{5,20}$")
DOCUMENT_PURPOSE = "identity_document"  # the BlindIndexField purpose of every document number
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out at a counter


@dataclasses.dataclass(frozen=True)
class PersonInput:
    full_name: str
    date_of_birth: dt.date
    document_number: str


def _new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def persons_validate(*, service: Service, persons: list[PersonInput]) -> list[PersonInput]:
    """Clean and check the people a booking covers; raise a clear error for the first problem."""
    if not persons:
        raise ApplicationError(AppointmentError.INVALID, _("Enter at least one person."))
    if len(persons) > service.max_persons:
        raise ApplicationError(
            AppointmentError.TOO_MANY_PERSONS,
            _("One booking for this service may cover at most %(count)d people.")
            % {"count": service.max_persons},
        )
    cleaned = []
    today = timezone.now().date()
    for person in persons:
        name = " ".join(person.full_name.split())
        number = normalise(person.document_number or "")
        if not name:
            raise ApplicationError(
                AppointmentError.INVALID, _("Enter each person's full name."), field="full_name"
            )
        if not DOCUMENT_PATTERN.match(number):
            raise ApplicationError(
                AppointmentError.DOCUMENT_INVALID,
                _("A document number has 5 to 20 letters and digits, such as U12345678."),
                field="document_number",
            )
        if person.date_of_birth > today or person.date_of_birth.year < 1900:
            raise ApplicationError(
                AppointmentError.INVALID,
                _("Enter a real date of birth."),
                field="date_of_birth",
            )
        cleaned.append(PersonInput(name, person.date_of_birth, number))
    if len({p.document_number for p in cleaned}) != len(cleaned):
        raise ApplicationError(
            AppointmentError.ALREADY_BOOKED,
            _("Each person needs their own document number."),
            field="document_number",
        )
    return cleaned


def slot_check_bookable(*, slot: Slot, now: dt.datetime, direct: bool = True) -> None:
    """Raise the reason a slot cannot be booked now, if any (a friendly check; the database
    still has the last word on capacity)."""
    service = slot.service
    if not service.is_active:
        raise ApplicationError(
            AppointmentError.SERVICE_NOT_OFFERED, _("This mission does not offer this service.")
        )
    if direct and service.release_mode == ReleaseMode.LOTTERY:
        raise ApplicationError(
            AppointmentError.LOTTERY_ONLY,
            _("Slots for this service are given out by lottery; register for the next draw."),
        )
    if slot.starts_at <= now:
        raise ApplicationError(AppointmentError.SLOT_IN_PAST, _("This time has already passed."))
    if direct and slot.starts_at < now + dt.timedelta(hours=service.min_notice_hours):
        raise ApplicationError(
            AppointmentError.SLOT_TOO_SOON,
            _("Book at least %(hours)d hours ahead.") % {"hours": service.min_notice_hours},
        )
    if slot.starts_at > now + dt.timedelta(days=service.horizon_days):
        raise ApplicationError(
            AppointmentError.SLOT_BEYOND_HORIZON,
            _("This service can be booked at most %(days)d days ahead.")
            % {"days": service.horizon_days},
        )
    if direct and slot.bookable_from and slot.bookable_from > now:
        raise ApplicationError(
            AppointmentError.SLOT_NOT_RELEASED, _("This time has not been released yet.")
        )
    zone = mission_zone(current_mission())
    if Closure.objects.filter(
        date=slot.starts_at.astimezone(zone).date(), counter__isnull=True
    ).exists():
        raise ApplicationError(AppointmentError.DAY_CLOSED, _("The mission is closed that day."))
    if slot.booked >= slot.capacity:
        raise ApplicationError(
            AppointmentError.SLOT_FULL, _("This time has just been taken. Please choose another.")
        )


def no_show_block_until(*, user_id: int, now: dt.datetime) -> dt.datetime | None:
    """The end of the block if the account has reached the mission's no-show limit."""
    rules = MissionRules.objects.first() or MissionRules()
    if rules.no_show_limit == 0:
        return None
    since = now - dt.timedelta(days=rules.no_show_window_days)
    misses = list(
        Booking.objects.filter(
            user_id=user_id, status=BookingStatus.NO_SHOW, slot__starts_at__gte=since
        )
        .order_by("-slot__starts_at")
        .values_list("slot__starts_at", flat=True)[: rules.no_show_limit]
    )
    if len(misses) < rules.no_show_limit:
        return None
    until = misses[0] + dt.timedelta(days=rules.no_show_block_days)
    return until if until > now else None


def document_index(number: str) -> str:
    return blind_index(number, schema_name=current_schema(), purpose=DOCUMENT_PURPOSE)


def _release_persons(*, booking: Booking, acting_user: User | None) -> None:
    for person in booking.persons.filter(is_holding=True):
        person.is_holding = False
        set_acting_user(person, acting_user)
        person.save(update_fields=["is_holding"])
    locks.slot_release(slot_id=booking.slot_id)


def _book(
    *,
    slot: Slot,
    persons: list[PersonInput],
    user: User,
    language: str,
    acting_user: User | None,
    take_place: bool = True,
) -> Booking:
    """Inside a transaction: take the place, write the booking and its people. The UPDATE and
    the partial unique index are what keep capacity and one-booking-per-person true.
    `take_place=False`: the place is already held for this booking (a waitlist offer)."""
    if BookingPerson.objects.filter(
        service=slot.service,
        is_holding=True,
        document_index__in=[document_index(p.document_number) for p in persons],
    ).exists():
        raise ApplicationError(
            AppointmentError.ALREADY_BOOKED,
            _("This document already holds a booking for this service. Cancel or move it first."),
            field="document_number",
        )
    if take_place and not locks.slot_take(slot_id=slot.pk):
        raise ApplicationError(
            AppointmentError.SLOT_FULL, _("This time has just been taken. Please choose another.")
        )
    booking = Booking(
        reference=_new_reference(),
        service=slot.service,
        slot=slot,
        user_id=user.pk,
        email=user.email,
        language=language,
        cancel_token=secrets.token_urlsafe(32),
    )
    set_acting_user(booking, acting_user)
    booking.save()
    try:
        with transaction.atomic():
            for person in persons:
                row = BookingPerson(
                    booking=booking,
                    service=slot.service,
                    full_name=person.full_name,
                    date_of_birth=person.date_of_birth,
                    document_number=person.document_number,
                )
                set_acting_user(row, acting_user)
                row.save()
    except IntegrityError as error:
        raise ApplicationError(
            AppointmentError.ALREADY_BOOKED,
            _("This document already holds a booking for this service. Cancel or move it first."),
            field="document_number",
        ) from error
    outbox_event_record(
        topic="booking.created",
        aggregate_type="booking",
        aggregate_id=booking.reference,
        payload={
            "reference": booking.reference,
            "service": slot.service.code,
            "starts_at": slot.starts_at.isoformat(),
            "persons": len(persons),
        },
        acting_user=acting_user,
    )
    return booking


def booking_create(
    *,
    slot_id: int,
    service: Service,
    persons: list[PersonInput],
    user: User,
    language: str,
    acting_user: User | None,
    now: dt.datetime | None = None,
) -> Booking:
    """Book one place in a slot of `service` for `persons` (one family at one counter).

    Bad input, a slot that is not bookable, a document that already holds a booking for the
    service, or a full slot raise ApplicationError and change nothing. Queues the confirmation
    e-mail on commit."""
    now = now or timezone.now()
    persons = persons_validate(service=service, persons=persons)
    slot = Slot.objects.select_related("service").filter(pk=slot_id, service=service).first()
    if slot is None:
        raise ApplicationError(AppointmentError.NOT_FOUND, _("This time does not exist."))
    slot_check_bookable(slot=slot, now=now)
    blocked_until = no_show_block_until(user_id=user.pk, now=now)
    if blocked_until:
        raise ApplicationError(
            AppointmentError.BLOCKED_NO_SHOWS,
            _(
                "You missed several appointments without cancelling, so new bookings are "
                "blocked until %(date)s."
            )
            % {"date": blocked_until.astimezone(mission_zone(current_mission())).date()},
        )
    with transaction.atomic():
        booking = _book(
            slot=slot, persons=persons, user=user, language=language, acting_user=acting_user
        )
        from ..tasks import send_booking_confirmation

        task_queue_on_commit(send_booking_confirmation, booking.pk)
    return booking


def _require_owner(booking: Booking, user: User | None) -> None:
    if user is None or booking.user_id != user.pk:
        raise ApplicationError(AppointmentError.NOT_FOUND, _("Not found."))


def booking_cancel(
    *,
    booking: Booking,
    acting_user: User | None,
    now: dt.datetime | None = None,
    offer_to_waitlist: bool = True,
) -> Booking:
    """Cancel before the cutoff; the place is offered to the first person on the waitlist for
    that day, or else bookable again at once."""
    now = now or timezone.now()
    with transaction.atomic():
        booking = locks.booking_lock(pk=booking.pk)
        if not booking.can_cancel(now=now):
            if booking.status != BookingStatus.ACTIVE:
                raise ApplicationError(
                    AppointmentError.BAD_TRANSITION, _("This booking is no longer active.")
                )
            raise ApplicationError(
                AppointmentError.CUTOFF_PASSED,
                _("Bookings can be cancelled up to %(hours)d hours before the appointment.")
                % {"hours": booking.service.cancel_cutoff_hours},
            )
        booking.status = BookingStatus.CANCELLED
        set_acting_user(booking, acting_user)
        booking.save(update_fields=["status", "updated_at"])
        _release_persons(booking=booking, acting_user=acting_user)
        outbox_event_record(
            topic="booking.cancelled",
            aggregate_type="booking",
            aggregate_id=booking.reference,
            payload={"reference": booking.reference},
            acting_user=acting_user,
        )
        if offer_to_waitlist:
            from .waitlist import waitlist_offer_place

            waitlist_offer_place(slot=booking.slot, acting_user=acting_user)
    return booking


def booking_cancel_by_token(
    *, reference: str, token: str, now: dt.datetime | None = None
) -> Booking:
    """The one-tap cancel link of the e-mail: the token stands in for the login."""
    booking = Booking.objects.filter(reference=reference.upper()).first()
    if booking is None or not secrets.compare_digest(booking.cancel_token, token):
        raise ApplicationError(AppointmentError.NOT_FOUND, _("Not found."))
    return booking_cancel(booking=booking, acting_user=None, now=now)


def booking_reschedule(
    *,
    booking: Booking,
    slot_id: int,
    acting_user: User,
    now: dt.datetime | None = None,
) -> Booking:
    """Move a booking to another slot of the same service, in one transaction: the old place
    is released only if the new one is taken. Returns the new booking."""
    now = now or timezone.now()
    _require_owner(booking, acting_user)
    slot = (
        Slot.objects.select_related("service").filter(pk=slot_id, service=booking.service).first()
    )
    if slot is None:
        raise ApplicationError(AppointmentError.NOT_FOUND, _("This time does not exist."))
    slot_check_bookable(slot=slot, now=now)
    with transaction.atomic():
        old = booking_cancel(booking=booking, acting_user=acting_user, now=now)
        persons = [
            PersonInput(p.full_name, p.date_of_birth, p.document_number) for p in old.persons.all()
        ]
        new = _book(
            slot=slot, persons=persons, user=acting_user, language=old.language,
            acting_user=acting_user,
        )  # fmt: skip
        outbox_event_record(
            topic="booking.rescheduled",
            aggregate_type="booking",
            aggregate_id=new.reference,
            payload={"reference": new.reference, "previous": old.reference},
            acting_user=acting_user,
        )
        from ..tasks import send_booking_confirmation

        task_queue_on_commit(send_booking_confirmation, new.pk)
    return new


def _move(
    booking: Booking,
    status: str,
    acting_user: User,
    fields: dict[str, object],
    guard: Callable[[Booking], None] | None = None,
) -> Booking:
    with transaction.atomic():
        booking = locks.booking_lock(pk=booking.pk)
        if guard is not None:
            guard(booking)
        if not booking.can_move_to(status):
            raise ApplicationError(
                AppointmentError.BAD_TRANSITION,
                _("A booking that is “%(status)s” cannot become “%(new)s”.")
                % {"status": booking.get_status_display(), "new": BookingStatus(status).label},
            )
        if status == BookingStatus.CHECKED_IN:
            locks.queue_lock()
            zone = mission_zone(current_mission())
            start, end = calendar.local_day_bounds(timezone.now().astimezone(zone).date(), zone)
            last = Booking.objects.filter(
                checked_in_at__gte=start, checked_in_at__lt=end
            ).aggregate(last=Max("queue_number"))["last"]
            fields = {**fields, "queue_number": (last or 0) + 1}
        booking.status = status
        for field, value in fields.items():
            setattr(booking, field, value)
        set_acting_user(booking, acting_user)
        booking.save(update_fields=["status", *fields, "updated_at"])
        if status not in HOLDING:
            for person in booking.persons.filter(is_holding=True):
                person.is_holding = False
                set_acting_user(person, acting_user)
                person.save(update_fields=["is_holding"])
        outbox_event_record(
            topic=f"booking.{status}",
            aggregate_type="booking",
            aggregate_id=booking.reference,
            payload={"reference": booking.reference, "queue_number": booking.queue_number},
            acting_user=acting_user,
        )
    return booking


def booking_check_in(*, booking: Booking, acting_user: User) -> Booking:
    """At the mission, on the day: hand out the next queue ticket of the day."""
    zone = mission_zone(current_mission())
    today = timezone.now().astimezone(zone).date()
    if booking.slot.starts_at.astimezone(zone).date() != today:
        raise ApplicationError(
            AppointmentError.INVALID,
            _("This booking is for %(date)s, not today.")
            % {"date": booking.slot.starts_at.astimezone(zone).date()},
        )
    return _move(booking, BookingStatus.CHECKED_IN, acting_user, {"checked_in_at": timezone.now()})


def booking_call_next(*, acting_user: User) -> Booking | None:
    """Call the checked-in person with the lowest ticket who has not been called yet."""
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(skip_locked=True)
            .filter(status=BookingStatus.CHECKED_IN, called_at__isnull=True)
            .order_by("queue_number")
            .first()
        )
        if booking is None:
            return None
        booking.called_at = timezone.now()
        set_acting_user(booking, acting_user)
        booking.save(update_fields=["called_at", "updated_at"])
        outbox_event_record(
            topic="booking.called",
            aggregate_type="booking",
            aggregate_id=booking.reference,
            payload={"reference": booking.reference, "queue_number": booking.queue_number},
            acting_user=acting_user,
        )
    return booking


def booking_mark_served(*, booking: Booking, acting_user: User) -> Booking:
    return _move(booking, BookingStatus.SERVED, acting_user, {})


def booking_mark_no_show(*, booking: Booking, acting_user: User) -> Booking:
    def started(locked: Booking) -> None:
        if locked.slot.starts_at > timezone.now():
            raise ApplicationError(
                AppointmentError.BAD_TRANSITION, _("The appointment has not started yet.")
            )

    return _move(booking, BookingStatus.NO_SHOW, acting_user, {}, guard=started)
