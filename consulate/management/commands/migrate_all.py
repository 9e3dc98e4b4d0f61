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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_exists
from psycopg import sql

from missions.models import Domain, Mission, MissionKind
from missions.schemas import CLONE_FUNCTION, clone_functions_install

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


class Command(BaseCommand):
    help = (
        "Migrate the public schema, the mission template schema and every mission schema, as "
        "the owner role; grant the application's role its rows."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Our own lines at the default verbosity; every migration's line from -v 2 up.
        verbosity = max(0, options["verbosity"] - 1)
        app_role = app_role_name()
        app_password = (
            settings.DATABASES["default"].get("PASSWORD", "")
            if app_role == settings.DATABASES["default"]["USER"]
            else ""
        )
        with connected_as_owner() as owner:
            self._migrate(verbosity)
            self._grant(app_role=app_role, app_password=app_password, owner=owner)

    def _migrate(self, verbosity: int) -> None:
        self.stdout.write("1/3 public schema (HQ)")
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        self._ensure_hq()

        template = settings.TENANT_BASE_SCHEMA
        self.stdout.write(f"2/3 template schema {template}")
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{template}"')
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=template,
            interactive=False,
            verbosity=verbosity,
        )

        clone_functions_install()
        count = Mission.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).count()
        self.stdout.write(f"3/3 mission schemas ({count})")
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
        self.stdout.write(
            self.style.SUCCESS(f"Migrated public, {template} and {count} mission(s).")
        )

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
        app_role_grant(
            app_role=app_role,
            owner=owner,
            template=settings.TENANT_BASE_SCHEMA,
            schemas=schemas,
        )
        self.stdout.write(
            f"Role {app_role!r} may read and write the rows of {len(schemas)} schema(s); "
            f"{owner!r} owns them."
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
