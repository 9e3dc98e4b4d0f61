"""E-mails to the people who book, in their language. Called by tasks (appointments/tasks.py).

Every e-mail goes through `missions.mail.mission_mail_send`, which renders it (and its .ics) in
the reader's language (the booking's, the entry's) AND in the mission's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from email.mime.image import MIMEImage

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from missions.mail import mission_link, mission_mail_send
from missions.models import Mission
from missions.selectors import current_mission

from . import documents
from .models import Booking, LotteryEntry, Slot, WaitlistEntry, WaitlistStatus


def _booking_links(booking: Booking, mission: Mission) -> dict[str, object]:
    return {
        "booking": booking,
        "persons": list(booking.persons.all()),
        "cancel_url": mission_link(
            mission,
            reverse(
                "appointments:cancel_by_token",
                kwargs={"reference": booking.reference, "token": booking.cancel_token},
            ),
        ),
        "booking_url": mission_link(
            mission, reverse("appointments:booking_detail", args=[booking.reference])
        ),
        "rebook_url": mission_link(mission, reverse("appointments:service_list")),
        # inside the cutoff the one-tap link would lead to a refusal: the e-mail says whom to
        # contact instead (Booking.can_cancel, as the pages read it)
        "can_cancel": booking.can_cancel(),
    }


def _mail_send(
    *,
    mission: Mission,
    language: str,
    to: str,
    template: str,
    context: Mapping[str, object],
    times: Mapping[str, dt.datetime | None],
    documents_of: Booking | None = None,
    calendar_of: Booking | None = None,
) -> None:
    """`appointments/email/<template>` through `mission_mail_send`. `documents_of`: attach that
    booking's barcode (inline, `cid:barcode`) and its .ics; `calendar_of`: its .ics alone (a
    cancellation: nothing to show at the mission)."""

    def attach(message: EmailMultiAlternatives) -> None:
        if documents_of is not None:
            _attach_barcode(message, booking=documents_of)
        if (booking := documents_of or calendar_of) is not None:
            _attach_calendar(message, booking=booking, mission=mission)

    mission_mail_send(
        mission=mission,
        language=language,
        to=to,
        template=f"appointments/email/{template}",
        context=context,
        times=times,
        attach=attach,
    )


def _attach_barcode(message: EmailMultiAlternatives, *, booking: Booking) -> None:
    """The barcode shown inline (the HTML part's `cid:barcode`)."""
    message.mixed_subtype = "related"  # type: ignore[attr-defined]  # inline barcode (cid:)
    image = MIMEImage(documents.barcode_png(booking.reference), "png")
    image.add_header("Content-ID", "<barcode>")
    image.add_header("Content-Disposition", "inline", filename=f"{booking.reference}.png")
    message.attach(image)


def _attach_calendar(
    message: EmailMultiAlternatives, *, booking: Booking, mission: Mission
) -> None:
    """The booking's .ics, whose title is in the reader's language (called inside
    `_mail_send`'s overrides): the event while it stands, its cancellation once it is called
    off (`documents.booking_ics`), with the method in its Content-Type as mail clients read
    it (RFC 6047)."""
    message.attach(
        f"appointment-{booking.reference}.ics",
        documents.booking_ics(
            booking=booking,
            title=f"{booking.service.name} – {mission.name}",
            location=mission.address_line,
            url=mission_link(
                mission, reverse("appointments:booking_detail", args=[booking.reference])
            ),
            zone=mission.zone,
        ),
        f"text/calendar; method={documents.ics_method(booking)}",
    )


def booking_confirmation_send(*, booking: Booking) -> None:
    mission = current_mission()
    _mail_send(
        mission=mission,
        language=booking.language,
        to=booking.email,
        template="confirmation",
        context=_booking_links(booking, mission),
        times={
            "when": booking.slot.starts_at,
            "changes_until": booking.changes_until,
        },
        documents_of=booking,
    )


def booking_moved_send(*, booking: Booking, previous_slot: Slot | None = None) -> None:
    """After a move: the same reference and barcode, the new time (and the old one, so the
    reader sees what changed), and an .ics that replaces the calendar entry (same UID)."""
    mission = current_mission()
    _mail_send(
        mission=mission,
        language=booking.language,
        to=booking.email,
        template="moved",
        context=_booking_links(booking, mission),
        times={
            "when": booking.slot.starts_at,
            "before": previous_slot.starts_at if previous_slot is not None else None,
            "changes_until": booking.changes_until,
        },
        documents_of=booking,
    )


def booking_cancelled_send(*, booking: Booking) -> None:
    """The person cancelled the booking (on its page, or with the e-mail's one-tap link): what
    was cancelled, in mission time, a word for whoever did not, the link to book again and the
    .ics as a cancellation, which removes the entry from the person's calendar."""
    mission = current_mission()
    _mail_send(
        mission=mission,
        language=booking.language,
        to=booking.email,
        template="cancelled",
        context=_booking_links(booking, mission),
        times={"when": booking.slot.starts_at},
        calendar_of=booking,
    )


def booking_cancelled_by_mission_send(
    *, booking: Booking, visited_at: dt.datetime | None = None, hours_changed: bool = False
) -> None:
    """The mission cancelled the booking: it closes that day, or (`hours_changed`) the time is
    outside its new opening hours, each with a link to book again; or, with `visited_at`, the
    person's visit was recorded then (a case's, before the appointment's day) and the
    appointment is no longer needed. Each with the link to the booking's page and its .ics as
    a cancellation, which removes the entry from the person's calendar."""
    mission = current_mission()
    _mail_send(
        mission=mission,
        language=booking.language,
        to=booking.email,
        template="cancelled_by_mission",
        context={**_booking_links(booking, mission), "hours_changed": hours_changed},
        times={"when": booking.slot.starts_at, "visited": visited_at},
        calendar_of=booking,
    )


def booking_reminder_send(*, booking: Booking) -> None:
    mission = current_mission()
    _mail_send(
        mission=mission,
        language=booking.language,
        to=booking.email,
        template="reminder",
        context=_booking_links(booking, mission),
        times={"when": booking.slot.starts_at},
    )


def lottery_result_send(*, entry: LotteryEntry) -> None:
    mission = current_mission()
    lottery_round = entry.round
    context: dict[str, object] = {"entry": entry, "lottery_round": lottery_round}
    times: dict[str, dt.datetime | None] = {}
    if entry.booking is not None:
        context.update(_booking_links(entry.booking, mission))
        times["when"] = entry.booking.slot.starts_at
    else:
        # Not drawn: the draw put them on the waitlist for its days (unless they already were).
        context["waiting"] = WaitlistEntry.objects.filter(
            service_id=lottery_round.service_id,
            document_index=entry.document_index,
            status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED],
        ).exists()
    _mail_send(
        mission=mission,
        language=entry.language,
        to=entry.email,
        template="lottery_result",
        context=context,
        times=times,
        documents_of=entry.booking,
    )


def waitlist_offer_send(*, entry: WaitlistEntry) -> None:
    mission = current_mission()
    if entry.slot is None:
        return
    _mail_send(
        mission=mission,
        language=entry.language,
        to=entry.email,
        template="waitlist_offer",
        context={
            "entry": entry,
            "accept_url": mission_link(
                mission,
                reverse(
                    "appointments:waitlist_offer",
                    kwargs={"pk": entry.pk, "token": entry.offer_token},
                ),
            ),
        },
        times={"when": entry.slot.starts_at, "until": entry.offer_expires_at},
    )
