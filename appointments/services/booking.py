"""Booking, cancelling, rescheduling, and the counter workflow (check-in, call, served,
no-show). Each verb is one transaction that writes the change, its history and its outbox
event; mail is queued on commit.

A citizen's own verbs (book, cancel, move) check that the booking is theirs; the counter's
verbs are staff services and ask the permission table first (`Action.BOOKING_PROCESS`). One
internal step, `booking_visit_record`, is called by a passport or visa case's service that has
checked its own permission, when it records the visit."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel import reference
from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SystemActor
from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.history import set_acting_user
from consulate.kernel.tenancy import task_queue_on_commit
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.services import outbox_event_record

from .. import calendar, locks, selectors
from ..error_codes import AppointmentError
from ..events import AppointmentTopic
from ..models import (
    HOLDING,
    MOVED_REASON,
    Booking,
    BookingStatus,
    ReleaseMode,
    Service,
    Slot,
)
from .places import (
    Actor,
    PersonInput,
    booking_cancel_write,
    booking_release,
    booking_write,
    persons_validate,
    service_check_bookable_alone,
    slot_full_refused,
    slot_place_give_back,
    slot_place_take,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# The event each counter verb records, by the status it moves to.
COUNTER_TOPICS: dict[str, AppointmentTopic] = {
    BookingStatus.CHECKED_IN: AppointmentTopic.BOOKING_CHECKED_IN,
    BookingStatus.SERVED: AppointmentTopic.BOOKING_SERVED,
    BookingStatus.NO_SHOW: AppointmentTopic.BOOKING_NO_SHOW,
}


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
    if slot.day_closed:  # type: ignore[attr-defined]  # selectors.slot_get_for_booking
        raise ApplicationError(AppointmentError.DAY_CLOSED, _("The mission is closed that day."))
    if slot.booked >= slot.capacity:
        raise slot_full_refused(slot=slot)


def no_show_block_until(*, slot: Slot, now: dt.datetime) -> dt.datetime | None:
    """The end of the block if the account has reached the mission's no-show limit, from what
    `selectors.slot_get_for_booking` read with the slot for the account."""
    limit = slot.no_show_limit  # type: ignore[attr-defined]
    misses = slot.recent_no_shows  # type: ignore[attr-defined]  # latest first
    if limit == 0 or len(misses) < limit:
        return None
    until = misses[0] + dt.timedelta(days=slot.no_show_block_days)  # type: ignore[attr-defined]
    return until if until > now else None


def _slot_of(
    *, service: Service, slot_id: int, now: dt.datetime, user_id: int | None = None
) -> Slot:
    slot = selectors.slot_get_for_booking(
        service=service, slot_id=slot_id, mission=current_mission(), user_id=user_id, now=now
    )
    if slot is None:
        raise ApplicationError(CommonError.NOT_FOUND, _("This time does not exist."))
    return slot


def _slot_bookable_by(*, service: Service, slot_id: int, user: User, now: dt.datetime) -> Slot:
    """The slot, if `user` may book it now; else the reason, raised."""
    slot = _slot_of(service=service, slot_id=slot_id, now=now, user_id=user.pk)
    _slot_check_bookable_by(slot=slot, now=now)
    return slot


def _slot_check_bookable_by(*, slot: Slot, now: dt.datetime) -> None:
    """`slot` as `selectors.slot_get_for_booking` read it for its user: the reason it is not
    bookable by them now, raised."""
    slot_check_bookable(slot=slot, now=now)
    blocked_until = no_show_block_until(slot=slot, now=now)
    if blocked_until:
        raise ApplicationError(
            AppointmentError.BLOCKED_NO_SHOWS,
            _(
                "You missed several appointments without cancelling, so new bookings are "
                "blocked until %(date)s."
            )
            % {"date": blocked_until.astimezone(current_mission().zone).date()},
        )


def booking_refused_ahead(
    *, slot: Slot, service: Service, now: dt.datetime | None = None
) -> ApplicationError | None:
    """Why the booking of `slot` (as `selectors.slot_get_for_booking` read it for its user)
    would be refused now, or None: what the booking page says as it opens, before anyone types
    their details (a time taken since it was chosen, one passed or not released yet, a block
    for missed appointments). The booking checks it all again, and the database has the last
    word on places."""
    try:
        service_check_bookable_alone(service=service)
        _slot_check_bookable_by(slot=slot, now=now or timezone.now())
    except ApplicationError as refused:
        return refused
    return None


def booking_create(
    *,
    slot_id: int,
    service: Service,
    persons: list[PersonInput],
    user: User,
    language: str,
    acting_user: User,
    now: dt.datetime | None = None,
    from_case: bool = False,
) -> Booking:
    """Book one place in a slot of `service` for `persons` (one family at one counter).
    `from_case`: the case's own service books it (a visa application once complete); a service
    booked from its case is refused otherwise.

    Bad input, a slot that is not bookable, a document that already holds a booking for the
    service, or a full slot raise ApplicationError and change nothing. Its confirmation e-mail
    is due with it and goes by the sweep (`confirmations`), nudged on commit."""
    now = now or timezone.now()
    if not from_case:
        service_check_bookable_alone(service=service)
    persons = persons_validate(service=service, persons=persons)
    slot = _slot_bookable_by(service=service, slot_id=slot_id, user=user, now=now)
    # One statement: its own transaction at the top (no BEGIN or COMMIT round trips around it);
    # a savepoint in a caller's, so a refusal leaves the caller's transaction usable.
    with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
        booking = booking_write(
            slot=slot,
            persons=persons,
            user=user,
            language=language,
            acting_user=acting_user,
            confirm=True,
        )
    return booking


def _require_owner(booking: Booking, acting_user: Actor) -> None:
    """A citizen's verbs act on their own bookings only: anything else does not exist for them.
    The platform (SYSTEM) may act on any."""
    if isinstance(acting_user, SystemActor):
        return
    if acting_user is None or booking.user_id != acting_user.pk:
        raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))


def _changes_allowed(booking: Booking, now: dt.datetime) -> None:
    """A person's cancel or move: the booking is still active and the cutoff has not passed."""
    if not booking.can_cancel(now=now):
        if not booking.can_move_to(BookingStatus.CANCELLED):
            raise ApplicationError(
                CommonError.BAD_TRANSITION, _("This booking is no longer active.")
            )
        raise ApplicationError(
            AppointmentError.CUTOFF_PASSED,
            _(
                "This appointment can no longer be changed or cancelled online: changes end "
                "%(hours)d hours before the appointment. If you cannot come, please contact "
                "the mission."
            )
            % {"hours": booking.service.cancel_cutoff_hours},
        )


