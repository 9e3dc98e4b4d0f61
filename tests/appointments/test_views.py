"""The pages and the API, through the mission's host: booking, cancelling, check-in, the feed,
rate limits, and 404 for another mission's bookings."""

import datetime as dt
import json

import pytest
from django.core import mail
from django.db.models import F
from django.test import Client
from django_tenants.utils import schema_context

from appointments import services
from appointments.emails import booking_confirmation_send
from appointments.models import Booking, BookingStatus, Slot
from tests.appointments.conftest import BERLIN, build_catalogue, first_free_slot, person
from tests.conftest import MODEL_BACKEND, error_summary, texts_of, widget_refused
from tests.missions.test_tenant_isolation import login_with_second_factor


@pytest.fixture
def logged_in(client_a, citizen):
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    return client_a


def _form(number="U1234567"):
    return {
        "person-TOTAL_FORMS": "1", "person-INITIAL_FORMS": "0", "person-MIN_NUM_FORMS": "1",
        "person-MAX_NUM_FORMS": "1000", "person-0-full_name": "Ada Example",
        "person-0-date_of_birth": "1990-05-17", "person-0-document_number": number,
    }  # fmt: skip


def test_the_calendar_shows_only_bookable_times(catalogue, client_a):
    slot = first_free_slot(catalogue)
    full = first_free_slot(catalogue, skip=1)
    Slot.objects.filter(pk=full.pk).update(booked=2)
    page = client_a.get("/appointments/passport/").content.decode()
    assert f"/appointments/passport/book/{slot.pk}/" in page
    assert f"/appointments/passport/book/{full.pk}/" not in page


@pytest.mark.parametrize(
    ("language", "said", "choose"),
    [("en", "This time has just been taken.", "Choose another time"),
     ("tr", "Bu saat az önce alındı.", "Başka bir saat seçin")],
)  # fmt: skip
def test_a_time_taken_since_it_was_chosen_is_said_as_the_page_opens(
    catalogue, logged_in, language, said, choose
):
    # given a time someone else took after the citizen saw it free
    slot = first_free_slot(catalogue, skip=4)
    Slot.objects.filter(pk=slot.pk).update(booked=F("capacity"))
    # when the citizen opens its booking page
    response = logged_in.get(
        f"/appointments/passport/book/{slot.pk}/", HTTP_ACCEPT_LANGUAGE=language
    )
    page = response.content.decode()
    # then the page says so in their language (with the booking's own status), with a way
    # back to that day's times, and asks for no details it could not use
    assert response.status_code == 400
    assert said in page
    assert "<title>Passport" in page  # not "Your details"
    day = slot.starts_at.astimezone(BERLIN).date().isoformat()
    assert f'/appointments/passport/?day={day}#times-heading">{choose}</a>' in page
    assert "person-0-full_name" not in page
    assert 'method="post"' not in page.split("<main", 1)[1]


def test_a_free_time_opens_its_form_and_a_passed_one_says_so(catalogue, logged_in):
    # a free time: the form, no message
    slot = first_free_slot(catalogue, skip=4)
    page = logged_in.get(f"/appointments/passport/book/{slot.pk}/").content.decode()
    assert "person-0-full_name" in page
    assert "Choose another time" not in page
    # a time that has passed meanwhile: said as the page opens
    Slot.objects.filter(pk=slot.pk).update(
        starts_at=dt.datetime(2020, 1, 6, 9, tzinfo=dt.UTC),
        ends_at=dt.datetime(2020, 1, 6, 9, 30, tzinfo=dt.UTC),
    )
    response = logged_in.get(f"/appointments/passport/book/{slot.pk}/")
    assert response.status_code == 400
    assert "This time has already passed." in response.content.decode()
    assert "person-0-full_name" not in response.content.decode()


def test_a_person_blocked_for_missed_appointments_is_told_so_as_the_page_opens(
    catalogue, logged_in, citizen, officer_a
):
    # given a citizen who missed two appointments (the mission's limit)
    for n in range(2):
        booking = services.booking_create(
            slot_id=first_free_slot(catalogue, skip=n).pk, service=catalogue,
            persons=[person(f"N000000{n}")], user=citizen, language="en", acting_user=citizen,
        )  # fmt: skip
        Slot.objects.filter(pk=booking.slot_id).update(
            starts_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1 + n, hours=1),
            ends_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1 + n),
        )
        services.booking_mark_no_show(booking=booking, acting_user=officer_a)
    # when they open the booking page of a free time
    slot = first_free_slot(catalogue, skip=4)
    response = logged_in.get(f"/appointments/passport/book/{slot.pk}/")
    page = response.content.decode()
    # then it says until when they are blocked, and offers no other time (each is refused)
    assert response.status_code == 400
    assert "new bookings are blocked until" in page
    assert "person-0-full_name" not in page
    assert "Choose another time" not in page


