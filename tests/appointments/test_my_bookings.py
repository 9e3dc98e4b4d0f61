"""My bookings puts the next appointment on top: the bookings that still stand, soonest first,
under "Upcoming", then the past and cancelled ones, most recent first, under "Past and
cancelled" (a user trial: newest-first with cancelled and active mixed left the next
appointment at the bottom). Read on the rendered page, in English and Turkish."""

import datetime as dt

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


def _book(service, user, slot, number: str) -> Booking:  # type: ignore[no-untyped-def]
    return services.booking_create(
        slot_id=slot.pk, service=service, persons=[person(number)], user=user, language="en",
        acting_user=user,
    )  # fmt: skip


@pytest.mark.parametrize("language", ["en", "tr"])
def test_upcoming_bookings_come_first_soonest_first_then_past_and_cancelled(
    mission_b, client_b, citizen, language
):
    # given, at Tokyo, bookings of four services made in a jumbled order: two to come (the
    # later one booked first), one cancelled between them, and one whose time has passed
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
    client_b.force_login(citizen, backend=MODEL_BACKEND)
    # when they open My bookings
    html = client_b.get("/appointments/mine/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then two headings, upcoming first, and the bookings in the order a person needs them
    assert texts_of(html, "h2")[:2] == HEADINGS[language]
    assert 'aria-labelledby="upcoming-heading"' in html
    assert 'aria-labelledby="earlier-heading"' in html
    upcoming, earlier = html.split('id="earlier-heading"')
    order = [sooner.reference, later.reference]
    assert all(ref in upcoming for ref in order)
    assert upcoming.index(sooner.reference) < upcoming.index(later.reference)
    assert cancelled.reference not in upcoming
    assert past.reference not in upcoming
    # the cancelled one (days ahead) before the past one: the most recent time first
    assert earlier.index(cancelled.reference) < earlier.index(past.reference)