def _cancel(*, booking: Booking, acting_user: Actor, now: dt.datetime) -> Booking:
    with transaction.atomic():
        booking = locks.booking_lock(pk=booking.pk)
        _changes_allowed(booking, now)
        booking_cancel_write(
            booking=booking,
            status=BookingStatus.CANCELLED,
            topic=AppointmentTopic.BOOKING_CANCELLED,
            payload={"reference": booking.reference},
            acting_user=acting_user,
        )
        from .waitlist import waitlist_offer_place

        waitlist_offer_place(slot=booking.slot, acting_user=acting_user)
        from ..tasks import send_booking_cancelled

        task_queue_on_commit(send_booking_cancelled, booking.pk)
    return booking


def booking_cancel(
    *, booking: Booking, acting_user: User | SystemActor, now: dt.datetime | None = None
) -> Booking:
    """The person cancels their booking before the cutoff; the place is offered to the first
    person on the waitlist for that day, or else bookable again at once; the person is e-mailed
    that it is cancelled, with its .ics as a cancellation."""
    _require_owner(booking, acting_user)
    return _cancel(booking=booking, acting_user=acting_user, now=now or timezone.now())


def booking_cancel_by_token(
    *, reference: str, token: str, now: dt.datetime | None = None
) -> Booking:
    """The one-tap cancel link of the e-mail: the token stands in for the login."""
    booking = selectors.booking_get_by_cancel_token(reference=reference, token=token)
    if booking is None:
        raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))
    return _cancel(booking=booking, acting_user=None, now=now or timezone.now())