def test_a_citizen_books_sees_the_barcode_and_cancels(catalogue, logged_in, citizen):
    slot = first_free_slot(catalogue, skip=4)
    # when the form is posted
    response = logged_in.post(f"/appointments/passport/book/{slot.pk}/", _form())
    # then the confirmation page shows the reference and its barcode
    assert response.status_code == 302
    booking = Booking.objects.get(user_id=citizen.pk)
    page = logged_in.get(response["Location"]).content.decode()
    assert booking.reference in page
    assert "data:image/png;base64," in page
    assert "Show this at the mission" in page
    ics = logged_in.get(f"/appointments/booking/{booking.reference}/ics/")
    assert b"BEGIN:VEVENT" in ics.content
    # and cancelling frees the slot
    logged_in.post(f"/appointments/booking/{booking.reference}/cancel/")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert Slot.objects.get(pk=slot.pk).booked == 0


def test_cancel_asks_once_before_it_cancels(catalogue, logged_in, citizen):
    # given a booking's page
    booking = services.booking_create(
        slot_id=first_free_slot(catalogue, skip=4).pk, service=catalogue, persons=[person()],
        user=citizen, language="en", acting_user=citizen,
    )  # fmt: skip
    detail = f"/appointments/booking/{booking.reference}/"
    cancel = f"{detail}cancel/"
    page = logged_in.get(detail).content.decode()
    # then no button on it cancels: "Cancel this appointment" leads to a question
    assert f'action="{cancel}"' not in page
    assert f'href="{cancel}"' in page
    assert "Move to another time" in page
    # when the person follows it
    question = logged_in.get(cancel)
    # then they are asked once, with a way back, and nothing is cancelled yet
    text = question.content.decode()
    assert question.status_code == 200
    assert "Cancel this appointment?" in text
    assert "Yes, cancel it" in text
    assert f'href="{detail}"' in text  # "No, keep it"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    # when they confirm
    done = logged_in.post(cancel, follow=True).content.decode()
    # then it is cancelled, and its page shows no barcode, no calendar link, no "show this"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert "Your appointment is cancelled." in done
    assert "Cancelled" in done
    assert "data:image/png" not in done
    assert "Show this at the mission" not in done
    assert "/ics/" not in done
    assert "Book again" in done
    # and asking again says it is no longer active, with no button
    again = logged_in.get(cancel).content.decode()
    assert "Yes, cancel it" not in again


def test_moving_on_the_pages_keeps_the_reference(catalogue, logged_in, citizen):
    # given a booking
    booking = services.booking_create(
        slot_id=first_free_slot(catalogue, skip=4).pk, service=catalogue, persons=[person()],
        user=citizen, language="en", acting_user=citizen,
    )  # fmt: skip
    target = first_free_slot(catalogue, skip=10)
    # when the person picks a new time on the calendar opened from "Move to another time"
    calendar = logged_in.get(
        "/appointments/passport/", {"reschedule": booking.reference}
    ).content.decode()
    assert f"/appointments/booking/{booking.reference}/move/" in calendar
    response = logged_in.post(f"/appointments/booking/{booking.reference}/move/{target.pk}/")
    # then they land on the same booking's page, at the new time, with the same barcode
    assert response["Location"] == f"/appointments/booking/{booking.reference}/"
    page = logged_in.get(response["Location"]).content.decode()
    assert "Your appointment is moved. Its reference stays the same." in page
    assert "data:image/png" in page
    booking.refresh_from_db()
    assert booking.slot_id == target.pk
    assert Booking.objects.filter(user_id=citizen.pk).count() == 1


def test_a_malformed_document_number_gets_a_clear_message(catalogue, logged_in):
    slot = first_free_slot(catalogue)
    response = logged_in.post(f"/appointments/passport/book/{slot.pk}/", _form("12"))
    assert response.status_code == 400
    assert "5 to 20 letters and digits" in response.content.decode()
    assert Booking.objects.count() == 0


