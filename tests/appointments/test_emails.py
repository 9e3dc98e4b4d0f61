"""The e-mails read as their reader reads them: every time in the mission's time zone with the
zone named, in the booking's language, in the subject, the text and HTML parts and the .ics;
for a mission east of UTC (Tokyo) and one west of it (New York), in English and Turkish.

The tests run as a worker does, in UTC: an e-mail that rendered a time outside the mission's
zone would show 01:10 for a 10:10 appointment at Tokyo. Each e-mail is sent by its task, as in
production, and the expected dates are spelt out here rather than formatted with Django."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django_tenants.utils import schema_context

from appointments import documents, emails, services, tasks
from appointments.models import (
    Booking,
    ClosureKind,
    LotteryEntry,
    ReleaseMode,
    Service,
    Slot,
    WaitlistEntry,
)
from appointments.selectors import slot_list_available
from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from tests.appointments.conftest import (
    build_catalogue,
    first_free_slot,
    lottery_round_entered,
    person,
)
from tests.appointments.factories import (
    ROUND_THE_CLOCK,
    booking_made_ahead,
    hours_dropped,
    slot_after,
)
from tests.conftest import MODEL_BACKEND
from tests.factories import UserFactory

TEMPLATES = Path(__file__).resolve().parents[2] / "appointments" / "templates"
BLOCK = re.compile(r"{% blocktranslate[^%]*%}(.*?){% endblocktranslate %}", re.S)

EN_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]  # fmt: skip
TR_DAYS = ["Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar"]
TR_MONTHS = ["Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül",
             "Ekim", "Kasım", "Aralık"]  # fmt: skip


def reads(instant: dt.datetime, zone_name: str, language: str) -> str:
    """How a person reads `instant` at the mission: "Monday 12 May 2025, 10:10 (Asia/Tokyo)",
    in Turkish "12 Mayıs 2025 Pazartesi, 10:10 (Asia/Tokyo)"."""
    local = instant.astimezone(zoneinfo.ZoneInfo(zone_name))
    clock = f"{local:%H:%M} ({zone_name})"
    if language == "tr":
        month, weekday = TR_MONTHS[local.month - 1], TR_DAYS[local.weekday()]
        return f"{local.day} {month} {local.year} {weekday}, {clock}"
    month, weekday = EN_MONTHS[local.month - 1], EN_DAYS[local.weekday()]
    return f"{weekday} {local.day} {month} {local.year}, {clock}"


def parts(message: EmailMultiAlternatives) -> dict[str, str]:
    """What the reader sees: the subject, the text part and the HTML part."""
    (html, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    return {"subject": message.subject, "text": message.body, "html": str(html)}


def attachment(message: EmailMultiAlternatives, suffix: str) -> bytes:
    for item in message.attachments:
        if isinstance(item, tuple) and item[0].endswith(suffix):
            return item[1] if isinstance(item[1], bytes) else item[1].encode()
    raise AssertionError(f"no {suffix} attached")


def assert_reads_local(text: str, instant: dt.datetime, zone_name: str, language: str) -> None:
    assert reads(instant, zone_name, language) in text
    # never UTC shown as if it were local time: the instant's UTC day and clock before a zone's
    # name (the clock alone would match another time of the text at the same hour: a waitlist
    # offer sent at 08:10 UTC expires at 10:10 UTC, for a slot at 10:10 local time)
    as_utc = reads(instant, "UTC", language).removesuffix("(UTC)")
    assert f"{as_utc}(" not in text


@pytest.fixture(params=["Asia/Tokyo", "America/New_York"])
def mission(request, mission_a: Mission, mission_b: Mission) -> Iterator[Mission]:  # type: ignore[no-untyped-def]
    """Tokyo (beta, UTC+9) or a mission west of UTC (alpha moved to New York for the test)."""
    if request.param == "America/New_York":
        Mission.objects.filter(pk=mission_a.pk).update(
            timezone="America/New_York", name="Consulate-General in New York",
            address="885 Second Avenue\nNew York, NY 10017",
        )  # fmt: skip
        chosen = Mission.objects.get(pk=mission_a.pk)
    else:
        chosen = mission_b
    with schema_context(chosen.schema_name):
        yield chosen


@pytest.fixture(params=["en", "tr"])
def language(request) -> str:  # type: ignore[no-untyped-def]
    return request.param


def ten_past_ten(service: Service, mission: Mission) -> Slot:
    """The first free slot at 10:10 mission time, two days ahead or later (the service's
    slots are at 09:00 and 10:10; 10:10 at Tokyo is 01:10 UTC)."""
    for slot in slot_list_available(service=service):
        local = slot.starts_at.astimezone(mission.zone)
        if local.time() == dt.time(10, 10) and local.date() >= mission.today() + dt.timedelta(2):
            return slot
    raise AssertionError("no 10:10 slot")


def nine_oclock_before(slot: Slot, mission: Mission) -> Slot:
    day = slot.starts_at.astimezone(mission.zone).date()
    return next(
        s
        for s in slot_list_available(service=slot.service)
        if s.starts_at.astimezone(mission.zone).date() == day and s.starts_at < slot.starts_at
    )


@pytest.fixture
def service(mission: Mission) -> Service:
    # One counter, 09:00-12:00: a 70-minute service has a 09:00 and a 10:10 slot each day.
    return build_catalogue(counters=1, days=6, duration_minutes=70)


def book(slot: Slot, language: str, user: User | None = None, number: str = "U1234567") -> Booking:
    user = user or UserFactory()
    return services.booking_create(
        slot_id=slot.pk, service=slot.service, persons=[person(number)], user=user,
        language=language, acting_user=user,
    )  # fmt: skip


def test_the_confirmation_shows_mission_time_in_the_bookings_language(
    mission: Mission, service: Service, language: str
) -> None:
    # given a booking at 10:10 mission time, made in `language`
    slot = ten_past_ten(service, mission)
    booking = book(slot, language)
    # when the worker (in UTC, English) sends its confirmation
    tasks.send_due_confirmations()
    # then every part reads 10:10 with the zone named, in the booking's language
    (message,) = mail.outbox
    read = parts(message)
    for part in ("text", "html"):
        assert_reads_local(read[part], slot.starts_at, mission.timezone, language)
        assert booking.reference in read[part]
        assert mission.name in read[part]
    assert booking.reference in read["subject"]
    if language == "tr":
        assert "Randevunuz alındı" in read["text"]
        assert "Tek dokunuşla iptal edin" in read["text"]
    else:
        assert "Your appointment at the" in read["text"]
    assert 'src="cid:barcode"' in read["html"]
    # and the .ics puts the event at 10:10 in the mission's zone, with the zone's rules
    ics = attachment(message, ".ics").decode()
    local = slot.starts_at.astimezone(mission.zone)
    assert f"DTSTART;TZID={mission.timezone}:{local:%Y%m%d}T101000" in ics
    assert f"TZID:{mission.timezone}" in ics  # its VTIMEZONE
    assert f"UID:{booking.reference}@consulate" in ics


def test_the_confirmation_says_until_when_it_can_be_cancelled(
    mission: Mission, service: Service, language: str
) -> None:
    # given a booking at 10:10 mission time whose service allows changes up to 30 hours before
    Service.objects.filter(pk=service.pk).update(cancel_cutoff_hours=30)
    slot = ten_past_ten(service, mission)
    booking = book(slot, language)
    # when the worker sends its confirmation
    tasks.send_due_confirmations()
    # then it says until when (mission time, zone named) and offers the one-tap link
    (message,) = mail.outbox
    read = parts(message)
    until = reads(slot.starts_at - dt.timedelta(hours=30), mission.timezone, language)
    sentence = {
        "en": f"You can cancel or move this appointment online until {until}.",
        "tr": f"Bu randevuyu {until} saatine kadar çevrim içi iptal edebilir veya "
        "taşıyabilirsiniz.",
    }[language]
    for part in ("text", "html"):
        assert sentence in read[part]
        assert f"/appointments/cancel/{booking.reference}/{booking.cancel_token}/" in read[part]


def test_the_confirmation_inside_the_cutoff_has_no_one_tap_link(
    mission: Mission, service: Service, language: str
) -> None:
    # given a booking two days ahead at a service that allows no change in the last 30 days
    Mission.objects.filter(pk=mission.pk).update(phone="+1 212 555 0100")
    Service.objects.filter(pk=service.pk).update(cancel_cutoff_hours=720)
    booking = book(ten_past_ten(service, mission), language)
    # when the worker sends its confirmation
    tasks.send_due_confirmations()
    # then it offers no one-tap link (which would only be refused) and says whom to contact
    (message,) = mail.outbox
    read = parts(message)
    no_longer = {
        "en": "This appointment can no longer be changed or cancelled online. If you cannot "
        "come, please contact the mission.",
        "tr": "Bu randevu artık çevrim içi değiştirilemez veya iptal edilemez. Gelemeyecekseniz "
        "lütfen temsilcilikle iletişime geçin.",
    }[language]
    for part in ("text", "html"):
        assert no_longer in read[part]
        assert "+1 212 555 0100" in read[part]
        assert f"/appointments/cancel/{booking.reference}/" not in read[part]
        assert ("Tek dokunuşla iptal edin" if language == "tr" else "Cancel with one tap") not in (
            read[part]
        )


def test_the_barcode_is_attached_inline(mission: Mission, service: Service) -> None:
    book(ten_past_ten(service, mission), "en")
    tasks.send_due_confirmations()
    (message,) = mail.outbox
    images = [part for part in message.attachments if not isinstance(part, tuple)]
    assert [image["Content-ID"] for image in images] == ["<barcode>"]


def test_the_move_confirmation_names_the_new_and_old_time_in_the_bookings_language(
    mission: Mission, service: Service, language: str
) -> None:
    # given a booking at 09:00 that its owner moves to 10:10 the same day
    new_slot = ten_past_ten(service, mission)
    old_slot = nine_oclock_before(new_slot, mission)
    user = UserFactory()
    booking = book(old_slot, language, user=user)
    moved = services.booking_reschedule(booking=booking, slot_id=new_slot.pk, acting_user=user)
    # when the worker sends the move's e-mail
    tasks.send_booking_moved(moved.pk, old_slot.pk)
    # then it says, in the booking's language, that the appointment moved, from when to when,
    # with its reference and barcode, and the .ics moves the calendar entry
    (message,) = mail.outbox
    read = parts(message)
    for part in ("text", "html"):
        assert_reads_local(read[part], new_slot.starts_at, mission.timezone, language)
        assert reads(old_slot.starts_at, mission.timezone, language) in read[part]
        assert moved.reference in read[part]
    if language == "tr":
        assert read["subject"] == f"{moved.reference} numaralı randevunuz taşındı"
        assert "Yeni zaman" in read["text"]
        assert "Referans numaranız ve barkodu değişmedi" in read["text"]
    else:
        assert read["subject"] == f"Your appointment {moved.reference} has been moved"
        assert "has been moved to" in read["text"]
        assert "Your reference and its barcode stay the same" in read["text"]
    assert 'src="cid:barcode"' in read["html"]
    local = new_slot.starts_at.astimezone(mission.zone)
    ics = attachment(message, ".ics").decode()
    assert f"DTSTART;TZID={mission.timezone}:{local:%Y%m%d}T101000" in ics
    assert f"UID:{moved.reference}@consulate" in ics


def test_the_mission_cancellation_shows_mission_time(
    mission: Mission, service: Service, language: str
) -> None:
    # given a booking at 10:10, and the mission closes that day
    slot = ten_past_ten(service, mission)
    booking = book(slot, language)
    services.closure_create(
        date=slot.starts_at.astimezone(mission.zone).date(), kind=ClosureKind.EMERGENCY,
        reason="Power cut", acting_user=SYSTEM,
    )  # fmt: skip
    # when the worker sends the cancellation
    tasks.send_cancelled_by_mission(booking.pk)
    # then it names the day and time of the lost appointment in mission time, and how to rebook
    (message,) = mail.outbox
    read = parts(message)
    for part in ("text", "html"):
        assert_reads_local(read[part], slot.starts_at, mission.timezone, language)
        assert booking.reference in read[part]
        assert "/appointments/" in read[part]
    expected = "numaralı randevunuz iptal edildi" if language == "tr" else "is cancelled"
    assert expected in read["subject"]


def test_a_booking_left_outside_new_opening_hours_is_told_so_not_of_a_closure(
    mission: Mission,
    service: Service,
    language: str,
    eager_tasks: None,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # given a booking at 10:10, which the mission admin cancels as outside its new hours
    slot = ten_past_ten(service, mission)
    booking = book(slot, language)
    mail.outbox.clear()
    # when the cancellation commits and the worker sends its e-mail
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel_by_mission(booking=hours_dropped(booking), acting_user=SYSTEM)
    # then the person reads why (the opening hours, not a closure), in mission time, and how
    # to book again
    (message,) = mail.outbox
    read = parts(message)
    why, not_why = (
        ("çalışma saatlerini değiştirdi", "kapalı olacağı")
        if language == "tr"
        else ("has changed its opening hours", "has to close")
    )
    for part in ("text", "html"):
        assert why in read[part]
        assert not_why not in read[part]
        assert_reads_local(read[part], slot.starts_at, mission.timezone, language)
        assert "/appointments/" in read[part]


def visit_recorded_early(booking: Booking, mission: Mission) -> dt.datetime:
    """The person's visit recorded by their case two days before `booking`, at a time whose UTC
    date is another (08:00 in Tokyo, 20:30 in New York), as the case's transaction does; the
    visit's time."""
    day = booking.slot.starts_at.astimezone(mission.zone).date() - dt.timedelta(days=2)
    east = mission.zone.utcoffset(booking.slot.starts_at) > dt.timedelta(0)
    visited = dt.datetime.combine(day, dt.time(8) if east else dt.time(20, 30), mission.zone)
    assert visited.astimezone(dt.UTC).date() != day
    with transaction.atomic():
        services.booking_visit_record(booking_id=booking.pk, visited_at=visited, acting_user=SYSTEM)
    return visited


