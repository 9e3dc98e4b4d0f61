"""A mission's name and address in the reader's language, with English as the fallback, and the
country named by babel in that language: on the mission's home, HQ's directory and dashboard."""

from __future__ import annotations

import datetime as dt
import importlib
from unittest import mock

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation
from django_tenants.utils import schema_context

from consulate import demo
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from missions.models import Mission
from missions.services import mission_create, mission_update
from sync.models import OutboxEvent
from tests.conftest import MODEL_BACKEND, host_client, text_of, texts_of
from tests.factories import MissionFactory, UserFactory

DEMO = {params["code"]: params for params in demo.MISSIONS}
MIGRATION = "0002_mission_name_address_per_language"


@pytest.fixture
def tokyo(db) -> Mission:  # type: ignore[no-untyped-def]
    """The demo's Tokyo embassy (east of UTC), as the demo seeds it."""
    return mission_create(acting_user=SYSTEM, **DEMO["tokyo"])


@pytest.fixture
def new_york(db) -> Mission:  # type: ignore[no-untyped-def]
    """The demo's New York consulate-general (west of UTC)."""
    return mission_create(acting_user=SYSTEM, **DEMO["newyork"])


def read(mission: Mission, language: str, path: str = "/") -> str:
    response = host_client(mission.host).get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("code", "language", "name", "address"),
    [
        ("tokyo", "en", "Embassy in Tokyo", "2-33-6 Jingumae, Shibuya-ku\nTokyo 150-0001\nJapan"),
        ("tokyo", "tr", "Tokyo Büyükelçiliği",
         "2-33-6 Jingumae, Shibuya-ku\nTokyo 150-0001\nJaponya"),
        ("newyork", "en", "Consulate-General in New York",
         "821 United Nations Plaza\nNew York, NY 10017\nUnited States"),
        ("newyork", "tr", "New York Başkonsolosluğu",
         "821 United Nations Plaza\nNew York, NY 10017\nAmerika Birleşik Devletleri"),
    ],
)  # fmt: skip
def test_the_mission_home_shows_name_address_and_country_in_the_readers_language(
    tokyo, new_york, code, language, name, address
):
    # given the demo's Tokyo and New York missions
    mission = {"tokyo": tokyo, "newyork": new_york}[code]
    # when a visitor reads the mission's home in a language
    page = read(mission, language)
    # then its name (heading, header and footer) and its address, ending with the country,
    # are in that language
    assert text_of(page, "h1") == name
    assert text_of(page, "a", class_="brand") == name
    assert text_of(page, "footer").startswith(name)
    assert text_of(page, "address") == address
    assert text_of(page, "title") == name


def test_a_mission_without_a_turkish_name_shows_the_english_one_in_turkish(mission_b):
    # given a mission with only English values (the test fixture's Tokyo)
    assert not mission_b.name_tr
    # when its home is read in Turkish
    page = read(mission_b, "tr")
    # then the English name and address stand in, and the country is still Turkish
    assert text_of(page, "h1") == "Embassy in Tokyo"
    assert text_of(page, "address") == "2-33-6 Jingumae, Shibuya-ku\nTokyo 150-0001\nJaponya"
    assert "Büyükelçilik · Tokyo, Japonya" in text_of(page, "p", class_="lead")


