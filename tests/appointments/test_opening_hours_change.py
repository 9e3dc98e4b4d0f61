"""When the opening hours change, the future slots follow them: times the new hours drop are no
longer bookable (deleted, or closed if booked), new times appear, and the bookings left outside
are listed on the settings page for the mission admin, who moves or cancels each one, and the
person is e-mailed."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from appointments import services
from appointments.models import Booking, BookingStatus, Slot
from appointments.selectors import slot_list_available
from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from sync.models import OutboxEvent
from tests.appointments.conftest import build_catalogue, person
from tests.conftest import make_staff, texts_of
from tests.factories import UserFactory
from tests.missions.test_tenant_isolation import login_with_second_factor

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def _at(service, day, hhmm):
    """The service's slot at local `hhmm` on `day`."""
    return next(
        s for s in Slot.objects.filter(service=service)
        if s.starts_at.astimezone(BERLIN).date() == day
        and f"{s.starts_at.astimezone(BERLIN):%H:%M}" == hhmm
    )  # fmt: skip


def _book(service, slot, number):
    user = UserFactory()
    return services.booking_create(
        slot_id=slot.pk, service=service, persons=[person(number)], user=user, language="tr",
        acting_user=user,
    )  # fmt: skip


def _bookable_times(service, day):
    return [
        f"{s.starts_at.astimezone(BERLIN):%H:%M}"
        for s in slot_list_available(service=service)
        if s.starts_at.astimezone(BERLIN).date() == day
    ]


@pytest.fixture
def week(in_mission_a):
    """Hours 09:00–12:00 every day, 30-minute slots on two counters over the next 14 days, and
    on a day three days ahead one booking at 09:00 and one at 11:30."""
    service = build_catalogue(days=15)
    day = in_mission_a.today() + dt.timedelta(days=3)
    early = _book(service, _at(service, day, "09:00"), "E0000001")
    late = _book(service, _at(service, day, "11:30"), "L0000001")
    return service, day, early, late


def test_after_new_hours_only_their_times_are_bookable(week):
    service, day, early, late = week
    other_day = day + dt.timedelta(days=1)
    assert _bookable_times(service, day) == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
    ]  # fmt: skip
    # when that weekday's hours become 09:00–11:00 and 14:00–15:00
    services.opening_hours_set(
        weekday=day.weekday(), spans=[(dt.time(9), dt.time(11)), (dt.time(14), dt.time(15))],
        acting_user=SYSTEM,
    )  # fmt: skip
    # then that day offers the new times only (09:00 still has a place: two counters)
    assert _bookable_times(service, day) == ["09:00", "09:30", "10:00", "10:30", "14:00", "14:30"]
    # and so does the same weekday a week later, with nothing of the old hours left
    next_week = day + dt.timedelta(days=7)
    assert _bookable_times(service, next_week) == [
        "09:00", "09:30", "10:00", "10:30", "14:00", "14:30",
    ]  # fmt: skip
    # and the other weekdays are as they were
    assert _bookable_times(service, other_day) == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
    ]  # fmt: skip
    # and the dropped time nobody booked is gone; the booked one is closed, its booking kept
    local = {f"{s.starts_at.astimezone(BERLIN):%H:%M}": s for s in Slot.objects.filter(
        service=service) if s.starts_at.astimezone(BERLIN).date() == day}  # fmt: skip
    assert "11:00" not in local
    assert (local["11:30"].capacity, local["11:30"].booked) == (1, 1)
    assert local["11:30"].outside_hours
    late.refresh_from_db()
    assert late.status == BookingStatus.ACTIVE
    # and the 09:00 booking, inside the new hours, is as it was
    early.refresh_from_db()
    assert early.status == BookingStatus.ACTIVE
    assert not Slot.objects.get(pk=early.slot_id).outside_hours


