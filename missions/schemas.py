"""Creating a mission's schema by cloning the template schema.

django-tenants' own path (TenantMixin.save with auto_create_schema) re-installs its 4,500-line
clone functions on every call and copies privileges (ACLs) through information_schema views
that scan every schema in the database, so creation got slower as missions were added
(docs/benchmarks.md). Here the functions are installed once per deploy (`migrate_all`) and the
clone skips ACLs: the owner role's default privileges give the application's role its rows.

The application's database role owns nothing and may not create a schema (docs/operations.md,
"Database roles"), yet HQ creates missions at runtime. It does so through one function,
`public.mission_schema_clone(name)`, which runs as its owner (SECURITY DEFINER), the owner
role: it can only copy the template to a new schema, and what it creates belongs to the owner.

`schemas_compare_with_template` tells `migrate_all` which mission schemas already hold exactly
the template's migrations, so that a deploy with nothing to migrate skips them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.clone import CloneSchema
from psycopg import sql

from consulate.kernel.tenancy import use_public_schema

CLONE_FUNCTION = "public.mission_schema_clone(text)"

# The search path is fixed, as every SECURITY DEFINER function's must be: otherwise the caller
# could put a schema of its own first and have the owner run its functions. NOOWNER: the new
# schema and its tables belong to the function's owner (the owner role), whoever calls it.
_CLONE_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION public.mission_schema_clone(dest_schema text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $body$
BEGIN
    IF dest_schema IS NULL OR dest_schema !~ '^[a-z0-9_]{{1,63}}$' OR dest_schema LIKE 'pg\\_%'
            OR dest_schema IN ('public', 'information_schema', {template}) THEN
        RAISE EXCEPTION 'not a mission schema name: %', dest_schema
            USING ERRCODE = 'invalid_schema_name';
    END IF;
    PERFORM public.clone_schema(
        {template}, dest_schema, 'DATA'::public.cloneparms, 'NOACL'::public.cloneparms,
        'NOOWNER'::public.cloneparms
    );
END
$body$;
REVOKE ALL ON FUNCTION public.mission_schema_clone(text) FROM PUBLIC;
"""


def clone_functions_install() -> None:
    """Install (or refresh) django-tenants' clone_schema SQL functions and the function the
    application calls to clone the template; run at every deploy, as the owner role."""
    CloneSchema()._create_clone_schema_function()
    statement = sql.SQL(_CLONE_FUNCTION_SQL).format(
        template=sql.Literal(settings.TENANT_BASE_SCHEMA)
    )
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(cursor.connection))


def clone_functions_installed() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure(%s) IS NOT NULL", [CLONE_FUNCTION])
        (installed,) = cursor.fetchone()
    return bool(installed)


def schema_clone_from_template(*, schema_name: str) -> None:
    """Create `schema_name` as a copy of the template, tables, triggers and data included,
    owned by the owner role whichever role the connection has.

    Runs in the caller's transaction: if anything later fails, the new schema goes too.
    """
    if not clone_functions_installed():
        clone_functions_install()  # only the owner can; the application's role needs migrate_all
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.mission_schema_clone(%s)", [schema_name])
    # The clone copied the template's django_migrations rows; this only confirms them.
    call_command(
        "migrate_schemas", tenant=True, fake=True, schema_name=schema_name, interactive=False,
        verbosity=0,
    )  # fmt: skip
    use_public_schema()


# Schemas compared per statement: a UNION ALL of thousands of branches could exceed the server's
# max_stack_depth while it parses; 500 plan in milliseconds.
COMPARE_CHUNK = 500