def test_rate_limit_says_so(catalogue, logged_in, settings):
    settings.APPOINTMENTS_RATE_LIMITS = {"book": (2, 60)}
    slot = first_free_slot(catalogue)
    statuses = [
        logged_in.post(f"/appointments/passport/book/{slot.pk}/", _form(f"R{n:07d}")).status_code
        for n in range(3)
    ]
    response = logged_in.post(f"/appointments/passport/book/{slot.pk}/", _form("R9999999"))
    # then the third request in the minute is refused with a clear message, and books nothing
    assert statuses == [302, 302, 429]
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    assert Booking.objects.count() == 2


def test_the_confirmation_email_has_a_scannable_barcode_an_ics_and_a_cancel_link(
    catalogue, citizen, client_a
):
    from PIL import Image
    from pyzbar.pyzbar import decode

    booking = services.booking_create(
        slot_id=first_free_slot(catalogue, skip=3).pk, service=catalogue, persons=[person()],
        user=citizen, language="en", acting_user=citizen,
    )  # fmt: skip
    booking_confirmation_send(booking=booking)
    (message,) = mail.outbox
    assert booking.reference in message.subject
    attachments = {part.get_content_type(): part for part in message.message().walk()}
    png = attachments["image/png"].get_payload(decode=True)
    import io

    (code,) = decode(Image.open(io.BytesIO(png)))
    assert code.data.decode() == booking.reference
    assert code.type == "CODE128"
    assert b"BEGIN:VEVENT" in attachments["text/calendar"].get_payload(decode=True)
    cancel = next(line for line in message.body.splitlines() if "/appointments/cancel/" in line)
    path = "/appointments/cancel/" + cancel.split("/appointments/cancel/")[1]
    # the link opens a page; one tap confirms
    assert client_a.get(path).status_code == 200
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE
    client_a.post(path)
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED


def test_the_availability_feed_has_no_personal_data(catalogue, citizen, client_a):
    services.booking_create(
        slot_id=first_free_slot(catalogue).pk, service=catalogue, persons=[person()],
        user=citizen, language="en", acting_user=citizen,
    )  # fmt: skip
    body = client_a.get("/appointments/availability.json").content.decode()
    feed = json.loads(body)
    assert feed["services"][0]["service"] == "passport"
    assert feed["services"][0]["next_bookable"]
    assert "U1234567" not in body
    assert "Ada" not in body
    assert citizen.email not in body


