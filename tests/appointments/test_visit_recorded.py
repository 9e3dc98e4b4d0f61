"""What a passport or visa case's recorded visit does to its booking
(`services.booking_visit_record`, an internal step of the case's visit): served on its day,
cancelled by the mission with its place given back when the person came before it, anything
else left as it is. First the step alone (Berlin), then through each case's visit (`CASES`:
the passport's biometrics, the visa's attendance), at missions east and west of UTC at hours
when UTC's date is another, as the citizen reads it (My bookings, the e-mail) in English and
Turkish, and refused visits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import zoneinfo
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from appointments import services
from appointments.events import AppointmentTopic
from appointments.models import Booking, BookingPerson, BookingStatus, Slot
from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from missions.models import Mission
from missions.selectors import current_mission
from passports import services as passport_services
from sync.models import OutboxEvent
from tests.appointments.conftest import BERLIN, build_catalogue, first_free_slot, person
from tests.appointments.factories import hours_dropped
from tests.appointments.test_emails import reads
from tests.appointments.test_lock_order import _order, _slots_before_events
from tests.conftest import MODEL_BACKEND, host_client, make_staff, text_of, texts_of
from tests.factories import UserFactory
from tests.missions.test_tenant_isolation import login_with_second_factor
from tests.passports.factories import application_paid, application_submitted
from tests.visas.factories_casework import visa_complete, visa_paid
from visas.services import application as visa_services
from visas.services import casework


def _book(service, user, slot=None) -> Booking:  # type: ignore[no-untyped-def]
    slot = slot or first_free_slot(service, skip=6)  # a day ahead or more
    return services.booking_create(
        slot_id=slot.pk, service=service, persons=[person()], user=user, language="en",
        acting_user=user,
    )  # fmt: skip


def _at(
    booking: Booking, clock: dt.time, *, days_before: int = 0, zone: zoneinfo.ZoneInfo = BERLIN
) -> dt.datetime:
    """`clock` in `zone` on the booking's day (or that many days before it)."""
    day = booking.slot.starts_at.astimezone(zone).date() - dt.timedelta(days=days_before)
    return dt.datetime.combine(day, clock, tzinfo=zone)


def _visit(booking: Booking, at: dt.datetime, acting_user) -> Booking:  # type: ignore[no-untyped-def]
    with transaction.atomic():  # the case's transaction
        return services.booking_visit_record(
            booking_id=booking.pk, visited_at=at, acting_user=acting_user
        )


def _topics(booking: Booking) -> list[str]:
    events = OutboxEvent.objects.filter(aggregate_type="booking", aggregate_id=str(booking.pk))
    return list(events.order_by("seq").values_list("topic", flat=True))


def _state(booking: Booking) -> tuple[str, int, list[str]]:
    """The booking's status, its slot's places taken, and its events."""
    booking.refresh_from_db()
    return booking.status, Slot.objects.get(pk=booking.slot_id).booked, _topics(booking)


def _today(slot: Slot) -> None:
    """Move `slot` to noon of the mission's today, so that its booking may be checked in
    ("now + 2 minutes" is tomorrow there just before midnight)."""
    zone = current_mission().zone
    noon = dt.datetime.combine(timezone.now().astimezone(zone).date(), dt.time(12), zone)
    Slot.objects.filter(pk=slot.pk).update(starts_at=noon, ends_at=noon + dt.timedelta(minutes=30))


# --- the step alone ---------------------------------------------------------------------------


