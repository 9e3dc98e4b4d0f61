"""HQ admins create missions in Django's admin, through mission_create."""

import json
import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from missions.models import Domain, Membership, Mission
from missions.services import membership_grant, mission_update
from sync.models import OutboxEvent
from tests.conftest import MODEL_BACKEND, host_client, text_of, texts_of
from tests.factories import UserFactory

FORM = {
    "code": "oslo", "name_en": "Embassy in Oslo", "name_tr": "Oslo Büyükelçiliği",
    "kind": "embassy", "host_country": "NO", "city_en": "Oslo", "city_tr": "",
    "timezone": "Europe/Oslo", "currency": "NOK", "languages": "no,tr", "address_en": "",
    "address_tr": "", "phone": "", "email": "", "website": "", "jurisdiction": "",
    "office_hours": "[]", "status": "active",
}  # fmt: skip


@pytest.fixture
def admin_client(client_hq):
    admin = UserFactory(hq_role="admin", is_staff=True, is_superuser=True)
    TOTP.activate(admin, "JBSWY3DPEHPK3PXP")
    client_hq.force_login(admin, backend=MODEL_BACKEND)
    return client_hq


def test_an_hq_admin_creates_a_mission_with_its_schema_and_host(admin_client):
    response = admin_client.post("/admin/missions/mission/add/", FORM)
    assert response.status_code == 302
    mission = Mission.objects.get(code="oslo")
    assert schema_exists("oslo")
    assert Domain.objects.filter(tenant=mission, domain="oslo.localhost").exists()
    assert mission.history.get().history_user_id is not None


def test_bad_input_in_the_admin_is_shown_and_creates_nothing(admin_client):
    response = admin_client.post("/admin/missions/mission/add/", FORM | {"timezone": "Oslo"})
    assert response.status_code == 200
    assert "is not an IANA time zone" in response.content.decode()
    assert not Mission.objects.filter(code="oslo").exists()


def test_a_code_whose_schema_exists_is_a_form_error_not_a_crash(admin_client):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "oslo"')
    response = admin_client.post("/admin/missions/mission/add/", FORM)
    assert response.status_code == 200
    assert "already used by a database schema" in response.content.decode()
    assert not Mission.objects.filter(code="oslo").exists()


def test_kind_hq_is_not_offered_when_creating(admin_client):
    page = admin_client.get("/admin/missions/mission/add/").content.decode()
    assert 'value="embassy"' in page
    assert 'value="hq"' not in page


def test_editing_a_mission_in_the_admin_goes_through_the_service(admin_client, mission_a):
    # given alpha's outbox
    with schema_context(mission_a.schema_name):
        events_before = OutboxEvent.objects.count()
    # when the admin suspends it and renames it (and tries to change its currency)
    response = admin_client.post(
        f"/admin/missions/mission/{mission_a.pk}/change/",
        FORM | {"code": "alpha", "name_en": "Consulate-General (temporarily closed)",
                "status": "suspended", "currency": "USD", "languages": "de,tr,en"},
    )  # fmt: skip
    # then the change is saved with history and one outbox event; the currency is untouched
    assert response.status_code == 302
    mission_a.refresh_from_db()
    assert (mission_a.status, mission_a.currency) == ("suspended", "EUR")
    assert mission_a.history.latest().history_user_id is not None
    with schema_context(mission_a.schema_name):
        event = OutboxEvent.objects.latest("seq")
        assert OutboxEvent.objects.count() == events_before + 1
    assert event.topic == "missions.mission.updated"
    assert "status" in event.payload["fields"]


def test_domains_are_read_only_and_missions_cannot_be_deleted(admin_client, mission_a):
    assert admin_client.get("/admin/missions/domain/add/").status_code == 403
    assert admin_client.post(f"/admin/missions/mission/{mission_a.pk}/delete/").status_code == 403


def test_granting_a_role_in_the_admin_writes_its_event(admin_client, mission_a):
    colleague = UserFactory()
    response = admin_client.post(
        "/admin/missions/membership/add/",
        {"user": colleague.pk, "mission": mission_a.pk, "role": "consul", "is_active": "on"},
    )
    assert response.status_code == 302
    with schema_context(mission_a.schema_name):
        event = OutboxEvent.objects.latest("seq")
    assert (event.topic, event.payload["role"]) == ("missions.membership.granted", "consul")


