"""Migrate everything in order: public (HQ), the mission template, then every mission; then give
the application's role what it needs to work, and nothing more.

The template schema (TENANT_BASE_SCHEMA) is what `mission_create` clones; migrating it with
every deploy keeps new missions as cheap to create as the first.

Two database roles (docs/operations.md, "Database roles"): this command connects as the owner
(settings.DATABASE_OWNER, from DATABASE_OWNER_URL), which owns every schema, table and function;
the application (web, worker, beat: DATABASE_URL) connects as a role that owns nothing and may
only read and write rows. A role that owns a table, or a superuser, can switch its guards off
(`ALTER TABLE ... DISABLE TRIGGER`, `SET session_replication_role = replica`); the application's
role can do neither.

Mission schemas at scale (docs/operations.md, "Deploying"): after the template is migrated, one
statement compares every mission schema's applied migrations with the template's
(`missions.schemas.schemas_compare_with_template`); schemas holding exactly the template's are
skipped, so a deploy with nothing to migrate costs about the same at 300 missions as at 10.
The others are migrated by a small pool of forked processes, each connected as the owner role,
one schema at a time per process (`schemas_migrate`).

Every migration waits at most CONSULATE_MIGRATE_LOCK_TIMEOUT_MS for a lock, then gives way and
is tried again a moment later (`lock_bounded`): requests on a table queue behind a migration
that waits for it, and so wait that long at most per attempt.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, connections, transaction
from django_tenants.utils import schema_exists
from psycopg import errors, sql

from missions.models import Domain, Mission, MissionKind
from missions.schemas import (
    CLONE_FUNCTION,
    SchemaState,
    clone_functions_install,
    schemas_compare_with_template,
    template_locked,
)

# What the owner's connection takes from DATABASE_OWNER_URL; the database's name stays the
# one the application uses (tests rename it).
OWNER_CONNECTION_KEYS = ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


@contextmanager
def connected_as_owner() -> Iterator[str]:
    """Run the body on the default connection logged in as the owner role; yields its name.

    Without DATABASE_OWNER_URL the connection stays as it is (one role for everything, as in
    the test suite, whose connection is a superuser's).
    """
    owner = getattr(settings, "DATABASE_OWNER", None) or {}
    params = connection.settings_dict
    saved = {key: params[key] for key in OWNER_CONNECTION_KEYS if key in params}
    if owner:
        connection.close()
        params.update({key: owner[key] for key in OWNER_CONNECTION_KEYS if key in owner})
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            (name,) = cursor.fetchone()
        yield name
    finally:
        if owner:
            connection.close()
            for key in OWNER_CONNECTION_KEYS:
                params.pop(key, None)
            params.update(saved)


def app_role_name() -> str:
    """The role the application runs as: DATABASE_APP_ROLE, else the user of DATABASE_URL."""
    return getattr(settings, "DATABASE_APP_ROLE", "") or settings.DATABASES["default"]["USER"]


def app_role_ensure(*, app_role: str, password: str) -> None:
    """Create the application's role if it is missing and this connection may create roles
    (a superuser's, or one with CREATEROLE); otherwise it must exist already."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_role])
        if cursor.fetchone():
            return
        cursor.execute(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        (may_create,) = cursor.fetchone()
        if not may_create:
            raise CommandError(
                f"The application's database role {app_role!r} does not exist and "
                f"{connection.settings_dict['USER']!r} may not create roles: create it "
                "(docs/operations.md, 'Database roles')."
            )
        statement = sql.SQL(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
            " NOINHERIT"
        ).format(sql.Identifier(app_role))
        if password:
            statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
        try:
            # a parallel run (another test database on the same server) may create it first
            with transaction.atomic():
                cursor.execute(statement.as_string(cursor.connection))
        except DatabaseError:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_role])
            if not cursor.fetchone():
                raise


def app_role_problems(*, app_role: str, owner: str) -> list[str]:
    """What would let the application's role switch a guard off; empty when it cannot."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,"
            " pg_has_role(rolname, %s, 'MEMBER')"
            " FROM pg_roles WHERE rolname = %s",
            [owner, app_role],
        )
        superuser, createrole, createdb, replication, bypassrls, member = cursor.fetchone()
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)"
            " + (SELECT count(*) FROM pg_class WHERE relowner = r.oid)"
            " + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)"
            " + (SELECT count(*) FROM pg_database WHERE datdba = r.oid)"
            " FROM pg_roles r WHERE r.rolname = %s",
            [app_role],
        )
        (owned,) = cursor.fetchone()
    problems = [
        attribute
        for attribute, held in (
            ("SUPERUSER", superuser),
            ("CREATEROLE", createrole),
            ("CREATEDB", createdb),
            ("REPLICATION", replication),
            ("BYPASSRLS", bypassrls),
        )
        if held
    ]
    if member:
        problems.append(f"member of {owner}")
    if owned:
        problems.append(f"owns {owned} object(s) (REASSIGN OWNED BY {app_role} TO {owner})")
    return problems


# The privileges `app_role_grant` leaves the application's role, as aclexplode() names them
# ("*" marks one it may grant on): exactly these on each schema, table and sequence.
_APP_ROLE_PRIVILEGES_DIFFER = """
WITH app AS (SELECT oid FROM pg_roles WHERE rolname = %(app_role)s),
named AS (SELECT oid, nspname, nspacl FROM pg_namespace WHERE nspname = ANY(%(schemas)s))
SELECT n.nspname FROM named n
WHERE ARRAY(SELECT DISTINCT a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
            FROM aclexplode(n.nspacl) a WHERE a.grantee = (SELECT oid FROM app) ORDER BY 1)
    IS DISTINCT FROM ARRAY['USAGE']
UNION
SELECT n.nspname FROM named n JOIN pg_class c ON c.relnamespace = n.oid
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    AND ARRAY(
        SELECT DISTINCT a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
        FROM aclexplode(c.relacl) a WHERE a.grantee = (SELECT oid FROM app) ORDER BY 1
    ) IS DISTINCT FROM CASE c.relkind WHEN 'S' THEN ARRAY['SELECT', 'UPDATE', 'USAGE']
        ELSE ARRAY['DELETE', 'INSERT', 'SELECT', 'UPDATE'] END
ORDER BY 1
"""


def app_role_schemas_to_grant(*, app_role: str, schemas: list[str]) -> list[str]:
    """Those of `schemas` where the application's role holds other privileges than
    `app_role_grant` gives it (on the schema, or on any table, view or sequence in it), found
    in one catalog query. It joins the relations to the schemas named, so the catalog is read
    once: asked per schema (`EXISTS`), PostgreSQL read all of pg_class again for each schema,
    which has no index on the schema alone (11 s at 300 missions, 234,000 catalog rows,
    docs/benchmarks.md; 0.24 s joined).

    Granting is idempotent but not free: PostgreSQL rewrites the catalog row of every table
    it touches, about 0.1 s per mission schema of 300 relations, so a deploy that granted in
    every schema spent most of its time there at 300 missions. Tables that migrations add get
    their privileges from the owner's default privileges; what this finds is what was changed
    by hand, or created by another role.
    """
    with connection.cursor() as cursor:
        cursor.execute(_APP_ROLE_PRIVILEGES_DIFFER, {"app_role": app_role, "schemas": schemas})
        return [name for (name,) in cursor.fetchall()]


def app_role_grant(*, app_role: str, owner: str, template: str, schemas: list[str]) -> None:
    """Rows, not tables: SELECT/INSERT/UPDATE/DELETE on tables, USAGE/SELECT/UPDATE on
    sequences, in public and every mission schema; nothing in the template; EXECUTE on the
    function that clones a mission's schema. Idempotent; run on every deploy.

    Default privileges give the same to whatever the owner creates later: tables added by
    later migrations, and the schemas and tables of missions cloned at runtime.
    """
    app, owner_role = sql.Identifier(app_role), sql.Identifier(owner)
    statements = [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(connection.settings_dict["NAME"]), app
        ),
        sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(
            sql.Identifier(connection.settings_dict["NAME"]), app
        ),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT SELECT, INSERT, UPDATE, DELETE"
            " ON TABLES TO {}"
        ).format(owner_role, app),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}"
        ).format(owner_role, app),
        sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT USAGE ON SCHEMAS TO {}").format(
            owner_role, app
        ),
    ]
    for schema in schemas:
        name = sql.Identifier(schema)
        statements += [
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(name, app),
            sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(name, app),
            sql.SQL(
                "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {} FROM {}"
            ).format(name, app),
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
                name, app
            ),
            sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                name, app
            ),
        ]
    # The template is copied into every new mission: the application may not touch it.
    template_name = sql.Identifier(template)
    statements += [
        sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(template_name, app),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(template_name, app),
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(template_name, app),
        sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(CLONE_FUNCTION), app),
    ]
    # one transaction: requests that run meanwhile see the privileges before or after, whole
    with transaction.atomic(), connection.cursor() as cursor:
        # PostgreSQL 15 and later no longer let everyone create objects in public; older
        # servers did. Only the schema's owner can take it back.
        cursor.execute(
            "SELECT pg_has_role(nspowner, 'USAGE') FROM pg_namespace WHERE nspname = 'public'"
        )
        (owns_public,) = cursor.fetchone()
        if owns_public:
            cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        for statement in statements:
            cursor.execute(statement.as_string(cursor.connection))


# How often a migration is tried when PostgreSQL cancelled it to break a deadlock, or because
# a lock it asked for was not granted within CONSULATE_MIGRATE_LOCK_TIMEOUT_MS: its transaction
# was rolled back whole, so trying again is safe.
LOCK_CONFLICT_ATTEMPTS = 4
# seconds before the next attempt, times the attempts made: the transaction that held the lock
# (a long report, a mission's day close) has a moment to end
LOCK_CONFLICT_PAUSE = 1.0


def processes_default() -> int:
    """Processes that migrate mission schemas at once: TENANT_MULTIPROCESSING_MAX_PROCESSES
    (django-tenants' name for the same thing) if set, else the CPUs, at most 4."""
    configured = getattr(settings, "TENANT_MULTIPROCESSING_MAX_PROCESSES", None)
    return max(1, int(configured or min(4, os.cpu_count() or 1)))


@dataclass(frozen=True)
class SchemaMigrated:
    schema_name: str
    seconds: float
    attempts: int
    # the traceback when it failed; empty when it was migrated
    error: str = ""
    # the id of the process that migrated it
    process: int = field(default_factory=os.getpid)


def _lock_conflict(error: BaseException) -> bool:
    """Whether PostgreSQL cancelled the statement to break a deadlock, or for a lock timeout."""
    seen: BaseException | None = error
    for _ in range(10):  # Django wraps psycopg's error once or twice
        if seen is None:
            break
        if isinstance(seen, errors.DeadlockDetected | errors.LockNotAvailable):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def lock_bounded(
    run: Callable[[], object],
    *,
    retry: bool | None = None,
    retrying: Callable[[int, BaseException], None] | None = None,
) -> int:
    """Run migrations (`run`) on the default connection, each statement waiting at most
    CONSULATE_MIGRATE_LOCK_TIMEOUT_MS for a lock; return the attempts it took.

    A migration that alters a table asks for its ACCESS EXCLUSIVE lock, and while it waits
    behind a transaction that holds the table (a long report, a day being closed), every
    request that touches the table queues behind the migration: at a mission, the bookings.
    With the timeout the migration gives way instead, and requests wait that long at most per
    attempt. (The timeout bounds the wait for a lock, not how long a migration holds one once
    granted: a table rewritten or a large index built holds the table that long.) PostgreSQL
    rolls the migration's transaction back whole, and it is tried again after a pause,
    LOCK_CONFLICT_ATTEMPTS times in all; so is a migration cancelled to break a deadlock.
    `retrying(attempt, error)` is told before each new attempt; the last failure is raised.

    A migration that is not atomic (`atomic = False`, e.g. CREATE INDEX CONCURRENTLY) is not
    rolled back when it gives way: it must be written to run again (IF NOT EXISTS).
    `retry` defaults to whether the connection is outside a transaction: inside one the caller
    holds, a cancelled statement spoils it."""
    milliseconds = int(getattr(settings, "CONSULATE_MIGRATE_LOCK_TIMEOUT_MS", 0) or 0)
    if retry is None:
        retry = not connection.in_atomic_block
    attempt = 0
    while True:
        attempt += 1
        try:
            if milliseconds:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, false)", [f"{milliseconds}ms"]
                    )
            run()
            return attempt
        except Exception as error:
            if retry and _lock_conflict(error) and attempt < LOCK_CONFLICT_ATTEMPTS:
                connection.close()  # the next attempt starts on a session of its own
                if retrying:
                    retrying(attempt + 1, error)
                time.sleep(LOCK_CONFLICT_PAUSE * attempt)
                continue
            raise
        finally:
            # what runs next on this session waits for locks as it did before (the role's or
            # the server's setting); not on a transaction the failure spoiled
            if milliseconds and connection.connection is not None:
                with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                    cursor.execute("RESET lock_timeout")


