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
"""

from __future__ import annotations

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
