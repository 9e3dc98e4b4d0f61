"""The clone of the template schema (missions/schemas.py, `public.mission_schema_clone`): a
mission's schema is the template's structure, rows and sequence values, owned by the owner
role whoever asked; a clone that fails leaves nothing; what it cannot copy it refuses.

Schemas are compared by a digest read from the catalog with only the schema itself on the
search path, so that each one's own names come out unqualified and the digests of two
schemas are equal exactly when their structures are.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection
from django_tenants.utils import schema_exists
from psycopg import sql

from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from missions.schemas import TEMPLATE_LOCK_KEY, schema_clone_from_template, template_locked
from missions.services import mission_create
from tests.consulate.test_database_roles import app_role_on_this_connection
from tests.factories import MissionParams, UserFactory
from tests.processes import server_connect

TEMPLATE = settings.TENANT_BASE_SCHEMA

# Each part of the digest: rows that name objects by their names in the schema, never by oid.
# Not privileges: the template's are its owner's alone, a mission's come from the owner's
# default privileges (tests/consulate/test_database_roles.py).
DIGEST = {
    "tables": """
        SELECT c.relname, c.relpersistence, c.reloptions, pg_get_userbyid(c.relowner)
        FROM pg_class c WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind = 'r'
    """,
    "columns": """
        SELECT c.relname, rank() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
            format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated,
            a.attcollation, pg_get_expr(d.adbin, d.adrelid, true)
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind = 'r' AND a.attnum > 0
            AND NOT a.attisdropped
    """,
    "constraints": """
        SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid, true),
            k.condeferrable, k.condeferred, k.convalidated
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE c.relnamespace = %(schema)s::regnamespace
    """,
    "indexes": """
        SELECT c.relname, i.relname, pg_get_indexdef(i.oid, 0, true), pg_get_userbyid(i.relowner)
        FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        WHERE c.relnamespace = %(schema)s::regnamespace
    """,
    "sequences": """
        SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmax,
            s.seqmin, s.seqcache, s.seqcycle, pg_get_userbyid(c.relowner),
            d.deptype, d.refobjid::regclass::text, a.attname
        FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid
        LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
            AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE c.relnamespace = %(schema)s::regnamespace
    """,
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid, true), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(schema)s::regnamespace AND NOT t.tgisinternal
    """,
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid),
            pg_get_function_result(p.oid), p.prosrc, p.provolatile, p.prosecdef, p.proconfig,
            p.prolang, pg_get_userbyid(p.proowner)
        FROM pg_proc p WHERE p.pronamespace = %(schema)s::regnamespace
    """,
    "comments": """
        SELECT c.relname, d.objsubid, d.description
        FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
        WHERE d.classoid = 'pg_class'::regclass AND c.relnamespace = %(schema)s::regnamespace
    """,
    "schema": """
        SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %(schema)s
    """,
}


def schema_digest(schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """The schema's structure, its sequences' values and its tables' rows, each part sorted;
    read with only `schema` on the search path."""
    digest: dict[str, list[tuple[Any, ...]]] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('search_path', %s, false)", [f'"{schema}", pg_temp'])
        try:
            for part, query in DIGEST.items():
                cursor.execute(query, {"schema": schema})
                digest[part] = sorted(cursor.fetchall(), key=repr)
            cursor.execute(
                "SELECT relname, relkind FROM pg_class WHERE relnamespace = %s::regnamespace"
                " AND relkind IN ('r', 'S') ORDER BY relname",
                [schema],
            )
            rows = []
            for name, kind in cursor.fetchall():
                columns = sql.SQL("last_value, is_called" if kind == "S" else "*")
                cursor.execute(
                    sql.SQL("SELECT {} FROM {}.{}")
                    .format(columns, sql.Identifier(schema), sql.Identifier(name))
                    .as_string(cursor.connection)
                )
                rows.append((name, sorted(cursor.fetchall(), key=repr)))
            digest["rows"] = rows
        finally:
            connection.search_path_forget()  # the raw set_config above
            connection.set_schema_to_public()  # the path is set again
    return digest


def casts_aside(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The row with its definitions' casts and parentheses left out.

    PostgreSQL parses a cast of an ARRAY[...] constructor into a cast of each element, so an
    expression Django wrote as `status IN ('a', 'b')`, stored as
    `status::text = ANY (ARRAY['a'::varchar, 'b'::varchar]::text[])`, comes back from its own
    definition as `... ANY (ARRAY['a'::varchar::text, 'b'::varchar::text])`: the same test
    (pg_dump's copy has the same difference). Only such rows are compared this way.
    """
    return tuple(
        re.sub(r"::[a-z ]+(\[\])?|[()]", "", value) if isinstance(value, str) else value
        for value in row
    )