def test_a_visit_recorded_before_the_day_says_so_in_mission_time(
    mission: Mission,
    service: Service,
    language: str,
    eager_tasks: None,
    settings,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # given a booking at 10:10
    settings.PORTAL_HOST, settings.PORTAL_PORT = "localhost", ""
    slot = ten_past_ten(service, mission)
    booking = book(slot, language)
    mail.outbox.clear()
    # when the person's case records their visit two days before and its transaction commits
    # (the worker sends the e-mail)
    with django_capture_on_commit_callbacks(execute=True):
        visited = visit_recorded_early(booking, mission)
    # then the person reads, in their language, the day and time of the visit and of the
    # appointment in mission time, and that it is no longer needed (no call to book again),
    # with the link to the booking's page on the mission's host
    (message,) = mail.outbox
    read = parts(message)
    page = f"http://{mission.code}.localhost/appointments/booking/{booking.reference}/"
    rebook, yours = (
        ("Lütfen yeni bir randevu alın", "Randevunuz")
        if language == "tr"
        else ("Please book a new time", "Your booking")
    )
    for part in ("text", "html"):
        assert_reads_local(read[part], visited, mission.timezone, language)
        assert_reads_local(read[part], slot.starts_at, mission.timezone, language)
        assert booking.reference in read[part]
        assert rebook not in read[part]
    assert f"{yours}: {page}\n" in read["text"]
    assert f'<a href="{page}">{yours}</a>' in read["html"]
    expected = (
        ("artık gerek yok", "Ziyaretiniz", "kaydedildi")
        if language == "tr"
        else ("is no longer needed", "Your visit to the", "was recorded on")
    )
    assert expected[0] in read["subject"]
    assert all(words in read["text"] for words in expected[1:])


def closed_that_day(booking: Booking, mission: Mission) -> None:
    services.closure_create(
        date=booking.slot.starts_at.astimezone(mission.zone).date(), kind=ClosureKind.EMERGENCY,
        reason="Power cut", acting_user=SYSTEM,
    )  # fmt: skip


def outside_new_hours(booking: Booking, mission: Mission) -> None:
    services.booking_cancel_by_mission(booking=hours_dropped(booking), acting_user=SYSTEM)


def cancelled_by_the_person(booking: Booking, mission: Mission) -> None:
    services.booking_cancel(booking=booking, acting_user=User.objects.get(pk=booking.user_id))


@pytest.mark.parametrize(
    "cancel",
    [closed_that_day, outside_new_hours, visit_recorded_early, cancelled_by_the_person],
    ids=lambda f: f.__name__,
)
def test_every_cancellation_takes_the_appointment_off_the_calendar(
    mission: Mission,
    service: Service,
    language: str,
    cancel,  # type: ignore[no-untyped-def]
    eager_tasks: None,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # given a booking at 10:10 whose confirmation (and its .ics) the person has
    slot = ten_past_ten(service, mission)
    booking = book(slot, language)
    tasks.send_due_confirmations()
    (confirmation,) = mail.outbox
    added = attachment(confirmation, ".ics").decode()
    mail.outbox.clear()
    # when the mission cancels it (its day closed, its time outside new hours, or released for a
    # visit recorded before), or the person does, and the worker sends the e-mail
    with django_capture_on_commit_callbacks(execute=True):
        cancel(booking, mission)
    # then the e-mail carries the same event as a cancellation, as calendars read one: the same
    # UID and time in the mission's zone, a higher SEQUENCE, METHOD:CANCEL (in the part's
    # Content-Type too) and STATUS:CANCELLED, from the mission
    (message,) = mail.outbox
    ics = attachment(message, ".ics").decode()
    local = slot.starts_at.astimezone(mission.zone)
    for calendar in (added, ics):
        assert f"UID:{booking.reference}@consulate" in calendar
        assert f"DTSTART;TZID={mission.timezone}:{local:%Y%m%d}T101000" in calendar
        assert f"TZID:{mission.timezone}" in calendar
        assert "ORGANIZER;CN=" in calendar
    assert method_and_status(added) == ("METHOD:PUBLISH", "STATUS:CONFIRMED")
    assert method_and_status(ics) == ("METHOD:CANCEL", "STATUS:CANCELLED")
    assert sequence_of(ics) > sequence_of(added)
    headers = message.message().as_string().splitlines()
    assert 'Content-Type: text/calendar; method="CANCEL"; charset="utf-8"' in headers
    # and the text says so in the reader's language, and shows no barcode to bring
    removes = (
        "Ekteki .ics dosyası randevuyu takviminizden kaldırır."
        if language == "tr"
        else "The attached .ics file removes the appointment from your calendar."
    )
    read = parts(message)
    assert removes in read["text"]
    assert removes in read["html"]
    assert "cid:barcode" not in read["html"]
    assert not [part for part in message.attachments if not isinstance(part, tuple)]


def test_the_persons_own_cancellation_is_confirmed_in_mission_time(
    mission: Mission,
    service: Service,
    language: str,
    eager_tasks: None,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # given a booking at 10:10 mission time
    slot = ten_past_ten(service, mission)
    booking = book(slot, language)
    # when the person cancels it with the confirmation's one-tap link
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel_by_token(reference=booking.reference, token=booking.cancel_token)
    # then one e-mail says so, in their language and the mission's time with its zone named,
    # with a word for whoever did not cancel it and the way to book again
    (message,) = mail.outbox
    read = parts(message)
    if language == "tr":
        said = ("İsteğiniz üzerine", "Randevuyu siz iptal etmediyseniz temsilcilikle")
        subject = f"{booking.reference} numaralı randevunuz iptal edildi"
    else:
        said = ("As you asked, your appointment", "If you did not cancel it, contact the mission.")
        subject = f"Your appointment {booking.reference} is cancelled"
    assert read["subject"] == subject
    for part in ("text", "html"):
        assert_reads_local(read[part], slot.starts_at, mission.timezone, language)
        assert all(words in read[part] for words in said)
        assert booking.reference in read[part]
        assert f"/appointments/booking/{booking.reference}/" in read[part]


def test_the_reminder_shows_mission_time(mission: Mission, service: Service, language: str) -> None:
    # given a booking at 10:10
    slot = ten_past_ten(service, mission)
    booking = book(slot, language)
    # when the reminders run three hours before it
    assert services.booking_remind_due(now=slot.starts_at - dt.timedelta(hours=3)) == 1
    # then the reminder reads 10:10 with the zone named
    (message,) = mail.outbox
    read = parts(message)
    for part in ("text", "html"):
        assert_reads_local(read[part], slot.starts_at, mission.timezone, language)
        assert booking.reference in read[part]
    expected = "Hatırlatma" if language == "tr" else "Reminder"
    assert read["subject"].startswith(expected)


def test_the_reminder_inside_the_cutoff_says_whom_to_contact_not_to_cancel(
    mission: Mission, service: Service, language: str
) -> None:
    # given a booking whose service allows no change in its last 30 days (a reminder comes a
    # day before: inside a 24-hour cutoff, its cancel link could only be refused)
    Mission.objects.filter(pk=mission.pk).update(email="consular@example.org")
    Service.objects.filter(pk=service.pk).update(cancel_cutoff_hours=720)
    slot = ten_past_ten(service, mission)
    booking = book(slot, language)
    # when the reminders run three hours before it
    assert services.booking_remind_due(now=slot.starts_at - dt.timedelta(hours=3)) == 1
    # then it offers no cancel link and says whom to contact instead
    (message,) = mail.outbox
    read = parts(message)
    no_longer = {
        "en": "This appointment can no longer be changed or cancelled online.",
        "tr": "Bu randevu artık çevrim içi değiştirilemez veya iptal edilemez.",
    }[language]
    for part in ("text", "html"):
        assert no_longer in read[part]
        assert "consular@example.org" in read[part]
        assert f"/appointments/cancel/{booking.reference}/" not in read[part]
        assert f"/appointments/booking/{booking.reference}/" in read[part]


def subject(kind: str, booking: Booking, language: str) -> str:
    """The start of an e-mail's subject: a confirmation, a move or a reminder."""
    ref = booking.reference
    return {
        ("confirmation", "en"): f"Your appointment {ref} at the ",
        ("confirmation", "tr"): f"Randevunuz {ref} – ",
        ("moved", "en"): f"Your appointment {ref} has been moved",
        ("moved", "tr"): f"{ref} numaralı randevunuz taşındı",
        ("reminder", "en"): f"Reminder: your appointment {ref}",
        ("reminder", "tr"): f"Hatırlatma: {ref} numaralı randevunuz",
    }[kind, language]


def assert_mailbox(expected: list[tuple[str, Booking]], mission: Mission, language: str) -> None:
    """The mailbox holds these e-mails (kind, booking) in this order and no other, each to the
    booking's owner, each reading the booking's time (its time now) in mission time."""
    assert len(mail.outbox) == len(expected), [m.subject for m in mail.outbox]
    for message, (kind, booking) in zip(mail.outbox, expected, strict=True):
        read = parts(message)
        assert read["subject"].startswith(subject(kind, booking, language))
        assert message.to == [booking.email]
        for part in ("text", "html"):
            assert_reads_local(read[part], booking.slot.starts_at, mission.timezone, language)
            assert booking.reference in read[part]


@pytest.fixture
def round_the_clock(mission: Mission) -> Service:
    """A service with a time every half hour of the day, each a place for one."""
    return build_catalogue(counters=1, days=5, hours=ROUND_THE_CLOCK, code="notary", name="Notary")


def test_a_booking_made_within_a_day_of_its_time_has_its_confirmation_and_no_reminder(
    mission: Mission, round_the_clock: Service, language: str, django_assert_num_queries
) -> None:
    # given two bookings made now: one 30 hours before its time, one 5 hours before it
    early = book(slot_after(round_the_clock, dt.timedelta(hours=30)), language, number="U7100001")
    late = book(slot_after(round_the_clock, dt.timedelta(hours=5)), language, number="U7100002")
    # when the worker sends their confirmations
    tasks.send_due_confirmations()
    # and the reminders run now (the late one's time is within a day; one statement finds that
    # none is due), an hour before the late one, and three hours before the early one
    with django_assert_num_queries(1):
        assert services.booking_remind_due() == 0
    assert services.booking_remind_due(now=late.slot.starts_at - dt.timedelta(hours=1)) == 0
    assert services.booking_remind_due(now=early.slot.starts_at - dt.timedelta(hours=3)) == 1
    # then each has its confirmation, and only the one made 30 hours ahead its reminder: the
    # late one's confirmation, minutes old, said its time
    assert_mailbox(
        [("confirmation", early), ("confirmation", late), ("reminder", early)], mission, language
    )
    late.refresh_from_db()
    assert late.reminded_at is None


def test_a_booking_moved_within_a_day_of_its_new_time_has_the_move_e_mail_and_no_reminder(
    mission: Mission, round_the_clock: Service, language: str
) -> None:
    # given a booking made two days before its time, and one made 5 hours before it
    first, second = UserFactory(), UserFactory()
    near = book(slot_after(round_the_clock, dt.timedelta(days=2)), language, first, "U7200001")
    far = book(slot_after(round_the_clock, dt.timedelta(hours=5)), language, second, "U7200002")
    tasks.send_due_confirmations()
    assert_mailbox([("confirmation", near), ("confirmation", far)], mission, language)
    mail.outbox.clear()
    # when their owners move them: the first to a time 5 hours away, the second to one over 3
    # days away, and the worker sends the e-mails saying so (each e-mail also names the old
    # time, whose clock here differs from the new time's in UTC, which the e-mail must not show)
    near_before, far_before = near.slot_id, far.slot_id
    near = services.booking_reschedule(
        booking=near, slot_id=slot_after(round_the_clock, dt.timedelta(hours=5, minutes=30)).pk,
        acting_user=first,
    )  # fmt: skip
    far = services.booking_reschedule(
        booking=far, slot_id=slot_after(round_the_clock, dt.timedelta(days=3, hours=7)).pk,
        acting_user=second,
    )  # fmt: skip
    tasks.send_booking_moved(near.pk, near_before)
    tasks.send_booking_moved(far.pk, far_before)
    # and the reminders run now, an hour before the near one's new time, and three hours
    # before the far one's
    assert services.booking_remind_due() == 0
    assert services.booking_remind_due(now=near.slot.starts_at - dt.timedelta(hours=1)) == 0
    assert services.booking_remind_due(now=far.slot.starts_at - dt.timedelta(hours=3)) == 1
    # then the one moved within a day of its new time has no reminder after the e-mail that
    # said that time; the one moved days ahead is reminded of its new time a day before it
    assert_mailbox([("moved", near), ("moved", far), ("reminder", far)], mission, language)
    near.refresh_from_db()
    assert near.reminded_at is None


def test_the_waitlist_offer_and_its_deadline_show_mission_time(
    mission: Mission, service: Service, language: str
) -> None:
    # given a full day (09:00 and 10:10 taken) and a person waiting for it
    slot = ten_past_ten(service, mission)
    day = slot.starts_at.astimezone(mission.zone).date()
    owner = UserFactory()
    taken = book(slot, "en", user=owner, number="U7000001")
    book(nine_oclock_before(slot, mission), "en", number="U7000002")
    Slot.objects.filter(service=service).update(capacity=F("booked"))  # every other time taken
    waiting = UserFactory()
    entry = services.waitlist_join(
        service=service, person=person("U7000003"), day_from=day, day_to=day, user=waiting,
        language=language, acting_user=waiting,
    )  # fmt: skip
    # when the 10:10 booking is cancelled, the place is held for them and the worker sends the offer
    services.booking_cancel(booking=taken, acting_user=owner)
    entry = WaitlistEntry.objects.get(pk=entry.pk)
    assert entry.slot == slot
    tasks.send_waitlist_offer(entry.pk)
    # then the offer and its deadline read in mission time with the zone named
    (message,) = mail.outbox
    read = parts(message)
    for part in ("text", "html"):
        assert_reads_local(read[part], slot.starts_at, mission.timezone, language)
        assert_reads_local(read[part], entry.offer_expires_at, mission.timezone, language)
        assert f"/appointments/waitlist/{entry.pk}/{entry.offer_token}/" in read[part]
    expected = "Sizin için bir saat boşaldı" if language == "tr" else "A time is free for you"
    assert read["subject"].startswith(expected)


def test_the_lottery_results_show_mission_time(mission: Mission, language: str) -> None:
    # given a draw for one day with two places (09:00, 10:10) and three people registered
    service = build_catalogue(
        counters=1, days=6, code="visa", duration_minutes=70, release_mode=ReleaseMode.LOTTERY
    )
    day = mission.today() + dt.timedelta(days=2)
    lottery_round = lottery_round_entered(service, day=day, entries=3, language=language)
    # when it is drawn and the worker sends the results
    services.lottery_draw(
        lottery_round=lottery_round, acting_user=SYSTEM, now=lottery_round.window_closes_at
    )
    winners = list(LotteryEntry.objects.filter(booking__isnull=False).select_related("booking"))
    (loser,) = LotteryEntry.objects.filter(booking__isnull=True)
    for entry in [*winners, loser]:
        tasks.send_lottery_result(entry.pk)
    # then each winner reads their own time in mission time, with the zone named, and gets the
    # barcode; the one not drawn reads that, in their language
    *won, lost = mail.outbox
    assert len(won) == 2
    for entry, message in zip(winners, won, strict=True):
        read = parts(message)
        starts_at = entry.booking.slot.starts_at
        for part in ("text", "html"):
            assert_reads_local(read[part], starts_at, mission.timezone, language)
            assert entry.ticket in read[part]
            assert entry.booking.reference in read[part]
        assert 'src="cid:barcode"' in read["html"]
        assert attachment(message, ".ics")
    assert {
        f"{entry.booking.slot.starts_at.astimezone(mission.zone):%H:%M}" for entry in winners
    } == {"09:00", "10:10"}
    read = parts(lost)
    assert loser.ticket in read["text"]
    expected = "kurada çıkmadı" if language == "tr" else "not drawn"
    assert expected in read["text"]
    # and is on the waitlist for the draw's days, which the e-mail says
    expected = "bekleme listesindesiniz" if language == "tr" else "You are on the waitlist"
    assert expected in read["text"]
    assert expected in read["html"]
    expected = "Randevu kurası sonucu" if language == "tr" else "The result of the appointment draw"
    assert read["subject"].startswith(expected)


def method_and_status(ics: str) -> tuple[str, ...]:
    return tuple(line for line in ics.splitlines() if line.startswith(("METHOD:", "STATUS:")))


def sequence_of(ics: str) -> int:
    return int(re.search(r"SEQUENCE:(\d+)", ics).group(1))  # type: ignore[union-attr]


def test_the_ics_sequence_grows_with_each_change_of_the_booking(in_mission_a: Mission) -> None:
    # given a booking's .ics (made days before its time, so that it has a reminder)
    service = build_catalogue(counters=1, days=4)
    booking = booking_made_ahead(book(slot_list_available(service=service)[3], "en"))

    def sequence() -> int:
        return sequence_of(
            documents.booking_ics(booking=booking, title="t", location="l", url="u").decode()
        )

    before = sequence()
    # when the booking changes (here: its reminder is recorded)
    services.booking_remind_due(now=booking.slot.starts_at - dt.timedelta(hours=3))
    # then a calendar importing the new .ics replaces the entry of the same UID
    assert sequence() > before


def test_no_dotted_variables_inside_blocktranslate() -> None:
    offenders = []
    for path in TEMPLATES.rglob("*.*"):
        for body in BLOCK.findall(path.read_text()):
            if re.search(r"{{\s*\w+\.\w", body):
                offenders.append(f"{path.name}: {body[:60]}")
    assert offenders == []


def test_links_in_e_mails_carry_the_development_servers_port(mission_a, settings) -> None:  # type: ignore[no-untyped-def]
    # given the development server on port 8000 (python3 dev up sets CONSULATE_PORTAL_PORT)
    settings.PORTAL_PORT = "8000"
    # then a link sent by e-mail reaches it
    assert (
        emails.mission_link(mission_a, "/appointments/")
        == "http://alpha.localhost:8000/appointments/"
    )
    # and in production (no port) the scheme's default port is used
    settings.PORTAL_PORT = ""
    assert emails.mission_link(mission_a, "/x/") == "http://alpha.localhost/x/"


def test_a_booking_committed_while_the_broker_is_down_is_answered_and_confirmed_later(
    client_a, citizen, catalogue, caplog, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from appointments import tasks
    from appointments.models import Booking, ConfirmationDue

    def broker_down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("[Errno 111] Connection refused")

    queue = tasks.send_due_confirmations.apply_async
    monkeypatch.setattr(tasks.send_due_confirmations, "apply_async", broker_down)
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    slot = first_free_slot(catalogue)
    # when a booking commits and its confirmation cannot be queued
    with django_capture_on_commit_callbacks(execute=True):
        answer = client_a.post(
            "/api/v1/appointments/bookings/",
            {"service": catalogue.code, "slot": slot.pk,
             "persons": [{"full_name": "Ada Example", "date_of_birth": "1990-05-17",
                          "document_number": "U1234567"}]},
            content_type="application/json",
        )  # fmt: skip
    # then the booking is answered as made (it is), and the failure is logged
    assert answer.status_code == 201
    booking = Booking.objects.get(reference=answer.json()["reference"])
    assert "Connection refused" in caplog.text
    assert mail.outbox == []
    # and its confirmation stays due until beat's sweep sends it, once
    assert ConfirmationDue.objects.filter(booking=booking).exists()
    monkeypatch.setattr(tasks.send_due_confirmations, "apply_async", queue)
    tasks.send_due_confirmations()
    tasks.send_due_confirmations()
    (message,) = mail.outbox
    assert message.to == [citizen.email]
    assert booking.reference in message.subject
    assert not ConfirmationDue.objects.exists()
