"""What the booking verbs share (booking, waitlist, lottery, closures): the people a booking
covers, taking and giving back a place in a slot, writing a booking on a place, and cancelling
one before its time.

Taking a place is one statement, `UPDATE … SET booked = booked + 1 WHERE booked < capacity`:
the row lock of the UPDATE serialises concurrent takers, and READ COMMITTED re-checks the
condition after the wait, so none oversells (invariant 1; the CHECK constraint on the slot has
the last word)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
from typing import Any

from django.db import IntegrityError
from django.db.models import Case, F, PositiveSmallIntegerField, When
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SystemActor
from consulate.kernel.crypto.blind_index import blind_index, normalise
from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from consulate.kernel.tenancy import current_schema
from missions.mail import local_time
from missions.selectors import current_mission
from sync.services import outbox_event_new, outbox_event_record

from .. import selectors
from ..error_codes import AppointmentError
from ..events import AppointmentTopic
from ..full_slots import full_slot_forget_on_commit, full_slot_keep, full_slot_keep_on_commit
from ..models import Booking, BookingPerson, Service, Slot
from ..models.catalogue import BOOKED_FROM_CASE
from .booking_statement import booking_rows_insert
from .confirmations import booking_confirmation_nudge

DOCUMENT_PATTERN = re.compile(r"^[A-Z0-9]{5,20}$")
DOCUMENT_PURPOSE = "identity_document"  # the BlindIndexField purpose of every document number
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out at a counter

# Who acts: a person, the platform (SYSTEM), or None for someone holding a link's secret (the
# e-mail's cancel or offer link) without logging in; recorded in history and the outbox.
Actor = User | SystemActor | None


@dataclasses.dataclass(frozen=True)
class PersonInput:
    full_name: str
    date_of_birth: dt.date
    document_number: str


def service_check_bookable_alone(*, service: Service) -> None:
    """A service booked from its case (`BOOKED_FROM_CASE`: the visa appointment, once the file
    is complete) is refused to a booking, lottery entry or waitlist made on its own."""
    if service.purpose in BOOKED_FROM_CASE:
        raise ApplicationError(
            AppointmentError.BOOKED_FROM_CASE,
            _(
                "This appointment is booked from your application: open your application to book"
                " it. It can be booked once the mission has found your file complete."
            ),
        )


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


def document_index(number: str) -> str:
    return blind_index(number, schema_name=current_schema(), purpose=DOCUMENT_PURPOSE)


def slot_place_take(*, pk: int) -> bool:
    """Take one place in a slot if one is free; False if it is full."""
    return bool(Slot.objects.filter(pk=pk, booked__lt=F("capacity")).update(booked=F("booked") + 1))


def slot_place_give_back(*, pk: int) -> None:
    """Give a place back. In a slot outside the opening hours the place goes with it (capacity
    drops too), so the time never becomes bookable again. A slot kept as full is marked freed
    on commit."""
    Slot.objects.filter(pk=pk, booked__gt=0).update(
        booked=F("booked") - 1,
        capacity=Case(
            When(outside_hours=True, then=F("capacity") - 1),
            default=F("capacity"),
            output_field=PositiveSmallIntegerField(),
        ),
    )
    full_slot_forget_on_commit(slot_ids=[pk])


def booking_release(*, booking: Booking, acting_user: Actor, give_back_place: bool) -> None:
    """Inside the transaction that ends a booking: its people no longer hold it (so they may
    book the service again); if it ends before its time (cancelled), its place in the slot is
    free again."""
    for person in booking.persons.filter(is_holding=True):
        person.is_holding = False
        set_acting_user(person, acting_user)
        person.save(update_fields=["is_holding"])
    if give_back_place:
        slot_place_give_back(pk=booking.slot_id)


def booking_cancel_write(
    *,
    booking: Booking,
    status: str,
    topic: AppointmentTopic,
    payload: dict[str, Any],
    acting_user: Actor,
    **fields: Any,
) -> None:
    """Inside the transaction that cancels a locked booking before its time (the person's
    cancel, the mission's, a closure's), whose service has checked who acts: move it to
    `status` (with `fields`, such as the recorded visit's time), with its history; its people
    free to book the service again and its place given back; and its event, `topic` with
    `payload`. Offering the place on (or not, on a closed day) and telling the person are the
    caller's."""
    booking.move_to(status)
    for field, value in fields.items():
        setattr(booking, field, value)
    set_acting_user(booking, acting_user)
    booking.save(update_fields=["status", *fields, "updated_at"])
    booking_release(booking=booking, acting_user=acting_user, give_back_place=True)
    outbox_event_record(
        topic=topic, aggregate_id=booking.pk, payload=payload, acting_user=acting_user
    )


def _new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def slot_full_refused(*, slot: Slot) -> ApplicationError:
    """The database has just found `slot` full: it is kept so for a moment, for the next
    booking of it to be refused early (appointments/full_slots.py), and this is the error."""
    release = selectors.service_next_release(service=slot.service)
    full_slot_keep(slot_id=slot.pk, service_code=slot.service.code, next_release=release)
    return slot_full_error(next_release=release)


def slot_full_error(*, next_release: dt.datetime | None) -> ApplicationError:
    """A time taken by someone else: choose another, and when the service releases more times
    (`next_release`, if it does), in the message and as `next_release` (ISO 8601, mission time)
    for programs."""
    release = next_release
    message = _("This time has just been taken. Please choose another.")
    if release is None:
        return ApplicationError(AppointmentError.SLOT_FULL, message, details={"next_release": None})
    zone = current_mission().zone
    release = release.astimezone(zone)
    released = _("More times are released on %(when)s.") % {"when": local_time(release, zone)}
    return ApplicationError(
        AppointmentError.SLOT_FULL,
        format_lazy("{} {}", message, released),
        details={"next_release": release.isoformat()},
    )


ONE_BOOKING_PER_PERSON = "appointments_one_active_booking_per_person"


def _constraint_of(error: IntegrityError) -> str | None:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def already_booked_error() -> ApplicationError:
    return ApplicationError(
        AppointmentError.ALREADY_BOOKED,
        _("This document already holds a booking for this service. Cancel or move it first."),
        field="document_number",
    )


def _booking_channel(*, user: User, made_by: Actor) -> str:
    """How a booking was made, as its created event says (docs/events.md): "counter" when a
    person other than its holder made it (staff, on the holder's behalf); "online" when the
    holder did, from their own account, or the platform did for them (a draw or a waitlist
    place they asked for themselves)."""
    if isinstance(made_by, User) and made_by.pk != user.pk:
        return "counter"
    return "online"


def booking_write(
    *,
    slot: Slot,
    persons: list[PersonInput],
    user: User,
    language: str,
    acting_user: Actor,
    take_place: bool = True,
    confirm: bool = False,
) -> Booking:
    """Write the booking, its people, their history and its event, and take the place, as one
    statement (`booking_statement`: data-modifying CTEs), one round trip: in the caller's
    transaction if there is one (whose service has checked who may book), else as its own
    transaction, committed by the statement alone. `take_place=False`: the place is already
    held for this booking (a waitlist offer). `confirm`: its confirmation e-mail is due, and
    the sweep that sends it is nudged on commit (`confirmations`; a lottery's booking is told
    by the draw's own e-mail instead).

    The UPDATE and the partial unique index are what keep capacity and one-booking-per-person
    true. A full slot writes nothing and is refused; a document that already holds a booking
    for the service is refused by the index, not by a query before (no race between a check and
    the insert). Either refusal raises, and a caller's transaction must roll back (an
    ApplicationError leaving its atomic block does). The UPDATE locks the slot's row, and the
    event's insert the mission's outbox counter, until COMMIT: in autocommit that is the end of
    the statement, so every booking of that slot (and every event of the mission) waits for the
    statement only. The event is `outbox_event_new`'s, the one shape of an outbox row."""
    booking = Booking(
        reference=_new_reference(),
        service=slot.service,
        slot=slot,
        user_id=user.pk,
        email=user.email,
        language=language,
        cancel_token=secrets.token_urlsafe(32),
    )
    rows = [
        BookingPerson(
            service=slot.service,
            full_name=person.full_name,
            date_of_birth=person.date_of_birth,
            document_number=person.document_number,
        )
        for person in persons
    ]
    event = outbox_event_new(
        topic=AppointmentTopic.BOOKING_CREATED,
        aggregate_id=None,  # the booking's id, set by the statement
        payload={
            "reference": booking.reference,
            "service": slot.service.code,
            "starts_at": slot.starts_at.isoformat(),
            "persons": len(persons),
            "channel": _booking_channel(user=user, made_by=acting_user),
        },
        acting_user=acting_user,
    )
    try:
        place = booking_rows_insert(
            booking=booking,
            persons=rows,
            event=event,
            history_user_id=getattr(acting_user, "pk", None),  # as consulate.kernel.history's
            take_place=take_place,
            confirm=confirm,
        )
    except IntegrityError as error:
        if _constraint_of(error) != ONE_BOOKING_PER_PERSON:
            raise
        raise already_booked_error() from error
    if not place.taken:
        raise slot_full_refused(slot=slot)
    if place.last:
        full_slot_keep_on_commit(slot=slot)
    if confirm:
        booking_confirmation_nudge()
    return booking
