import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.actors import SYSTEM
from consulate.kernel.crypto.envelope import EncryptionError
from consulate.kernel.crypto.models import DataKey
from consulate.kernel.crypto.services import ReencryptProgress, data_key_rotate, mission_reencrypt
from consulate.kernel.errors import ApplicationError
from missions.services import mission_data_key_rotate
from sync.models import OutboxEvent
from tests.crypto_app.models import Dossier
from tests.factories import UserFactory

from .conftest import PASSPORT, dossier_create

TABLES = (Dossier._meta.db_table, Dossier.history.model._meta.db_table)
COLUMNS = ("passport_number", "date_of_birth", "place_of_birth")


def key_ids_in_tables() -> set[int]:
    """Every key id found in any encrypted column, read from the blobs with plain SQL."""
    found: set[int] = set()
    with connection.cursor() as cursor:
        for table in TABLES:
            for column in COLUMNS:
                cursor.execute(
                    f'SELECT DISTINCT substring("{column}" from 2 for 4) FROM "{table}"'
                    f' WHERE "{column}" IS NOT NULL'
                )
                found |= {int.from_bytes(bytes(key_id), "big") for (key_id,) in cursor.fetchall()}
    return found


def test_rotation_keeps_old_rows_readable_and_writes_under_the_new_key(in_mission_a):
    # given dossiers written under the current key, and an HQ admin
    hq_admin = UserFactory(hq_role=HqRole.ADMIN)
    old = [dossier_create(passport_number=f"U{n}") for n in range(3)]
    before = DataKey.objects.get(schema_name=in_mission_a.schema_name, is_active=True)
    # when the key is rotated
    key = mission_data_key_rotate(mission=in_mission_a, acting_user=hq_admin)
    new = dossier_create(passport_number="U-new")
    # then old rows still read, the new row uses the new key, and the old key stays, retired
    assert key.key_id == before.key_id + 1
    assert [d.passport_number for d in Dossier.objects.filter(pk__in=[d.pk for d in old])] == [
        "U0",
        "U1",
        "U2",
    ]
    assert Dossier.objects.get(pk=new.pk).passport_number == "U-new"
    assert key_ids_in_tables() == {before.key_id, key.key_id}
    before.refresh_from_db()
    assert not before.is_active
    assert before.retired_at is not None
    # and the rotation is on record, with who did it: an event, and history of both keys
    event = OutboxEvent.objects.filter(topic="missions.data_key.rotated").get()
    assert (event.payload, event.actor_id) == ({"key_id": key.key_id}, hq_admin.pk)
    assert key.history.get().history_user_id == hq_admin.pk
    retired = before.history.latest()
    assert (retired.is_active, retired.history_user_id) == (False, hq_admin.pk)
    assert not hasattr(retired, "wrapped_key")  # history never holds a key


def test_only_an_hq_admin_rotates_a_mission_key(in_mission_a, officer_a, hq_analyst):
    # given the mission's active key
    before = DataKey.objects.get(schema_name=in_mission_a.schema_name, is_active=True)
    # when an officer of the mission, then an HQ analyst, try to rotate it
    for who in (officer_a, hq_analyst):
        with pytest.raises(ApplicationError):
            mission_data_key_rotate(mission=in_mission_a, acting_user=who)
    # then the key is still the active one
    assert DataKey.objects.get(schema_name=in_mission_a.schema_name, is_active=True) == before


def test_reencrypt_moves_every_row_to_the_active_key(in_mission_a):
    # given rows and history rows under the old key, then a rotation
    for n in range(5):
        dossier = dossier_create(passport_number=f"U{n}")
        dossier.place_of_birth = f"Town {n}"
        dossier.save()
    history_count = Dossier.history.count()
    indexes = sorted(Dossier.objects.values_list("passport_number_index", flat=True))
    key = data_key_rotate(schema_name=in_mission_a.schema_name, acting_user=SYSTEM)
    dossier_create(passport_number="U-new")  # already under the new key: not counted
    steps: list[ReencryptProgress] = []
    # when the mission is re-encrypted in small batches
    result = mission_reencrypt(
        schema_name=in_mission_a.schema_name, batch_size=2, progress=steps.append
    )
    # then every blob is under the new key, values and indexes unchanged, no history added
    assert key_ids_in_tables() == {key.key_id}
    assert result.key_id == key.key_id
    assert result.rows_reencrypted == 5 + history_count
    assert result.rows_total == 6 + history_count + 1
    assert result.tables >= 2
    assert list(Dossier.objects.values_list("place_of_birth", flat=True)) == [
        *(f"Town {n}" for n in range(5)),
        "Königsberg",
    ]
    assert Dossier.history.count() == history_count + 1
    assert sorted(Dossier.objects.exclude(passport_number_index__matches="U-new").values_list(
        "passport_number_index", flat=True)) == indexes  # fmt: skip
    # and progress was reported batch by batch
    dossier_steps = [s for s in steps if s.table == Dossier._meta.db_table]
    assert [(s.rows_done, s.rows_pending) for s in dossier_steps] == [(2, 5), (4, 5), (5, 5)]
    # and a second run finds nothing to do
    again = mission_reencrypt(schema_name=in_mission_a.schema_name, batch_size=2)
    assert again.rows_reencrypted == 0


