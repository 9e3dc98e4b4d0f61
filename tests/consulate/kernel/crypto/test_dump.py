import datetime
import os
import subprocess

from django.db import connection

from consulate.embedded_db import bin_dir
from tests.crypto_app.models import Dossier

from .conftest import dossier_create, raw_row

# Distinctive values, so that finding one in the dump can only mean a leak.
CLEAR = {
    "passport_number": "ZQ7781234",
    "place_of_birth": "Erzurum-Palandöken",
    "date_of_birth": datetime.date(1977, 11, 3),
}
CHANGED_PASSPORT = "ZQ7785678"


def pg_dump() -> str:
    """A plain-SQL dump of the whole test database, taken with the embedded server's pg_dump."""
    params = connection.settings_dict
    command = [str(bin_dir() / "pg_dump"), "--no-owner", "--dbname", params["NAME"]]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if params.get(key):
            command += [option, str(params[key])]
    env = {**os.environ, "PGPASSWORD": str(params.get("PASSWORD") or "")}
    done = subprocess.run(command, env=env, capture_output=True, check=True, timeout=120)
    return done.stdout.decode()


def test_a_database_dump_shows_no_personal_data(throwaway_mission):
    # given committed dossiers in a mission, one of them changed so that history holds both
    # the old and the new values
    connection.set_tenant(throwaway_mission)
    dossier = dossier_create(full_name="Marker Dossier-Holder", **CLEAR)
    dossier.passport_number = CHANGED_PASSPORT
    dossier.save()
    assert Dossier.history.filter(id=dossier.pk).count() == 2
    blob = raw_row(Dossier._meta.db_table, "id", dossier.pk)["passport_number"]
    connection.set_schema_to_public()
    # when the database is dumped
    dump = pg_dump()
    # then the dump holds the mission's rows: the plain name (row and two history rows) and the
    # ciphertext ...
    schema = throwaway_mission.schema_name
    assert f"CREATE TABLE {schema}.crypto_app_historicaldossier" in dump
    assert dump.count("Marker Dossier-Holder") == 3
    assert "\\x" + bytes(blob).hex() in dump
    # ... but none of the personal data, in any spelling
    date = CLEAR["date_of_birth"]
    for clear in (
        CLEAR["passport_number"],
        CHANGED_PASSPORT,
        "7781234",
        CLEAR["place_of_birth"],
        "Palandöken",
        "Palandoken",
        date.isoformat(),
        date.strftime("%d.%m.%Y"),
        date.strftime("%Y%m%d"),
    ):
        assert clear not in dump, clear
        assert clear.encode().hex() not in dump, clear
