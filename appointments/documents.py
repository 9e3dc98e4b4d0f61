"""What goes with a booking confirmation: the Code128 barcode of the reference and the .ics."""

from __future__ import annotations

import datetime as dt
import io

import barcode
from barcode.writer import ImageWriter
from icalendar import Calendar, Event

from .models import Booking


def barcode_png(reference: str) -> bytes:
    out = io.BytesIO()
    barcode.get("code128", reference, writer=ImageWriter()).write(
        out, options={"module_height": 12.0, "font_size": 10, "quiet_zone": 6.0}
    )
    return out.getvalue()


def booking_ics(*, booking: Booking, title: str, location: str, url: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Consular e-services//appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{booking.reference}@consulate")
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    event.add("dtstart", booking.slot.starts_at.astimezone(dt.UTC))
    event.add("dtend", booking.slot.ends_at.astimezone(dt.UTC))
    event.add("summary", title)
    event.add("location", location)
    event.add("description", f"{booking.reference}\n{url}")
    event.add("url", url)
    calendar.add_component(event)
    return calendar.to_ical()