@pytest.fixture
def analyst_client(client_hq):
    # an HQ analyst who even holds Django's superuser flag: the permission table still decides
    analyst = UserFactory(hq_role="analyst", is_staff=True, is_superuser=True)
    TOTP.activate(analyst, "JBSWY3DPEHPK3PXP")
    client_hq.force_login(analyst, backend=MODEL_BACKEND)
    return client_hq


def test_an_hq_analyst_reads_the_admin_and_changes_nothing(analyst_client, mission_a):
    # given a mission, a role held there and an account
    colleague = UserFactory(first_name="Kemal")
    membership = membership_grant(
        user=colleague, mission=mission_a, role="consul", acting_user=SYSTEM
    )
    with schema_context(mission_a.schema_name):
        events_before = OutboxEvent.objects.count()
    version = mission_a.history.latest().history_id
    # then the analyst sees the lists and each record
    for page in ("/admin/missions/mission/", f"/admin/missions/mission/{mission_a.pk}/change/",
                 "/admin/missions/membership/", "/admin/accounts/user/",
                 f"/admin/accounts/user/{colleague.pk}/change/",
                 f"/admin/missions/mission/{mission_a.pk}/history/"):  # fmt: skip
        response = analyst_client.get(page)
        assert response.status_code == 200, page
        assert 'name="_save"' not in response.content.decode(), page
    # but every write is refused
    password = {"password1": "x-Long-enough-1", "password2": "x-Long-enough-1"}
    closing = FORM | {"code": "alpha", "status": "closed"}
    role = {"user": colleague.pk, "mission": mission_a.pk, "role": "officer", "is_active": "on"}
    mission_page = f"/admin/missions/mission/{mission_a.pk}"
    user_page = f"/admin/accounts/user/{colleague.pk}"
    writes = [
        ("/admin/missions/mission/add/", FORM),
        (f"{mission_page}/change/", closing),
        (f"{mission_page}/history/{version}/", closing),
        ("/admin/missions/membership/add/", role),
        (f"/admin/missions/membership/{membership.pk}/change/", {"is_active": ""}),
        ("/admin/accounts/user/add/", {"email": "new@example.org", **password}),
        (f"{user_page}/change/", {"email": colleague.email, "hq_role": "admin"}),
        (f"{user_page}/password/", password),
    ]
    for path, data in writes:
        assert analyst_client.post(path, data).status_code == 403, path
    # and nothing changed anywhere
    mission_a.refresh_from_db()
    colleague.refresh_from_db()
    assert mission_a.status == "active"
    assert (colleague.hq_role, colleague.check_password("x-Long-enough-1")) == ("", False)
    assert Membership.objects.get(pk=membership.pk).is_active
    assert not Mission.objects.filter(code="oslo").exists()
    with schema_context(mission_a.schema_name):
        assert OutboxEvent.objects.count() == events_before


def test_a_closed_mission_cannot_be_reopened_in_the_admin(admin_client, mission_a):
    # given a closed mission
    mission_update(mission=mission_a, acting_user=SYSTEM, status="closed")
    # when the admin sets it active again
    response = admin_client.post(
        f"/admin/missions/mission/{mission_a.pk}/change/",
        FORM
        | {"code": "alpha", "name_en": mission_a.name, "status": "active", "languages": "de,tr,en"},
    )
    # then the form says why, and the mission stays closed
    assert response.status_code == 200
    assert "cannot become" in response.content.decode()
    mission_a.refresh_from_db()
    assert mission_a.status == "closed"


def test_history_is_never_reverted_from_the_admin(admin_client, mission_a):
    version = mission_a.history.latest().history_id
    response = admin_client.post(
        f"/admin/missions/mission/{mission_a.pk}/history/{version}/",
        FORM | {"code": "alpha", "status": "suspended"},
    )
    assert response.status_code == 403