def schema_migrate(
    schema_name: str,
    *,
    owner: str,
    verbosity: int,
    target: Sequence[str] = (),
    retry: bool = True,
) -> SchemaMigrated:
    """`migrate_schemas` for one schema on this process's default connection, which must be
    logged in as `owner` (refused otherwise: tables it created would belong to another role).
    `target` is migrate's optional (app_label, migration_name), e.g. to rewind a schema.

    Django runs each migration in a transaction of its own on PostgreSQL, so a migration that
    PostgreSQL cancels (a deadlock, a lock not granted in time: `lock_bounded`) leaves no
    trace and is tried again, from that migration on. Any other error is returned, not raised,
    so that a pool's worker hands it back whole.
    """
    started = time.perf_counter()
    attempts = 0

    def run() -> None:
        nonlocal attempts
        attempts += 1
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            (user,) = cursor.fetchone()
        if user != owner:
            raise CommandError(f"connected as {user!r}, not as the owner role {owner!r}")
        call_command(
            "migrate_schemas",
            *target,
            tenant=True,
            schema_name=schema_name,
            executor="standard",
            interactive=False,
            verbosity=verbosity,
        )

    try:
        lock_bounded(run, retry=retry)
    except Exception:
        if retry:
            connection.close()
        return SchemaMigrated(
            schema_name, time.perf_counter() - started, attempts, traceback.format_exc()
        )
    return SchemaMigrated(schema_name, time.perf_counter() - started, attempts)


