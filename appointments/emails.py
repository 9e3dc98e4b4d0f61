"""E-mails to the people who book, in their language. Called by tasks (appointments/tasks.py)."""

from __future__ import annotations

from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from missions.models import Mission
from missions.selectors import current_mission

from . import documents
from .models import Booking, LotteryEntry, WaitlistEntry


def mission_link(mission: Mission, path: str) -> str:
    scheme = "http" if settings.DEBUG or settings.PORTAL_HOST == "localhost" else "https"
    port = settings.PORTAL_PORT
    return f"{scheme}://{mission.host}{':' + str(port) if port else ''}{path}"


def _context(booking: Booking, mission: Mission) -> dict[str, object]:
    zone = mission.zone
    return {
        "booking": booking,
        "mission": mission,
        "starts_local": timezone.localtime(booking.slot.starts_at, zone),
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


def _send(
    *, subject: str, template: str, to: str, context: dict[str, object]
) -> EmailMultiAlternatives:
    text = render_to_string(f"appointments/email/{template}.txt", context)
    html = render_to_string(f"appointments/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.mixed_subtype = "related"  # type: ignore[attr-defined]  # inline barcode (cid:)
    return message


def booking_confirmation_send(*, booking: Booking) -> None:
    mission = current_mission()
    with translation.override(booking.language):
        context = _context(booking, mission)
        subject = _("Your appointment %(reference)s at the %(mission)s") % {
            "reference": booking.reference,
            "mission": mission.name,
        }
        message = _send(subject=subject, template="confirmation", to=booking.email, context=context)
        image = MIMEImage(documents.barcode_png(booking.reference), "png")
        image.add_header("Content-ID", "<barcode>")
        image.add_header("Content-Disposition", "inline", filename=f"{booking.reference}.png")
        message.attach(image)
        message.attach(
            f"appointment-{booking.reference}.ics",
            documents.booking_ics(
                booking=booking,
                title=f"{booking.service.name} – {mission.name}",
                location=mission.address.replace("\n", ", "),
                url=str(context["booking_url"]),
            ),
            "text/calendar",
        )
        message.send()


def booking_cancelled_by_mission_send(*, booking: Booking) -> None:
    mission = current_mission()
    with translation.override(booking.language):
        subject = _("Your appointment %(reference)s is cancelled") % {
            "reference": booking.reference
        }
        _send(
            subject=subject,
            template="cancelled_by_mission",
            to=booking.email,
            context=_context(booking, mission),
        ).send()


def booking_reminder_send(*, booking: Booking) -> None:
    mission = current_mission()
    with translation.override(booking.language):
        subject = _("Reminder: your appointment %(reference)s") % {"reference": booking.reference}
        _send(
            subject=subject,
            template="reminder",
            to=booking.email,
            context=_context(booking, mission),
        ).send()


def lottery_result_send(*, entry: LotteryEntry) -> None:
    mission = current_mission()
    with translation.override(entry.language):
        context: dict[str, object] = {"entry": entry, "mission": mission}
        if entry.booking is not None:
            context.update(_context(entry.booking, mission))
        subject = _("The result of the appointment draw at the %(mission)s") % {
            "mission": mission.name
        }
        _send(subject=subject, template="lottery_result", to=entry.email, context=context).send()


def waitlist_offer_send(*, entry: WaitlistEntry) -> None:
    mission = current_mission()
    if entry.slot is None:
        return
    zone = mission.zone
    with translation.override(entry.language):
        context: dict[str, object] = {
            "entry": entry,
            "mission": mission,
            "starts_local": timezone.localtime(entry.slot.starts_at, zone),
            "expires_local": timezone.localtime(entry.offer_expires_at, zone)
            if entry.offer_expires_at
            else None,
            "accept_url": mission_link(
                mission,
                reverse(
                    "appointments:waitlist_offer",
                    kwargs={"pk": entry.pk, "token": entry.offer_token},
                ),
            ),
        }
        subject = _("A time is free for you at the %(mission)s") % {"mission": mission.name}
        _send(subject=subject, template="waitlist_offer", to=entry.email, context=context).send()
