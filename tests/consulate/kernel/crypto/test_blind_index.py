import pytest
from django.db import connection

from consulate.kernel.crypto.blind_index import blind_index, normalise
from tests.crypto_app.models import Dossier

from .conftest import dossier_create


@pytest.mark.parametrize(
    "written", ["U 123-456", "u123456", " U-123 456 ", "ｕ１２３４５６", "U‑123–456"]
)
def test_normalised_forms_share_one_index(written):
    assert normalise(written) == "U123456"
    assert blind_index(written, schema_name="alpha", purpose="passport_number") == blind_index(
        "U123456", schema_name="alpha", purpose="passport_number"
    )


def test_the_index_is_keyed_per_mission_and_purpose():
    # given one value
    indexes = {
        blind_index("U123456", schema_name=schema, purpose=purpose)
        for schema in ("alpha", "beta")
        for purpose in ("passport_number", "national_id")
    }
    # then each mission and purpose has its own index, 64 hex digits, none of the value
    assert len(indexes) == 4
    for index in indexes:
        assert len(index) == 64
        int(index, 16)
        assert "123456" not in index


def test_the_index_depends_on_the_blind_index_key(settings):
    before = blind_index("U123456", schema_name="alpha", purpose="passport_number")
    settings.CONSULATE_BLIND_INDEX_KEY = "A" * 43 + "="
    assert blind_index("U123456", schema_name="alpha", purpose="passport_number") != before


def test_a_dossier_is_found_by_its_passport_number_however_written(in_mission_a):
    # given two dossiers
    wanted = dossier_create(passport_number="U 123-456")
    dossier_create(passport_number="U 123-457")
    # when they are searched by the number as another clerk types it
    by_function = Dossier.objects.filter(
        passport_number_index=blind_index(
            "u123456", schema_name=connection.schema_name, purpose="passport_number"
        )
    )
    by_lookup = Dossier.objects.filter(passport_number_index__matches="u123456")
    # then exactly the one is found, both ways
    assert list(by_function) == [wanted]
    assert list(by_lookup) == [wanted]


def test_the_index_follows_changes(in_mission_a):
    dossier = dossier_create(passport_number="U111")
    dossier.passport_number = "U222"
    dossier.save(update_fields=["passport_number", "passport_number_index"])
    assert not Dossier.objects.filter(passport_number_index__matches="U111").exists()
    assert Dossier.objects.get(passport_number_index__matches="u 222") == dossier
    # history rows carry the index too, never the value
    assert dossier.history.filter(passport_number_index__matches="U111").count() == 1


def test_the_same_number_in_two_missions_has_two_indexes(in_mission_a, mission_b):
    # given the same number in a dossier of each mission
    mine = dossier_create(passport_number="U555")
    connection.set_tenant(mission_b)
    try:
        theirs = dossier_create(passport_number="U555")
        # then the stored indexes differ, so a leaked index column matches nothing elsewhere
        assert theirs.passport_number_index != mine.passport_number_index
        assert list(Dossier.objects.filter(passport_number_index__matches="U555")) == [theirs]
    finally:
        connection.set_tenant(in_mission_a)


def test_an_empty_value_has_an_empty_index(in_mission_a):
    dossier = dossier_create(passport_number="")
    assert dossier.passport_number_index == ""
