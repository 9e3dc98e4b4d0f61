"""The pages a person reads show times in the mission's time zone, with the zone named, in the
reader's language: for a mission east of UTC (Tokyo) and one west (New York), in English and
Turkish. The moved booking's page shows its new time under the same reference."""

import zoneinfo

import pytest
from django.utils import formats, translation
from django_tenants.utils import schema_context

from appointments import services
from consulate.kernel import reference
from missions.mail import local_time
from missions.models import Mission
from tests.appointments.conftest import build_catalogue, first_free_slot, person
from tests.conftest import MODEL_BACKEND

CASES = [
    (zone, language)
    for zone in ("Asia/Tokyo", "America/New_York")
    for language in ("en", "tr")
]  # fmt: skip


@pytest.mark.parametrize(("zone_name", "language"), CASES)
def test_booking_pages_show_mission_time_with_the_zone(
    mission_b, client_b, citizen, zone_name, language
):
    # given the mission in that time zone, with a service open 09:00-12:00 local time
    Mission.objects.filter(pk=mission_b.pk).update(timezone=zone_name)
    zone = zoneinfo.ZoneInfo(zone_name)
    client_b.force_login(citizen, backend=MODEL_BACKEND)
    with schema_context(mission_b.schema_name):
        service = build_catalogue(
            name="Passport application", name_tr="Pasaport başvurusu", days=10
        )
        booking = services.booking_create(
            slot_id=first_free_slot(service, skip=7).pk, service=service, persons=[person()],
            user=citizen, language=language, acting_user=citizen,
        )  # fmt: skip
        target = first_free_slot(service, skip=14)
        services.booking_reschedule(booking=booking, slot_id=target.pk, acting_user=citizen)
    local = target.starts_at.astimezone(zone)
    assert f"{local:%H:%M}" in ("09:00", "09:30", "10:00", "10:30", "11:00", "11:30")
    with translation.override(language):
        day = reference.day_written_out(local)
        weekday = formats.date_format(local, "l")
        short = reference.day_written_short(local)
        short_weekday = formats.date_format(local, "D")
        emailed = local_time(target.starts_at, zone)  # as the e-mail about the move writes it
    # Turkish writes the day of the week last ("7 Aralık 2026 Pazartesi"), English first
    assert day.endswith(weekday) if language == "tr" else day.startswith(weekday)
    assert short.endswith(short_weekday) if language == "tr" else short.startswith(short_weekday)
    name = "Pasaport başvurusu" if language == "tr" else "Passport application"
    # when the person opens the booking's page, My bookings and the calendar on that day
    detail = client_b.get(
        f"/appointments/booking/{booking.reference}/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    mine = client_b.get("/appointments/mine/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    calendar = client_b.get(
        "/appointments/passport/", {"day": local.date().isoformat()},
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()  # fmt: skip
    # then each shows the mission's local time and names the zone, in the reader's language
    assert f"{day}, {local:%H:%M} ({zone_name})" in detail
    assert emailed in detail  # the page and the e-mail write the time alike
    assert booking.reference in detail
    assert name in detail
    assert f"{short}, {local:%H:%M}" in mine
    assert zone_name in mine
    assert name in mine
    assert zone_name in calendar
    assert day in calendar
