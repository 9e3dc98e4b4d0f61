import pytest
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from consulate.kernel.actors import SYSTEM
from consulate.kernel.crypto.models import DataKey
from consulate.kernel.errors import ApplicationError
from missions.error_codes import MissionError
from missions.models import Domain, Mission
from missions.services import mission_create
from sync.models import OutboxEvent
from tests.factories import MissionParams, UserFactory

HOURS = {"weekday": 1, "opens": "09:00", "closes": "12:00"}


def assert_nothing_created(code: str, *, schema_existed: bool) -> None:
    assert not Mission.objects.filter(code=code).exists()
    assert not Domain.objects.filter(domain__startswith=f"{code}.").exists()
    assert schema_exists(code.replace("-", "_")) == schema_existed
    if not schema_existed:  # (the public schema has a key of its own)
        assert not DataKey.objects.filter(schema_name=code.replace("-", "_")).exists()


def test_creating_a_mission_clones_the_template_with_host_key_event_and_history(db):
    # given an HQ admin
    admin = UserFactory(hq_role="admin")
    # when they create a mission
    mission = mission_create(acting_user=admin, **MissionParams(code="gamma-1", city="Munich"))
    # then it has a schema with the template's tables, a host name and an active data key
    assert mission.schema_name == "gamma_1"
    assert schema_exists("gamma_1")
    assert Domain.objects.get(tenant=mission).domain == "gamma-1.localhost"
    assert DataKey.objects.filter(schema_name="gamma_1", is_active=True).count() == 1
    # and its outbox starts with the opening event, recorded by the admin
    with schema_context("gamma_1"):
        opening = OutboxEvent.objects.get()
    assert (opening.seq, opening.topic, opening.actor_id) == (
        1,
        "missions.mission.opened",
        admin.pk,
    )
    # and history says who created it
    assert mission.history.get().history_user_id == admin.pk


@pytest.mark.parametrize(
    ("override", "field", "fragment"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone", "IANA time zone"),
        ({"currency": "DEM"}, "currency", "ISO 4217"),
        ({"currency": "eurx"}, "currency", "ISO 4217"),
        ({"host_country": "XX"}, "host_country", "ISO 3166"),
        ({"host_country": "EU"}, "host_country", "ISO 3166"),
        ({"code": "Bad code"}, "code", "lowercase letters"),
        ({"code": "public"}, "code", "reserved"),
        ({"code": "mission-template"}, "code", "reserved"),
        ({"languages": ["klingon"]}, "languages", "language code"),
        ({"jurisdiction": ["DE-BAVARIA"]}, "jurisdiction", "subdivision"),
        ({"office_hours": [HOURS | {"weekday": 7}]}, "office_hours", "weekday"),
        ({"office_hours": [HOURS | {"opens": "14:00"}]}, "office_hours", "opening before closing"),
        ({"name": ""}, "name", "blank"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_clear_message_and_creates_nothing(db, override, field, fragment):
    # given parameters with one bad value
    params = (
        MissionParams(code="delta", **override)
        if "code" not in override
        else MissionParams(**override)
    )
    schema_existed = schema_exists(params["code"].replace("-", "_"))  # "public" does
    # when creating the mission
    with pytest.raises(ApplicationError) as raised:
        mission_create(acting_user=SYSTEM, **params)
    # then the error names the field and says what is wrong
    assert raised.value.code == MissionError.INVALID
    assert field in raised.value.errors
    assert fragment in " ".join(raised.value.errors[field])
    assert_nothing_created(params["code"], schema_existed=schema_existed)


def test_a_duplicate_code_is_refused_and_the_existing_mission_is_untouched(mission_a):
    # given mission alpha
    before = Mission.objects.get(pk=mission_a.pk)
    # when another mission asks for the same code
    with pytest.raises(ApplicationError) as raised:
        mission_create(acting_user=SYSTEM, **MissionParams(code="alpha", name="Impostor"))
    # then it is refused with its own code and alpha is unchanged
    assert raised.value.code == MissionError.CODE_TAKEN
    assert Mission.objects.get(pk=mission_a.pk).name == before.name


def test_a_stray_schema_of_the_same_name_is_never_adopted(db):
    # given a stray schema that occupies the new mission's schema name
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "epsilon"')
    # when the mission is created
    with pytest.raises(ApplicationError) as raised:
        mission_create(acting_user=SYSTEM, **MissionParams(code="epsilon"))
    # then it is refused (django-tenants alone would adopt the schema) and nothing remains
    assert raised.value.code == MissionError.CODE_TAKEN
    assert not Mission.objects.filter(code="epsilon").exists()
    assert not Domain.objects.filter(domain__startswith="epsilon.").exists()
    assert not DataKey.objects.filter(schema_name="epsilon").exists()


def test_input_is_normalised(db):
    mission = mission_create(
        acting_user=SYSTEM,
        **MissionParams(code="  Zeta ", host_country="de", currency="eur", jurisdiction=["de-by"]),
    )
    assert (mission.code, mission.host_country, mission.currency) == ("zeta", "DE", "EUR")
    assert mission.jurisdiction == ["DE-BY"]
    assert mission.currency_minor_units == 2


def test_a_failure_after_the_clone_rolls_back_schema_row_domain_and_key(db, monkeypatch):
    # given a failure at the last step of creation, after the schema was cloned
    def fail(**kwargs):
        raise RuntimeError("broker of events down")

    monkeypatch.setattr("missions.services.mission.outbox_event_record", fail)
    # when the mission is created
    with pytest.raises(RuntimeError):
        mission_create(acting_user=SYSTEM, **MissionParams(code="eta"))
    # then nothing of it remains, not even the cloned schema
    assert_nothing_created("eta", schema_existed=False)


def test_two_simultaneous_creations_of_one_code_give_one_mission_and_a_clear_refusal(
    committed_db,
):
    import threading

    from django.db import connections

    from tests.conftest import drop_mission

    # given two HQ admins creating the same mission at the same moment
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def create() -> None:
        try:
            barrier.wait()
            mission_create(acting_user=SYSTEM, **MissionParams(code="twins"))
            outcomes.append("created")
        except ApplicationError as error:
            outcomes.append(error.code.value)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # then one is created and the other is told the code is taken (no crash)
        assert sorted(outcomes) == ["created", MissionError.CODE_TAKEN.value]
        assert Mission.objects.filter(code="twins").count() == 1
    finally:
        for mission in Mission.objects.filter(code="twins"):
            drop_mission(mission)