def test_reencrypt_touches_only_its_own_mission(in_mission_a, mission_b):
    # given a dossier in mission B and a rotation in mission A
    connection.set_tenant(mission_b)
    theirs = dossier_create()
    connection.set_tenant(in_mission_a)
    data_key_rotate(schema_name=in_mission_a.schema_name, acting_user=SYSTEM)
    # when mission A is re-encrypted
    mission_reencrypt(schema_name=in_mission_a.schema_name, batch_size=10)
    # then mission B's rows still read with its own key
    connection.set_tenant(mission_b)
    try:
        assert Dossier.objects.get(pk=theirs.pk).passport_number == PASSPORT
    finally:
        connection.set_tenant(in_mission_a)


def test_rotating_the_public_schema_is_refused(db):
    with pytest.raises(EncryptionError):
        data_key_rotate(schema_name="public", acting_user=SYSTEM)
    with pytest.raises(EncryptionError):
        data_key_rotate(schema_name="no_such_mission", acting_user=SYSTEM)


def test_the_command_rotates_reencrypts_and_says_so(in_mission_a):
    # given three dossiers under the current key
    for n in range(3):
        dossier_create(passport_number=f"U{n}")
    rows = Dossier.objects.count() + Dossier.history.count()
    before = DataKey.objects.get(schema_name=in_mission_a.schema_name, is_active=True).key_id
    out = io.StringIO()
    # when the command runs
    call_command("rotate_mission_key", in_mission_a.code, "--batch-size", "2", stdout=out)
    # then it reports each batch and the outcome
    output = out.getvalue()
    assert f"key {before + 1} is now active" in output
    assert f"  {Dossier._meta.db_table}: 2 of 3 rows" in output
    assert f"  {Dossier._meta.db_table}: 3 of 3 rows" in output
    summary = re.search(
        r"re-encrypted (\d+) rows of (\d+) in (\d+) tables; key (\d+) active", output
    )
    assert summary is not None
    assert int(summary[1]) == rows
    assert int(summary[2]) >= rows
    assert int(summary[3]) >= 2
    assert int(summary[4]) == before + 1
    assert key_ids_in_tables() == {before + 1}


def test_the_command_refuses_an_unknown_mission(db):
    with pytest.raises(CommandError, match="no mission"):
        call_command("rotate_mission_key", "nowhere", stdout=io.StringIO())
    with pytest.raises(CommandError, match="no mission"):
        call_command("rotate_mission_key", "hq", stdout=io.StringIO())


def test_reads_keep_working_during_reencryption(throwaway_mission):
    # given committed dossiers in a mission, then a rotation
    connection.set_tenant(throwaway_mission)
    pks = [dossier_create(passport_number=f"U{n}").pk for n in range(4)]
    data_key_rotate(schema_name=throwaway_mission.schema_name, acting_user=SYSTEM)
    seen: list[list[str]] = []

    def read_everything(step: ReencryptProgress) -> None:
        # between batches, with some rows moved and some not, everything still reads
        seen.append(
            list(Dossier.objects.filter(pk__in=pks).values_list("passport_number", flat=True))
        )

    # when the mission is re-encrypted one row at a time, committing each batch
    result = mission_reencrypt(
        schema_name=throwaway_mission.schema_name, batch_size=1, progress=read_everything
    )
    # then every read in between saw every value
    assert result.rows_reencrypted == 8  # four dossiers and their four creation history rows
    assert len(seen) >= 8
    assert all(values == ["U0", "U1", "U2", "U3"] for values in seen)