# The database connections a forked worker inherited from its parent: kept referenced and
# never used nor closed, since closing one would end, on the socket they share, a session the
# parent may still use. A worker opens its own.
_INHERITED_CONNECTIONS: list[Any] = []


def _worker_started() -> None:
    """In each forked worker, before its first schema: forget the parent's connections.

    The parent closes its connection before forking, but Django's close() is a no-op on a
    connection marked closed in a transaction, and other aliases or threads may hold some;
    two processes writing on one socket corrupt both sessions.
    """
    for alias in connections:
        inherited = connections[alias]
        if inherited.connection is not None:
            _INHERITED_CONNECTIONS.append(inherited.connection)
            inherited.connection = None
        inherited.closed_in_transaction = False
        if hasattr(inherited, "search_path_set_schemas"):
            inherited.search_path_set_schemas = None


def schemas_migrate(
    schema_names: Sequence[str],
    *,
    owner: str,
    verbosity: int = 0,
    processes: int | None = None,
    target: Sequence[str] = (),
    progress: Callable[[int, SchemaMigrated], None] | None = None,
) -> list[SchemaMigrated]:
    """Migrate `schema_names`, `processes` schemas at a time, each in a forked process, each
    process one schema at a time; `progress(done, result)` after each. Stops handing out
    schemas at the first failure (those under way finish); returns what was done, the failed
    one last.

    Why this does not deadlock:
    - The parent holds no lock while its workers run: it runs in autocommit, and its connection
      is closed before forking (a child must not share its socket). Inside an atomic block (a
      transaction the children could wait on forever) it migrates in-process, one by one.
    - Each worker connects anew with the parent's settings, so as the owner role
      (`connected_as_owner` changed them before the fork); `schema_migrate` checks it.
    - A worker locks its own schema's tables; workers meet only on shared objects: public
      tables that a tenant migration references (a foreign key to accounts_user takes a SHARE
      ROW EXCLUSIVE lock on it) or reads. Workers at the same migration take those locks in the
      same order and queue; one that waits longer than CONSULATE_MIGRATE_LOCK_TIMEOUT_MS gives
      way and tries again (`lock_bounded`), so a migration that holds a public table longer
      than the attempts' waits and pauses together (about 18 s) would fail the others: deploy
      it with `--processes 1`. Workers at different migrations could take two public tables in
      opposite orders; PostgreSQL then cancels one after deadlock_timeout, and
      `schema_migrate` runs that migration again (its transaction rolled back whole). None of
      this project's tenant migrations locks a public table today.
    """
    processes = processes or processes_default()
    results: list[SchemaMigrated] = []

    def record(result: SchemaMigrated) -> None:
        results.append(result)
        if progress:
            progress(len(results), result)

    in_process = (
        processes <= 1
        or len(schema_names) <= 1
        or connection.in_atomic_block
        or "fork" not in multiprocessing.get_all_start_methods()
    )
    if in_process:
        retry = not connection.in_atomic_block
        for name in schema_names:
            record(
                schema_migrate(name, owner=owner, verbosity=verbosity, target=target, retry=retry)
            )
            if results[-1].error:
                break
        return results

    connection.close()
    # fork: the workers inherit the loaded project, its settings and the owner's credentials
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=min(processes, len(schema_names)),
        mp_context=context,
        initializer=_worker_started,
    ) as pool:
        pending: set[Future[SchemaMigrated]] = {
            pool.submit(schema_migrate, name, owner=owner, verbosity=verbosity, target=target)
            for name in schema_names
        }
        failed = False
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                if future.cancelled():
                    continue
                result = future.result()
                record(result)
                if result.error and not failed:
                    failed = True
                    for other in pending:
                        other.cancel()
    # the failure (there is at most one that stopped the run) goes last
    results.sort(key=lambda result: bool(result.error))
    return results