def test_a_place_given_back_outside_the_hours_is_not_offered_again(week):
    service, day, _early, late = week
    services.opening_hours_set(
        weekday=day.weekday(), spans=[(dt.time(9), dt.time(11))], acting_user=SYSTEM
    )
    # when the person outside the hours cancels
    services.booking_cancel(booking=late, acting_user=User.objects.get(pk=late.user_id))
    # then the time stays closed
    slot = Slot.objects.get(pk=late.slot_id)
    assert (slot.capacity, slot.booked) == (0, 0)
    assert "11:30" not in _bookable_times(service, day)


def test_hours_that_cover_a_closed_time_again_reopen_it(week):
    service, day, _early, late = week
    services.opening_hours_set(
        weekday=day.weekday(), spans=[(dt.time(9), dt.time(11))], acting_user=SYSTEM
    )
    # when the old hours come back
    services.opening_hours_set(
        weekday=day.weekday(), spans=[(dt.time(9), dt.time(12))], acting_user=SYSTEM
    )
    # then every old time is bookable again, 11:30 with its second place, and nothing is listed
    assert _bookable_times(service, day) == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
    ]  # fmt: skip
    slot = Slot.objects.get(pk=late.slot_id)
    assert (slot.capacity, slot.booked, slot.outside_hours) == (2, 1, False)


def test_the_admin_sees_the_bookings_outside_the_hours_and_moves_and_cancels_them(
    week, client_a, mission_a, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    service, day, early, late = week
    other = _book(service, _at(service, day, "11:00"), "L0000002")
    admin = make_staff(mission_a, "mission_admin")
    login_with_second_factor(client_a, admin)
    # when the admin shortens that weekday's hours on the settings page
    response = client_a.post(
        "/staff/appointments/settings/",
        {"action": "hours", "hours-weekday": str(day.weekday()), "hours-spans": "09:00-11:00"},
        follow=True,
    )
    page = response.content.decode()
    # then the page lists the two bookings the hours no longer cover, and not the 09:00 one
    assert "Bookings outside the opening hours" in page
    section = page.split("Bookings outside the opening hours", 1)[1].split("</section>", 1)[0]
    assert late.reference in section
    assert other.reference in section
    assert early.reference not in section
    assert f"{day:%-d %b %Y}, 11:30 (Europe/Berlin)" in section
    # with a choice of free times within the new hours to move each to
    target = _at(service, day, "10:00")
    assert f'<option value="{target.pk}">' in section
    assert f'<option value="{late.slot_id}">' not in section
    # when the admin moves one
    with django_capture_on_commit_callbacks(execute=True):
        moved = client_a.post(
            "/staff/appointments/settings/",
            {"action": "move", "move-reference": late.reference, "move-slot": str(target.pk)},
            follow=True,
        )
    # then it keeps its reference at the new time, the person is e-mailed the new time,
    # and one event says the mission moved it
    assert "Booking moved." in moved.content.decode()
    late.refresh_from_db()
    assert (late.slot_id, late.status) == (target.pk, BookingStatus.ACTIVE)
    (confirmation,) = [m for m in mailoutbox if late.reference in m.subject]
    assert confirmation.to == [late.email]
    event = OutboxEvent.objects.filter(topic="appointments.booking.rescheduled").latest("seq")
    assert event.payload["by_mission"] is True
    assert event.payload["reference"] == late.reference
    assert event.actor_id == admin.pk
    # and the closed time did not reopen
    assert "11:30" not in _bookable_times(service, day)
    # when the admin cancels the other one
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post(
            "/staff/appointments/settings/",
            {"action": "mission_cancel", "mission_cancel-reference": other.reference},
        )
    # then it is cancelled by the mission and the person is told, with a link to book again
    other.refresh_from_db()
    assert other.status == BookingStatus.CANCELLED_BY_MISSION
    (cancelled,) = [m for m in mailoutbox if other.reference in m.subject and m is not confirmation]
    assert cancelled.to == [other.email]
    assert "/appointments/" in cancelled.body
    # and nothing is left to list
    page = client_a.get("/staff/appointments/settings/").content.decode()
    assert "Bookings outside the opening hours" not in page


# The refusal of a cancel the hours no longer call for ({reference}: the booking's)
WITHIN_HOURS = {
    "en": "The opening hours cover the time of booking {reference} again, so it stays booked:"
    " nothing was cancelled and the person was not told anything.",
    "tr": "Çalışma saatleri {reference} numaralı randevunun saatini yeniden kapsıyor, bu nedenle"
    " randevu geçerli kalıyor: hiçbir şey iptal edilmedi ve kişiye bir şey bildirilmedi.",
}


@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_page_read_before_the_hours_came_back_cannot_cancel_what_they_cover(
    week, client_a, mission_a, mailoutbox, django_capture_on_commit_callbacks, language
):
    _service, day, _early, late = week
    login_with_second_factor(client_a, make_staff(mission_a, "mission_admin"))
    # given shorter hours, and the settings page listing the 11:30 booking outside them
    services.opening_hours_set(
        weekday=day.weekday(), spans=[(dt.time(9), dt.time(11))], acting_user=SYSTEM
    )
    page = client_a.get("/staff/appointments/settings/", HTTP_ACCEPT_LANGUAGE=language)
    assert f'name="mission_cancel-reference" value="{late.reference}"' in page.content.decode()
    # and, that page still open, the old hours set back (in another tab, or by another admin)
    services.opening_hours_set(
        weekday=day.weekday(), spans=[(dt.time(9), dt.time(12))], acting_user=SYSTEM
    )
    events = OutboxEvent.objects.count()
    # when the admin presses the old page's "Cancel and tell the person"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            "/staff/appointments/settings/",
            {"action": "mission_cancel", "mission_cancel-reference": late.reference},
            HTTP_ACCEPT_LANGUAGE=language,
        )
    # then it is refused, in their language, saying the hours cover it again
    assert response.status_code == 400
    expected = WITHIN_HOURS[language].format(reference=late.reference)
    assert texts_of(response.content, "li", class_="message") == [expected]
    # and nothing changed: still booked, its place held, no event, nobody e-mailed
    late.refresh_from_db()
    assert late.status == BookingStatus.ACTIVE
    assert Slot.objects.get(pk=late.slot_id).booked == 1
    assert OutboxEvent.objects.count() == events
    assert mailoutbox == []


