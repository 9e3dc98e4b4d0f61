import pytest
from django.core.management import CommandError, call_command

from missions.models import Mission
from tests.factories import UserFactory

ARGS = ["--name", "Consulate in Munich", "--kind", "consulate", "--country", "DE",
        "--city", "Munich", "--timezone", "Europe/Berlin", "--currency", "EUR",
        "--languages", "de,tr"]  # fmt: skip


def test_create_mission_prints_what_it_did(db, capsys):
    call_command(
        "create_mission", "munich", *ARGS, "--jurisdiction", "DE-BY",
        "--name-tr", "Münih Konsolosluğu", "--city-tr", "Münih",
        "--address", "Menzinger Str. 3\\n80638 München",
        "--address-tr", "Menzinger Str. 3\\n80638 Münih",
    )  # fmt: skip
    assert "Created Consulate in Munich (munich) in schema munich" in capsys.readouterr().out
    munich = Mission.objects.get(code="munich")
    assert munich.jurisdiction == ["DE-BY"]
    assert (munich.name_en, munich.name_tr) == ("Consulate in Munich", "Münih Konsolosluğu")
    assert (munich.city_en, munich.city_tr) == ("Munich", "Münih")
    assert (munich.address_en, munich.address_tr) == (
        "Menzinger Str. 3\n80638 München",
        "Menzinger Str. 3\n80638 Münih",
    )


def test_create_mission_refuses_bad_input_with_the_reason(db):
    with pytest.raises(CommandError, match="IANA time zone"):
        # argparse keeps the last --timezone given
        call_command("create_mission", "munich", *ARGS, "--timezone", "Mars/Olympus")
    assert not Mission.objects.filter(code="munich").exists()


def test_create_mission_acts_as_the_user_named_by_by(db):
    # an officer is not an HQ admin: the command is refused, with the reason
    UserFactory(email="clerk@example.org")
    with pytest.raises(CommandError, match="Not found"):
        call_command("create_mission", "munich", *ARGS, "--by", "clerk@example.org")
    assert not Mission.objects.filter(code="munich").exists()
    # an HQ admin's creation is recorded as theirs
    admin = UserFactory(email="boss@example.org", hq_role="admin")
    call_command("create_mission", "munich", *ARGS, "--by", "boss@example.org")
    assert Mission.objects.get(code="munich").history.get().history_user_id == admin.pk