def test_an_officer_checks_in_by_reference_and_marks_served(
    catalogue, citizen, client_a, officer_a
):
    booking = services.booking_create(
        slot_id=first_free_slot(catalogue).pk, service=catalogue, persons=[person()],
        user=citizen, language="en", acting_user=citizen,
    )  # fmt: skip
    if booking.slot.starts_at.astimezone(dt.UTC).date() != dt.datetime.now(dt.UTC).date():
        # the first free time is tomorrow (late in the day): bring it to today for the test
        from django.utils import timezone

        Slot.objects.filter(pk=booking.slot_id).update(
            starts_at=timezone.now() + dt.timedelta(minutes=1),
            ends_at=timezone.now() + dt.timedelta(minutes=31),
        )
    login_with_second_factor(client_a, officer_a)
    response = client_a.post(
        "/staff/appointments/", {"action": "check_in", "reference": booking.reference.lower()}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN
    assert booking.queue_number == 1
    client_a.post("/staff/appointments/", {"action": "call_next"})
    client_a.post("/staff/appointments/", {"action": "served", "reference": booking.reference})
    booking.refresh_from_db()
    assert booking.status == BookingStatus.SERVED
    assert booking.called_at is not None


def test_the_day_sheet_is_not_for_citizens(logged_in, catalogue):
    assert logged_in.get("/staff/appointments/").status_code == 404


def test_another_missions_booking_is_404(catalogue, citizen, mission_b):
    booking = services.booking_create(
        slot_id=first_free_slot(catalogue).pk, service=catalogue, persons=[person()],
        user=citizen, language="en", acting_user=citizen,
    )  # fmt: skip
    with schema_context(mission_b.schema_name):
        build_catalogue(counters=1, days=2)
    client_b = Client(HTTP_HOST=mission_b.host)
    client_b.force_login(citizen, backend=MODEL_BACKEND)
    assert client_b.get(f"/appointments/booking/{booking.reference}/").status_code == 404
    assert (
        client_b.post(f"/api/v1/appointments/bookings/{booking.reference}/cancel/").status_code
        == 404
    )


ADA = {"full_name": "Ada Example", "date_of_birth": "1990-05-17", "document_number": "U1234567"}


def test_the_api_books_lists_and_cancels(catalogue, logged_in):
    slots = logged_in.get("/api/v1/appointments/services/passport/slots/").json()
    response = logged_in.post(
        "/api/v1/appointments/bookings/",
        {"service": "passport", "slot": slots[3]["id"], "persons": [ADA]},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    reference = response.json()["reference"]
    again = logged_in.post(
        "/api/v1/appointments/bookings/",
        {"service": "passport", "slot": slots[4]["id"], "persons": [ADA]},
        content_type="application/json",
    )  # fmt: skip
    assert again.status_code == 400
    assert again.json()["code"] == "appointments.already_booked"
    assert [b["reference"] for b in logged_in.get("/api/v1/appointments/bookings/").json()] == [
        reference
    ]
    moved = logged_in.post(
        f"/api/v1/appointments/bookings/{reference}/reschedule/", {"slot": slots[5]["id"]},
        content_type="application/json",
    )  # fmt: skip
    assert moved.status_code == 200
    assert moved.json()["reference"] == reference  # a move keeps the reference
    assert moved.json()["starts_at"] == slots[5]["starts_at"]
    cancelled = logged_in.post(f"/api/v1/appointments/bookings/{moved.json()['reference']}/cancel/")
    assert cancelled.json()["status"] == "cancelled"


def test_the_api_is_in_the_openapi_schema(client_a, db):
    schema = client_a.get("/api/schema/").content.decode()
    for path in ("/api/v1/appointments/bookings/", "/api/v1/appointments/check-in/",
                 "/api/v1/appointments/services/{code}/slots/"):  # fmt: skip
        assert path in schema


def test_the_public_api_needs_no_login_and_booking_does(catalogue, client_a):
    assert client_a.get("/api/v1/appointments/services/").status_code == 200
    assert client_a.get("/api/v1/appointments/availability/").status_code == 200
    assert client_a.get("/api/v1/appointments/services/passport/slots/").status_code == 200
    assert client_a.post("/api/v1/appointments/bookings/", {}).status_code in (401, 403)


def _fill_day(service, day, *, but):
    """Every time of `day` taken, except one place at `but`, which a new citizen then books."""
    from tests.factories import UserFactory

    zone = dt.UTC
    Slot.objects.filter(
        service=service,
        pk__in=[s.pk for s in Slot.objects.filter(service=service)
                if s.starts_at.astimezone(zone).date() == day],
    ).update(capacity=0)  # fmt: skip
    Slot.objects.filter(pk=but.pk).update(capacity=1)
    other = UserFactory()
    booking = services.booking_create(
        slot_id=but.pk, service=service, persons=[person("Z1111111")], user=other,
        language="en", acting_user=other,
    )  # fmt: skip
    return booking, other


def test_waitlist_join_page_and_offer_link(catalogue, logged_in, citizen, client_a):
    from appointments.models import WaitlistEntry, WaitlistStatus

    slot = first_free_slot(catalogue, skip=9)
    day = slot.starts_at.astimezone(dt.UTC).date()
    # given a day with every time taken
    booking, other = _fill_day(catalogue, day, but=slot)
    response = logged_in.post(
        "/appointments/passport/waitlist/",
        {"person-full_name": "Ada Example", "person-date_of_birth": "1990-05-17",
         "person-document_number": "U1234567", "person-day_from": day.isoformat(),
         "person-day_to": day.isoformat()},
    )  # fmt: skip
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get()
    # when one booking is cancelled, the offer link shows the held time
    services.booking_cancel(booking=booking, acting_user=other)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    link = f"/appointments/waitlist/{entry.pk}/{entry.offer_token}/"
    assert client_a.get(f"/appointments/waitlist/{entry.pk}/wrong/").status_code == 404
    assert "Take this time" in client_a.get(link).content.decode()
    client_a.post(link)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.ACCEPTED
    assert [b["service"] for b in logged_in.get("/api/v1/appointments/waitlist/").json()] == [
        "passport"
    ]


WAITLIST = {
    "person-full_name": "Ada Example", "person-date_of_birth": "1990-05-17",
    "person-document_number": "U1234567",
}  # fmt: skip


def test_a_reversed_range_of_days_says_the_first_day_must_come_first(catalogue, logged_in):
    from appointments.models import WaitlistEntry

    day = first_free_slot(catalogue, skip=9).starts_at.date()
    # when the last day is before the first
    response = logged_in.post(
        "/appointments/passport/waitlist/",
        {**WAITLIST, "person-day_from": (day + dt.timedelta(days=2)).isoformat(),
         "person-day_to": day.isoformat()},
        follow=True,
    )  # fmt: skip
    # then the page says so, and nothing is written
    assert response.status_code == 400
    assert "The first day must be before the last (or the same day)." in (response.content.decode())
    assert not WaitlistEntry.objects.exists()


def test_joining_is_refused_while_free_times_exist_with_a_link_to_them(catalogue, logged_in):
    from appointments.models import WaitlistEntry

    # given a range whose second day still has free times
    slot = first_free_slot(catalogue, skip=9)
    day = slot.starts_at.astimezone(dt.UTC).date()
    # when someone asks to wait for it
    response = logged_in.post(
        "/appointments/passport/waitlist/",
        {**WAITLIST, "person-day_from": day.isoformat(),
         "person-day_to": (day + dt.timedelta(days=1)).isoformat()},
    )  # fmt: skip
    # then they are not put on the waitlist, and are led to the first free day's times
    page = response.content.decode()
    assert response.status_code == 400
    assert "There are still free times on these days" in page
    assert f"/appointments/passport/?day={day.isoformat()}#times-heading" in page
    assert not WaitlistEntry.objects.exists()
    # and the times are there when they follow the link
    times = logged_in.get("/appointments/passport/", {"day": day.isoformat()}).content.decode()
    assert f"/appointments/passport/book/{slot.pk}/" in times


def test_my_bookings_lists_waitlist_entries_and_leaving_asks_once(catalogue, logged_in, citizen):
    from appointments.models import WaitlistEntry, WaitlistStatus
    from sync.models import OutboxEvent

    # given someone waiting for a full day
    slot = first_free_slot(catalogue, skip=9)
    day = slot.starts_at.astimezone(dt.UTC).date()
    _fill_day(catalogue, day, but=slot)
    entry = services.waitlist_join(
        service=catalogue, person=person(), day_from=day, day_to=day, user=citizen,
        language="en", acting_user=citizen,
    )  # fmt: skip
    # when they open My bookings
    page = logged_in.get("/appointments/mine/").content.decode()
    # then the entry is there with its days, its status and a way to leave
    assert "Waitlist" in page
    assert "Passport application" in page
    assert day.strftime("%-d %b %Y") in page
    assert "Waiting" in page
    leave = f"/appointments/waitlist/{entry.pk}/leave/"
    assert f'href="{leave}"' in page
    # when they follow it, they are asked once
    question = logged_in.get(leave).content.decode()
    assert "Leave the waitlist?" in question
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING
    # when they confirm, they have left, and My bookings no longer lists it
    done = logged_in.post(leave, follow=True).content.decode()
    assert "You have left the waitlist." in done
    assert f'href="{leave}"' not in done
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.LEFT
    event = OutboxEvent.objects.latest("seq")
    assert (event.topic, event.aggregate_id) == ("appointments.waitlist_entry.left", str(entry.pk))
    assert event.actor_id == citizen.pk
    # and someone else's entry does not exist for them
    from tests.factories import UserFactory

    other = UserFactory()
    theirs = WaitlistEntry.objects.create(
        service=catalogue, user_id=other.pk, email=other.email, full_name="X",
        date_of_birth=dt.date(1990, 1, 1), document_number="Q1234567", day_from=day, day_to=day,
    )  # fmt: skip
    assert logged_in.get(f"/appointments/waitlist/{theirs.pk}/leave/").status_code == 404
    assert logged_in.post(f"/appointments/waitlist/{theirs.pk}/leave/").status_code == 404


def test_the_feed_respects_each_services_minimum_notice(in_mission_a, client_a):
    from appointments.selectors import availability_feed, slot_next_available
    from missions.models import Mission

    service = build_catalogue(days=10, min_notice_hours=48)
    (row,) = availability_feed(mission=Mission.objects.get(code="alpha"))
    first = slot_next_available(service=service)
    assert dt.datetime.fromisoformat(row["next_bookable"]) == first.starts_at
    assert first.starts_at >= dt.datetime.now(dt.UTC) + dt.timedelta(hours=48)


def test_a_mission_admin_edits_a_service_hours_and_closes_a_day(
    catalogue, citizen, client_a, mission_a
):
    from appointments.models import Closure, OpeningHours
    from tests.conftest import make_staff

    booking = services.booking_create(
        slot_id=first_free_slot(catalogue, skip=10).pk, service=catalogue, persons=[person()],
        user=citizen, language="en", acting_user=citizen,
    )  # fmt: skip
    admin = make_staff(mission_a, "mission_admin")
    login_with_second_factor(client_a, admin)
    assert client_a.get("/staff/appointments/settings/").status_code == 200
    # when the admin shortens the horizon
    page = client_a.get("/staff/appointments/settings/service/passport/").content.decode()
    assert 'name="horizon_days"' in page
    data = {
        "name_en": "Passport application", "name_tr": "", "duration_minutes": 30,
        "buffer_minutes": 0, "max_persons": 3, "horizon_days": 30, "min_notice_hours": 1,
        "cancel_cutoff_hours": 2, "release_mode": "open", "release_lead_days": 14,
        "release_time": "08:00", "is_active": "on",
    }  # fmt: skip
    assert client_a.post("/staff/appointments/settings/service/passport/", data).status_code == 302
    catalogue.refresh_from_db()
    assert catalogue.horizon_days == 30
    assert catalogue.history.first().history_user_id == admin.pk
    # and sets Saturday's hours, and closes the day of the booking
    client_a.post(
        "/staff/appointments/settings/",
        {"action": "hours", "hours-weekday": "5", "hours-spans": "10:00-11:00"},
    )
    assert list(OpeningHours.objects.filter(weekday=5).values_list("opens", flat=True)) == [
        dt.time(10)
    ]
    day = booking.slot.starts_at.astimezone(dt.UTC).date().isoformat()
    client_a.post(
        "/staff/appointments/settings/",
        {"action": "closure", "closure-date": day, "closure-kind": "emergency",
         "closure-reason": "Power cut"},
    )  # fmt: skip
    assert Closure.objects.filter(reason="Power cut").exists()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED_BY_MISSION


def test_officers_cannot_open_the_settings(client_a, officer_a, catalogue):
    login_with_second_factor(client_a, officer_a)
    assert client_a.get("/staff/appointments/settings/").status_code == 404


def test_a_mission_admin_adds_a_counter_a_service_and_opens_a_draw(in_mission_a, client_a):
    from appointments.models import Counter, LotteryRound, Service
    from tests.conftest import make_staff

    admin = make_staff(in_mission_a, "mission_admin")
    login_with_second_factor(client_a, admin)
    client_a.post("/staff/appointments/settings/", {"action": "counter", "counter-name": "Desk A"})
    desk = Counter.objects.get(name="Desk A")
    response = client_a.post(
        "/staff/appointments/settings/",
        {"action": "service", "service-code": "apostille", "service-name": "Apostille",
         "service-counters": [desk.pk]},
    )  # fmt: skip
    assert response["Location"].endswith("/staff/appointments/settings/service/apostille/")
    service = Service.objects.get(code="apostille")
    services.service_update(service=service, release_mode="lottery", acting_user=admin)
    today = dt.datetime.now(dt.UTC).date()
    start = (today + dt.timedelta(days=20)).isoformat()
    closes = f"{(today + dt.timedelta(days=5)).isoformat()}T18:00"
    client_a.post(
        "/staff/appointments/settings/",
        {"action": "lottery", "lottery-service": service.pk, "lottery-period_start": start,
         "lottery-period_end": start, "lottery-window_opens_at": "2026-11-01T09:00",
         "lottery-window_closes_at": closes},
    )  # fmt: skip
    lottery_round = LotteryRound.objects.get(service=service)
    # the times typed are Berlin wall-clock times
    assert lottery_round.window_opens_at == dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
    assert len(lottery_round.seed_commitment) == 64


def test_the_check_in_api_is_for_staff_and_scoped_to_the_mission(
    catalogue, citizen, client_a, officer_a, officer_b, mission_b
):
    booking = services.booking_create(
        slot_id=first_free_slot(catalogue).pk, service=catalogue, persons=[person()],
        user=citizen, language="en", acting_user=citizen,
    )  # fmt: skip
    from django.utils import timezone

    Slot.objects.filter(pk=booking.slot_id).update(
        starts_at=timezone.now() + dt.timedelta(minutes=2),
        ends_at=timezone.now() + dt.timedelta(minutes=32),
    )
    # a citizen, and an officer of another mission, get 404
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    body = {"reference": booking.reference}
    assert client_a.post("/api/v1/appointments/check-in/", body).status_code == 404
    login_with_second_factor(client_a, officer_b)
    assert client_a.post("/api/v1/appointments/check-in/", body).status_code == 404
    # the mission's officer checks in
    login_with_second_factor(client_a, officer_a)
    response = client_a.post("/api/v1/appointments/check-in/", body)
    assert response.status_code == 200
    assert response.json()["queue_number"] == 1


def test_the_calendar_file_links_back_with_the_port_of_the_development_server(
    catalogue, citizen, mission_a, settings
):
    from icalendar import Calendar

    booking = services.booking_create(
        slot_id=first_free_slot(catalogue).pk, service=catalogue, persons=[person()],
        user=citizen, language="en", acting_user=citizen,
    )  # fmt: skip
    detail = f"/appointments/booking/{booking.reference}/"

    def event_url(host):
        client = Client(HTTP_HOST=host)
        client.force_login(citizen, backend=MODEL_BACKEND)
        page = client.get(detail).content.decode()
        # the page's link is relative: it keeps whatever host and port the page has
        assert f'href="{detail}ics/"' in page
        ics = Calendar.from_ical(client.get(f"{detail}ics/").content)
        return str(next(iter(ics.walk("VEVENT")))["URL"])

    # on the development server at port 8200, the entry's link comes back to port 8200
    settings.PORTAL_PORT = "8200"
    assert event_url(f"{mission_a.host}:8200") == f"http://{mission_a.host}:8200{detail}"
    # and when a proxy in front of it dropped the port, the development port is put back
    assert event_url(mission_a.host) == f"http://{mission_a.host}:8200{detail}"
    # in production (no port configured) the host is used as it is
    settings.PORTAL_PORT = ""
    assert event_url(mission_a.host) == f"http://{mission_a.host}{detail}"


@pytest.mark.parametrize(
    ("language", "words"), [("en", "More times are released on"), ("tr", "Yeni saatler")]
)
def test_a_full_time_says_when_more_are_released(catalogue, logged_in, language, words):
    # given a time someone else has just taken, and times of a later day not released yet
    slot = first_free_slot(catalogue, skip=2)
    Slot.objects.filter(pk=slot.pk).update(booked=F("capacity"))
    later = Slot.objects.filter(service=catalogue).order_by("-starts_at").first()
    release = later.starts_at - dt.timedelta(days=2)
    Slot.objects.filter(pk=later.pk).update(bookable_from=release)
    # when a person asks for the full time
    response = logged_in.post(
        "/api/v1/appointments/bookings/",
        {"service": "passport", "slot": slot.pk, "persons": [ADA]},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=language,
    )  # fmt: skip
    # then the answer is "full", with the next release in mission time, named in the message
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "appointments.slot_full"
    assert body["next_release"] == release.astimezone(BERLIN).isoformat()
    assert words in body["message"]
    assert "(Europe/Berlin)" in body["message"]
    assert Booking.objects.count() == 0


def test_a_full_time_of_a_service_with_nothing_to_release_says_only_full(catalogue, logged_in):
    slot = first_free_slot(catalogue)
    Slot.objects.filter(pk=slot.pk).update(booked=F("capacity"))
    response = logged_in.post(
        "/api/v1/appointments/bookings/",
        {"service": "passport", "slot": slot.pk, "persons": [ADA]},
        content_type="application/json",
    )  # fmt: skip
    assert response.json()["code"] == "appointments.slot_full"
    assert response.json()["next_release"] is None
    assert "released" not in response.json()["message"]


def test_a_full_time_names_the_next_release_in_the_missions_own_zone(mission_b, citizen):
    # given Tokyo (east of UTC), with a full time and a later day not released yet
    import zoneinfo

    from django_tenants.utils import schema_context

    tokyo = zoneinfo.ZoneInfo(mission_b.timezone)
    with schema_context(mission_b.schema_name):
        service = build_catalogue()
        slot = first_free_slot(service, skip=2)
        Slot.objects.filter(pk=slot.pk).update(booked=F("capacity"))
        later = Slot.objects.filter(service=service).order_by("-starts_at").first()
        release = later.starts_at - dt.timedelta(days=2)
        Slot.objects.filter(pk=later.pk).update(bookable_from=release)
    client = Client(HTTP_HOST="beta.localhost")
    client.force_login(citizen, backend=MODEL_BACKEND)
    # when a person asks for the full time, in Turkish
    body = client.post(
        "/api/v1/appointments/bookings/",
        {"service": "passport", "slot": slot.pk, "persons": [ADA]},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="tr",
    ).json()  # fmt: skip
    # then the release is given in Tokyo's time, the zone named
    assert body["next_release"] == release.astimezone(tokyo).isoformat()
    assert f"({mission_b.timezone})" in body["message"]
    assert release.astimezone(tokyo).strftime("%H:%M") in body["message"]


def test_with_the_feed_kept_a_full_time_names_the_next_release_from_it_and_not_a_past_one(
    catalogue, logged_in, settings, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    # given the mission's feed kept a few seconds, a full time, and two later releases
    settings.CONSULATE_AVAILABILITY_CACHE_SECONDS = 3600  # kept all through the test
    slot = first_free_slot(catalogue, skip=2)
    Slot.objects.filter(pk=slot.pk).update(booked=F("capacity"))
    last, before_last = Slot.objects.filter(service=catalogue).order_by("-starts_at")[:2]
    soon = timezone.now() + dt.timedelta(minutes=5)
    later = last.starts_at - dt.timedelta(days=2)
    Slot.objects.filter(pk=before_last.pk).update(bookable_from=soon)
    Slot.objects.filter(pk=last.pk).update(bookable_from=later)

    def ask() -> tuple[dict, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            response = logged_in.post(
                "/api/v1/appointments/bookings/",
                {"service": "passport", "slot": slot.pk, "persons": [ADA]},
                content_type="application/json",
            )  # fmt: skip
        assert response.status_code == 400
        return response.json(), [q["sql"] for q in queries.captured_queries]

    ask()  # the next release is read and kept here for the feed's seconds
    # when the full time is asked for again within them
    body, statements = ask()
    # then the next release comes from the copy kept here: no query for it
    assert body["next_release"] == soon.astimezone(BERLIN).isoformat()
    assert not [sql for sql in statements if 'MIN("appointments_slot"."bookable_from")' in sql]
    # and once that release has passed (within the feed's seconds still), the answer is read
    # again and names the following one, not the one just past
    moment = soon + dt.timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    body, statements = ask()
    assert body["next_release"] == later.astimezone(BERLIN).isoformat()
    assert [sql for sql in statements if 'MIN("appointments_slot"."bookable_from")' in sql]


@pytest.mark.parametrize(
    ("language", "person"),
    [("en", "(Person 1): This field is required."), ("tr", "(Kişi 1): Bu alan zorunlu.")],
)
def test_a_refused_persons_field_is_named_at_the_top_with_the_persons_number(
    catalogue, logged_in, language, person
):
    slot = first_free_slot(catalogue, skip=6)
    # when the citizen books without a name
    response = logged_in.post(
        f"/appointments/passport/book/{slot.pk}/",
        {**_form(), "person-0-full_name": ""},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then the summary names the person's field and links to it, and the field says why
    assert response.status_code == 400
    [(link, text)] = error_summary(response.content.decode())
    assert link == "#id_person-0-full_name"
    assert text.endswith(person)
    assert widget_refused(response.content, "id_person-0-full_name")
    assert not Booking.objects.exists()


def test_a_waitlist_day_the_service_refuses_is_named_beside_its_field_and_at_the_top(
    catalogue, logged_in
):
    from appointments.models import WaitlistEntry

    # when a citizen asks for days that start in the past
    past = dt.date(2020, 1, 6)
    response = logged_in.post(
        "/appointments/passport/waitlist/",
        {"person-full_name": "Ada Example", "person-date_of_birth": "1990-05-17",
         "person-document_number": "U1234567", "person-day_from": past.isoformat(),
         "person-day_to": (past + dt.timedelta(days=2)).isoformat()},
    )  # fmt: skip
    # then the first day is named in the summary, linked, and beside its field, with no
    # banner repeating it, and no one joins
    assert response.status_code == 400
    page = response.content.decode()
    [(link, text)] = error_summary(page)
    assert link == "#id_person-day_from"
    assert text.endswith("Choose a range of days from today on.")
    assert widget_refused(page, "id_person-day_from")
    assert not texts_of(page, "li", class_="message error")
    assert not WaitlistEntry.objects.exists()
