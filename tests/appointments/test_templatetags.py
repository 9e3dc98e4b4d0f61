"""The availability summary that the mission's home page shows (`{% availability_summary %}`)."""

from __future__ import annotations

from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from appointments.models import ReleaseMode, Slot
from appointments.selectors import slot_next_available
from tests.appointments.conftest import BERLIN, build_catalogue

SUMMARY = Template("{% load appointments_tags %}{% availability_summary %}")


def test_the_mission_home_shows_next_free_time_and_next_release_without_login(
    in_mission_a, client_a
):
    # given a scheduled service: days within the 14-day lead are released, later ones not yet
    service = build_catalogue(release_mode=ReleaseMode.SCHEDULED, days=20, min_notice_hours=0)
    first_free = slot_next_available(service=service)
    next_release = (
        Slot.objects.filter(service=service, bookable_from__gt=timezone.now())
        .order_by("bookable_from")
        .values_list("bookable_from", flat=True)
        .first()
    )
    assert first_free is not None
    assert next_release is not None
    # when a citizen who is not logged in opens the mission's home page
    response = client_a.get("/")
    # then it has an Appointments section with both times in Berlin time and a way to book
    assert response.status_code == 200
    page = response.content.decode()
    assert 'aria-labelledby="appointments-heading"' in page
    assert f'datetime="{first_free.starts_at.astimezone(BERLIN).isoformat()}"' in page
    assert f'datetime="{next_release.astimezone(BERLIN).isoformat()}"' in page
    assert "Passport application" in page
    assert 'href="/appointments/"' in page


def test_the_summary_costs_the_same_queries_whatever_the_number_of_services(
    in_mission_a, django_assert_num_queries
):
    # given one service
    build_catalogue(days=3)
    request = RequestFactory().get("/")
    request.tenant = in_mission_a  # type: ignore[attr-defined]
    # when the summary is rendered, then it costs four queries (services, next free times,
    # next releases, open draws; the connection's search path is already the mission's)
    with django_assert_num_queries(4):
        one = SUMMARY.render(Context({"request": request}))
    # and the same with three services of every release mode
    build_catalogue(code="visa", name="Visa", days=3, release_mode=ReleaseMode.SCHEDULED)
    build_catalogue(code="draw", name="Civil registry", days=3, release_mode=ReleaseMode.LOTTERY)
    with django_assert_num_queries(4):
        three = SUMMARY.render(Context({"request": request}))
    assert one.count('class="card"') == 1
    assert three.count('class="card"') == 3


def test_the_summary_renders_nothing_outside_a_mission(db):
    # given a request on HQ's host (the public schema)
    request = RequestFactory().get("/")
    # when the summary is rendered, then it is empty and touches no mission table
    assert SUMMARY.render(Context({"request": request})).strip() == ""


def test_a_mission_without_services_says_booking_is_not_online_yet_with_its_contact(
    mission_b, client_b
):
    from django_tenants.utils import schema_context

    from missions.models import Mission

    # given a new mission with no service yet (Tokyo in these tests), with a phone and e-mail
    Mission.objects.filter(pk=mission_b.pk).update(
        phone="+81 3 0000 0000", email="tokyo@example.org"
    )
    with schema_context(mission_b.schema_name):
        from appointments.models import Service

        assert not Service.objects.exists()
    # when a visitor opens its home page and the appointments page, in English and Turkish
    for language, not_online in (
        ("en", "Online booking is not available at this mission yet."),
        ("tr", "Bu temsilcilikte çevrim içi randevu henüz yok."),
    ):
        for path in ("/", "/appointments/"):
            page = client_b.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            # then neither offers to book, both say so and give the mission's contact
            assert not_online in page
            assert "Book an appointment" not in page
            assert "Randevu al" not in page.split("<main", 1)[1]
            assert 'href="tel:+81 3 0000 0000"' in page
            assert 'href="mailto:tokyo@example.org"' in page
