"""A day closed for two reasons reads as one day: at Tokyo, 1 January is both Japan's public
holiday and the home country's national day (`closures_import` writes a row of each kind), and
the settings page listed "New Year's Day" twice (a user trial). It now lists the day once with
both kinds. The staff day sheet of a closed day says the mission is closed and why, where it
said only "No appointments on this day." In English and Turkish."""

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from appointments import services
from appointments.models import Closure, ClosureKind
from consulate.kernel.actors import SYSTEM
from tests.appointments.factories import build_catalogue
from tests.conftest import host_client, make_staff, texts_of
from tests.missions.test_tenant_isolation import login_with_second_factor

NEW_YEAR = dt.date(2027, 1, 1)
KINDS = {"en": "Public holiday, National day", "tr": "Resmî tatil, Millî gün"}


@pytest.fixture
def tokyo_new_year(mission_b):  # type: ignore[no-untyped-def]
    """Tokyo's slots generated up to past 1 January 2027, which imports its closures."""
    with schema_context(mission_b.schema_name):
        days = (NEW_YEAR - mission_b.today()).days + 5
        build_catalogue(days=days)
        kinds = sorted(Closure.objects.filter(date=NEW_YEAR).values_list("kind", flat=True))
    assert kinds == [ClosureKind.HOST_HOLIDAY, ClosureKind.NATIONAL_DAY]  # two sources
    return mission_b


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_closures_list_shows_a_day_once_with_both_kinds(tokyo_new_year, language):
    # given the mission admin of Tokyo
    admin = make_staff(tokyo_new_year, "mission_admin")
    client = host_client(tokyo_new_year.host)
    login_with_second_factor(client, admin)
    # when they open the appointment settings
    page = client.get(
        "/staff/appointments/settings/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    # then 1 January is one row naming the holiday once and both of its kinds
    section = page.split('id="closures-heading"', 1)[1].split("</section>", 1)[0]
    rows = [row for row in texts_of(section, "li") if "New Year" in row]
    assert len(rows) == 1
    assert rows[0].endswith(f": New Year's Day ({KINDS[language]})")
    assert rows[0].count("New Year's Day") == 1


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_day_sheet_of_a_closed_day_says_the_mission_is_closed_and_why(tokyo_new_year, language):
    # given an officer at Tokyo, and a day closed in an emergency besides the holiday
    officer = make_staff(tokyo_new_year, "officer")
    with schema_context(tokyo_new_year.schema_name):
        typhoon = tokyo_new_year.today() + dt.timedelta(days=2)
        services.closure_create(
            date=typhoon, kind=ClosureKind.EMERGENCY, reason="Typhoon", acting_user=SYSTEM
        )
    client = host_client(tokyo_new_year.host)
    login_with_second_factor(client, officer)
    # when they open the day sheet of each closed day, and of an open one
    new_year, storm, open_day = (
        client.get(
            "/staff/appointments/", {"day": day.isoformat()}, HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
        for day in (NEW_YEAR, typhoon, typhoon + dt.timedelta(days=1))
    )
    # then each closed day says the mission is closed that day, and why
    closed = {
        "en": "The mission is closed on Friday 1 January 2027.",
        "tr": "Temsilcilik 1 Ocak 2027 Cuma günü kapalı.",
    }[language]
    reason = {"en": "Reason:", "tr": "Nedeni:"}[language]
    (notice,) = texts_of(new_year, "div", class_="notice day-closed")
    assert closed in notice
    assert f"{reason} New Year's Day ({KINDS[language]})." in notice
    (notice,) = texts_of(storm, "div", class_="notice day-closed")
    emergency = {"en": "Emergency closure", "tr": "Acil kapanış"}[language]
    assert f"{reason} Typhoon ({emergency})." in notice
    empty = {
        "en": "No appointments: the mission is closed on this day.",
        "tr": "Randevu yok: temsilcilik bu gün kapalı.",
    }[language]
    assert empty in new_year
    # and an open day says nothing of a closure
    assert "day-closed" not in open_day
    assert empty not in open_day
