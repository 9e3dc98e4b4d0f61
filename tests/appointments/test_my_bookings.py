"""My bookings puts the next appointment on top: the bookings that still stand, soonest first,
under "Upcoming", then the past and cancelled ones, most recent first, under "Past and
cancelled" (a user trial: newest-first with cancelled and active mixed left the next
appointment at the bottom). The API's list of the person's bookings gives them in the same
order, from the same selector (`selectors.booking_list_for_user`). Read on the rendered page, in
English and Turkish, and in the API's answer."""

import dataclasses
import datetime as dt
import re

import pytest
from django.db.models import F
from django_tenants.utils import schema_context

from appointments import services
from appointments.models import Booking, Slot
from appointments.selectors import slot_list_available
from tests.appointments.conftest import build_catalogue, person
from tests.conftest import MODEL_BACKEND, texts_of

HEADINGS = {
    "en": ["Upcoming", "Past and cancelled"],
    "tr": ["Yaklaşan randevular", "Geçmiş ve iptal edilenler"],
}
BOOKING_LINK = re.compile(r'href="/appointments/booking/([A-Z0-9]+)/"')


def _book(service, user, slot, number: str) -> Booking:  # type: ignore[no-untyped-def]
    return services.booking_create(
        slot_id=slot.pk, service=service, persons=[person(number)], user=user, language="en",
        acting_user=user,
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Jumbled:
    """The references of the person's bookings, by what they are."""

    sooner: str  # to come, the soonest (booked last)
    later: str  # to come, days later (booked first)
    cancelled: str  # days ahead, cancelled
    past: str  # its time has passed

    @property
    def expected(self) -> list[str]:
        """Upcoming soonest first, then the rest with the most recent time first (the cancelled
        one, days ahead, before the past one)."""
        return [self.sooner, self.later, self.cancelled, self.past]


@pytest.fixture
def jumbled(mission_b, citizen) -> Jumbled:  # type: ignore[no-untyped-def]
    """At Tokyo, bookings of four services made in a jumbled order: two to come (the later one
    booked first), one cancelled between them, and one whose time has passed."""
    with schema_context(mission_b.schema_name):
        passport = build_catalogue(days=8)
        visa = build_catalogue(days=8, code="consular", name="Consular certificate")
        notary = build_catalogue(days=8, code="notary", name="Notarial act")
        free = slot_list_available(service=passport)
        later = _book(passport, citizen, free[-1], "U1000001")
        cancelled = _book(visa, citizen, slot_list_available(service=visa)[-5], "U1000002")
        services.booking_cancel(booking=cancelled, acting_user=citizen)
        sooner = _book(notary, citizen, slot_list_available(service=notary)[0], "U1000003")
        # a fourth service's booking whose time has passed (no service books the past: the
        # slot is moved back three days, as time would have moved it)
        old = build_catalogue(days=8, code="legalisation", name="Legalisation")
        past = _book(old, citizen, slot_list_available(service=old)[0], "U1000004")
        Slot.objects.filter(pk=past.slot_id).update(
            starts_at=F("starts_at") - dt.timedelta(days=3),
            ends_at=F("ends_at") - dt.timedelta(days=3),
        )
    return Jumbled(
        sooner=sooner.reference, later=later.reference, cancelled=cancelled.reference,
        past=past.reference,
    )  # fmt: skip


@pytest.mark.parametrize("language", ["en", "tr"])
def test_upcoming_bookings_come_first_soonest_first_then_past_and_cancelled(
    client_b, citizen, jumbled, language
):
    # given the person's jumbled bookings at Tokyo
    client_b.force_login(citizen, backend=MODEL_BACKEND)
    # when they open My bookings
    html = client_b.get("/appointments/mine/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then two headings, upcoming first, and the bookings in the order a person needs them
    assert texts_of(html, "h2")[:2] == HEADINGS[language]
    assert 'aria-labelledby="upcoming-heading"' in html
    assert 'aria-labelledby="earlier-heading"' in html
    upcoming, earlier = html.split('id="earlier-heading"')
    assert BOOKING_LINK.findall(upcoming) == [jumbled.sooner, jumbled.later]
    # the cancelled one (days ahead) before the past one: the most recent time first
    assert BOOKING_LINK.findall(earlier) == [jumbled.cancelled, jumbled.past]


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_api_lists_the_bookings_in_the_pages_order(client_b, citizen, jumbled, language):
    # given the person's jumbled bookings at Tokyo
    client_b.force_login(citizen, backend=MODEL_BACKEND)
    # when they ask the API for their bookings, and open My bookings
    response = client_b.get("/api/v1/appointments/bookings/", HTTP_ACCEPT_LANGUAGE=language)
    html = client_b.get("/appointments/mine/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then the API answers them upcoming first, the soonest first, then the past and cancelled,
    # the most recent time first: the page's order, read from the page
    assert response.status_code == 200
    answer = response.json()
    assert [row["reference"] for row in answer] == jumbled.expected
    assert [row["reference"] for row in answer] == BOOKING_LINK.findall(html)
    assert [row["status"] for row in answer] == ["active", "active", "cancelled", "active"]