def test_a_visit_on_the_day_checks_the_booking_in_and_serves_it(catalogue, citizen, officer_a):
    # given a booking at 09:00 or later, Berlin time
    booking = _book(catalogue, citizen)
    # when the case records the visit at 00:30 that day in Berlin (the day before, in UTC)
    at = _at(booking, dt.time(0, 30))
    assert at.astimezone(dt.UTC).date() != at.date()
    served = _visit(booking, at, officer_a)
    # then it is checked in with the day's first ticket and served, each with its event
    served.refresh_from_db()
    assert served.status == BookingStatus.SERVED
    assert (served.queue_number, served.checked_in_at) == (1, at)
    assert _topics(booking) == [
        AppointmentTopic.BOOKING_CREATED,
        AppointmentTopic.BOOKING_CHECKED_IN,
        AppointmentTopic.BOOKING_SERVED,
    ]
    # with the officer in its history
    assert served.history.latest().history_user_id == officer_a.pk
    # its place stays used; its person may book the service again
    assert Slot.objects.get(pk=booking.slot_id).booked == 1
    assert not BookingPerson.objects.filter(booking=booking, is_holding=True).exists()


def test_a_booking_checked_in_at_the_counter_is_served(catalogue, citizen, officer_a):
    # given a booking of today, checked in at the counter
    booking = _book(catalogue, citizen)
    _today(booking.slot)
    booking = services.booking_check_in(booking=booking, acting_user=officer_a)
    # when the case records the visit
    served = _visit(booking, timezone.now(), officer_a)
    # then it is served, with its ticket
    assert (served.status, served.queue_number) == (BookingStatus.SERVED, booking.queue_number)
    assert _topics(booking).count(AppointmentTopic.BOOKING_CHECKED_IN) == 1
    assert _topics(booking)[-1] == AppointmentTopic.BOOKING_SERVED


def test_a_visit_before_the_day_cancels_the_booking_as_the_mission_and_frees_its_place(
    catalogue, citizen, officer_a
):
    # given a booking a day ahead or more
    booking = _book(catalogue, citizen)
    # when the case records the visit the evening before (the person came early)
    cancelled = _visit(booking, _at(booking, dt.time(18), days_before=1), officer_a)
    # then the mission cancelled it and its place is free again
    cancelled.refresh_from_db()
    assert cancelled.status == BookingStatus.CANCELLED_BY_MISSION
    assert Slot.objects.get(pk=booking.slot_id).booked == 0
    assert not BookingPerson.objects.filter(booking=booking, is_holding=True).exists()
    # with the mission's cancellation event, saying why, and the officer in its history
    event = OutboxEvent.objects.get(
        topic=AppointmentTopic.BOOKING_CANCELLED_BY_MISSION, aggregate_id=str(booking.pk)
    )
    assert event.payload == {
        "reference": booking.reference,
        "closure": None,
        "kind": "visit_recorded",
    }
    assert cancelled.history.latest().history_user_id == officer_a.pk


def test_a_booking_released_before_it_kept_the_visits_time_is_given_its_events(
    catalogue, citizen, officer_a
):
    # given a booking released for an early visit, and one cancelled as outside new hours,
    # as they were before bookings kept the visit's time
    released = _book(catalogue, citizen)
    _visit(released, _at(released, dt.time(18), days_before=1), officer_a)
    other = _book(catalogue, UserFactory(), first_free_slot(catalogue, skip=7))
    services.booking_cancel_by_mission(booking=hours_dropped(other), acting_user=SYSTEM)
    Booking.objects.update(visit_recorded_at=None)
    # when migration 0007 fills it in
    migration = importlib.import_module("appointments.migrations.0007_booking_visit_recorded_at")
    migration.released_for_visit_backfill(django_apps, None)
    # then the released one has its cancellation event's time, and the other none
    event = OutboxEvent.objects.get(
        topic=AppointmentTopic.BOOKING_CANCELLED_BY_MISSION, aggregate_id=str(released.pk)
    )
    released.refresh_from_db()
    other.refresh_from_db()
    assert (released.visit_recorded_at, other.visit_recorded_at) == (event.occurred_at, None)


def _cancelled(booking: Booking, officer) -> Booking:  # type: ignore[no-untyped-def]
    return services.booking_cancel(booking=booking, acting_user=SYSTEM)