@dataclass(frozen=True)
class SchemaState:
    """A mission schema's applied migrations, against the template's (`app.name` strings)."""

    schema_name: str
    exists: bool
    # both django_migrations and django_content_type are there (else nothing was compared)
    comparable: bool = False
    # applied in the template, not here: `migrate` has work to do
    missing: tuple[str, ...] = ()
    # recorded here, not in the template: a migration the code no longer has, or a schema
    # migrated by newer code; `migrate` leaves such a record where it is
    unknown: tuple[str, ...] = ()
    # content types the template has and this schema lacks: post_migrate adds them
    content_types_missing: int = 0

    @property
    def up_to_date(self) -> bool:
        return (
            self.exists
            and self.comparable
            and not self.missing
            and not self.unknown
            and not self.content_types_missing
        )

    def describe(self) -> str:
        """Why the schema is not up to date, for the deploy's output."""
        if not self.exists:
            return "the schema does not exist"
        if not self.comparable:
            return "no django_migrations or django_content_type table"
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} migration(s) behind ({', '.join(self.missing)})")
        if self.unknown:
            parts.append(
                f"{len(self.unknown)} migration(s) the template does not have "
                f"({', '.join(self.unknown)})"
            )
        if self.content_types_missing:
            parts.append(f"{self.content_types_missing} content type(s) missing")
        return "; ".join(parts) or "up to date"


def schemas_compare_with_template(*, schema_names: Sequence[str]) -> list[SchemaState]:
    """Each schema's applied migrations against the template's, in `schema_names`' order.

    Two statements whatever the number of schemas (up to COMPARE_CHUNK; one more per further
    chunk): one finds which schemas exist and have the tables, one compares the sets of
    (app, name) rows of every schema's django_migrations with the template's, and finds the
    template's content types a schema lacks. A schema is up to date when both sets are equal
    and it lacks no content type: then `migrate` would apply nothing and its post_migrate
    handlers (content types, history guards: consulate/kernel/history.py) would add nothing,
    since whatever they add comes with a model, hence a migration, or is in the template's
    content types. Read as whoever runs it (the owner role, in `migrate_all`).
    """
    template = settings.TENANT_BASE_SCHEMA
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.name, n.oid IS NOT NULL,"
            " n.oid IS NOT NULL"
            " AND to_regclass(format('%%I.django_migrations', s.name)) IS NOT NULL"
            " AND to_regclass(format('%%I.django_content_type', s.name)) IS NOT NULL"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS s(name, position)"
            " LEFT JOIN pg_namespace n ON n.nspname = s.name ORDER BY s.position",
            [list(schema_names)],
        )
        found = cursor.fetchall()
        compared: dict[str, SchemaState] = {}
        comparable = [name for name, _exists, tables in found if tables]
        for start in range(0, len(comparable), COMPARE_CHUNK):
            chunk = comparable[start : start + COMPARE_CHUNK]
            cursor.execute(_compare_statement(template, chunk).as_string(cursor.connection))
            for name, missing, unknown, types_missing in cursor.fetchall():
                compared[name] = SchemaState(
                    schema_name=name,
                    exists=True,
                    comparable=True,
                    missing=tuple(missing),
                    unknown=tuple(unknown),
                    content_types_missing=types_missing,
                )
    return [
        compared.get(name) or SchemaState(schema_name=name, exists=exists)
        for name, exists, _tables in found
    ]


def _compare_statement(template: str, schema_names: Sequence[str]) -> sql.Composed:
    branch = sql.SQL(
        "SELECT {name},"
        " ARRAY(SELECT m FROM template_migrations"
        " EXCEPT SELECT app || '.' || name FROM {schema}.django_migrations ORDER BY 1),"
        " ARRAY(SELECT app || '.' || name FROM {schema}.django_migrations"
        " EXCEPT SELECT m FROM template_migrations ORDER BY 1),"
        " (SELECT count(*) FROM (SELECT t FROM template_types"
        " EXCEPT SELECT app_label || '.' || model FROM {schema}.django_content_type) AS lacking)"
    )
    head = sql.SQL(
        "WITH template_migrations AS"
        " (SELECT app || '.' || name AS m FROM {template}.django_migrations),"
        " template_types AS"
        " (SELECT app_label || '.' || model AS t FROM {template}.django_content_type) "
    ).format(template=sql.Identifier(template))
    branches = sql.SQL(" UNION ALL ").join(
        branch.format(name=sql.Literal(name), schema=sql.Identifier(name)) for name in schema_names
    )
    return head + branches
