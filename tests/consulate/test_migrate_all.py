"""`migrate_all` at scale: mission schemas holding exactly the template's migrations are
skipped; the others (one migration behind, one holding a record the template does not have,
one lacking a content type) are migrated, several at once in forked processes, as the owner
role; a migration cancelled by PostgreSQL's deadlock detector, or waiting for a lock longer
than CONSULATE_MIGRATE_LOCK_TIMEOUT_MS (while requests queued behind it), is tried again.

Real migrations, real PostgreSQL: a schema is put behind by rewinding a real migration with
`migrate_schemas <app> <earlier migration>` (appointments 0005 adds `purpose` to the
services table; undoing it drops the column). The tests commit (`committed_db`) and drop the
missions they create; they leave the session's missions as they found them.
"""

from __future__ import annotations

import io
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.models.signals import pre_migrate
from django_tenants.utils import schema_context

from consulate.management.commands import migrate_all as migrate_all_command
from consulate.management.commands.migrate_all import SchemaMigrated, schemas_migrate
from missions.models import Mission
from missions.schemas import schemas_compare_with_template
from tests.conftest import drop_mission
from tests.factories import MissionFactory
from tests.processes import server_connect

APP, EARLIER, LATEST = "appointments", "0006_confirmation_due", "0007_booking_visit_recorded_at"
TABLE, COLUMN = "appointments_booking", "visit_recorded_at"