class Command(BaseCommand):
    help = (
        "Migrate the public schema, the mission template schema and every mission schema, as "
        "the owner role; grant the application's role its rows."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="mission schemas migrated at once, each in a process of its own (default: "
            "TENANT_MULTIPROCESSING_MAX_PROCESSES, else the CPUs, at most 4)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Our own lines at the default verbosity; every migration's line from -v 2 up.
        verbosity = max(0, options["verbosity"] - 1)
        processes = options["processes"] or processes_default()
        app_role = app_role_name()
        app_password = (
            settings.DATABASES["default"].get("PASSWORD", "")
            if app_role == settings.DATABASES["default"]["USER"]
            else ""
        )
        with connected_as_owner() as owner:
            started = time.perf_counter()
            self._migrate(verbosity, owner=owner, processes=processes)
            migrated = time.perf_counter()
            self._grant(app_role=app_role, app_password=app_password, owner=owner)
            done = time.perf_counter()
        self.stdout.write(
            f"migrate_all took {done - started:.1f} s: migrations {migrated - started:.1f} s, "
            f"grants {done - migrated:.1f} s"
        )

    def _migrate(self, verbosity: int, *, owner: str, processes: int) -> None:
        self.stdout.write("1/3 public schema (HQ)")
        # every request reads public's tables: a migration waiting for one gives way
        self._lock_bounded(
            "public",
            lambda: call_command(
                "migrate_schemas", shared=True, interactive=False, verbosity=verbosity
            ),
        )
        self._ensure_hq()

        template = settings.TENANT_BASE_SCHEMA
        self.stdout.write(f"2/3 template schema {template}")
        # no mission is cloned from a half-migrated template (missions/schemas.py: the lock
        # is held by a session of its own, which the migrations' closing and reconnecting
        # leave alone)
        with template_locked():
            if not schema_exists(template):
                with connection.cursor() as cursor:
                    cursor.execute(f'CREATE SCHEMA "{template}"')
            # a template migration adding a foreign key to a public table waits for its lock
            self._lock_bounded(
                template,
                lambda: call_command(
                    "migrate_schemas",
                    tenant=True,
                    schema_name=template,
                    interactive=False,
                    verbosity=verbosity,
                ),
            )
            clone_functions_install()
        names = list(
            Mission.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
            .order_by("schema_name")
            .values_list("schema_name", flat=True)
        )
        self.stdout.write(f"3/3 mission schemas ({len(names)})")
        states = schemas_compare_with_template(schema_names=names)
        absent = [state for state in states if not state.exists]
        behind = [state for state in states if state.exists and not state.up_to_date]
        up_to_date = len(states) - len(absent) - len(behind)
        self.stdout.write(
            f"{up_to_date} mission schema(s) up to date with {template} (skipped), "
            f"{len(behind)} to migrate"
        )
        self._list(behind)
        if behind:
            self._migrate_schemas(behind, owner=owner, verbosity=verbosity, processes=processes)
        if absent:
            self._list(absent)
            raise CommandError(
                f"{len(absent)} mission(s) have no schema: "
                f"{', '.join(state.schema_name for state in absent)}."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Migrated public and {template}; mission schemas: {len(behind)} migrated, "
                f"{up_to_date} already up to date."
            )
        )

    def _lock_bounded(self, schema_name: str, run: Callable[[], object]) -> None:
        """`lock_bounded` for a schema migrated in this process, saying each new attempt; a
        migration that never got its lock fails the command by the schema's name."""

        def retrying(attempt: int, error: BaseException) -> None:
            pause = LOCK_CONFLICT_PAUSE * (attempt - 1)
            self.stdout.write(
                f"  {schema_name}: a lock was not granted in time (or a deadlock); attempt"
                f" {attempt} of {LOCK_CONFLICT_ATTEMPTS} in {pause:g} s"
            )

        try:
            lock_bounded(run, retrying=retrying)
        except Exception as error:
            if not _lock_conflict(error):
                raise
            raise CommandError(
                f"Migrating {schema_name} failed: {str(error).strip().splitlines()[0]}. A long"
                " transaction holds a table it needs (pg_stat_activity): run migrate_all again"
                " once it is over."
            ) from error

    def _list(self, states: Sequence[SchemaState], shown: int = 10) -> None:
        for state in states[:shown]:
            self.stdout.write(f"  {state.schema_name}: {state.describe()}")
        if len(states) > shown:
            self.stdout.write(f"  ... and {len(states) - shown} more")

    def _migrate_schemas(
        self, behind: Sequence[SchemaState], *, owner: str, verbosity: int, processes: int
    ) -> None:
        count = len(behind)
        workers = 1 if count == 1 else min(processes, count)
        self.stdout.write(f"Migrating {count} mission schema(s), {workers} at a time")
        started = time.perf_counter()

        def progress(done: int, result: SchemaMigrated) -> None:
            outcome = "FAILED" if result.error else f"{result.seconds:.1f} s"
            if result.attempts > 1:  # the earlier ones gave way to a lock
                outcome += (
                    f" at attempt {result.attempts}"
                    if result.error
                    else f", {result.attempts} attempts"
                )

            self.stdout.write(f"{done}/{count} mission schemas: {result.schema_name} ({outcome})")

        results = schemas_migrate(
            [state.schema_name for state in behind],
            owner=owner,
            verbosity=verbosity,
            processes=processes,
            progress=progress,
        )
        failed = [result for result in results if result.error]
        if failed:
            for result in failed:
                self.stderr.write(f"{result.schema_name}:\n{result.error}")
            raise CommandError(
                f"Migrating {', '.join(result.schema_name for result in failed)} failed "
                f"({len(results) - len(failed)} of {count} migrated before the run stopped); "
                "run migrate_all again once it is fixed."
            )
        self.stdout.write(
            f"Migrated {count} mission schema(s) in {time.perf_counter() - started:.1f} s"
        )
        # Migrate adds what is missing; a record of a migration the code no longer has stays.
        still = [
            state
            for state in schemas_compare_with_template(schema_names=[s.schema_name for s in behind])
            if not state.up_to_date
        ]
        if still:
            self.stderr.write(
                self.style.WARNING(
                    f"{len(still)} mission schema(s) still differ from "
                    f"{settings.TENANT_BASE_SCHEMA} after migrating (a record of a migration "
                    "the code does not have: remove the record, or deploy the code that has it):"
                )
            )
            for state in still:
                self.stderr.write(self.style.WARNING(f"  {state.schema_name}: {state.describe()}"))

    def _grant(self, *, app_role: str, app_password: str, owner: str) -> None:
        if app_role == owner:
            self.stderr.write(
                self.style.WARNING(
                    f"The application connects as {owner!r}, the role that owns the schemas: "
                    "it could switch the database's guards off. Give it a role of its own "
                    "(docs/operations.md, 'Database roles')."
                )
            )
            return
        app_role_ensure(app_role=app_role, password=app_password)
        problems = app_role_problems(app_role=app_role, owner=owner)
        if problems:
            raise CommandError(
                f"The application's database role {app_role!r} must own nothing and hold no "
                f"special attribute, but: {'; '.join(problems)}. See docs/operations.md."
            )
        schemas = [
            settings.PUBLIC_SCHEMA_NAME,
            *Mission.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
            .order_by("schema_name")
            .values_list("schema_name", flat=True),
        ]
        differ = app_role_schemas_to_grant(app_role=app_role, schemas=schemas)
        # the database-wide statements, the default privileges and the template's every time
        app_role_grant(
            app_role=app_role,
            owner=owner,
            template=settings.TENANT_BASE_SCHEMA,
            schemas=differ,
        )
        self.stdout.write(
            f"Role {app_role!r} may read and write the rows of {len(schemas)} schema(s) "
            f"(granted in {len(differ)} whose privileges differed); {owner!r} owns them."
        )

    def _ensure_hq(self) -> None:
        """HQ is the tenant row of the public schema, served on the bare portal host."""
        hq, created = Mission.objects.get_or_create(
            schema_name=settings.PUBLIC_SCHEMA_NAME,
            defaults={
                "code": "hq",
                # the English column, whatever language the command runs in
                "name_en": settings.CONSULATE_HQ_NAME,
                "name": settings.CONSULATE_HQ_NAME,
                "kind": MissionKind.HEADQUARTERS,
                "host_country": settings.CONSULATE_HOME_COUNTRY,
                "city_en": settings.CONSULATE_HQ_CITY,
                "city": settings.CONSULATE_HQ_CITY,
                "timezone": settings.CONSULATE_HQ_TIMEZONE,
                "currency": settings.CONSULATE_BASE_CURRENCY,
                "languages": ["en", "tr"],
            },
        )
        _, domain_created = Domain.objects.get_or_create(
            domain=settings.PORTAL_HOST, defaults={"tenant": hq, "is_primary": True}
        )
        if created or domain_created:
            self.stdout.write(f"HQ registered at host {settings.PORTAL_HOST}")