def test_moving_and_cancelling_for_the_mission_is_for_who_may_change_the_settings(week, mission_a):
    from consulate.kernel.errors import ApplicationError

    service, day, _early, late = week
    officer = make_staff(mission_a, "officer")
    target = _at(service, day, "10:00")
    with pytest.raises(ApplicationError):
        services.booking_move_by_mission(booking=late, slot_id=target.pk, acting_user=officer)
    with pytest.raises(ApplicationError):
        services.booking_cancel_by_mission(booking=late, acting_user=officer)
    late.refresh_from_db()
    assert (late.slot_id, late.status) == (_at(service, day, "11:30").pk, BookingStatus.ACTIVE)
    assert Booking.objects.filter(status=BookingStatus.ACTIVE).count() == 2
    assert timezone.now() < late.slot.starts_at


# The refusals of a move the page asked for before something changed ({reference}: the booking's)
MOVE_REFUSED = {
    "covered": {
        "en": "Booking {reference} is within the opening hours now (they changed back, or it was"
        " moved already), so it stays at its time: nothing was moved and the person was not told"
        " anything.",
        "tr": "{reference} numaralı randevu artık çalışma saatleri içinde (saatler eski haline"
        " döndü ya da randevu zaten taşındı), bu nedenle saati değişmiyor: hiçbir şey taşınmadı"
        " ve kişiye bir şey bildirilmedi.",
    },
    "cancelled": {
        "en": "This booking is no longer active.",
        "tr": "Bu randevu artık geçerli değil.",
    },
    "time_dropped": {
        "en": "The opening hours no longer include this time: choose another. Booking {reference}"
        " was not moved and the person was not told anything.",
        "tr": "Çalışma saatleri artık bu saati kapsamıyor: başka bir saat seçin. {reference}"
        " numaralı randevu taşınmadı ve kişiye bir şey bildirilmedi.",
    },
}