def _move_to_slot(
    *, booking: Booking, slot: Slot, acting_user: User | SystemActor, by_mission: bool = False
) -> Booking:
    """Inside the caller's transaction, on a locked active booking: move it onto `slot`.

    The booking keeps its row, reference, cancel link and people, so the barcode and the links
    already e-mailed stay valid. The new place is taken (the one UPDATE that keeps capacity, so
    a full slot refuses and nothing changes) before the old one is given back; the old place
    goes to the first person on the waitlist for that day, or back to everyone. History records
    the change of slot ("moved"); one `booking.rescheduled` event carries both starts; the
    e-mail saying it moved (new and old time, same reference and barcode) is queued on
    commit."""
    old = booking.slot
    if slot.pk == old.pk:
        raise ApplicationError(
            AppointmentError.INVALID, _("This is already the time of the appointment.")
        )
    if not slot_place_take(pk=slot.pk):
        raise slot_full_refused(slot=slot)
    booking.slot = slot
    booking.reminded_at = None  # the reminder is for the new time
    set_acting_user(booking, acting_user)
    booking._change_reason = MOVED_REASON  # type: ignore[attr-defined]  # simple-history's reason
    booking.save(update_fields=["slot", "reminded_at", "updated_at"])
    slot_place_give_back(pk=old.pk)
    outbox_event_record(
        topic=AppointmentTopic.BOOKING_RESCHEDULED,
        aggregate_id=booking.pk,
        payload={
            "reference": booking.reference,
            "service": booking.service.code,
            "previous_starts_at": old.starts_at.isoformat(),
            "starts_at": slot.starts_at.isoformat(),
            "by_mission": by_mission,
        },
        acting_user=acting_user,
        version=2,
    )
    from .waitlist import waitlist_offer_place

    waitlist_offer_place(slot=old, acting_user=acting_user)
    from ..tasks import send_booking_moved

    task_queue_on_commit(send_booking_moved, booking.pk, old.pk)
    return booking


def booking_reschedule(
    *,
    booking: Booking,
    slot_id: int,
    acting_user: User,
    now: dt.datetime | None = None,
) -> Booking:
    """The person moves their booking to another bookable time of the same service, until the
    cutoff, in one transaction (`_move_to_slot`): it keeps its reference. If the new place
    cannot be taken, the booking stays as it was."""
    now = now or timezone.now()
    _require_owner(booking, acting_user)
    slot = _slot_of(service=booking.service, slot_id=slot_id, now=now)
    slot_check_bookable(slot=slot, now=now)
    with transaction.atomic():
        booking = locks.booking_lock(pk=booking.pk)
        _changes_allowed(booking, now)
        return _move_to_slot(booking=booking, slot=slot, acting_user=acting_user)


def _outside_hours_booking_lock(
    *, pk: int, covered: StrOrPromise, slot_ids: tuple[int, ...] = ()
) -> Booking:
    """Inside the caller's transaction, for the mission's move or cancel of a booking the
    settings page listed outside the opening hours (a page that may be stale): the booking
    locked, then its slot and `slot_ids` (a move's new time) in pk order, as `locks.py` orders
    them (`opening_hours_set` locks the slots it changes), and read again under the locks.

    Refused, and nothing changed, when the booking is no longer active (a colleague cancelled
    it) or when the opening hours cover its time: they changed back, or a colleague moved it
    to a time within them. `covered` says so, naming the booking's `%(reference)s`. Returns the
    booking with its slot as locked."""
    booking = locks.booking_lock(pk=pk)
    if booking.status != BookingStatus.ACTIVE:
        raise ApplicationError(CommonError.BAD_TRANSITION, _("This booking is no longer active."))
    locks.slots_lock(pks=[booking.slot_id, *slot_ids])
    booking.slot = Slot.objects.select_related("service").get(pk=booking.slot_id)
    if not booking.slot.outside_hours:
        raise ApplicationError(
            AppointmentError.WITHIN_HOURS, covered % {"reference": booking.reference}
        )
    return booking