def assert_same_structure(schema: str, *, rows: bool = True) -> None:
    """`schema` is the template's copy: structure, sequences' values and (if `rows`) rows."""
    expected, actual = schema_digest(TEMPLATE), schema_digest(schema)
    for part in expected:
        if part == "rows" and not rows:
            continue
        if actual[part] != expected[part] and part in {"columns", "constraints", "indexes"}:
            assert len(actual[part]) == len(expected[part]), part
            differ = [(e, a) for e, a in zip(expected[part], actual[part], strict=True) if e != a]
            assert all(casts_aside(e) == casts_aside(a) for e, a in differ), (part, differ)
        else:
            assert actual[part] == expected[part], part
    assert expected["tables"]
    assert expected["triggers"]
    assert expected["functions"]


def test_a_new_missions_schema_is_the_template_structure_rows_and_sequences_included(db):
    # given the template, with rows in it (migrations, content types, reference data)
    # when a mission is created
    mission = mission_create(acting_user=SYSTEM, **MissionParams(code="clone-1"))
    # then, before the mission's own first rows, its schema was the template's copy: compare
    # with a bare clone taken at the same moment
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.mission_schema_clone('clone_bare')")
    assert_same_structure("clone_bare")
    # and the mission's schema has the same structure (its rows differ: its opening event...)
    assert_same_structure(mission.schema_name, rows=False)


def test_the_clone_keeps_every_kind_of_object_the_template_may_hold(db):
    # given a template that also holds what the migrations do not make yet: a sequence of its
    # own owned by a serial column, a default and a check calling a function of the template,
    # a generated column, an ALWAYS identity, a collation, a table option, a disabled trigger,
    # a partial index, a comment, a deferrable unique constraint and a self-reference
    statements = f"""
        SET LOCAL search_path = "{TEMPLATE}";
        CREATE FUNCTION probe_double(n integer) RETURNS integer
            LANGUAGE sql IMMUTABLE AS 'SELECT n * 2';
        CREATE FUNCTION probe_touch() RETURNS trigger LANGUAGE plpgsql
            AS 'BEGIN NEW.note := upper(NEW.note); RETURN NEW; END';
        CREATE SEQUENCE probe_counter START WITH 7 INCREMENT BY 3;
        CREATE TABLE probe (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            number serial,
            counted bigint NOT NULL DEFAULT nextval('probe_counter'),
            twice integer DEFAULT probe_double(21) CHECK (twice = probe_double(twice / 2)),
            half integer GENERATED ALWAYS AS (twice / 2) STORED,
            note text COLLATE "C",
            parent_id integer REFERENCES probe (id) DEFERRABLE INITIALLY DEFERRED,
            CONSTRAINT probe_note_once UNIQUE (note) DEFERRABLE
        ) WITH (fillfactor = 90);
        CREATE INDEX probe_twice_partial ON probe (twice) WHERE note IS NOT NULL;
        CREATE TRIGGER probe_touch BEFORE INSERT ON probe
            FOR EACH ROW EXECUTE FUNCTION probe_touch();
        ALTER TABLE probe DISABLE TRIGGER probe_touch;
        COMMENT ON TABLE probe IS 'a probe';
        COMMENT ON COLUMN probe.note IS 'its note';
        INSERT INTO probe (note) VALUES ('first'), ('second');
        SELECT nextval('probe_counter');
    """
    with connection.cursor() as cursor:
        cursor.execute(statements)
    connection.search_path_forget()  # the raw SET above: consulate/kernel/db/base.py
    connection.set_schema_to_public()
    # when it is cloned
    schema_clone_from_template(schema_name="clone_probe")
    # then the clone has all of it, sequences at the template's values
    assert_same_structure("clone_probe")
    # and its defaults draw on its own sequences and call its own function
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO clone_probe.probe (note) VALUES ('third')"
            " RETURNING id, number, counted, twice, half"
        )
        assert cursor.fetchone() == (3, 3, 16, 42, 21)
        cursor.execute(
            "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef"
            " WHERE adrelid = 'clone_probe.probe'::regclass ORDER BY adnum"
        )
        defaults = " ".join(default for (default,) in cursor.fetchall())
        cursor.execute(f'SELECT last_value FROM "{TEMPLATE}".probe_counter')
        assert cursor.fetchone() == (13,)
    assert TEMPLATE not in defaults
    assert "clone_probe." in defaults