def test_an_hq_admin_edits_an_account_through_the_service(admin_client):
    # given an account
    person = UserFactory(first_name="Ayşe", last_name="Yılmaz", email="ayse.admin@example.org")
    # when the admin renames the person and makes them an HQ analyst
    response = admin_client.post(
        f"/admin/accounts/user/{person.pk}/change/",
        {"email": person.email, "first_name": "Ayşe Nur", "last_name": "Yılmaz",
         "preferred_language": "tr", "hq_role": "analyst", "is_active": "on"},
    )  # fmt: skip
    # then the change is saved with a history row by the admin, and the name still shows
    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()
    assert (person.first_name, person.hq_role) == ("Ayşe Nur", "analyst")
    assert person.history.latest().history_user_id is not None
    page = admin_client.get(f"/admin/accounts/user/{person.pk}/change/").content.decode()
    assert 'value="Ayşe Nur"' in page
    # and the admin finds the person by an exact name
    found = admin_client.get("/admin/accounts/user/", {"q": "ayşe nur"}).content.decode()
    assert "ayse.admin@example.org" in found


def test_an_hq_admin_creates_an_account_and_sets_its_password(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {"email": "New.Person@Example.org", "password1": "x-Long-enough-1",
         "password2": "x-Long-enough-1"},
    )  # fmt: skip
    assert response.status_code == 302
    person = User.objects.get(email="new.person@example.org")
    assert person.check_password("x-Long-enough-1")
    response = admin_client.post(
        f"/admin/accounts/user/{person.pk}/password/",
        {"password1": "y-Long-enough-2", "password2": "y-Long-enough-2"},
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.check_password("y-Long-enough-2")
    assert person.history.latest().history_user_id is not None


def test_the_admin_takes_the_name_and_address_in_both_languages(admin_client):
    # when the admin creates a mission with an English and a Turkish name and address
    response = admin_client.post(
        "/admin/missions/mission/add/",
        FORM
        | {"address_en": "Drammensveien 1\n0244 Oslo", "address_tr": "Drammensveien 1\n0244 Oslo"},
    )
    assert response.status_code == 302
    # then each language has its own, and the page in Turkish reads the Turkish ones
    mission = Mission.objects.get(code="oslo")
    assert (mission.name_en, mission.name_tr) == ("Embassy in Oslo", "Oslo Büyükelçiliği")
    page = host_client(mission.host).get("/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert text_of(page, "h1") == "Oslo Büyükelçiliği"
    assert text_of(page, "address") == "Drammensveien 1\n0244 Oslo\nNorveç"
    # and the change form shows both languages' fields, filled
    form = admin_client.get(f"/admin/missions/mission/{mission.pk}/change/").content.decode()
    assert 'name="name_tr"' in form
    assert 'value="Oslo Büyükelçiliği"' in form


def test_the_admin_takes_the_city_in_both_languages_and_only_the_turkish_one_changes(
    admin_client,
):
    # when the admin opens a mission in Vienna ("Viyana" in Turkish)
    vienna = FORM | {
        "code": "vienna", "name_en": "Embassy in Vienna", "name_tr": "Viyana Büyükelçiliği",
        "host_country": "AT", "city_en": "Vienna", "city_tr": "Viyana",
        "timezone": "Europe/Vienna", "currency": "EUR", "languages": "de,tr",
    }  # fmt: skip
    assert admin_client.post("/admin/missions/mission/add/", vienna).status_code == 302
    # then each language has its own city, and the home in Turkish names the Turkish one
    mission = Mission.objects.get(code="vienna")
    assert (mission.city_en, mission.city_tr) == ("Vienna", "Viyana")
    page = host_client(mission.host).get("/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert text_of(page, "p", class_="lead") == "Büyükelçilik · Viyana, Avusturya"
    # and once it exists the English city is read only, the Turkish one changes through the
    # service (history by the admin, one event naming the column)
    form = admin_client.get(f"/admin/missions/mission/{mission.pk}/change/").content.decode()
    assert 'name="city_tr"' in form
    assert 'name="city_en"' not in form
    response = admin_client.post(
        f"/admin/missions/mission/{mission.pk}/change/",
        vienna | {"city_tr": "Viyana (Wien)", "city_en": "Elsewhere"},
    )
    assert response.status_code == 302
    mission.refresh_from_db()
    assert (mission.city_en, mission.city_tr) == ("Vienna", "Viyana (Wien)")
    assert mission.history.latest().history_user_id is not None
    with schema_context(mission.schema_name):
        assert OutboxEvent.objects.latest("seq").payload["fields"] == ["city_tr"]


def test_changing_the_turkish_name_in_the_admin_goes_through_the_service(admin_client, mission_a):
    # when the admin gives alpha a Turkish name
    response = admin_client.post(
        f"/admin/missions/mission/{mission_a.pk}/change/",
        FORM | {"code": "alpha", "name_en": mission_a.name, "name_tr": "Berlin Başkonsolosluğu",
                "languages": "de,tr,en", "address_en": mission_a.address_en,
                "office_hours": json.dumps(mission_a.office_hours)},
    )  # fmt: skip
    # then it is saved with history by the admin and one event naming the column
    assert response.status_code == 302
    mission_a.refresh_from_db()
    assert (mission_a.name_en, mission_a.name_tr) == (
        "Consulate-General in Berlin",
        "Berlin Başkonsolosluğu",
    )
    assert mission_a.history.latest().history_user_id is not None
    with schema_context(mission_a.schema_name):
        event = OutboxEvent.objects.latest("seq")
    assert event.payload["fields"] == ["name_tr"]


def test_codes_typed_in_another_case_are_normalised_not_refused(admin_client):
    # when the admin types codes in lower case (and a language in upper case), with spaces
    response = admin_client.post(
        "/admin/missions/mission/add/",
        FORM | {"host_country": " no ", "currency": "nok", "languages": "NO, tr ",
                "jurisdiction": "no", "timezone": "europe/oslo", "code": " Oslo "},
    )  # fmt: skip
    # then the mission is created with the codes as they are written
    assert response.status_code == 302, text_of(response.content, "ul", class_="errorlist")
    mission = Mission.objects.get(code="oslo")
    assert (mission.host_country, mission.currency, mission.timezone) == (
        "NO",
        "NOK",
        "Europe/Oslo",
    )
    assert (mission.languages, mission.jurisdiction) == (["no", "tr"], ["NO"])


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("host_country", "France", "“France” is not an ISO 3166 country code"),
        ("currency", "euro", "“euro” is not a current ISO 4217 currency code"),
        ("timezone", "Oslo", "“Oslo” is not an IANA time zone"),
        ("languages", "no, Norwegian", "“Norwegian” is not a language code"),
        ("jurisdiction", "NO, Oslo county", "“Oslo county” is not a country or subdivision code"),
    ],
)
def test_an_error_quotes_the_whole_value_as_typed(admin_client, field, typed, message):
    # when the admin types a name where a code belongs
    response = admin_client.post("/admin/missions/mission/add/", FORM | {field: typed})
    # then the form says so, quoting what was typed, not a cut-down or re-cased copy of it
    assert response.status_code == 200
    errors = texts_of(response.content, "ul", class_="errorlist")
    assert any(message in error for error in errors), errors
    assert not Mission.objects.filter(code="oslo").exists()


def test_the_browser_is_not_told_to_cut_codes_short(admin_client):
    # the add form's code inputs take what is typed ("France" is not cut to "Fr")
    page = admin_client.get("/admin/missions/mission/add/").content.decode()
    for field in ("host_country", "currency"):
        tag = next(t for t in page.split("<input")[1:] if f'name="{field}"' in t.split(">")[0])
        assert re.search(r'maxlength="(\d+)"', tag)[1] == "100", tag  # type: ignore[index]


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "Select mission to change"), ("tr", "Değiştirmek için temsilcilik seçin")],
)
def test_the_admin_names_missions_in_the_readers_language(
    admin_client, mission_a, language, heading
):
    page = admin_client.get("/admin/missions/mission/", HTTP_ACCEPT_LANGUAGE=language)
    assert text_of(page.content, "h1") == heading
