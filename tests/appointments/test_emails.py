"""Every e-mail carries what it promises (reference, ticket, time zone, links), and no template
hides a dotted variable inside {% blocktranslate %} (Django renders it as an empty string)."""

import datetime as dt
import re
from pathlib import Path

from django.core import mail
from django.utils import timezone

from appointments import emails, services
from appointments.models import LotteryEntry, ReleaseMode, WaitlistEntry
from consulate.kernel.actors import SYSTEM
from tests.appointments.conftest import build_catalogue, first_free_slot, person
from tests.factories import UserFactory

TEMPLATES = Path(__file__).resolve().parents[2] / "appointments" / "templates"
BLOCK = re.compile(r"{% blocktranslate[^%]*%}(.*?){% endblocktranslate %}", re.S)


def test_no_dotted_variables_inside_blocktranslate():
    offenders = []
    for path in TEMPLATES.rglob("*.*"):
        for body in BLOCK.findall(path.read_text()):
            if re.search(r"{{\s*\w+\.\w", body):
                offenders.append(f"{path.name}: {body[:60]}")
    assert offenders == []


def test_the_emergency_closure_mail_names_the_booking(catalogue, citizen):
    booking = services.booking_create(
        slot_id=first_free_slot(catalogue, skip=3).pk, service=catalogue, persons=[person()],
        user=citizen, language="en", acting_user=citizen,
    )  # fmt: skip
    emails.booking_cancelled_by_mission_send(booking=booking)
    (message,) = mail.outbox
    assert booking.reference in message.body
    assert "/appointments/" in message.body


def test_the_lottery_mails_name_the_ticket(in_mission_a):
    service = build_catalogue(counters=1, days=6, code="visa", release_mode=ReleaseMode.LOTTERY)
    now = timezone.now()
    lottery_round = services.lottery_round_create(
        service=service, period_start=(now + dt.timedelta(days=3)).date(),
        period_end=(now + dt.timedelta(days=3)).date(), window_opens_at=now - dt.timedelta(hours=1),
        window_closes_at=now + dt.timedelta(hours=1), acting_user=SYSTEM,
    )  # fmt: skip
    for n in range(7):
        user = UserFactory()
        services.lottery_enter(
            lottery_round=lottery_round, person=person(f"L{n:07d}"), user=user, language="en",
            acting_user=user,
        )  # fmt: skip
    services.lottery_draw(
        lottery_round=lottery_round, acting_user=SYSTEM, now=lottery_round.window_closes_at
    )
    winner = LotteryEntry.objects.filter(booking__isnull=False).first()
    loser = LotteryEntry.objects.filter(booking__isnull=True).first()
    emails.lottery_result_send(entry=winner)
    emails.lottery_result_send(entry=loser)
    won, lost = mail.outbox
    assert winner.ticket in won.body
    assert winner.booking.reference in won.body
    assert loser.ticket in lost.body
    assert "not drawn" in lost.body


def test_the_waitlist_offer_mail_has_the_time_zone_and_the_link(catalogue, citizen):
    slot = first_free_slot(catalogue, skip=5)
    day = slot.starts_at.date()
    entry = services.waitlist_join(
        service=catalogue, person=person(), day_from=day, day_to=day, user=citizen,
        language="en", acting_user=citizen,
    )  # fmt: skip
    services.waitlist_offer_place(slot=slot, acting_user=SYSTEM)
    entry = WaitlistEntry.objects.get(pk=entry.pk)
    emails.waitlist_offer_send(entry=entry)
    (message,) = mail.outbox
    assert "Europe/Berlin" in message.body
    assert f"/appointments/waitlist/{entry.pk}/{entry.offer_token}/" in message.body


def test_links_in_e_mails_carry_the_development_servers_port(mission_a, settings):
    from appointments.emails import mission_link

    # given the development server on port 8000 (python3 dev up sets CONSULATE_PORTAL_PORT)
    settings.PORTAL_PORT = "8000"
    # then a link sent by e-mail reaches it
    assert mission_link(mission_a, "/appointments/") == "http://alpha.localhost:8000/appointments/"
    # and in production (no port) the scheme's default port is used
    settings.PORTAL_PORT = ""
    assert mission_link(mission_a, "/x/") == "http://alpha.localhost/x/"