def booking_move_by_mission(
    *, booking: Booking, slot_id: int, acting_user: User | SystemActor
) -> Booking:
    """The mission admin moves an active booking left outside new opening hours (listed on the
    settings page) to another time of its service. It keeps its reference; the person gets the
    confirmation of the new time in their language (`_move_to_slot`). The person's notice and
    cutoff do not apply (the mission decides); the time must be free, ahead, within the horizon,
    on an open day and within the opening hours.

    Both are judged under the locks (`_outside_hours_booking_lock`, as the cancel does): from a
    page read before the hours changed back, or before a colleague moved or cancelled the
    booking, the move is refused; so is a new time the hours have dropped since (its slot
    closed, or gone). Nothing changes and the person is not told anything."""
    permission_require(
        user=acting_user, mission=current_mission(), action=Action.APPOINTMENTS_SETTINGS_CHANGE
    )
    now = timezone.now()
    with transaction.atomic():
        booking = _outside_hours_booking_lock(
            pk=booking.pk,
            covered=_(
                "Booking %(reference)s is within the opening hours now (they changed back, or "
                "it was moved already), so it stays at its time: nothing was moved and the "
                "person was not told anything."
            ),
            slot_ids=(slot_id,),
        )
        slot = selectors.slot_get_for_booking(
            service=booking.service, slot_id=slot_id, mission=current_mission(), user_id=None,
            now=now,
        )  # fmt: skip
        if slot is None or slot.outside_hours:  # dropped by the hours: closed if booked, else gone
            raise ApplicationError(
                AppointmentError.TIME_OUTSIDE_HOURS,
                _(
                    "The opening hours no longer include this time: choose another. Booking "
                    "%(reference)s was not moved and the person was not told anything."
                )
                % {"reference": booking.reference},
                field="slot",
            )
        slot_check_bookable(slot=slot, now=now, direct=False)
        return _move_to_slot(booking=booking, slot=slot, acting_user=acting_user, by_mission=True)


def booking_cancel_by_mission(*, booking: Booking, acting_user: User | SystemActor) -> Booking:
    """The mission admin cancels an active booking it cannot keep (one left outside new opening
    hours): `cancelled_by_mission`, the place given back, and the person told in their
    language that its time is outside the new opening hours, with a link to book again.

    The hours are judged again under the locks (`_outside_hours_booking_lock`): a page read
    before the hours changed back would otherwise cancel a booking they cover, and tell the
    person the hours no longer do. Such a booking is refused and left as it is."""
    permission_require(
        user=acting_user, mission=current_mission(), action=Action.APPOINTMENTS_SETTINGS_CHANGE
    )
    with transaction.atomic():
        booking = _outside_hours_booking_lock(
            pk=booking.pk,
            covered=_(
                "The opening hours cover the time of booking %(reference)s again, so it "
                "stays booked: nothing was cancelled and the person was not told anything."
            ),
        )
        return _cancel_by_mission(booking=booking, acting_user=acting_user, kind="opening_hours")


