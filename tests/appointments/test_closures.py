"""A closure is for today or a day ahead, in the mission's time zone (`services.closure_create`):
a day already over there is refused beside the form's field, in the reader's language, and
nothing changes; closing today cancels what remains of the day and leaves to the counter the
appointments whose time has started. At a mission east of UTC (Tokyo) and one west (New York),
at hours when UTC's date is another."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.db.models import F
from django.utils import timezone

from appointments import services
from appointments.calendar import local_day_bounds
from appointments.error_codes import AppointmentError
from appointments.models import Booking, BookingStatus, Closure, ClosureKind, Service, Slot
from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError
from missions.models import Mission
from sync.models import OutboxEvent
from tests.appointments.conftest import build_catalogue, person
from tests.conftest import host_client, make_staff, texts_of
from tests.factories import UserFactory
from tests.missions.test_tenant_isolation import login_with_second_factor

# what the mission admin reads beside the date, and once the closure is saved
PAST = {
    "en": "This day is over at the mission. Choose today or a day ahead.",
    "tr": "Temsilciliğin yerel saatine göre bu gün geçti. Bugünü ya da ileriki bir günü seçin.",
}
SAVED = {
    "en": "Closure saved. The bookings still to come that day are cancelled and each person is"
    " told.",
    "tr": "Kapalı gün kaydedildi. O günün saati henüz gelmemiş randevuları iptal edildi ve her"
    " kişiye bildirildi.",
}
# (zone, the local hour of the clock on the day after the booked day): 05:00 in Tokyo is the
# day before in UTC, 21:00 in New York the day after
EAST, WEST = ("Asia/Tokyo", dt.time(5)), ("America/New_York", dt.time(21))


@pytest.fixture
def mission(in_mission_a: Mission, request: pytest.FixtureRequest) -> Mission:
    """Mission A moved to the zone the test names (rolled back after it)."""
    Mission.objects.filter(pk=in_mission_a.pk).update(timezone=request.param)
    connection.tenant = Mission.objects.get(pk=in_mission_a.pk)
    return connection.tenant


def _booking_at(service: Service, mission: Mission, day: dt.date, clock: dt.time) -> Booking:
    slot = next(
        s for s in Slot.objects.filter(service=service)
        if s.starts_at.astimezone(mission.zone).date() == day
        and s.starts_at.astimezone(mission.zone).time() == clock
    )  # fmt: skip
    user = UserFactory()
    return services.booking_create(
        slot_id=slot.pk, service=service, persons=[person(f"U{slot.pk:07d}")], user=user,
        language="en", acting_user=user,
    )  # fmt: skip


def _clock_at(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment.astimezone(dt.UTC))


def _closure_posted(mission: Mission, admin: User, day: dt.date, language: str):  # type: ignore[no-untyped-def]
    client = host_client(mission.host)
    login_with_second_factor(client, admin)
    return client.post(
        "/staff/appointments/settings/",
        {"action": "closure", "closure-date": day.isoformat(),
         "closure-kind": ClosureKind.EMERGENCY, "closure-reason": "Power cut"},
        HTTP_ACCEPT_LANGUAGE=language, follow=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("mission", "clock", "language"),
    [(*EAST, "en"), (*EAST, "tr"), (*WEST, "en"), (*WEST, "tr")],
    ids=["tokyo-en", "tokyo-tr", "new_york-en", "new_york-tr"],
    indirect=["mission"],
)
def test_a_day_already_over_at_the_mission_is_refused_beside_the_date(
    mission: Mission, clock: dt.time, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a booking at 09:00 on a day ahead, left active (nobody came), and the clock on the
    # day after it, mission time, at an hour when UTC's date is another
    service = build_catalogue(days=6)
    day = mission.today() + dt.timedelta(days=3)
    booking = _booking_at(service, mission, day, dt.time(9))
    now = dt.datetime.combine(day + dt.timedelta(days=1), clock, mission.zone)
    assert now.astimezone(dt.UTC).date() != now.date()
    _clock_at(monkeypatch, now)
    admin = make_staff(mission, "mission_admin")
    events = OutboxEvent.objects.count()
    mail.outbox.clear()
    # when the mission admin adds a closure for that day on the settings page
    response = _closure_posted(mission, admin, day, language)
    # then it is refused: the reason beside the date, in their language, the form still open
    assert response.status_code == 400
    page = response.content.decode()
    (field,) = texts_of(page, "div", class_="field-error")
    assert field.startswith("Tarih" if language == "tr" else "Date")
    assert texts_of(page, "ul", class_="errorlist") == [PAST[language]]
    assert PAST[language] in texts_of(page, "li", class_="message")
    # and nothing changed: no closure, the booking as it was, no event, no e-mail
    assert not Closure.objects.filter(date=day).exists()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert Slot.objects.get(pk=booking.slot_id).capacity == 2
    assert OutboxEvent.objects.count() == events
    assert mail.outbox == []
    # and the service itself refuses it, whoever calls it
    with pytest.raises(ApplicationError) as refused:
        services.closure_create(
            date=day, kind=ClosureKind.AD_HOC, reason="Power cut", acting_user=admin
        )
    assert (refused.value.code, refused.value.field) == (AppointmentError.CLOSURE_DAY_PAST, "date")


@pytest.mark.parametrize(
    ("mission", "language"),
    [("Asia/Tokyo", "tr"), ("America/New_York", "en")],
    ids=["tokyo-tr", "new_york-en"],
    indirect=["mission"],
)
def test_closing_today_cancels_what_remains_of_the_day(
    mission: Mission,
    language: str,
    monkeypatch: pytest.MonkeyPatch,
    eager_tasks: None,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # given bookings at 09:00 and 11:00 on a day, and the clock at 10:00 that day, mission time
    service = build_catalogue(days=6)
    day = mission.today() + dt.timedelta(days=3)
    started = _booking_at(service, mission, day, dt.time(9))
    ahead = _booking_at(service, mission, day, dt.time(11))
    _clock_at(monkeypatch, dt.datetime.combine(day, dt.time(10), mission.zone))
    mail.outbox.clear()
    # when the mission admin closes today (an emergency)
    with django_capture_on_commit_callbacks(execute=True):
        response = _closure_posted(mission, make_staff(mission, "mission_admin"), day, language)
    # then it is saved, and says what it did in their language
    assert response.status_code == 200
    assert SAVED[language] in texts_of(response.content, "li", class_="message")
    assert Closure.objects.filter(date=day).exists()
    # the booking still to come is cancelled and its person told; the one whose time has
    # started is left to the counter (served, or marked as missed), nobody told
    ahead.refresh_from_db()
    started.refresh_from_db()
    assert (ahead.status, started.status) == (
        BookingStatus.CANCELLED_BY_MISSION,
        BookingStatus.ACTIVE,
    )
    assert [message.to for message in mail.outbox] == [[ahead.email]]
    # and no time of the day takes a new booking
    start, end = local_day_bounds(day, mission.zone)
    day_slots = Slot.objects.filter(service=service, starts_at__gte=start, starts_at__lt=end)
    assert day_slots.exists()
    assert not day_slots.exclude(capacity=F("booked")).exists()
