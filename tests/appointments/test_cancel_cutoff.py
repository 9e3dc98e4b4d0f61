"""The cancellation cutoff (`Service.cancel_cutoff_hours`, read by `Booking.can_cancel`) as a
person reads it: before it, the booking's page, its cancel page, the e-mail's one-tap page and
the booking form say until when (mission time, zone named) the booking can be changed online;
after it, they say plainly that it no longer can and whom to contact, with no cancel button
(a user trial: a booking 12 hours ahead was offered 'Yes, cancel it' and then refused). For a
mission east of UTC (Tokyo) and one west (New York), in English and Turkish."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import translation
from django_tenants.utils import schema_context

from appointments import services
from appointments.models import Booking, BookingStatus
from appointments.selectors import slot_list_available
from consulate.kernel import reference
from missions.models import Mission
from tests.appointments.conftest import build_catalogue, person
from tests.conftest import MODEL_BACKEND

CASES = [
    (zone, language)
    for zone in ("Asia/Tokyo", "America/New_York")
    for language in ("en", "tr")
]  # fmt: skip

UNTIL = {
    "en": "You can move or cancel this appointment online until {when}.",
    "tr": "Bu randevuyu {when} saatine kadar çevrim içi taşıyabilir veya iptal edebilirsiniz.",
}
NO_LONGER = {
    "en": "This appointment can no longer be changed or cancelled online.",
    "tr": "Bu randevu artık çevrim içi değiştirilemez veya iptal edilemez.",
}
CONTACT = {
    "en": "If you cannot come, please contact the mission:",
    "tr": "Gelemeyecekseniz lütfen temsilcilikle iletişime geçin:",
}
YES_CANCEL = {"en": "Yes, cancel it", "tr": "Evet, iptal et"}


def _written(instant: dt.datetime, zone_name: str, language: str) -> str:
    local = instant.astimezone(zoneinfo.ZoneInfo(zone_name))
    with translation.override(language):
        return f"{reference.day_written_out(local)}, {local:%H:%M} ({zone_name})"


def _booked(mission: Mission, citizen, *, cutoff_hours: int, language: str) -> Booking:  # type: ignore[no-untyped-def]
    """A booking of the service's last free time (four days ahead), with that cutoff."""
    with schema_context(mission.schema_name):
        service = build_catalogue(days=5, cancel_cutoff_hours=cutoff_hours)
        slot = slot_list_available(service=service)[-1]
        return services.booking_create(
            slot_id=slot.pk, service=service, persons=[person()], user=citizen,
            language=language, acting_user=citizen,
        )  # fmt: skip


def _three_pages(client, citizen, booking: Booking, language: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The booking's page, its cancel page and the e-mail's one-tap page, as its owner reads
    them."""
    client.force_login(citizen, backend=MODEL_BACKEND)
    detail = f"/appointments/booking/{booking.reference}/"
    token = f"/appointments/cancel/{booking.reference}/{booking.cancel_token}/"
    return [
        client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        for path in (detail, f"{detail}cancel/", token)
    ]


@pytest.fixture
def mission_in(mission_b: Mission):  # type: ignore[no-untyped-def]
    def moved(zone_name: str) -> Mission:
        Mission.objects.filter(pk=mission_b.pk).update(
            timezone=zone_name, phone="+1 212 555 0100", email="consular@example.org"
        )
        return Mission.objects.get(pk=mission_b.pk)

    return moved


@pytest.mark.parametrize(("zone_name", "language"), CASES)
def test_before_the_cutoff_the_pages_say_until_when(
    mission_in, client_b, citizen, zone_name, language
):
    # given a booking four days ahead whose service allows changes up to 30 hours before
    mission = mission_in(zone_name)
    booking = _booked(mission, citizen, cutoff_hours=30, language=language)
    until = _written(booking.slot.starts_at - dt.timedelta(hours=30), zone_name, language)
    # when the person opens its page, its cancel page and the e-mail's one-tap page
    pages = _three_pages(client_b, citizen, booking, language)
    detail = f"/appointments/booking/{booking.reference}/"
    # then each says until when, in mission time with the zone named, and offers to cancel
    for page in pages:
        assert UNTIL[language].format(when=until) in page
        assert NO_LONGER[language] not in page
    assert f'href="{detail}cancel/"' in pages[0]
    assert YES_CANCEL[language] in pages[1]
    assert YES_CANCEL[language] in pages[2]


@pytest.mark.parametrize(("zone_name", "language"), CASES)
def test_inside_the_cutoff_the_pages_say_it_can_no_longer_be_changed(
    mission_in, client_b, citizen, zone_name, language
):
    # given a booking four days ahead whose service allows no change in its last 30 days
    mission = mission_in(zone_name)
    booking = _booked(mission, citizen, cutoff_hours=720, language=language)
    # when the person opens its page, its cancel page and the e-mail's one-tap page
    pages = _three_pages(client_b, citizen, booking, language)
    detail = f"/appointments/booking/{booking.reference}/"
    # then each says plainly it can no longer be changed online and whom to contact, with no
    # button or link that would cancel or move it
    for page in pages:
        assert NO_LONGER[language] in page
        assert CONTACT[language] in page
        assert "+1 212 555 0100" in page
        assert "mailto:consular@example.org" in page
        assert YES_CANCEL[language] not in page
        assert "?reschedule=" not in page
    assert f'href="{detail}cancel/"' not in pages[0]
    # when they tap "cancel" anyway (a form kept open from before)
    token = f"/appointments/cancel/{booking.reference}/{booking.cancel_token}/"
    refused = client_b.post(token, HTTP_ACCEPT_LANGUAGE=language)
    # then it is refused with the reason, shows no button, and the booking stands
    page = refused.content.decode()
    assert 400 <= refused.status_code < 500
    assert NO_LONGER[language].rstrip(".") in page
    assert YES_CANCEL[language] not in page
    with schema_context(mission.schema_name):
        booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


@pytest.mark.parametrize(("zone_name", "language"), CASES)
def test_the_booking_form_warns_of_a_time_inside_the_cutoff(
    mission_in, client_b, citizen, zone_name, language
):
    # given a service whose bookings can be changed up to 30 hours before, with times on the
    # next four days
    mission = mission_in(zone_name)
    with schema_context(mission.schema_name):
        service = build_catalogue(days=5, cancel_cutoff_hours=30)
        free = list(slot_list_available(service=service))
    now = dt.datetime.now(dt.UTC)
    near = next(s for s in free if s.starts_at - dt.timedelta(hours=30) < now)
    far = free[-1]
    client_b.force_login(citizen, backend=MODEL_BACKEND)
    # when the person opens the form for a time inside the cutoff, and one outside it
    inside, outside = (
        client_b.get(
            f"/appointments/passport/book/{slot.pk}/", HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
        for slot in (near, far)
    )
    # then the first warns that, once booked, it cannot be changed online; the second says
    # until when it can
    warning = {
        "en": "This time is too close to be cancelled or moved online once booked.",
        "tr": "Bu saat çok yakın: alındıktan sonra çevrim içi iptal edilemez veya taşınamaz.",
    }[language]
    assert warning in inside
    assert warning not in outside
    until = _written(far.starts_at - dt.timedelta(hours=30), zone_name, language)
    once = {
        "en": f"Once booked, you can move or cancel this appointment online until {until}.",
        "tr": f"Randevuyu aldıktan sonra {until} saatine kadar çevrim içi taşıyabilir veya "
        "iptal edebilirsiniz.",
    }[language]
    assert once in outside