def _cancel_by_mission(
    *,
    booking: Booking,
    acting_user: User | SystemActor,
    kind: str,
    visited_at: dt.datetime | None = None,
) -> Booking:
    """Inside the caller's transaction, on a locked active booking: `cancelled_by_mission`, the
    place given back (to the first person on the waitlist for that day, or to everyone), the
    event with its `kind`, and the person's e-mail queued on commit: for `opening_hours`, that
    the appointment falls outside the mission's new hours; with `visited_at`, that the visit
    was recorded then and the appointment is no longer needed (which the booking keeps,
    `visit_recorded_at`, for its pages to say)."""
    booking_cancel_write(
        booking=booking,
        status=BookingStatus.CANCELLED_BY_MISSION,
        topic=AppointmentTopic.BOOKING_CANCELLED_BY_MISSION,
        payload={"reference": booking.reference, "closure": None, "kind": kind},
        acting_user=acting_user,
        **({} if visited_at is None else {"visit_recorded_at": visited_at}),
    )
    from .waitlist import waitlist_offer_place

    waitlist_offer_place(slot=booking.slot, acting_user=acting_user)
    from ..tasks import send_cancelled_by_mission

    task_queue_on_commit(
        send_cancelled_by_mission,
        booking.pk,
        visited_at.isoformat() if visited_at is not None else None,
        hours_changed=kind == "opening_hours",
    )
    return booking


def _counter_move(
    *, booking: Booking, status: str, acting_user: User | SystemActor, **fields: Any
) -> Booking:
    """Inside the caller's transaction, on a locked booking: move it and record the event."""
    booking.move_to(status)
    for field, value in fields.items():
        setattr(booking, field, value)
    set_acting_user(booking, acting_user)
    booking.save(update_fields=["status", *fields, "updated_at"])
    if status not in HOLDING:  # served or no-show: the time was used, the people are free
        booking_release(booking=booking, acting_user=acting_user, give_back_place=False)
    outbox_event_record(
        topic=COUNTER_TOPICS[status],
        aggregate_id=booking.pk,
        payload={"reference": booking.reference, "queue_number": booking.queue_number},
        acting_user=acting_user,
    )
    return booking


def booking_check_in(*, booking: Booking, acting_user: User | SystemActor) -> Booking:
    """At the mission, on the day: hand out the next queue ticket of the day."""
    mission = current_mission()
    permission_require(user=acting_user, mission=mission, action=Action.BOOKING_PROCESS)
    with transaction.atomic():
        booking = locks.booking_lock(pk=booking.pk)
        if booking.released_for_visit:
            raise _released_for_visit(booking, zone=mission.zone)
        return _check_in(
            booking=booking, acting_user=acting_user, now=timezone.now(), zone=mission.zone
        )


def _released_for_visit(booking: Booking, *, zone: ZoneInfo) -> ApplicationError:
    """The counter's refusal of a booking released because its case recorded the visit before
    the day: the officer reads why it is not there to check in, not that it was cancelled."""
    visited = booking.visit_recorded_at.astimezone(zone).date()  # type: ignore[union-attr]
    return ApplicationError(
        CommonError.BAD_TRANSITION,
        _(
            "Booking %(reference)s was released: the visit was recorded on %(day)s, so it is "
            "no longer needed and there is nothing to check in."
        )
        % {"reference": booking.reference, "day": reference.day_written_out(visited)},
    )


def _check_in(
    *, booking: Booking, acting_user: User | SystemActor, now: dt.datetime, zone: ZoneInfo
) -> Booking:
    """Inside the caller's transaction, on a locked booking: on its day (the mission's local
    date at `now`, in its `zone`), the next queue ticket of the day."""
    today = now.astimezone(zone).date()
    day = booking.slot.starts_at.astimezone(zone).date()
    if day != today:
        raise ApplicationError(
            AppointmentError.INVALID,
            _("This booking is for %(date)s, not today.") % {"date": day},
        )
    locks.queue_lock()
    start, end = calendar.local_day_bounds(today, zone)
    last = Booking.objects.filter(checked_in_at__gte=start, checked_in_at__lt=end).aggregate(
        last=Max("queue_number")
    )["last"]
    return _counter_move(
        booking=booking,
        status=BookingStatus.CHECKED_IN,
        acting_user=acting_user,
        checked_in_at=now,
        queue_number=(last or 0) + 1,
    )


