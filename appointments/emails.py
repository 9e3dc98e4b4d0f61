"""E-mails to the people who book, in their language. Called by tasks (appointments/tasks.py).

Every e-mail goes through `_mail_send`, the one place that renders an appointment e-mail: its
subject, text and HTML parts and its .ics are rendered in the reader's language (the booking's,
the entry's) AND in the mission's time zone. A Celery worker runs in UTC; a time rendered
outside that place would show UTC as if it were local time. Callers hand over raw objects and
aware datetimes (`times`); `_mail_send` turns each time into what the person reads: the
mission's wall-clock time with the zone named, "Monday 12 May 2025, 10:10 (Asia/Tokyo)"."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from email.mime.image import MIMEImage

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.translation import pgettext

from consulate.kernel.tenancy import absolute_url
from missions.models import Mission
from missions.selectors import current_mission

from . import documents
from .models import Booking, LotteryEntry, Slot, WaitlistEntry, WaitlistStatus


def mission_link(mission: Mission, path: str) -> str:
    return absolute_url(mission.host, path)


def local_time(instant: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    """An instant as a person at the mission reads it, in the active language: the mission's
    wall-clock date and time, the zone named."""
    # The format is translatable: Turkish puts the day of the week after the date.
    when = dateformat.format(
        instant.astimezone(zone), pgettext("date and time in an e-mail", "l j F Y, H:i")
    )
    return f"{when} ({zone.key})"


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
) -> None:
    """Render `appointments/email/<template>_subject.txt`, `.txt` and `.html` in `language`
    and the mission's time zone, and send them to `to`. Each of `times` reaches the templates
    as a string already in mission time with the zone named (None stays None).
    `documents_of`: attach that booking's barcode (inline, `cid:barcode`) and its .ics."""
    zone = mission.zone
    with translation.override(language), timezone.override(zone):
        full: dict[str, object] = {
            "mission": mission,
            "language": language,
            "address_line": mission.postal_address.replace("\n", ", "),
            **context,
        }
        for name, instant in times.items():
            full[name] = None if instant is None else local_time(instant, zone)
        subject = render_to_string(f"appointments/email/{template}_subject.txt", full)
        message = EmailMultiAlternatives(
            subject=" ".join(subject.split()),
            body=render_to_string(f"appointments/email/{template}.txt", full),
            to=[to],
        )
        message.attach_alternative(
            render_to_string(f"appointments/email/{template}.html", full), "text/html"
        )
        if documents_of is not None:
            _attach_booking_documents(message, booking=documents_of, mission=mission)
        message.send()


def _attach_booking_documents(
    message: EmailMultiAlternatives, *, booking: Booking, mission: Mission
) -> None:
    """The barcode shown inline (the HTML part's `cid:barcode`) and the .ics, whose title is
    in the reader's language (called inside `_mail_send`'s overrides)."""
    message.mixed_subtype = "related"  # type: ignore[attr-defined]  # inline barcode (cid:)
    image = MIMEImage(documents.barcode_png(booking.reference), "png")
    image.add_header("Content-ID", "<barcode>")
    image.add_header("Content-Disposition", "inline", filename=f"{booking.reference}.png")
    message.attach(image)
    message.attach(
        f"appointment-{booking.reference}.ics",
        documents.booking_ics(
            booking=booking,
            title=f"{booking.service.name} – {mission.name}",
            location=mission.postal_address.replace("\n", ", "),
            url=mission_link(
                mission, reverse("appointments:booking_detail", args=[booking.reference])
            ),
            zone=mission.zone,
        ),
        "text/calendar",
    )


def booking_confirmation_send(*, booking: Booking) -> None:
    mission = current_mission()
    _mail_send(
        mission=mission,
        language=booking.language,
        to=booking.email,
        template="confirmation",
        context=_booking_links(booking, mission),
        times={"when": booking.slot.starts_at},
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
        },
        documents_of=booking,
    )


def booking_cancelled_by_mission_send(*, booking: Booking) -> None:
    mission = current_mission()
    _mail_send(
        mission=mission,
        language=booking.language,
        to=booking.email,
        template="cancelled_by_mission",
        context=_booking_links(booking, mission),
        times={"when": booking.slot.starts_at},
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
