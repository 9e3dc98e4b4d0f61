"""What goes with a booking's e-mails: the Code128 barcode of the reference and the .ics (an
event to add, or, once the booking is called off, its cancellation)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from icalendar import Calendar, Event, vCalAddress, vText

from consulate.kernel.barcodes import code128_png
from missions.selectors import current_mission

from .models import Booking, BookingStatus


def barcode_png(reference: str) -> bytes:
    return code128_png(reference, module_height=12.0, font_size=10, quiet_zone=6.0)


def booking_ics(
    *,
    booking: Booking,
    title: str,
    location: str,
    url: str,
    zone: zoneinfo.ZoneInfo | None = None,
) -> bytes:
    """The booking as a calendar event in the mission's time zone (`zone`, else the current
    mission's): DTSTART;TZID=Asia/Tokyo:…T101000 with its VTIMEZONE, so a calendar shows the
    mission's wall-clock time and names its zone. The UID is the reference, which a move keeps,
    and SEQUENCE grows with every change of the booking, so importing the .ics of a moved
    booking replaces the entry rather than adding a second one.

    A booking that no longer stands before its time (cancelled by the person or the mission,
    or released for a visit recorded earlier) is the same event as a cancellation, as RFC 5546
    writes one: METHOD:CANCEL, STATUS:CANCELLED, the same UID and a higher SEQUENCE (its
    cancellation is a change of its own), so a calendar that holds the entry removes it. The
    ORGANIZER, which iTIP asks of both, is the mission. `ics_method` names the method for the
    attachment's Content-Type (`text/calendar; method=…`, RFC 6047)."""
    mission = current_mission()
    zone = zone or mission.zone
    starts_at = booking.slot.starts_at.astimezone(zone)
    ends_at = booking.slot.ends_at.astimezone(zone)
    method = ics_method(booking)
    calendar = Calendar()
    calendar.add("prodid", "-//Consular e-services//appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", f"{booking.reference}@consulate")
    event.add("sequence", booking.history.count())
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    event.add("dtstart", starts_at)
    event.add("dtend", ends_at)
    event.add("summary", title)
    event.add("location", location)
    event.add("description", f"{booking.reference}\n{url}")
    event.add("url", url)
    organizer = vCalAddress(f"mailto:{mission.email or settings.DEFAULT_FROM_EMAIL}")
    organizer.params["cn"] = vText(mission.name)
    event.add("organizer", organizer)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    calendar.add_component(event)
    # Only the rules around the appointment: a VTIMEZONE of 1970-2038 is many lines per zone.
    calendar.add_missing_timezones(
        first_date=(starts_at - dt.timedelta(days=366)).date(),
        last_date=(ends_at + dt.timedelta(days=366)).date(),
    )
    return calendar.to_ical()


PUBLISH, CANCEL = "PUBLISH", "CANCEL"
# a booking in these states was called off before its time: its .ics cancels the entry
CALLED_OFF = (BookingStatus.CANCELLED, BookingStatus.CANCELLED_BY_MISSION)


def ics_method(booking: Booking) -> str:
    """The iTIP method of the booking's .ics: CANCEL once it was called off, else PUBLISH."""
    return CANCEL if booking.status in CALLED_OFF else PUBLISH