def after_earlier() -> tuple[str, ...]:
    """The app's migrations after EARLIER (LATEST and any written since): what a schema rewound
    to EARLIER lacks."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    names = sorted(name for app, name in loader.disk_migrations if app == APP)
    return tuple(f"{APP}.{name}" for name in names[names.index(EARLIER) + 1 :])


@pytest.fixture
def missions(committed_db: Any) -> Iterator[list[Mission]]:
    """Four committed missions of their own, dropped (schemas and all) after the test."""
    made = [MissionFactory(code=f"m{uuid.uuid4().hex[:10]}") for _ in range(4)]
    try:
        yield made
    finally:
        for mission in made:
            drop_mission(mission)


def owner() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return str(cursor.fetchone()[0])


def has_column(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = %s"
            " AND table_name = %s AND column_name = %s",
            [schema, TABLE, COLUMN],
        )
        return cursor.fetchone() is not None


def rewind(schemas: list[str], processes: int = 2, to: str = EARLIER) -> list[SchemaMigrated]:
    results = schemas_migrate(schemas, owner=owner(), processes=processes, target=(APP, to))
    failed = [result.error for result in results if result.error]
    assert not failed, failed[0]
    assert len(results) == len(schemas)
    assert not any(has_column(schema) for schema in schemas)
    return results


def migrate_all(**options: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("migrate_all", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def mission_schemas() -> list[str]:
    return list(
        Mission.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )


def test_a_deploy_with_nothing_to_migrate_skips_every_mission_schema(missions):
    # given every mission schema up to date with the template
    count = len(mission_schemas())
    assert count >= len(missions)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT max(applied) FROM "{missions[0].schema_name}".django_migrations')
        (last_applied,) = cursor.fetchone()
    # when migrate_all runs
    out, err = migrate_all()
    # then it says so and migrates none of them
    assert (
        f"{count} mission schema(s) up to date with mission_template (skipped), 0 to migrate"
        in (out)
    )
    assert "Migrating" not in out
    assert f"mission schemas: 0 migrated, {count} already up to date." in out
    assert "(granted in 0 whose privileges differed)" in out
    assert err == ""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT max(applied) FROM "{missions[0].schema_name}".django_migrations')
        assert cursor.fetchone() == (last_applied,)


def test_schemas_that_differ_from_the_template_are_found_in_one_comparison(missions):
    # given one schema a migration behind, one with a record the template does not have, one
    # lacking a content type, and one as the template
    behind, extra, lacking, same = (mission.schema_name for mission in missions)
    rewind([behind], processes=1)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{extra}".django_migrations (app, name, applied)'
            " VALUES ('fees', '0999_not_in_the_code', now())"
        )
        cursor.execute(
            f'DELETE FROM "{lacking}".django_content_type'
            " WHERE (app_label, model) = ('appointments', 'slot')"
        )
    # when they are compared with the template
    states = {
        state.schema_name: state
        for state in schemas_compare_with_template(
            schema_names=[behind, extra, lacking, same, "no_such_schema"]
        )
    }
    # then only the last real one is up to date, and each says why not
    assert states[same].up_to_date
    behind_by = after_earlier()
    assert behind_by[0] == f"{APP}.{LATEST}"
    assert states[behind].missing == behind_by
    assert states[behind].unknown == ()
    assert states[extra].unknown == ("fees.0999_not_in_the_code",)
    assert states[extra].missing == ()
    assert states[lacking].content_types_missing == 1
    assert not states["no_such_schema"].exists
    assert not any(states[name].up_to_date for name in (behind, extra, lacking, "no_such_schema"))
    described = f"{len(behind_by)} migration(s) behind ({', '.join(behind_by)})"
    assert described in states[behind].describe()


def test_a_real_migration_runs_over_several_schemas_in_parallel_and_skips_the_others(missions):
    # given three mission schemas one real migration behind (rewound in forked processes) and
    # one holding a record of a migration the code does not have
    behind = [mission.schema_name for mission in missions[:3]]
    extra = missions[3].schema_name
    rewound = rewind(behind, processes=3)
    assert {result.schema_name for result in rewound} == set(behind)
    assert os.getpid() not in {result.process for result in rewound}
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{extra}".django_migrations (app, name, applied)'
            " VALUES ('fees', '0999_not_in_the_code', now())"
        )
    others = len(mission_schemas()) - 4
    try:
        # when migrate_all runs with three processes
        out, err = migrate_all(processes=3)
        # then the four are migrated, three at a time, with progress; the rest are skipped
        assert f"{others} mission schema(s) up to date with mission_template (skipped), 4 to " in (
            out
        )
        assert "Migrating 4 mission schema(s), 3 at a time" in out
        for done in range(1, 5):
            assert f"{done}/4 mission schemas: " in out
        assert f"mission schemas: 4 migrated, {others} already up to date." in out
        # the migration really ran: the column is back, the tables belong to the owner
        assert all(has_column(schema) for schema in behind)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class"
                " WHERE relnamespace = ANY(%s::regnamespace[])",
                [behind],
            )
            assert cursor.fetchall() == [(owner(),)]
        states = schemas_compare_with_template(schema_names=[*behind, extra])
        assert [state.up_to_date for state in states] == [True, True, True, False]
        # and the record the code does not know is reported, not silently kept
        assert "1 mission schema(s) still differ from mission_template" in err
        assert (
            f"{extra}: 1 migration(s) the template does not have (fees.0999_not_in_the_code)"
            in (err)
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f'DELETE FROM "{extra}".django_migrations WHERE name = %s',
                ["0999_not_in_the_code"],
            )


def test_a_deploy_grants_again_where_the_application_role_privileges_differ(missions):
    # given the application's role lacking a privilege on a table of one mission schema,
    # holding one too many on a table of another, and lacking its use of a third schema
    app = settings.DATABASE_APP_ROLE
    lacking, extra, unusable = (mission.schema_name for mission in missions[:3])
    with connection.cursor() as cursor:
        cursor.execute(f'REVOKE DELETE ON "{lacking}".appointments_slot FROM "{app}"')
        cursor.execute(f'GRANT TRUNCATE ON "{extra}".appointments_slot TO "{app}"')
        cursor.execute(f'REVOKE USAGE ON SCHEMA "{unusable}" FROM "{app}"')
    # when a deploy with nothing to migrate runs
    out, _ = migrate_all()
    # then it granted again in those three schemas only, and the privileges are as everywhere
    assert "(granted in 3 whose privileges differed)" in out
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege(%s, %s, 'DELETE'), has_table_privilege(%s, %s, 'TRUNCATE'),"
            " has_schema_privilege(%s, %s, 'USAGE')",
            [app, f"{lacking}.appointments_slot", app, f"{extra}.appointments_slot", app, unusable],
        )
        assert cursor.fetchone() == (True, False, True)
    # and the next deploy finds nothing to grant
    out, _ = migrate_all()
    assert "(granted in 0 whose privileges differed)" in out


def test_a_mission_without_a_schema_fails_the_deploy_by_name_after_the_others(missions):
    # given a mission whose schema is gone, and another one migration behind
    gone, behind = missions[0], missions[1].schema_name
    rewind([behind], processes=1)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{gone.schema_name}" CASCADE')
    # when migrate_all runs, then it names the mission, having migrated the other first
    with pytest.raises(CommandError, match=f"1 mission\\(s\\) have no schema: {gone.schema_name}"):
        migrate_all()
    assert has_column(behind)


def other_session() -> psycopg.Connection[Any]:
    """A session of its own on the test database, outside Django (a transaction begins with
    its first statement)."""
    return server_connect(connection.settings_dict["NAME"])


DEADLOCK_SEEN: list[str] = []


def lock_b_then_a(tables: list[str], armed: Path) -> None:
    """The other session: take B, wait until a worker waits for B (holding A), then ask for A:
    a cycle, which PostgreSQL breaks by cancelling the session that waited first."""
    DEADLOCK_SEEN.clear()
    with other_session() as db:
        db.execute(f"LOCK TABLE public.{tables[1]} IN SHARE ROW EXCLUSIVE MODE")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            (waiting,) = db.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass",
                [f"public.{tables[1]}"],
            ).fetchone() or (0,)
            if waiting:
                break
            time.sleep(0.05)
        else:
            return
        db.execute(f"LOCK TABLE public.{tables[0]} IN SHARE ROW EXCLUSIVE MODE")
        db.commit()
        DEADLOCK_SEEN.append("the other session got both locks")


def test_a_migration_that_loses_a_deadlock_is_tried_again(missions, tmp_path):
    """A real deadlock between a migrating worker (a forked process) and another session on
    two public tables, each locked as a foreign key's creation locks the table it references
    (SHARE ROW EXCLUSIVE, which conflicts with itself): PostgreSQL cancels the worker, whose
    wait began first; the worker tries the schema again and migrates it."""
    # given two mission schemas behind, two public tables, and a pre_migrate hook that, in
    # whichever worker takes it first (a file both processes see), locks A and then B
    schemas = [mission.schema_name for mission in missions[:2]]
    rewind(schemas)
    tables = [f"deadlock_probe_{uuid.uuid4().hex[:8]}_{side}" for side in ("a", "b")]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"CREATE TABLE public.{table} (id integer)")
    armed = tmp_path / "armed"
    armed.touch()

    def lock_a_then_b(**kwargs: Any) -> None:
        try:
            armed.unlink()
        except FileNotFoundError:
            return
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE public.{tables[0]} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(f"LOCK TABLE public.{tables[1]} IN SHARE ROW EXCLUSIVE MODE")

    other_session = threading.Thread(target=lock_b_then_a, args=(tables, armed), daemon=True)
    pre_migrate.connect(lock_a_then_b, dispatch_uid="deadlock_probe")
    try:
        other_session.start()
        # when both are migrated, two at a time
        results = schemas_migrate(schemas, owner=owner(), processes=2)
    finally:
        pre_migrate.disconnect(dispatch_uid="deadlock_probe")
        other_session.join(timeout=30)
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"DROP TABLE IF EXISTS public.{table}")
    # then one of them lost the deadlock once and was migrated on its second attempt
    assert not armed.exists()
    assert [result.error for result in results] == ["", ""]
    assert sorted(result.attempts for result in results) == [1, 2]
    assert all(has_column(schema) for schema in schemas)
    assert DEADLOCK_SEEN == ["the other session got both locks"]


def waiting_for_exclusive_lock(session: psycopg.Connection[Any], table: str) -> bool:
    (waiting,) = session.execute(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock'"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND relation = %s::regclass",
        [table],
    ).fetchone() or (0,)
    return bool(waiting)


def reading(session: psycopg.Connection[Any], table: str) -> None:
    """`session` reads `table` and goes on with its transaction (ended by the server after 60 s
    at most, so that a test whose migration waits for ever fails instead of hanging)."""
    session.execute("SET idle_in_transaction_session_timeout = '60s'")
    session.execute(f"SELECT count(*) FROM {table}")


def test_a_migration_waiting_for_a_lock_gives_way_to_the_bookings_then_is_tried_again(
    missions, settings, monkeypatch
):
    """A long transaction reads a mission's slots while the deploy migrates that schema: the
    first migration applies, the next one's DROP INDEX asks for the slots' ACCESS EXCLUSIVE
    lock and waits. A booking taking a place meanwhile asks for a lock the reader does not
    hold, but queues behind the waiting migration: without a lock timeout it would wait as
    long as the reader. Here the migration gives way at the timeout, the booking goes through,
    and the migration, tried again once the reader is done, goes on from where it stopped."""
    settings.CONSULATE_MIGRATE_LOCK_TIMEOUT_MS = 300
    monkeypatch.setattr(migrate_all_command, "LOCK_CONFLICT_PAUSE", 0.3)
    monkeypatch.setattr(migrate_all_command, "LOCK_CONFLICT_ATTEMPTS", 30)  # ample
    schema = missions[0].schema_name
    rewind([schema], processes=1)
    slots = f'"{schema}".appointments_slot'
    results: list[SchemaMigrated] = []
    with other_session() as reader, other_session() as writer, other_session() as watcher:
        watcher.autocommit = True
        # given a transaction that has read the slots and goes on
        reading(reader, slots)
        # when the deploy migrates the schema meanwhile
        deploy = threading.Thread(
            target=lambda: results.extend(schemas_migrate([schema], owner=owner(), processes=1)),
            daemon=True,
        )
        deploy.start()
        try:
            deadline = time.monotonic() + 30
            while not waiting_for_exclusive_lock(watcher, slots) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert waiting_for_exclusive_lock(watcher, slots), "the migration never waited"
            # then a place taken, which queues behind the waiting migration, is taken long
            # before the reader is done (it would give up after 5 s; the reader goes on)
            writer.execute("SET lock_timeout = '5s'")
            writer.execute(f"UPDATE {slots} SET booked = booked WHERE false")
            writer.commit()
        finally:
            reader.commit()  # the reader is done
            deploy.join(timeout=60)
    # and the migration, tried again after it, migrated the schema whole
    assert not deploy.is_alive()
    assert [result.error for result in results] == [""]
    assert results[0].attempts >= 2
    assert has_column(schema)
    assert schemas_compare_with_template(schema_names=[schema])[0].up_to_date


def test_a_migration_that_never_gets_its_lock_stops_the_deploy_naming_the_lock(
    missions, settings, monkeypatch
):
    settings.CONSULATE_MIGRATE_LOCK_TIMEOUT_MS = 100
    monkeypatch.setattr(migrate_all_command, "LOCK_CONFLICT_PAUSE", 0.05)
    schema = missions[0].schema_name
    rewind([schema], processes=1)
    with other_session() as reader:
        # given a transaction on the bookings that outlasts every attempt
        reading(reader, f'"{schema}".{TABLE}')
        # when the deploy migrates the schema
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError, match=f"Migrating {schema} failed"):
            call_command("migrate_all", stdout=out, stderr=err)
        reader.rollback()
    # then it gave way at each of its attempts, and stopped naming the schema and the lock
    attempts = migrate_all_command.LOCK_CONFLICT_ATTEMPTS
    assert f"1/1 mission schemas: {schema} (FAILED at attempt {attempts})" in out.getvalue()
    assert "canceling statement due to lock timeout" in err.getvalue()
    assert not has_column(schema)


def test_a_migration_in_this_process_that_never_gets_its_lock_fails_by_the_schema_name(
    committed_db, settings, monkeypatch
):
    """As public's and the template's migrations run (in the command's own process): each new
    attempt is said, and the last failure names the schema and the lock."""
    settings.CONSULATE_MIGRATE_LOCK_TIMEOUT_MS = 100
    monkeypatch.setattr(migrate_all_command, "LOCK_CONFLICT_PAUSE", 0.05)
    probe = f"public.lock_probe_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {probe} (id integer)")
    out = io.StringIO()
    command = migrate_all_command.Command(stdout=out)
    try:
        with other_session() as reader:
            # given a transaction that holds a table
            reading(reader, probe)

            # when a migration run here needs that table's lock
            def migration() -> None:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(f"LOCK TABLE {probe} IN ACCESS EXCLUSIVE MODE")

            with pytest.raises(CommandError) as failed:
                command._lock_bounded("public", migration)
            reader.rollback()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {probe}")
    # then each new attempt was said, and the failure names the schema and the lock
    attempts = migrate_all_command.LOCK_CONFLICT_ATTEMPTS
    for attempt in range(2, attempts + 1):
        assert (
            f"public: a lock was not granted in time (or a deadlock); attempt {attempt} of"
            f" {attempts} in {0.05 * (attempt - 1):g} s" in out.getvalue()
        )
    assert str(failed.value) == (
        "Migrating public failed: canceling statement due to lock timeout. A long transaction"
        " holds a table it needs (pg_stat_activity): run migrate_all again once it is over."
    )
    # and this session waits for locks as it did before
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == ("0",)


def test_a_migration_waits_under_the_limit_and_the_session_as_before_after_it(db, settings):
    settings.CONSULATE_MIGRATE_LOCK_TIMEOUT_MS = 300
    seen: list[str] = []

    def migration() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            seen.append(cursor.fetchone()[0])

    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        (before,) = cursor.fetchone()
    assert migrate_all_command.lock_bounded(migration) == 1
    assert seen == ["300ms"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == (before,)


def test_a_schema_migrated_at_b4cabf8_loses_its_confirmation_column_and_takes_bookings(missions):
    # given a mission schema as b4cabf8's 0006 (since removed) left it: a NOT NULL column
    # without a default on the bookings and their history, and its partial index
    from appointments.services import booking_create
    from tests.appointments.conftest import build_catalogue, first_free_slot, person
    from tests.factories import UserFactory

    schema = missions[0].schema_name
    rewind([schema], processes=1, to="0005_service_purpose")  # before the 0006 that mends it
    with connection.cursor() as cursor:
        for table in ("appointments_booking", "appointments_historicalbooking"):
            cursor.execute(
                f'ALTER TABLE "{schema}".{table} ADD COLUMN confirmation_due boolean'
                " NOT NULL DEFAULT false"
            )
            cursor.execute(
                f'ALTER TABLE "{schema}".{table} ALTER COLUMN confirmation_due DROP DEFAULT'
            )
        cursor.execute(
            f'CREATE INDEX appointments_booking_due ON "{schema}".appointments_booking (id)'
            " WHERE confirmation_due"
        )
    # when the deploy migrates it
    out, err = migrate_all()
    assert err == ""
    assert "mission schemas: 1 migrated" in out
    # then the column is gone (its index with it), and a booking is made
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s"
            " AND column_name = 'confirmation_due'",
            [schema],
        )
        assert cursor.fetchone() == (0,)
    assert has_column(schema)
    with schema_context(schema):
        service = build_catalogue(counters=1, days=3)
        user = UserFactory()
        booking = booking_create(
            slot_id=first_free_slot(service).pk, service=service, persons=[person()],
            user=user, language="en", acting_user=user,
        )  # fmt: skip
        assert booking.pk is not None
