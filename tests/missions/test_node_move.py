"""Moving a mission to its own node: a real second database, loaded by real processes."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from missions.services.node import NODE_ACCOUNT_IDS_FROM, mission_node_export
from sync.models import OutboxEvent
from tests.appointments.factories import BookingFactory
from tests.conftest import host_client, make_staff
from tests.processes import manage, other_database, server_connect


@pytest.fixture
def node_database(committed_db):
    with other_database() as name:
        yield name


def test_a_mission_moves_to_its_own_database_with_its_data_and_staff(
    throwaway_mission, node_database, tmp_path
):
    mission = throwaway_mission
    officer = make_staff(mission, "officer", email=f"officer-{mission.code}@example.org")
    officer.first_name = "Ayşe"
    officer.save()
    with schema_context(mission.schema_name):
        booking = BookingFactory()  # a citizen's, whose account lives at HQ
        events_here = OutboxEvent.objects.count()
    citizen = User.objects.get(pk=booking.user_id)
    package = tmp_path / "move"

    move = mission_node_export(
        mission=mission, node_url="http://node.example:8001", out_dir=package, acting_user=SYSTEM
    )

    # HQ's copy is frozen: its pages send people to the node, path and method kept
    mission.refresh_from_db()
    assert mission.node_url == "http://node.example:8001"
    answer = host_client(mission.host).post("/en/book/?x=1")
    assert answer.status_code == 307
    assert answer["Location"] == "http://node.example:8001/en/book/?x=1"
    assert move.accounts >= 1

    # the node: migrated, then loaded, by real processes on a database of its own
    migrated = manage(node_database, "migrate_all")
    assert migrated.returncode == 0, migrated.stderr
    loaded = manage(node_database, "mission_node_import", str(package))
    assert loaded.returncode == 0, loaded.stderr
    assert f"{mission.code}: schema {mission.schema_name} loaded" in loaded.stdout

    with server_connect(node_database) as node:
        (events_there,) = node.execute(
            f'SELECT count(*) FROM "{mission.schema_name}".sync_outboxevent'
        ).fetchone()
        assert events_there == events_here
        (node_url,) = node.execute(
            "SELECT node_url FROM missions_mission WHERE code = %s", [mission.code]
        ).fetchone()
        assert node_url == ""  # the node serves it itself
        (role,) = node.execute(
            "SELECT m.role FROM missions_membership m JOIN accounts_user u ON u.id = m.user_id"
            " WHERE u.email = %s",
            [officer.email],
        ).fetchone()
        assert role == "officer"
        (user_id, password) = node.execute(
            "SELECT id, password FROM accounts_user WHERE email = %s", [officer.email]
        ).fetchone()
        assert (user_id, password) == (officer.pk, officer.password)  # the same person
        (citizen_id,) = node.execute(
            "SELECT id FROM accounts_user WHERE email = %s", [citizen.email]
        ).fetchone()
        assert citizen_id == citizen.pk  # who booked there can log in there to see it
        (next_id,) = node.execute(
            "SELECT nextval(pg_get_serial_sequence('accounts_user', 'id'))"
        ).fetchone()
        assert next_id > NODE_ACCOUNT_IDS_FROM  # sign-ups at the node never take HQ's ids

    # and the node reads the officer's name, encrypted again under the node's own key
    shell = manage(
        node_database, "shell", "--no-imports", "-c",
        "from consulate.kernel.accounts.models import User;"
        f"print(User.objects.get(email='{officer.email}').first_name)",
    )  # fmt: skip
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.strip() == "Ayşe"


def test_a_mission_cannot_move_twice_or_into_a_folder_in_use(throwaway_mission, tmp_path):
    from consulate.kernel.errors import ApplicationError

    used = tmp_path / "used"
    used.mkdir()
    (used / "something").write_text("x")
    with pytest.raises(ApplicationError):
        mission_node_export(
            mission=throwaway_mission, node_url="http://n:1", out_dir=used, acting_user=SYSTEM
        )
    assert Mission.objects.get(pk=throwaway_mission.pk).node_url == ""
    with pytest.raises(ApplicationError):
        mission_node_export(
            mission=throwaway_mission, node_url="ftp://n", out_dir=tmp_path / "a",
            acting_user=SYSTEM,
        )  # fmt: skip
    mission_node_export(
        mission=throwaway_mission, node_url="http://n:1", out_dir=tmp_path / "b",
        acting_user=SYSTEM,
    )  # fmt: skip
    with pytest.raises(ApplicationError):
        mission_node_export(
            mission=throwaway_mission, node_url="http://n:2", out_dir=tmp_path / "c",
            acting_user=SYSTEM,
        )  # fmt: skip


def test_a_move_that_fails_leaves_the_mission_served_here_and_no_half_package(
    throwaway_mission, tmp_path, monkeypatch
):
    from consulate.kernel.errors import ApplicationError
    from missions.services import node

    def dump_fails(tool, *args):  # type: ignore[no-untyped-def]
        raise ApplicationError(node.MissionError.INVALID, "pg_dump failed: disk full")

    monkeypatch.setattr(node, "_pg_run", dump_fails)
    with pytest.raises(ApplicationError, match="disk full"):
        mission_node_export(
            mission=throwaway_mission, node_url="http://n:1", out_dir=tmp_path / "m",
            acting_user=SYSTEM,
        )  # fmt: skip
    assert Mission.objects.get(pk=throwaway_mission.pk).node_url == ""
    assert list((tmp_path / "m").iterdir()) == []
    # and it can be tried again
    monkeypatch.undo()
    mission_node_export(
        mission=throwaway_mission, node_url="http://n:1", out_dir=tmp_path / "m",
        acting_user=SYSTEM,
    )  # fmt: skip
    assert Mission.objects.get(pk=throwaway_mission.pk).node_url == "http://n:1"
