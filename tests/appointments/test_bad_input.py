"""Bad input on the appointments pages and API gets a 4xx with a clear message, never a 500, and
changes nothing: NUL bytes (refused by the kernel's BadInputMiddleware and BoundedJSONParser:
these tests prove it for this app's URLs), days out of range (refused by the forms' bounded
day fields), and link secrets that are not even ASCII."""

from __future__ import annotations

import json

import pytest

from appointments.models import Booking, BookingStatus, Closure, LotteryRound
from sync.models import OutboxEvent
from tests.appointments.conftest import BERLIN, first_free_slot
from tests.appointments.factories import BookingFactory
from tests.conftest import MODEL_BACKEND, make_staff
from tests.missions.test_tenant_isolation import login_with_second_factor


@pytest.fixture
def booking(catalogue, citizen):
    return BookingFactory(service=catalogue, user=citizen)


def _nothing_written(before: int) -> bool:
    return OutboxEvent.objects.count() == before


def test_a_nul_byte_in_the_cancel_link_is_a_400(client_a, booking):
    before = OutboxEvent.objects.count()
    for path in (
        f"/appointments/cancel/{booking.reference}%00/{booking.cancel_token}/",
        f"/appointments/cancel/{booking.reference}/{booking.cancel_token}%00/",
    ):
        assert client_a.get(path).status_code == 400
        assert client_a.post(path).status_code == 400
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert _nothing_written(before)


def test_a_nul_byte_in_a_booking_reference_is_a_400(client_a, citizen, booking):
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    assert client_a.get(f"/appointments/booking/{booking.reference}%00/").status_code == 400
    assert client_a.get(f"/appointments/booking/%00{booking.reference}/ics/").status_code == 400
    response = client_a.post(f"/appointments/booking/{booking.reference}%00/cancel/")
    assert response.status_code == 400
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


def test_a_nul_byte_typed_at_the_counter_is_a_400(client_a, officer_a, booking):
    login_with_second_factor(client_a, officer_a)
    before = OutboxEvent.objects.count()
    typed = {"action": "check_in", "reference": f"{booking.reference[:4]}\x00{booking.reference}"}
    response = client_a.post("/staff/appointments/", typed)
    assert response.status_code == 400
    assert "not allowed" in response.content.decode()
    api = client_a.post("/api/v1/appointments/check-in/", {"reference": "AB\x00CD"})
    assert api.status_code == 400
    api_json = client_a.post(
        "/api/v1/appointments/check-in/",
        json.dumps({"reference": "AB\x00CD"}),
        content_type="application/json",
    )
    assert api_json.status_code == 400
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE
    assert _nothing_written(before)


def test_a_json_body_nested_5000_deep_is_a_400(client_a, citizen, catalogue):
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    body = '{"service": "passport", "slot": 1, "persons": ' + "[" * 5000 + "]" * 5000 + "}"
    response = client_a.post(
        "/api/v1/appointments/bookings/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.content.decode()
    assert Booking.objects.count() == 0


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_day_out_of_range_on_the_day_sheet_is_a_form_error(client_a, officer_a, catalogue, day):
    login_with_second_factor(client_a, officer_a)
    response = client_a.get("/staff/appointments/", {"day": day})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose a day between 2000-01-01 and 2099-12-31." in page
    assert 'class="errorlist"' in page


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "not-a-day"])
def test_a_day_out_of_range_on_the_calendar_shows_the_first_day(client_a, catalogue, day):
    response = client_a.get("/appointments/passport/", {"day": day})
    assert response.status_code == 200
    first = first_free_slot(catalogue)
    first_day = first.starts_at.astimezone(BERLIN).date().isoformat()
    page = response.content.decode()
    assert f'<option value="{first_day}" selected>' in page
    assert f"/appointments/passport/book/{first.pk}/" in page


def test_days_out_of_range_in_the_settings_forms_are_form_errors(client_a, mission_a, catalogue):
    login_with_second_factor(client_a, make_staff(mission_a, "mission_admin"))
    closure = client_a.post(
        "/staff/appointments/settings/",
        {"action": "closure", "closure-date": "9999-12-31", "closure-kind": "ad_hoc",
         "closure-reason": "Far away"},
    )  # fmt: skip
    draw = client_a.post(
        "/staff/appointments/settings/",
        {"action": "lottery", "lottery-service": catalogue.pk, "lottery-period_start": "2030-01-01",
         "lottery-period_end": "2030-01-01", "lottery-window_opens_at": "0001-01-01T00:00",
         "lottery-window_closes_at": "9999-12-31T23:59"},
    )  # fmt: skip
    assert closure.status_code == 400
    assert draw.status_code == 400
    assert "Choose a day between" in closure.content.decode()
    assert not Closure.objects.filter(reason="Far away").exists()
    assert not LotteryRound.objects.exists()


def test_a_cancel_link_with_a_secret_that_is_not_ascii_is_a_404(client_a, booking):
    # compare_digest refuses str with non-ASCII characters (a TypeError, a 500) unless the
    # link's secret is compared as bytes
    path = f"/appointments/cancel/{booking.reference}/ü{booking.cancel_token[1:]}/"
    assert client_a.get(path).status_code == 404
    assert client_a.post(path).status_code == 404
    assert client_a.get("/appointments/waitlist/1/ü/").status_code == 404
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


def test_the_cancel_link_with_a_wrong_secret_is_a_404(client_a, booking):
    path = f"/appointments/cancel/{booking.reference}/{booking.cancel_token[:-1]}x/"
    assert client_a.get(path).status_code == 404
    assert client_a.post(path).status_code == 404
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


@pytest.mark.parametrize("reference", ["a/b", "x" * 40, "<script>"])
def test_a_booking_to_move_that_is_no_reference_is_ignored_on_the_calendar(
    client_a, catalogue, reference
):
    # its links to move the booking cannot be built from it (it was a 500)
    response = client_a.get("/appointments/passport/", {"reschedule": reference})
    assert response.status_code == 200
    assert "/move/" not in response.content.decode()
