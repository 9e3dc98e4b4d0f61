"""What goes with a booking confirmation: the Code128 barcode of the reference and the .ics."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from icalendar import Calendar, Event

from consulate.kernel.barcodes import code128_png
from missions.selectors import current_mission

from .models import Booking


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
    booking replaces the entry rather than adding a second one."""
    zone = zone or current_mission().zone
    starts_at = booking.slot.starts_at.astimezone(zone)
    ends_at = booking.slot.ends_at.astimezone(zone)
    calendar = Calendar()
    calendar.add("prodid", "-//Consular e-services//appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
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
    calendar.add_component(event)
    # Only the rules around the appointment: a VTIMEZONE of 1970-2038 is many lines per zone.
    calendar.add_missing_timezones(
        first_date=(starts_at - dt.timedelta(days=366)).date(),
        last_date=(ends_at + dt.timedelta(days=366)).date(),
    )
    return calendar.to_ical()