def test_the_hq_directory_names_missions_and_countries_in_the_readers_language(
    client_hq, tokyo, new_york
):
    # when the directory is read in Turkish
    page = client_hq.get("/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    cards = texts_of(page, "li", class_="card")
    # then each card names the mission and its country in Turkish
    assert "Tokyo Büyükelçiliği\nBüyükelçilik · Tokyo, Japonya" in cards
    assert "New York Başkonsolosluğu\nBaşkonsolosluk · New York, Amerika Birleşik Devletleri" in (
        cards
    )
    # and the country list is in the order of the Turkish names (Almanya first)
    countries = text_of(page, "select", id="country").splitlines()
    assert countries == ["Tüm ülkeler", "Almanya", "Amerika Birleşik Devletleri", "Japonya"]
    # and in English it is English
    page = client_hq.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Embassy in Tokyo\nEmbassy · Tokyo, Japan" in texts_of(page, "li", class_="card")


@pytest.mark.parametrize(
    ("language", "query"),
    [("tr", "Büyükelçiliği"), ("tr", "Embassy in Tokyo"), ("en", "Büyükelçiliği"),
     ("tr", "Japonya"), ("en", "Japan"),
     # folded as the wait times fold: capitals with the dotted İ, and no marks at all
     ("tr", "BÜYÜKELÇİLİĞİ"), ("tr", "buyukelciligi"), ("tr", "JAPONYA"), ("en", "TOKYO")],
)  # fmt: skip
def test_the_directory_finds_a_mission_by_its_name_or_country_in_either_language(
    client_hq, tokyo, language, query
):
    # when someone searches by a name or a country, in English or Turkish, on either page
    page = client_hq.get("/", {"q": query}, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then the Tokyo embassy is found, under its name in the page's language
    cards = texts_of(page, "li", class_="card")
    expected = {"en": "Embassy in Tokyo", "tr": "Tokyo Büyükelçiliği"}[language]
    assert any(card.startswith(f"{expected}\n") for card in cards), cards
    assert not any("Berlin" in card for card in cards)


def test_the_hq_dashboard_names_missions_and_countries_in_the_readers_language(
    client_hq, hq_analyst, tokyo
):
    # given an HQ analyst reading the dashboard in Turkish
    TOTP.activate(hq_analyst, "JBSWY3DPEHPK3PXP")
    client_hq.force_login(hq_analyst, backend=MODEL_BACKEND)
    page = client_hq.get("/hq/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    # then Tokyo's row names the mission and its country in Turkish
    rows = texts_of(page, "tr")
    assert any(row.startswith("Tokyo Büyükelçiliği\nTokyo, Japonya\n") for row in rows)


@pytest.mark.parametrize(
    ("field", "english", "turkish", "changed_to"),
    [("name", "Embassy in Tokyo", "Tokyo Büyükelçiliği", "Tokyo Büyükelçiliği (T.C.)"),
     ("city", "Tokyo", "Tokyo", "Tokio")],
)  # fmt: skip
def test_changing_the_turkish_name_keeps_history_and_writes_one_event(
    tokyo, field, english, turkish, changed_to
):
    # given Tokyo's outbox
    with schema_context(tokyo.schema_name):
        before = OutboxEvent.objects.count()
    # when HQ changes the Turkish name (of the mission, or of its city) only
    changed = mission_update(mission=tokyo, acting_user=SYSTEM, **{f"{field}_tr": changed_to})
    # then the Turkish name changed, the English one did not
    with translation.override("tr"):
        assert getattr(changed, field) == changed_to
    with translation.override("en"):
        assert getattr(changed, field) == english
    # and the history keeps both languages' values before and after
    first, latest = changed.history.order_by("history_id")
    assert (getattr(first, f"{field}_en"), getattr(first, f"{field}_tr")) == (english, turkish)
    assert (getattr(latest, f"{field}_en"), getattr(latest, f"{field}_tr")) == (
        english,
        changed_to,
    )
    # and one event names the column that changed (a mission's name is no personal data)
    with schema_context(tokyo.schema_name):
        assert OutboxEvent.objects.count() == before + 1
        event = OutboxEvent.objects.latest("seq")
    assert event.payload == {"fields": [f"{field}_tr"], "status": "active"}


def test_the_english_city_is_fixed_at_creation(tokyo):
    # the country, the code and the city name a mission's place; only the Turkish city changes
    for field in ("city", "city_en"):
        with pytest.raises(ApplicationError):
            mission_update(mission=tokyo, acting_user=SYSTEM, **{field: "Kyoto"})
    assert Mission.objects.get(pk=tokyo.pk).city_en == "Tokyo"


def test_name_and_address_are_the_english_values_whatever_language_is_active(db):
    # when a mission is created and renamed while Turkish is the active language
    with translation.override("tr"):
        mission = mission_create(acting_user=SYSTEM, **DEMO["london"])
        mission = mission_update(mission=mission, acting_user=SYSTEM, name="Embassy of London")
    # then `name` and `address` were the English values, and the Turkish ones are untouched
    mission = Mission.objects.get(pk=mission.pk)
    assert (mission.name_en, mission.name_tr) == ("Embassy of London", "Londra Büyükelçiliği")
    assert mission.address_en == "43 Belgrave Square\nLondon SW1X 8PA"
    # and the original column agrees with the English one
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM missions_mission WHERE id = %s", [mission.pk])
        assert cursor.fetchone() == ("Embassy of London",)


def test_the_migration_copies_names_into_english_and_drops_the_country_line(mission_a):
    # given a mission as it was before names had a value per language: the English columns
    # empty, the address ending with the country's English name
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE missions_mission SET name_en = NULL, address_en = NULL,"
            " address = %s WHERE id = %s",
            ["Rungestraße 9\n10179 Berlin\nGermany", mission_a.pk],
        )
        cursor.execute(
            "UPDATE missions_historicalmission SET name_en = NULL, address_en = NULL WHERE id = %s",
            [mission_a.pk],
        )
    # when the migration's data step runs on the models as they were then
    migration = importlib.import_module(f"missions.migrations.{MIGRATION}")
    state = MigrationExecutor(connection).loader.project_state(("missions", MIGRATION))
    migration.copy_into_english(state.apps, None)
    # then the English columns hold the values, and the country comes from babel from now on
    mission = Mission.objects.get(pk=mission_a.pk)
    assert mission.name_en == "Consulate-General in Berlin"
    assert mission.address_en == "Rungestraße 9\n10179 Berlin"
    with translation.override("tr"):
        assert mission.postal_address == "Rungestraße 9\n10179 Berlin\nAlmanya"
    # and history rows keep what was typed, now in the English column
    assert all(row.name_en == row.name for row in mission.history.all())


@pytest.mark.parametrize(
    ("address", "country", "kept"),
    [
        ("Street 1\n10117 Berlin\nGermany", "DE", "Street 1\n10117 Berlin"),
        ("Street 1\n10117 Berlin\nAlmanya", "DE", "Street 1\n10117 Berlin"),
        ("Street 1\nTokyo\nJAPAN.", "JP", "Street 1\nTokyo"),
        ("Street 1\n10117 Berlin", "DE", "Street 1\n10117 Berlin"),
        ("Street 1\nGermany", "JP", "Street 1\nGermany"),  # not the host country: kept
        ("Germany", "DE", "Germany"),  # nothing else: kept
    ],
)
def test_the_migration_drops_only_a_last_line_naming_the_host_country(address, country, kept):
    migration = importlib.import_module(f"missions.migrations.{MIGRATION}")
    assert migration._without_country_line(address, country) == kept


def test_the_api_gives_the_profile_in_the_requests_language(tokyo):
    # when Tokyo's profile is asked for in Turkish, and in English
    client = host_client(tokyo.host)
    turkish = client.get("/api/v1/mission/", HTTP_ACCEPT_LANGUAGE="tr").json()
    english = client.get("/api/v1/mission/", HTTP_ACCEPT_LANGUAGE="en").json()
    # then names and the address are in that language, the postal address ending with the
    # country named in it
    assert (turkish["name"], turkish["host_country"]) == ("Tokyo Büyükelçiliği", "JP")
    assert turkish["postal_address"] == "2-33-6 Jingumae, Shibuya-ku\nTokyo 150-0001\nJaponya"
    assert english["name"] == "Embassy in Tokyo"
    assert english["postal_address"].endswith("\nJapan")


def test_the_home_keeps_its_profile_but_shows_a_change_at_once_and_the_time_as_it_is(
    mission_b, settings
):
    # given the home read once in English and once in Turkish (its profile kept in the cache)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert text_of(read(mission_b, "en"), "h1") == "Embassy in Tokyo"
    assert "Japonya" in text_of(read(mission_b, "tr"), "address")
    # (kept: a row changed behind the service's back, its last change untouched, is not seen)
    Mission.objects.filter(pk=mission_b.pk).update(phone="+81 3 0000 0000")
    assert "+81 3 0000 0000" not in texts_of(read(mission_b, "en"), "dd")
    # when HQ changes the mission's phone and name through the service
    mission_update(
        mission=mission_b, acting_user=SYSTEM, phone="+81 3 9999 0000",
        name_en="Embassy of the Republic in Tokyo",
    )  # fmt: skip
    # then the next reader sees the change in each language, not the kept profile
    page = read(mission_b, "en")
    assert text_of(page, "h1") == "Embassy of the Republic in Tokyo"
    assert "+81 3 9999 0000" in page
    assert text_of(read(mission_b, "tr"), "h1") == "Embassy of the Republic in Tokyo"
    # and the local time is read each time, outside what is kept
    frozen = dt.datetime(2031, 7, 1, 3, 0, tzinfo=dt.UTC)
    with mock.patch("django.utils.timezone.now", return_value=frozen):
        assert any("12:00" in dd for dd in texts_of(read(mission_b, "en"), "dd"))  # UTC+9


# --- the city -------------------------------------------------------------------------------------

CITY_MIGRATION = "0007_mission_city_per_language"


@pytest.fixture
def london(db) -> Mission:  # type: ignore[no-untyped-def]
    """The demo's London embassy: "Londra" in Turkish."""
    return mission_create(acting_user=SYSTEM, **DEMO["london"])


@pytest.mark.parametrize(
    ("language", "name", "place"),
    [("en", "Embassy in London", "London, United Kingdom"),
     ("tr", "Londra Büyükelçiliği", "Londra, Birleşik Krallık")],
)  # fmt: skip
def test_the_city_is_in_the_readers_language_on_every_page_that_names_it(
    client_hq, hq_analyst, london, language, name, place
):
    # given the demo's London embassy, whose city has a Turkish name
    TOTP.activate(hq_analyst, "JBSWY3DPEHPK3PXP")
    client_hq.force_login(hq_analyst, backend=MODEL_BACKEND)

    def page(path: str) -> str:
        return client_hq.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    # then HQ's directory, dashboard and mission page name the city in the reader's language,
    # beside the name in it (never "London" beside "Londra Büyükelçiliği")
    kind = {"en": "Embassy", "tr": "Büyükelçilik"}[language]
    assert f"{name}\n{kind} · {place}" in texts_of(page("/"), "li", class_="card")
    assert any(row.startswith(f"{name}\n{place}\n") for row in texts_of(page("/hq/"), "tr"))
    lead = text_of(page("/hq/missions/london/"), "p", class_="lead")
    assert lead.startswith(f"{place} · ")
    # and the public wait times, and the mission's own home
    city = place.split(",")[0]
    rows = texts_of(page("/wait-times/"), "tr")
    assert any(row.startswith(f"{name}\n{place.split(', ')[1]}\n{city}\n") for row in rows), rows
    home = read(london, language)
    assert text_of(home, "p", class_="lead") == f"{kind} · {place}"


@pytest.fixture
def vienna(db) -> Mission:  # type: ignore[no-untyped-def]
    """A mission whose names do not name its city, so only the city can find it."""
    return MissionFactory(
        code="vienna", name="Embassy on the Danube", name_tr="Tuna Büyükelçiliği",
        host_country="AT", city="Vienna", city_tr="Viyana", timezone="Europe/Vienna",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("language", "query", "in_wait_times"),
    # the wait times, as with countries, take the reader's language and English
    [("tr", "Vienna", True), ("tr", "viyana", True), ("en", "vienna", True),
     ("en", "Viyana", False)],
)  # fmt: skip
@pytest.mark.usefixtures("vienna")
def test_the_city_is_found_in_either_language(client_hq, language, query, in_wait_times):
    # when someone searches the directory or the wait times by the city
    directory = client_hq.get("/", {"q": query}, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    waits = client_hq.get(
        "/wait-times/", {"q": query}, HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    # then the Vienna embassy is found, its city named in the page's language
    place = {"en": "Vienna, Austria", "tr": "Viyana, Avusturya"}[language]
    cards = texts_of(directory, "li", class_="card")
    assert len(cards) == 1
    assert cards[0].endswith(f" · {place}")
    name = {"en": "Embassy on the Danube", "tr": "Tuna Büyükelçiliği"}[language]
    row_start = f"{name}\n{place.split(', ')[1]}\n{place.split(', ')[0]}\n"
    found = [row for row in texts_of(waits, "tr") if row.startswith(row_start)]
    assert bool(found) == in_wait_times


def test_a_mission_created_in_turkish_keeps_its_english_city_in_the_original_column(db):
    # when a mission is created while Turkish is the active language
    with translation.override("tr"):
        mission = mission_create(acting_user=SYSTEM, **DEMO["london"])
    # then the English city is the original column's value, the Turkish one its own
    mission = Mission.objects.get(pk=mission.pk)
    assert (mission.city_en, mission.city_tr) == ("London", "Londra")
    with connection.cursor() as cursor:
        cursor.execute("SELECT city FROM missions_mission WHERE id = %s", [mission.pk])
        assert cursor.fetchone() == ("London",)


def test_the_city_migration_copies_the_city_into_english(mission_a):
    # given a mission and its history as they were before cities had a value per language
    with connection.cursor() as cursor:
        cursor.execute("UPDATE missions_mission SET city_en = NULL WHERE id = %s", [mission_a.pk])
        cursor.execute(
            "UPDATE missions_historicalmission SET city_en = NULL WHERE id = %s", [mission_a.pk]
        )
    # when the migration's data step runs on the models as they were then
    migration = importlib.import_module(f"missions.migrations.{CITY_MIGRATION}")
    state = MigrationExecutor(connection).loader.project_state(("missions", CITY_MIGRATION))
    migration.copy_into_english(state.apps, None)
    # then the English column holds the city, in the mission and its history, and Turkish
    # readers read it until there is a Turkish one
    mission = Mission.objects.get(pk=mission_a.pk)
    assert mission.city_en == "Berlin"
    assert not mission.city_tr
    with translation.override("tr"):
        assert mission.city == "Berlin"
    assert all(row.city_en == "Berlin" for row in mission.history.all())


@pytest.fixture
def german_cities(mission_a):  # type: ignore[no-untyped-def]
    """Four missions in Germany: Berlin (alpha) and Hamburg without a Turkish city (one NULL,
    as the city migration left every mission, one empty, as a mission made without one),
    Munich with one ("Münih"), Stuttgart without one (empty)."""
    for code, city, city_tr in (
        ("hamburg", "Hamburg", ""), ("munich", "Munich", "Münih"), ("stuttgart", "Stuttgart", ""),
    ):  # fmt: skip
        MissionFactory(
            code=code, name=f"Consulate-General in {city}", host_country="DE", city=city,
            city_tr=city_tr, timezone="Europe/Berlin",
        )  # fmt: skip
    Mission.objects.filter(code__in=["alpha", "hamburg"]).update(city_tr=None)


@pytest.mark.parametrize(
    ("language", "places"),
    [("en", ["Berlin, Germany", "Hamburg, Germany", "Munich, Germany", "Stuttgart, Germany"]),
     ("tr", ["Berlin, Almanya", "Hamburg, Almanya", "Münih, Almanya", "Stuttgart, Almanya"])],
)  # fmt: skip
@pytest.mark.usefixtures("german_cities")
def test_a_mission_without_a_turkish_city_sorts_by_its_english_one(
    client_hq, hq_analyst, language, places
):
    # when the directory, and HQ's sync page, list the missions in a country
    directory = client_hq.get("/", {"country": "DE"}, HTTP_ACCEPT_LANGUAGE=language)
    # then they are in the order of their cities as the reader reads them: a city without a
    # Turkish name is sorted by its English one, which the page shows (before, Turkish pages
    # put the NULL ones last and the empty ones first, whatever their names)
    cards = texts_of(directory.content, "li", class_="card")
    assert [card.rsplit(" · ", 1)[1] for card in cards] == places
    TOTP.activate(hq_analyst, "JBSWY3DPEHPK3PXP")
    client_hq.force_login(hq_analyst, backend=MODEL_BACKEND)
    sync = client_hq.get("/hq/sync/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    named = [row for row in texts_of(sync, "tr") if "Consulate-General in" in row]
    assert [row.split("\n")[0] for row in named] == [
        f"Consulate-General in {city}" for city in ("Berlin", "Hamburg", "Munich", "Stuttgart")
    ]
    # and so does the admin's list of missions, to an analyst who reads the admin
    reader = UserFactory(hq_role="analyst", is_staff=True)
    TOTP.activate(reader, "JBSWY3DPEHPK3PXP")
    client_hq.force_login(reader, backend=MODEL_BACKEND)
    listed = client_hq.get(
        "/admin/missions/mission/", {"host_country__exact": "DE"}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert listed.status_code == 200
    cities = texts_of(listed.content, "td", class_="field-city")
    assert cities == [place.split(",")[0] for place in places]
