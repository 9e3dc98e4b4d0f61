"""Service names per language (django-modeltranslation): the settings page edits the English and
the Turkish name, pages show the reader's language with English as the fallback, and the
migration made the names written before it the English ones."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from appointments.models import Service
from tests.appointments.conftest import build_catalogue
from tests.conftest import make_staff
from tests.missions.test_tenant_isolation import login_with_second_factor


def test_a_service_reads_its_name_in_the_active_language_with_english_as_the_fallback(
    in_mission_a,
):
    # given one service named in both languages and one in English only
    both = build_catalogue(name="Passport application", name_tr="Pasaport başvurusu")
    english = build_catalogue(code="notarial", name="Notarial act")
    # then each reads its name in the active language, or English when it has no Turkish one
    with translation.override("tr"):
        assert Service.objects.get(pk=both.pk).name == "Pasaport başvurusu"
        assert Service.objects.get(pk=english.pk).name == "Notarial act"
    with translation.override("en"):
        assert Service.objects.get(pk=both.pk).name == "Passport application"


def test_creating_a_service_in_a_turkish_request_keeps_the_english_name_english(in_mission_a):
    # when a mission admin whose pages are in Turkish adds a service named in English only
    with translation.override("tr"):
        service = build_catalogue(code="apostille", name="Apostille")
    # then the name is the English one, and Turkish readers see it (fallback)
    service.refresh_from_db()
    assert (service.name_en, service.name_tr) == ("Apostille", None)


def test_the_catalogue_and_the_calendar_show_the_readers_language(in_mission_a, client_a):
    # given a service named in both languages
    build_catalogue(name="Passport application", name_tr="Pasaport başvurusu")
    # when a Turkish reader opens the catalogue and the calendar
    catalogue = client_a.get("/appointments/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    calendar = client_a.get("/appointments/passport/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    # then they read the Turkish name; an English reader the English one
    assert "Pasaport başvurusu" in catalogue
    assert "Pasaport başvurusu" in calendar
    english = client_a.get("/appointments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Passport application" in english
    assert "Pasaport başvurusu" not in english


def test_the_settings_page_edits_the_english_and_the_turkish_name(in_mission_a, client_a):
    # given a service named in English only, and its mission admin
    service = build_catalogue(name="Passport application")
    admin = make_staff(in_mission_a, "mission_admin")
    login_with_second_factor(client_a, admin)
    page = client_a.get("/staff/appointments/settings/service/passport/").content.decode()
    assert "Name in English" in page
    assert "Name in Turkish" in page
    # when the admin gives it a Turkish name
    data = {
        "name_en": "Passport application", "name_tr": "Pasaport başvurusu",
        "duration_minutes": 30, "buffer_minutes": 0, "max_persons": 3, "horizon_days": 60,
        "min_notice_hours": 1, "cancel_cutoff_hours": 2, "release_mode": "open",
        "release_lead_days": 14, "release_time": "08:00", "is_active": "on",
    }  # fmt: skip
    response = client_a.post("/staff/appointments/settings/service/passport/", data)
    # then both names are kept, and the history keeps both
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.name_en, service.name_tr) == ("Passport application", "Pasaport başvurusu")
    assert service.history.first().name_tr == "Pasaport başvurusu"
    # and an empty English name is refused with a message
    response = client_a.post(
        "/staff/appointments/settings/service/passport/", {**data, "name_en": " "}
    )
    assert response.status_code == 400


def test_a_new_service_gets_both_names_from_the_settings_page(in_mission_a, client_a):
    from appointments.models import Counter

    admin = make_staff(in_mission_a, "mission_admin")
    login_with_second_factor(client_a, admin)
    client_a.post("/staff/appointments/settings/", {"action": "counter", "counter-name": "Desk A"})
    client_a.post(
        "/staff/appointments/settings/",
        {"action": "service", "service-code": "apostille", "service-name": "Apostille",
         "service-name_tr": "Apostil", "service-counters": [Counter.objects.get().pk]},
    )  # fmt: skip
    service = Service.objects.get(code="apostille")
    assert (service.name_en, service.name_tr) == ("Apostille", "Apostil")


def test_the_migration_makes_the_names_written_before_it_english(in_mission_a):
    from importlib import import_module

    # given a service whose English name is missing, as every row was before the migration
    service = build_catalogue(name="Passport application")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE appointments_service SET name_en = NULL, name = 'Passport'")
    # when the migration's data step runs on the models as the migration sees them
    migration = import_module("appointments.migrations.0003_service_name_per_language")
    state = MigrationExecutor(connection).loader.project_state(
        ("appointments", "0003_service_name_per_language")
    )
    migration.names_to_english(state.apps, None)
    # then the old name is the English one
    service.refresh_from_db()
    assert service.name_en == "Passport"


def test_the_catalogue_is_in_the_order_of_the_names_the_reader_sees(in_mission_a):
    from appointments.selectors import service_list_offered

    # given "Visa" (Turkish "Vize") and "Apostille" (no Turkish name)
    build_catalogue(code="visa", name="Visa", name_tr="Vize")
    build_catalogue(code="apostille", name="Apostille")
    build_catalogue(code="id-card", name="ID card", name_tr="Kimlik kartı")
    # then each reader gets them sorted by what they read, untranslated ones among the others
    with translation.override("tr"):
        assert [s.name for s in service_list_offered()] == ["Apostille", "Kimlik kartı", "Vize"]
    with translation.override("en"):
        assert [s.name for s in service_list_offered()] == ["Apostille", "ID card", "Visa"]