def booking_call_next(*, acting_user: User | SystemActor) -> Booking | None:
    """Call the checked-in person with the lowest ticket who has not been called yet."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.BOOKING_PROCESS)
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
            topic=AppointmentTopic.BOOKING_CALLED,
            aggregate_id=booking.pk,
            payload={"reference": booking.reference, "queue_number": booking.queue_number},
            acting_user=acting_user,
        )
    return booking


def booking_mark_served(*, booking: Booking, acting_user: User | SystemActor) -> Booking:
    permission_require(user=acting_user, mission=current_mission(), action=Action.BOOKING_PROCESS)
    with transaction.atomic():
        booking = locks.booking_lock(pk=booking.pk)
        return _counter_move(booking=booking, status=BookingStatus.SERVED, acting_user=acting_user)


def booking_mark_no_show(*, booking: Booking, acting_user: User | SystemActor) -> Booking:
    permission_require(user=acting_user, mission=current_mission(), action=Action.BOOKING_PROCESS)
    with transaction.atomic():
        booking = locks.booking_lock(pk=booking.pk)
        if booking.can_move_to(BookingStatus.NO_SHOW) and not booking.can_mark_no_show():
            raise ApplicationError(
                CommonError.BAD_TRANSITION, _("The appointment has not started yet.")
            )
        return _counter_move(booking=booking, status=BookingStatus.NO_SHOW, acting_user=acting_user)


def booking_visit_record(
    *, booking_id: int, visited_at: dt.datetime, acting_user: User | SystemActor
) -> Booking:
    """A passport or visa case recorded its visit at `visited_at` (biometrics taken, attended):
    the booking it keeps by id follows, so that it neither holds its place nor counts as a
    no-show, and My bookings says what happened.

    - On the booking's day (the mission's local date at `visited_at`), an active booking is
      checked in and served, a checked-in one served: the counter's own moves, with their
      events.
    - An active booking whose day is still ahead (the person came early) is cancelled by the
      mission, as `booking_cancel_by_mission` does: the place given back (or offered to the
      waitlist), the event's `kind` `visit_recorded`, `visit_recorded_at` set in the same
      write (so pages say "no longer needed", not "cancelled"), and the person told in their
      language that the visit was recorded that day and the appointment is no longer needed.
    - Anything else (cancelled, served, no-show, a day that has passed) stays as it is.

    An internal step of the case's service (`passports.services.application_biometrics_take`,
    `visas.services.casework.application_attend`), which has checked who acts
    (`PASSPORT_PROCESS`, `VISA_PROCESS`) and calls this inside its transaction, after the
    application's lock and before its own events (the locks' order: the booking, its slot, the
    day's queue, then the outbox counter). It checks no permission of its own: cancelling as
    the mission is the mission admin's (`APPOINTMENTS_SETTINGS_CHANGE`), which the officers
    and consuls who record visits do not hold, and here it is the visit, not a choice of
    theirs, that ends the booking (docs/appointments.md, "A case's visit")."""
    if not connection.in_atomic_block:
        raise RuntimeError("booking_visit_record must run inside the case's transaction")
    booking = locks.booking_lock(pk=booking_id)
    zone = current_mission().zone
    day = booking.slot.starts_at.astimezone(zone).date()
    today = visited_at.astimezone(zone).date()
    if day == today and booking.status in HOLDING:
        if booking.status == BookingStatus.ACTIVE:
            booking = _check_in(booking=booking, acting_user=acting_user, now=visited_at, zone=zone)
        return _counter_move(booking=booking, status=BookingStatus.SERVED, acting_user=acting_user)
    if day > today and booking.status == BookingStatus.ACTIVE:
        return _cancel_by_mission(
            booking=booking, acting_user=acting_user, kind="visit_recorded", visited_at=visited_at
        )
    return booking