def _hours_changed_back(service, day, late, mission):
    services.opening_hours_set(
        weekday=day.weekday(), spans=[(dt.time(9), dt.time(12))], acting_user=SYSTEM
    )


def _moved_by_a_colleague(service, day, late, mission):
    colleague = make_staff(mission, "mission_admin")
    services.booking_move_by_mission(
        booking=late, slot_id=_at(service, day, "10:30").pk, acting_user=colleague
    )


def _cancelled_by_a_colleague(service, day, late, mission):
    services.booking_cancel_by_mission(
        booking=late, acting_user=make_staff(mission, "mission_admin")
    )


def _new_hours_drop_a_time_nobody_booked(service, day, late, mission):
    # 10:00, which nobody booked, is dropped: its slot is deleted
    services.opening_hours_set(
        weekday=day.weekday(), spans=[(dt.time(9), dt.time(10))], acting_user=SYSTEM
    )


def _new_hours_drop_a_time_someone_booked(service, day, late, mission):
    # 09:00, where someone holds one of its two places, is dropped: its slot is closed
    services.opening_hours_set(
        weekday=day.weekday(), spans=[(dt.time(10), dt.time(11))], acting_user=SYSTEM
    )


# What happened since the page was read, the new time the page's form sends, and the refusal
STALE_MOVES = {
    "hours_changed_back": (_hours_changed_back, "10:00", "covered"),
    "moved_already": (_moved_by_a_colleague, "10:00", "covered"),
    "cancelled_already": (_cancelled_by_a_colleague, "10:00", "cancelled"),
    "new_time_gone": (_new_hours_drop_a_time_nobody_booked, "10:00", "time_dropped"),
    "new_time_closed": (_new_hours_drop_a_time_someone_booked, "09:00", "time_dropped"),
}


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize("case", list(STALE_MOVES))
def test_a_move_from_a_page_read_before_a_change_is_refused_and_changes_nothing(
    week, client_a, mission_a, mailoutbox, django_capture_on_commit_callbacks, case, language
):
    service, day, _early, late = week
    changed, new_time, refusal = STALE_MOVES[case]
    login_with_second_factor(client_a, make_staff(mission_a, "mission_admin"))
    # given shorter hours, and the settings page offering to move the 11:30 booking to new_time
    services.opening_hours_set(
        weekday=day.weekday(), spans=[(dt.time(9), dt.time(11))], acting_user=SYSTEM
    )
    target = _at(service, day, new_time)
    page = client_a.get("/staff/appointments/settings/", HTTP_ACCEPT_LANGUAGE=language)
    assert f'name="move-reference" value="{late.reference}"' in page.content.decode()
    assert f'<option value="{target.pk}">' in page.content.decode()
    # and, that page still open, a change made elsewhere (another tab, another admin)
    changed(service, day, late, mission_a)
    late.refresh_from_db()
    before = (late.slot_id, late.status, late.updated_at)
    places = dict(Slot.objects.values_list("pk", "booked"))
    events, mails = OutboxEvent.objects.count(), len(mailoutbox)
    # when the admin presses the old page's "Move"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            "/staff/appointments/settings/",
            {"action": "move", "move-reference": late.reference, "move-slot": str(target.pk)},
            HTTP_ACCEPT_LANGUAGE=language,
        )
    # then it is refused, in their language, saying why
    assert response.status_code == 400
    expected = MOVE_REFUSED[refusal][language].format(reference=late.reference)
    assert texts_of(response.content, "li", class_="message") == [expected]
    if refusal == "time_dropped":  # still listed: the reason stands beside its choice of times
        errors = texts_of(response.content, "ul", id=f"move-{late.reference}_errors")
        assert errors == [expected]
        assert f'aria-describedby="move-{late.reference}_errors"' in response.content.decode()
    # and nothing changed: the booking where it was, every place as it was, no event, no e-mail
    late.refresh_from_db()
    assert (late.slot_id, late.status, late.updated_at) == before
    assert dict(Slot.objects.values_list("pk", "booked")) == places
    assert OutboxEvent.objects.count() == events
    assert len(mailoutbox) == mails
