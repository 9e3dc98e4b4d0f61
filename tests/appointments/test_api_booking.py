"""The booking's POST reads its body and writes its answer without building DRF serializers
(appointments/apis.py): what it accepts, refuses and answers is still exactly the serializers'."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from appointments import services
from appointments.apis import (
    BookingCreateInputSerializer,
    BookingOutputSerializer,
    booking_create_input,
    booking_output,
)
from appointments.models import Booking
from tests.appointments.conftest import first_free_slot, person
from tests.conftest import MODEL_BACKEND

PLAIN = {"full_name": "Ada Example", "date_of_birth": "1990-05-17", "document_number": "U1234567"}

BODIES = [
    # the plain form
    {"service": "passport", "slot": 12, "persons": [PLAIN]},
    {"service": "passport", "slot": 12, "persons": [PLAIN, {**PLAIN, "full_name": "Bob Ö"}]},
    {"service": "passport", "slot": 12, "persons": [], "extra": 1},
    {"service": "passport", "slot": 12, "persons": [{**PLAIN, "extra": True}]},
    # valid, but not plain: the serializer reads them
    {"service": "passport", "slot": "12", "persons": [PLAIN]},
    {"service": " passport ", "slot": 12.0, "persons": [PLAIN]},
    {"service": "passport", "slot": 12, "persons": [{**PLAIN, "full_name": "  Ada  "}]},
    {"service": "passport", "slot": 12, "persons": [{**PLAIN, "full_name": "Ada\u00a0Ex"}]},
    {"service": "passport", "slot": 12, "persons": [{**PLAIN, "date_of_birth": "19900517"}]},
    {"service": "passport", "slot": 12, "persons": [{**PLAIN, "document_number": 12345}]},
    # invalid: the serializer's errors
    {},
    [],
    "passport",
    {"service": "pass port", "slot": 12, "persons": [PLAIN]},
    {"service": "passport", "slot": True, "persons": [PLAIN]},
    {"service": "passport", "slot": None, "persons": [PLAIN]},
    {"service": "passport", "slot": 12, "persons": {"0": PLAIN}},
    {"service": "passport", "slot": 12, "persons": ["Ada"]},
    {"service": "passport", "slot": 12, "persons": [{**PLAIN, "full_name": ""}]},
    {"service": "passport", "slot": 12, "persons": [{**PLAIN, "full_name": "   "}]},
    {"service": "passport", "slot": 12, "persons": [{**PLAIN, "full_name": "A" * 201}]},
    {"service": "passport", "slot": 12, "persons": [{**PLAIN, "full_name": "A\x00da"}]},
    {"service": "passport", "slot": 12, "persons": [{**PLAIN, "document_number": "U" * 31}]},
    {"service": "passport", "slot": 12, "persons": [{**PLAIN, "date_of_birth": "1990-02-30"}]},
    {"service": "passport", "slot": 12, "persons": [{**PLAIN, "date_of_birth": None}]},
    {"service": "passport", "slot": 12, "persons": [{"full_name": "Ada"}]},
]


def _serializer(body):  # type: ignore[no-untyped-def]
    serializer = BookingCreateInputSerializer(data=body)
    if serializer.is_valid():
        return "valid", serializer.validated_data
    return "invalid", serializer.errors


def _ours(body):  # type: ignore[no-untyped-def]
    try:
        return "valid", booking_create_input(body)
    except ValidationError as error:
        return "invalid", error.detail


@pytest.mark.parametrize("body", BODIES)
def test_the_body_reads_as_the_serializer_reads_it(body):
    # when the booking's body is read
    ours, theirs = _ours(body), _serializer(body)
    # then it is accepted with the same values, or refused with the same errors and codes
    assert ours == theirs
    if ours[0] == "invalid":
        assert ValidationError(ours[1]).get_codes() == ValidationError(theirs[1]).get_codes()


def test_the_plain_body_gives_dates(in_mission_a):
    assert booking_create_input(BODIES[0])["persons"][0]["date_of_birth"] == dt.date(1990, 5, 17)


def test_a_refused_field_answers_in_the_applications_shape(client_a, catalogue, citizen):
    # given a signed-in citizen who reads Turkish
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    slot = first_free_slot(catalogue)
    body = {
        "service": catalogue.code,
        "slot": slot.pk,
        "persons": [{**PLAIN, "full_name": "A" * 2_000_000}],
    }
    # when they send a name of two million characters
    response = client_a.post(
        "/api/v1/appointments/bookings/", body, content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="tr",
    )  # fmt: skip
    # then the answer is a 400 in the shape of every refusal, naming the field, in Turkish
    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == "invalid"
    assert answer["field"] == "persons.0.full_name"
    assert (
        answer["message"]
        == "Bu alanın 200 karakterden fazla karakter barındırmadığından emin olun."
    )
    assert answer["errors"] == {"persons.0.full_name": [answer["message"]]}
    # and nothing was booked
    slot.refresh_from_db()
    assert slot.booked == 0
    assert not Booking.objects.exists()


@pytest.mark.parametrize("zone", ["UTC", "Europe/Istanbul", "America/Los_Angeles"])
def test_the_answer_is_the_serializers(catalogue, citizen, zone):
    # given a booking, as it is, with a queue ticket, or released for a visit recorded early
    booking = services.booking_create(
        slot_id=first_free_slot(catalogue).pk, service=catalogue, persons=[person()],
        user=citizen, language="en", acting_user=citizen,
    )  # fmt: skip
    visited = dt.datetime(2026, 12, 7, 23, 30, tzinfo=dt.UTC)
    for queue_number, visit_recorded_at in ((None, None), (7, None), (None, visited)):
        booking.queue_number, booking.visit_recorded_at = queue_number, visit_recorded_at
        # when it is answered in a time zone
        with timezone.override(zone):
            ours, theirs = booking_output(booking), BookingOutputSerializer(booking).data
        # then the answer is the serializer's, key for key and in its order
        assert list(ours.items()) == list(theirs.items())
