"""E-mails to people, from a mission, in their language and the mission's time zone: the one
place every app renders one (`mission_mail_send`).

A Celery worker runs in UTC; a time rendered outside `mission_mail_send` would show UTC as if it
were local time. Callers hand over raw objects and aware datetimes (`times`); each reaches the
templates as the mission's wall-clock time with the zone named: "Monday 12 May 2025, 10:10
(Asia/Tokyo)"."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable, Mapping

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from consulate.kernel import reference
from consulate.kernel.tenancy import absolute_url

from .models import Mission


def mission_link(mission: Mission, path: str) -> str:
    return absolute_url(mission.host, path)


def local_time(instant: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    """An instant as a person at the mission reads it, in the active language: the mission's
    wall-clock date and time, the zone named."""
    return f"{reference.day_and_time_written_out(instant.astimezone(zone))} ({zone.key})"


# a run of blank lines, as templates leave where a block renders nothing (`{% if %}` on its own
# line, an include that ends with a newline): one blank line is a paragraph's end
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")


def plain_text_tidy(text: str) -> str:
    """A rendered plain-text e-mail as its reader should see it: paragraphs one blank line apart,
    no blank lines at its start or end."""
    return _BLANK_LINES.sub("\n\n", text).strip("\n") + "\n"


def mission_mail_send(
    *,
    mission: Mission,
    language: str,
    to: str,
    template: str,
    context: Mapping[str, object],
    times: Mapping[str, dt.datetime | None],
    attach: Callable[[EmailMultiAlternatives], None] | None = None,
) -> None:
    """Render `<template>_subject.txt`, `<template>.txt` and `<template>.html` in `language` and
    the mission's time zone, and send them to `to`. Each of `times` reaches the templates as a
    string already in mission time with the zone named (None stays None). `attach` adds
    attachments, called inside the same language and zone."""
    zone = mission.zone
    with translation.override(language), timezone.override(zone):
        full: dict[str, object] = {
            "mission": mission,
            "language": language,
            "address_line": mission.address_line,
            **context,
        }
        for name, instant in times.items():
            full[name] = None if instant is None else local_time(instant, zone)
        subject = render_to_string(f"{template}_subject.txt", full)
        message = EmailMultiAlternatives(
            subject=" ".join(subject.split()),
            body=plain_text_tidy(render_to_string(f"{template}.txt", full)),
            to=[to],
        )
        message.attach_alternative(render_to_string(f"{template}.html", full), "text/html")
        if attach is not None:
            attach(message)
        message.send()