def _cancelled_by_mission(booking: Booking, officer) -> Booking:  # type: ignore[no-untyped-def]
    return services.booking_cancel_by_mission(booking=hours_dropped(booking), acting_user=SYSTEM)


def _no_show(booking: Booking, officer) -> Booking:  # type: ignore[no-untyped-def]
    Slot.objects.filter(pk=booking.slot_id).update(
        starts_at=timezone.now() - dt.timedelta(hours=1),
        ends_at=timezone.now() - dt.timedelta(minutes=30),
    )
    return services.booking_mark_no_show(booking=booking, acting_user=officer)


def _served(booking: Booking, officer) -> Booking:  # type: ignore[no-untyped-def]
    _today(booking.slot)
    booking = services.booking_check_in(booking=booking, acting_user=officer)
    return services.booking_mark_served(booking=booking, acting_user=officer)


def _day_past(booking: Booking, officer) -> Booking:  # type: ignore[no-untyped-def]
    return booking  # still active; the visit below comes the day after


@pytest.mark.parametrize(
    "state",
    [_cancelled, _cancelled_by_mission, _no_show, _served, _day_past],
    ids=lambda state: state.__name__.strip("_"),
)
def test_a_booking_over_or_past_is_left_as_it_is(catalogue, citizen, officer_a, state):
    # given a booking cancelled, cancelled by the mission, missed, served, or of a day past
    booking = state(_book(catalogue, citizen), officer_a)
    booking.refresh_from_db()
    at = (
        _at(booking, dt.time(10), days_before=-1)
        if state is _day_past
        else booking.slot.starts_at + dt.timedelta(minutes=5)
    )
    before = _state(booking)
    # when the case records the visit
    _visit(booking, at, officer_a)
    # then nothing changes
    assert _state(booking) == before


# --- through the cases' visits ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """A kind of case whose visit the applicant books from it."""

    name: str
    ready: Callable[[Mission, bool], Any]  # (mission, paid): an application due for its visit
    service: dict[str, Any]  # the appointment service it books (`build_catalogue` rules)
    visit_book: Callable[..., Any]  # the applicant's `application_visit_book`
    visit_record: Callable[..., Any]  # the officer's: biometrics taken, attended
    waiting: str  # the application's status before its visit
    visited: str  # and after it
    # the officer's case page whose "Visit" line names the booking ({} the reference), if any
    staff_page: str | None = None

    def __str__(self) -> str:
        return self.name


PASSPORT = Case(
    name="passport",
    ready=lambda mission, paid: application_paid(mission) if paid else application_submitted(),
    service={"purpose": "passport"},
    visit_book=passport_services.application_visit_book,
    visit_record=passport_services.application_biometrics_take,
    waiting="submitted",
    visited="biometrics_taken",
    staff_page="/staff/passports/{}/",
)
VISA = Case(
    name="visa",
    ready=lambda mission, paid: visa_paid(mission) if paid else visa_complete(mission),
    service={"purpose": "visa", "code": "visa", "name": "Visa application"},
    visit_book=visa_services.application_visit_book,
    visit_record=casework.application_attend,
    waiting="complete",
    visited="attended",
)
CASES = [PASSPORT, VISA]
# (zone, the visit's local time, language): 08:30 in Tokyo is the day before in UTC, 20:00 in
# New York the day after; each zone in each language across the two tests that read them
EAST, WEST = ("Asia/Tokyo", dt.time(8, 30)), ("America/New_York", dt.time(20))
SERVED = {"en": "Served", "tr": "Hizmet verildi"}  # the booking's status on My bookings
# A booking an early visit released, as the citizen and as the mission's staff read it ({day}:
# the visit's day written out, mission time), and what it must not read as
NO_LONGER_NEEDED = {
    "en": "No longer needed: your visit was recorded on {day}",
    "tr": "Artık gerek yok: ziyaretiniz {day} tarihinde kaydedildi",
}
RELEASED = {
    "en": "Released: the visit was recorded on {day}",
    "tr": "Serbest bırakıldı: ziyaret {day} tarihinde kaydedildi",
}
CHECK_IN_REFUSED = {
    "en": "Booking {reference} was released: the visit was recorded on {day}, so it is no longer"
    " needed and there is nothing to check in.",
    "tr": "{reference} numaralı randevu serbest bırakıldı: ziyaret {day} tarihinde kaydedildi, bu"
    " nedenle randevuya artık gerek yok ve giriş kaydı yapılacak bir şey yok.",
}
CASE_PAGE = {"passport": "/passports/{}/", "visa": "/visas/{}/"}  # the citizen's page of a case
YOUR_APPOINTMENT = {"en": "Your appointment", "tr": "Randevunuz"}
CANCELLED = {"en": "Cancelled by the mission", "tr": "Temsilcilik tarafından iptal edildi"}
BOOK_AGAIN = {"en": "Book again", "tr": "Yeniden randevu al"}


