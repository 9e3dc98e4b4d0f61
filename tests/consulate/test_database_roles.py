"""The application's database role owns nothing: connected as it, nobody can switch a guard of
the database off (a trigger, the replication role), empty the outbox or create a schema, while
the application's own work still runs. Missions created by it belong to the owner role.

The test session's own connection is a superuser's, the owner of what `migrate_all` created
here; settings.DATABASE_APP is the application's role that `migrate_all` granted rows to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context
from psycopg import errors, sql

from missions.models import Mission
from missions.services import mission_create, mission_update
from sync.models import OutboxEvent
from tests.factories import MissionParams, UserFactory

APP = settings.DATABASE_APP


@pytest.fixture
def as_app(django_db_setup: Any) -> Iterator[psycopg.Connection[Any]]:
    """A connection of its own to the test database, logged in as the application's role."""
    with psycopg.connect(
        dbname=connection.settings_dict["NAME"],
        user=APP["USER"],
        password=APP["PASSWORD"] or None,
        host=APP["HOST"] or None,
        port=APP["PORT"] or None,
        autocommit=True,
    ) as db:
        yield db


def app_role_on_this_connection() -> None:
    """From here to the end of the test's transaction, the test's connection acts as the
    application's role (the test's superuser session may take on any role)."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SET LOCAL ROLE {}")
            .format(sql.Identifier(APP["USER"]))
            .as_string(cursor.connection)
        )


def outbox_size(db: psycopg.Connection[Any], schema: str) -> int:
    row = db.execute(sql.SQL("SELECT count(*) FROM {}.sync_outboxevent").format(
        sql.Identifier(schema)
    )).fetchone()  # fmt: skip
    assert row is not None
    return int(row[0])


def test_the_application_role_is_neither_superuser_nor_owner(as_app):
    user, superuser, createrole, createdb, bypassrls = as_app.execute(
        "SELECT current_user, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls"
        " FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    assert user == APP["USER"] != connection.settings_dict["USER"]
    assert (superuser, createrole, createdb, bypassrls) == (False, False, False, False)
    owned = as_app.execute(
        "SELECT (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)"
        " + (SELECT count(*) FROM pg_class WHERE relowner = r.oid)"
        " + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)"
        " FROM pg_roles r WHERE r.rolname = current_user"
    ).fetchone()
    assert owned == (0,)


@pytest.mark.parametrize(
    "statement",
    [
        "SET session_replication_role = replica",
        "ALTER TABLE alpha.sync_outboxevent DISABLE TRIGGER ALL",
        "ALTER TABLE alpha.sync_outboxevent DISABLE TRIGGER USER",
        "ALTER TABLE alpha.fees_numbercounter DISABLE TRIGGER ALL",
        "ALTER TABLE alpha.fees_numbercounter DISABLE TRIGGER USER",
        "ALTER TABLE alpha.sync_outboxevent DISABLE TRIGGER sync_outbox_no_update_delete",
        "ALTER TABLE alpha.fees_numbercounter DISABLE TRIGGER fees_counter_no_delete",
        "DROP TRIGGER sync_outbox_no_update_delete ON alpha.sync_outboxevent",
        "TRUNCATE alpha.sync_outboxevent",
        "DROP TABLE alpha.sync_outboxevent",
        "CREATE SCHEMA probe",
        "CREATE TABLE public.probe (id integer)",
        "CREATE TABLE alpha.probe (id integer)",
        "CREATE FUNCTION public.probe() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
        # the template is copied into every new mission: the application may not even read it
        "INSERT INTO mission_template.sync_outboxevent DEFAULT VALUES",
        "SELECT count(*) FROM mission_template.django_migrations",
        # only the template can be cloned, and only as a new mission's schema (django-tenants'
        # clone_schema, which took any two schemas, is no longer installed)
        "SELECT public.mission_schema_clone('public')",
        "SELECT public.mission_schema_clone('mission_template')",
    ],
)
def test_the_application_role_cannot_switch_a_guard_off_nor_create_objects(as_app, statement):
    # given the application's connection and mission alpha's outbox
    before = outbox_size(as_app, "alpha")
    # when it tries, then the database refuses and nothing changed
    with pytest.raises(psycopg.Error) as refused:
        as_app.execute(statement)
    # (insufficient privilege, or the clone function's refusal of the name)
    error = refused.value
    assert error.sqlstate in {"42501", "3F000"} or "permission denied" in str(error), error
    assert outbox_size(as_app, "alpha") == before
    assert as_app.execute("SHOW session_replication_role").fetchone() == ("origin",)


def test_the_application_role_cannot_delete_from_the_outbox(as_app):
    # given mission alpha's outbox, which holds at least its opening event
    before = outbox_size(as_app, "alpha")
    assert before >= 1
    # when the application's role deletes or rewrites events, then the outbox's triggers refuse
    for statement in (
        "DELETE FROM alpha.sync_outboxevent",
        "UPDATE alpha.sync_outboxevent SET topic = 'x'",
    ):
        with pytest.raises(errors.RestrictViolation, match="append-only"):
            as_app.execute(statement)
    assert outbox_size(as_app, "alpha") == before


def test_a_service_runs_under_the_application_role(mission_a):
    # given an HQ admin, and the test's connection acting as the application's role
    admin = UserFactory(hq_role="admin")
    with schema_context(mission_a.schema_name):
        before = OutboxEvent.objects.count()
    app_role_on_this_connection()
    # when a service changes the mission (row, history, outbox event through its function)
    mission_update(mission=mission_a, acting_user=admin, name="Consulate-General in Berlin (HQ)")
    # then it all happened under the application's role
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (APP["USER"],)
    assert Mission.objects.get(pk=mission_a.pk).name == "Consulate-General in Berlin (HQ)"
    with schema_context(mission_a.schema_name):
        assert OutboxEvent.objects.count() == before + 1


def test_a_mission_created_by_the_application_role_belongs_to_the_owner(db):
    # given an HQ admin, and the test's connection acting as the application's role
    admin = UserFactory(hq_role="admin")
    app_role_on_this_connection()
    # when a mission is created (its schema is cloned from the template)
    mission = mission_create(acting_user=admin, **MissionParams(code="roles-1", city="Bonn"))
    # then its schema and every table in it belong to the owner role (the role that owns the
    # template), not to the application's role, which may still read and write its rows
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname IN (%s, %s)"
            " GROUP BY 1",
            [mission.schema_name, settings.TENANT_BASE_SCHEMA],
        )
        owners = cursor.fetchall()
        cursor.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s",
            [mission.schema_name],
        )
        table_owners = cursor.fetchall()
        cursor.execute(
            "SELECT bool_and(has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE')),"
            " bool_or(has_table_privilege(c.oid, 'TRUNCATE, REFERENCES, TRIGGER')),"
            " count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'r'",
            [mission.schema_name],
        )
        may_write_rows, may_do_more, tables = cursor.fetchone()
    assert owners == [(connection.settings_dict["USER"],)]
    assert table_owners == owners
    assert APP["USER"] not in {owner for (owner,) in owners}
    assert tables > 10
    assert (may_write_rows, may_do_more) == (True, False)
    with schema_context(mission.schema_name):
        assert OutboxEvent.objects.get().topic == "missions.mission.opened"