@pytest.mark.parametrize(
    "unsupported",
    [
        "CREATE VIEW probe_view AS SELECT 1 AS one",
        "CREATE TYPE probe_mood AS ENUM ('ok')",
        "CREATE FUNCTION probe_named() RETURNS integer LANGUAGE sql"
        f" AS 'SELECT count(*)::integer FROM {TEMPLATE}.django_migrations'",
        # the template named in the function's settings, not its body
        "CREATE FUNCTION probe_path() RETURNS integer LANGUAGE sql"
        f" SET search_path = {TEMPLATE} AS 'SELECT count(*)::integer FROM django_migrations'",
    ],
)
def test_a_template_holding_what_the_clone_cannot_copy_is_refused_and_nothing_is_left(
    db, unsupported
):
    # given a template holding something the clone would copy wrongly
    with connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL search_path = "{TEMPLATE}"; {unsupported}')
    connection.search_path_forget()  # the raw SET above: consulate/kernel/db/base.py
    connection.set_schema_to_public()
    # when a mission is created, then it is refused by name
    with pytest.raises(DatabaseError, match=r"cannot copy: .*probe"):
        mission_create(acting_user=SYSTEM, **MissionParams(code="clone-2"))
    # and nothing of it remains
    assert not Mission.objects.filter(code="clone-2").exists()
    assert not schema_exists("clone_2")