def _mission_in(mission: Mission, zone: str) -> Mission:
    """`mission` moved to `zone` (for this test: rolled back after it)."""
    Mission.objects.filter(pk=mission.pk).update(timezone=zone)
    connection.tenant = Mission.objects.get(pk=mission.pk)
    return connection.tenant


def _booked(case: Case, mission: Mission, *, paid: bool = True, language: str = "en") -> Any:
    """An application of `case` due for its visit (its fee paid, or not yet) whose visit the
    applicant booked in `language`, through the mission's service for it (built in the
    mission's zone)."""
    service = build_catalogue(**case.service)
    application = case.ready(mission, paid)
    type(application).objects.filter(pk=application.pk).update(language=language)
    application.refresh_from_db()
    case.visit_book(
        application=application,
        slot_id=first_free_slot(service).pk,
        acting_user=User.objects.get(pk=application.user_id),
    )
    application.refresh_from_db()
    return application


def _booking(application: Any) -> Booking:
    return Booking.objects.select_related("slot").get(pk=application.booking_id)


def _record(case: Case, application: Any, acting_user: Any) -> Any:
    return case.visit_record(
        application=application, identity_confirmed=True, acting_user=acting_user
    )


def _clock_set(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> dt.datetime:
    """The clock at `moment`, whose UTC date is another than its local one."""
    assert moment.astimezone(dt.UTC).date() != moment.date()
    monkeypatch.setattr(timezone, "now", lambda: moment.astimezone(dt.UTC))
    return moment


def _signed_in(mission: Mission, user: Any, *, staff: bool = False) -> Client:
    client = host_client(mission.host)
    if staff:
        login_with_second_factor(client, user)
    else:
        client.force_login(user, backend=MODEL_BACKEND)
    return client


def _page(client: Client, path: str, language: str) -> str:
    page = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    return page.content.decode()


def _my_bookings_card(mission: Mission, user: Any, language: str) -> str:
    """The one booking card the citizen reads on My bookings, in `language`."""
    page = _page(_signed_in(mission, user), "/appointments/mine/", language)
    (card,) = texts_of(page, "li", class_="card")
    return card


@pytest.mark.parametrize(
    ("zone", "clock", "language"), [(*EAST, "tr"), (*WEST, "en")], ids=["tokyo-tr", "new_york-en"]
)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_visit_on_the_bookings_day_serves_it(
    in_mission_a, mission_a, monkeypatch, case, zone, clock, language
):
    # given an application due for its visit, booked, at a mission east or west of UTC
    mission = _mission_in(mission_a, zone)
    application = _booked(case, mission, language=language)
    booking = _booking(application)
    # when the officer records the visit on the booking's day, mission time
    _clock_set(monkeypatch, _at(booking, clock, zone=mission.zone))
    _record(case, application, make_staff(mission, "officer"))
    # then the case goes on, and the booking was checked in and served, its place used
    application.refresh_from_db()
    assert application.status == case.visited
    assert _state(booking) == (
        BookingStatus.SERVED,
        1,
        [
            AppointmentTopic.BOOKING_CREATED,
            AppointmentTopic.BOOKING_CHECKED_IN,
            AppointmentTopic.BOOKING_SERVED,
        ],
    )
    # and the citizen's My bookings says so, in their language
    monkeypatch.undo()
    card = _my_bookings_card(mission, User.objects.get(pk=application.user_id), language)
    assert SERVED[language] in card
    assert booking.reference in card


@pytest.mark.parametrize(
    ("zone", "clock", "language"), [(*EAST, "en"), (*WEST, "tr")], ids=["tokyo-en", "new_york-tr"]
)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_visit_before_the_bookings_day_cancels_it_and_frees_its_place(
    in_mission_a,
    mission_a,
    monkeypatch,
    eager_tasks,
    django_capture_on_commit_callbacks,
    case,
    zone,
    clock,
    language,
):
    # given an application due for its visit, booked, at a mission east or west of UTC
    mission = _mission_in(mission_a, zone)
    application = _booked(case, mission, language=language)
    booking = _booking(application)
    officer = make_staff(mission, "officer")
    mail.outbox.clear()
    # when the person comes the day before and the officer records the visit (in New York, at
    # an hour when UTC's date is already the booking's)
    visited = _clock_set(monkeypatch, _at(booking, clock, days_before=1, zone=mission.zone))
    with django_capture_on_commit_callbacks(execute=True):
        kinds = _order(lambda: _record(case, application, officer))
    # then the case goes on, and the mission cancelled the booking and gave its place back,
    # before any event (the locks' order)
    application.refresh_from_db()
    assert application.status == case.visited
    status, booked, topics = _state(booking)
    assert (status, booked) == (BookingStatus.CANCELLED_BY_MISSION, 0)
    assert topics[-1] == AppointmentTopic.BOOKING_CANCELLED_BY_MISSION
    _slots_before_events(kinds)
    # and the person is told in their language on which day, mission time, the visit was
    # recorded, and that the appointment is no longer needed
    (message,) = [m for m in mail.outbox if booking.reference in m.subject]
    assert reads(visited, zone, language) in message.body
    assert reads(booking.slot.starts_at, zone, language) in message.body
    assert ("artık gerek yok" if language == "tr" else "is no longer needed") in message.subject


@pytest.mark.parametrize(
    ("zone", "clock", "language"), [(*EAST, "tr"), (*WEST, "en")], ids=["tokyo-tr", "new_york-en"]
)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_booking_an_early_visit_released_reads_as_no_longer_needed(
    in_mission_a, mission_a, monkeypatch, case, zone, clock, language
):
    # given a visit booked from its case at a mission east or west of UTC, and the person came
    # the day before: the officer recorded the visit (at an hour when UTC's date is another)
    mission = _mission_in(mission_a, zone)
    application = _booked(case, mission, language=language)
    booking = _booking(application)
    officer = make_staff(mission, "officer")
    visited = _clock_set(monkeypatch, _at(booking, clock, days_before=1, zone=mission.zone))
    _record(case, application, officer)
    monkeypatch.undo()
    # then the booking keeps when, beside the mission's release of it
    booking.refresh_from_db()
    assert (booking.status, booking.visit_recorded_at) == (
        BookingStatus.CANCELLED_BY_MISSION,
        visited,
    )
    day = reads(visited, zone, language).split(", ")[0]  # the visit's day, mission time
    # when the citizen reads My bookings and the booking's page, in their language
    citizen = _signed_in(mission, User.objects.get(pk=application.user_id))
    card = _my_bookings_card(mission, User.objects.get(pk=application.user_id), language)
    detail = _page(citizen, f"/appointments/booking/{booking.reference}/", language)
    # then both say it is no longer needed since the visit was recorded that day, in the
    # style of what went well (not the red of a cancellation), and offer no new booking
    for text in (card, text_of(detail, "main")):
        assert NO_LONGER_NEEDED[language].format(day=day) in text
        assert CANCELLED[language] not in text
    assert BOOK_AGAIN[language] not in text_of(detail, "main")
    assert 'class="status status-visit_recorded"' in detail
    # and the case's own page no longer gives the appointment's time as one to come: the visa's
    # says the appointment is no longer needed, and why (a trial read "Your appointment: <its
    # time>" there after the visa was issued)
    case_page = _page(citizen, CASE_PAGE[case.name].format(application.reference), language)
    assert reads(booking.slot.starts_at, zone, language) not in text_of(case_page, "main")
    if case is VISA:
        todo = text_of(case_page, "section", class_="todo")
        assert f"{YOUR_APPOINTMENT[language]}: {NO_LONGER_NEEDED[language].format(day=day)}" in todo
    # and its calendar file, fetched again, takes the appointment off the calendar
    ics = citizen.get(f"/appointments/booking/{booking.reference}/ics/").content.decode()
    assert "METHOD:CANCEL" in ics
    assert "STATUS:CANCELLED" in ics
    # when an officer reads the day sheet of the booking's day, and the case's visit
    staff = _signed_in(mission, officer, staff=True)
    booking_day = booking.slot.starts_at.astimezone(mission.zone).date()
    sheet = _page(staff, f"/staff/appointments/?day={booking_day}", language)
    (row,) = [row for row in texts_of(sheet, "tr") if booking.reference in row]
    # then they read that it was released because the visit was recorded, and when
    assert RELEASED[language].format(day=day) in row
    assert CANCELLED[language] not in row
    if case.staff_page is not None:
        page = _page(staff, case.staff_page.format(application.reference), language)
        (visit,) = [line for line in texts_of(page, "dd") if booking.reference in line]
        assert RELEASED[language].format(day=day) in visit
    # and a check-in of its reference (the barcode of the first e-mail) says why not
    refused = staff.post(
        "/staff/appointments/",
        {"action": "check_in", "reference": booking.reference},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert refused.status_code == 400
    expected = CHECK_IN_REFUSED[language].format(reference=booking.reference, day=day)
    assert texts_of(refused.content, "li", class_="message") == [expected]
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED_BY_MISSION


@pytest.mark.parametrize("end", [_cancelled, _no_show], ids=["cancelled", "no_show"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_visit_leaves_a_booking_cancelled_or_missed_as_it_is(in_mission_a, mission_a, case, end):
    # given a booked visit the person cancelled, or missed
    application = _booked(case, mission_a)
    officer = make_staff(mission_a, "officer")
    booking = end(_booking(application), officer)
    before = _state(booking)
    # when they come anyway and the officer records the visit
    _record(case, application, officer)
    # then the case goes on and the booking stays as it was
    application.refresh_from_db()
    assert application.status == case.visited
    assert _state(booking) == before


@pytest.mark.parametrize(
    ("paid", "role", "code"),
    [
        (False, "officer", "not_paid"),
        # a mission admin may cancel bookings and work the counter, but not process cases
        (True, "mission_admin", "not_allowed"),
        (True, "cashier", "not_allowed"),
    ],
    ids=["unpaid", "mission_admin", "cashier"],
)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_refused_visit_leaves_the_booking_as_it_is(
    in_mission_a, mission_a, monkeypatch, case, paid, role, code
):
    # given a booked visit, its fee unpaid, or someone whose role may not process the case
    application = _booked(case, mission_a, paid=paid)
    booking = _booking(application)
    before = _state(booking)
    # when they try to record the visit on the booking's day
    _clock_set(monkeypatch, _at(booking, dt.time(0, 30)))
    with pytest.raises(ApplicationError) as refused:
        _record(case, application, make_staff(mission_a, role))
    # then it is refused and nothing changes
    assert refused.value.code.value.rsplit(".")[-1] == code
    application.refresh_from_db()
    assert application.status == case.waiting
    assert _state(booking) == before
    assert before[:2] == (BookingStatus.ACTIVE, 1)