def test_a_clone_failing_half_way_leaves_no_schema_behind(db):
    # given a template with a check that holds there and fails in the new schema: the clone
    # adds checks once the rows are in, so it fails after creating the schema and its tables
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SET LOCAL search_path = "{TEMPLATE}";
            CREATE FUNCTION probe_refuse_in_clone_3(app text) RETURNS boolean
            LANGUAGE plpgsql AS $$
            BEGIN
                IF current_setting('search_path') LIKE '%clone_3%' THEN
                    RAISE EXCEPTION 'probe refuses %', app;
                END IF;
                RETURN true;
            END $$;
            ALTER TABLE django_migrations
                ADD CONSTRAINT probe_check CHECK (probe_refuse_in_clone_3(app));
            """
        )
    connection.search_path_forget()  # the raw SET above: consulate/kernel/db/base.py
    connection.set_schema_to_public()
    # when a mission is created, then it fails and nothing of it remains
    with pytest.raises(DatabaseError, match="probe refuses"):
        mission_create(acting_user=SYSTEM, **MissionParams(code="clone-3"))
    assert not Mission.objects.filter(code="clone-3").exists()
    assert not schema_exists("clone_3")


def test_the_application_role_clones_through_the_owners_function_only(db):
    # given the test's connection acting as the application's role
    admin = UserFactory(hq_role="admin")
    app_role_on_this_connection()
    # when an HQ admin creates a mission
    mission = mission_create(acting_user=admin, **MissionParams(code="clone-4"))
    # then its schema has the template's structure (rows and all: compare a bare clone),
    # owned by the owner role
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.mission_schema_clone('clone_4_bare')")
        cursor.execute("RESET ROLE")
    assert_same_structure("clone_4_bare")
    assert_same_structure(mission.schema_name, rows=False)


def test_the_application_role_cannot_use_the_clones_search_path(db):
    # given the application's role with a temporary table named as a template's table
    app_role_on_this_connection()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE appointments_service (id integer PRIMARY KEY)")
        # when it clones, then the new schema's foreign keys point to its own tables
        cursor.execute("SELECT public.mission_schema_clone('clone_5')")
        cursor.execute(
            "SELECT DISTINCT confrelid::regclass::text FROM pg_constraint"
            " WHERE connamespace = 'clone_5'::regnamespace AND contype = 'f'"
        )
        referenced = {name for (name,) in cursor.fetchall()}
    assert referenced
    assert all(name.startswith("clone_5.") for name in referenced)


@pytest.mark.parametrize(
    "name", ["public", TEMPLATE, "pg_probe", "Bad-Name", "information_schema", "x" * 64]
)
def test_the_clone_refuses_names_other_than_a_new_missions(db, name):
    with pytest.raises(DatabaseError) as refused, connection.cursor() as cursor:
        cursor.execute("SELECT public.mission_schema_clone(%s)", [name])
    assert isinstance(refused.value.__cause__, psycopg.errors.InvalidSchemaName)


def test_the_clone_leaves_the_callers_settings_as_they_were(db):
    # given a caller in a transaction with its own settings
    with connection.cursor() as cursor:
        cursor.execute("SHOW check_function_bodies")
        (before,) = cursor.fetchone()
        # when it creates a mission (the clone turns function-body checks off for itself)
        mission_create(acting_user=SYSTEM, **MissionParams(code="clone-3"))
        # then its transaction's settings are its own again
        cursor.execute("SHOW check_function_bodies")
        assert cursor.fetchone() == (before,)


def test_no_mission_is_cloned_while_migrate_all_holds_the_template(db):
    # given another session holding the template, as migrate_all does while it migrates it
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [TEMPLATE_LOCK_KEY])
        # when a mission is created meanwhile (waiting at most a moment here)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '300ms'")
        with pytest.raises(DatabaseError, match="lock timeout"):
            mission_create(acting_user=SYSTEM, **MissionParams(code="clone-4"))
        other.execute("SELECT pg_advisory_unlock(%s)", [TEMPLATE_LOCK_KEY])
    # then it was not cloned from a template that may be half migrated, and nothing remains
    assert not schema_exists("clone_4")


def test_the_template_stays_held_while_migrate_all_closes_its_connection(committed_db):
    """django-tenants closes the default connection after migrating a schema, and a migration
    that gave way to a lock is tried again on a new one: the template's lock is held by a
    session of its own, which outlives them."""
    with server_connect(connection.settings_dict["NAME"], autocommit=True) as other:

        def clone_could_start() -> bool:
            (free,) = other.execute(
                "SELECT pg_try_advisory_lock_shared(%s)", [TEMPLATE_LOCK_KEY]
            ).fetchone() or (False,)
            if free:
                other.execute("SELECT pg_advisory_unlock_shared(%s)", [TEMPLATE_LOCK_KEY])
            return bool(free)

        # given migrate_all holding the template
        with template_locked():
            # when its connection is closed and opened again, as after migrating the template
            connection.close()
            connection.ensure_connection()
            # then no mission is cloned meanwhile
            assert not clone_could_start()
        # and once it is done, one is
        assert clone_could_start()
