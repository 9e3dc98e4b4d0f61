"""Creating a mission's schema by cloning the template schema.

django-tenants' own path (TenantMixin.save with auto_create_schema) re-installs its 4,500-line
clone functions on every call and copies privileges (ACLs) through information_schema views
that scan every schema in the database. Its clone_schema function, even installed once and
without ACLs, finds objects by name in views over the whole catalog: for each table it joins
pg_indexes to itself by table name, which visits that table's copy in every schema, and the
plan filters the schema last. With the template's 61 tables a clone took 2.3 s with 10
missions and 9.7 s with 150, growing faster than the number of missions; it also renamed
unique constraints and made integer identities' sequences bigint. Here one function of our
own, `public.mission_schema_clone(name)`, reads the template's definitions from the catalog by
the template's own oids and replays them in the new schema, so its cost does not depend on the
number of missions. It is installed once per deploy (`migrate_all`) and copies no ACLs: the
owner role's default privileges give the application's role its rows.

The application's database role owns nothing and may not create a schema (docs/operations.md,
"Database roles"), yet HQ creates missions at runtime. It does so through that one function,
which runs as its owner (SECURITY DEFINER), the owner role: it can only copy the template to a
new schema, and what it creates belongs to the owner.

`schemas_compare_with_template` tells `migrate_all` which mission schemas already hold exactly
the template's migrations, so that a deploy with nothing to migrate skips them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import sql

CLONE_FUNCTION = "public.mission_schema_clone(text)"

# django-tenants' clone functions, installed by earlier deploys; dropped by the next one.
_OLD_CLONE_FUNCTIONS_DROP_SQL = """
DROP FUNCTION IF EXISTS public.clone_schema(text, text, public.cloneparms[]);
DROP FUNCTION IF EXISTS public.get_insert_stmt_ddl(text, text, text, boolean, boolean);
DROP FUNCTION IF EXISTS public.pg_get_coldef(text, text, text, boolean);
DROP FUNCTION IF EXISTS public.pg_get_tabledef(
    character varying, character varying, boolean, public.tabledefs[]);
DROP TYPE IF EXISTS public.tabledefs;
DROP TYPE IF EXISTS public.cloneparms;
"""

# The clone reads the template's definitions with only the template on the search path, so
# that names of the template's own objects come out of pg_get_*def (in their "pretty" form,
# which qualifies a name only where the path needs it) unqualified and every other name
# qualified, then runs them with only the new schema on the path: what named the
# template's objects now names the new schema's, and no text is rewritten. pg_temp is named
# last on both paths, else a caller's temporary table would come first. The catalog is read
# for the template's entries only: by their oids through the catalog's indexes, after one pass
# over pg_class, pg_type and pg_proc for what is in the template's namespace (no index of
# theirs starts with it; a few milliseconds each with 300 missions). The clone's cost is that
# of creating the template's objects, the same with 10 missions as with 300.
#
# What the template may hold: tables with their columns, defaults, identities, generated
# columns, constraints, indexes, triggers and comments; sequences; functions (their bodies
# must not name the template: they find their schema as TG_TABLE_SCHEMA). Anything else
# (views, types, partitions, policies...) is refused by name rather than copied wrongly.
#
# Its search path is fixed, as every SECURITY DEFINER function's must be: otherwise the caller
# could put a schema of its own first and have the owner run its functions. What it creates
# belongs to the function's owner (the owner role), whoever calls it; no privilege is copied:
# the owner's default privileges give the application's role its rows.
_CLONE_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION public.mission_schema_clone(dest_schema text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET check_function_bodies = off SET default_tablespace = '' AS $body$
DECLARE
    template CONSTANT text := {template};
    source oid;
    tables oid[];
    sequences oid[];
    unsupported text;
    statements text[] := '{{}}';
    statement text;
    head text;
    item record;
    last_value bigint;
    called boolean;
BEGIN
    -- shared with other clones, exclusive with migrate_all's migration of the template: a
    -- clone never reads a template half migrated (tables of before, migration rows of after)
    PERFORM pg_advisory_xact_lock_shared({lock_key});
    IF dest_schema IS NULL OR dest_schema !~ '^[a-z0-9_]{{1,63}}$' OR dest_schema LIKE 'pg\\_%'
            OR dest_schema IN ('public', 'information_schema', template) THEN
        RAISE EXCEPTION 'not a mission schema name: %', dest_schema
            USING ERRCODE = 'invalid_schema_name';
    END IF;
    SELECT oid INTO source FROM pg_namespace WHERE nspname = template;
    IF source IS NULL THEN
        RAISE EXCEPTION 'no template schema %', template USING ERRCODE = 'invalid_schema_name';
    END IF;
    -- the one pass over pg_class: no index of it starts with the namespace
    SELECT coalesce(array_agg(oid ORDER BY oid) FILTER (WHERE relkind = 'r'), '{{}}'),
        coalesce(array_agg(oid ORDER BY oid) FILTER (WHERE relkind = 'S'), '{{}}'),
        string_agg(format('relation %I (relkind %s)', relname, relkind), ', ')
            FILTER (WHERE relkind NOT IN ('r', 'i', 'S'))
    INTO tables, sequences, unsupported
    FROM pg_class WHERE relnamespace = source;

    SELECT string_agg(what, ', ') INTO unsupported FROM (
        SELECT unsupported AS what WHERE unsupported IS NOT NULL
        UNION ALL
        SELECT format('table %I (%s)', relname, CASE WHEN relpersistence <> 'p'
            THEN 'not a permanent table' WHEN relispartition THEN 'a partition'
            ELSE 'row security' END)
        FROM pg_class WHERE oid = ANY(tables)
            AND (relpersistence <> 'p' OR relispartition OR relrowsecurity OR relforcerowsecurity)
        UNION ALL
        SELECT format('table %I (inherits)', inhrelid::regclass) FROM pg_inherits
        WHERE inhrelid = ANY(tables) OR inhparent = ANY(tables)
        UNION ALL
        SELECT format('policy %I', polname) FROM pg_policy WHERE polrelid = ANY(tables)
        UNION ALL
        SELECT format('rule %I', rulename) FROM pg_rewrite WHERE ev_class = ANY(tables)
        UNION ALL
        SELECT format('type %I', t.typname) FROM pg_type t
        WHERE t.typnamespace = source AND t.typrelid = 0
            AND NOT EXISTS (SELECT FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0)
        UNION ALL
        SELECT format('routine %I (prokind %s)', proname, prokind) FROM pg_proc
        WHERE pronamespace = source AND prokind <> 'f'
        UNION ALL
        SELECT format('function %I (names the template schema)', proname) FROM pg_proc
        WHERE pronamespace = source AND (position(template IN prosrc) > 0
            OR position(template IN coalesce(array_to_string(proconfig, ','), '')) > 0)
        UNION ALL
        SELECT format('statistics %I', stxname) FROM pg_statistic_ext WHERE stxnamespace = source
        UNION ALL
        SELECT format('collation %I', collname) FROM pg_collation WHERE collnamespace = source
        UNION ALL
        SELECT format('operator %s', oprname) FROM pg_operator WHERE oprnamespace = source
    ) AS found;
    IF unsupported IS NOT NULL THEN
        RAISE EXCEPTION 'the template holds what mission_schema_clone cannot copy: %',
            unsupported USING ERRCODE = 'feature_not_supported';
    END IF;

    PERFORM set_config('search_path', quote_ident(template) || ', pg_temp', true);

    -- sequences other than identity columns' (which come with their tables)
    FOR item IN
        SELECT c.relname, s.* FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid
        WHERE c.oid = ANY(sequences) AND NOT EXISTS (
            SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                AND d.objid = c.oid AND d.objsubid = 0 AND d.deptype = 'i')
        ORDER BY c.oid
    LOOP
        statements := statements || format(
            'CREATE SEQUENCE %I AS %s INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s'
            ' CACHE %s %s', item.relname, format_type(item.seqtypid, NULL), item.seqincrement,
            item.seqmin, item.seqmax, item.seqstart, item.seqcache,
            CASE WHEN item.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END);
    END LOOP;

    -- functions, before the tables whose defaults, constraints or triggers may call them;
    -- pg_get_functiondef always qualifies the function's own name: that, and only that, goes
    FOR item IN
        SELECT oid, proname FROM pg_proc WHERE pronamespace = source ORDER BY oid
    LOOP
        statement := pg_get_functiondef(item.oid);
        head := format('CREATE OR REPLACE FUNCTION %I.%I(', template, item.proname);
        IF left(statement, length(head)) <> head THEN
            RAISE EXCEPTION 'unexpected definition of function %', item.oid::regprocedure;
        END IF;
        statements := statements || (
            format('CREATE FUNCTION %I(', item.proname) || substr(statement, length(head) + 1));
    END LOOP;

    -- tables: columns with their types, collations, defaults, generated expressions,
    -- identities (their sequences named as in the template) and NOT NULL
    FOR item IN
        SELECT c.oid, c.relname, c.reloptions, (
            SELECT string_agg(
                format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod))
                || CASE WHEN a.attcollation <> t.typcollation
                    THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END
                || CASE WHEN a.attgenerated = 's' THEN format(
                        ' GENERATED ALWAYS AS (%s) STORED', pg_get_expr(d.adbin, d.adrelid, true))
                    WHEN d.adbin IS NOT NULL
                        THEN ' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid, true)
                    ELSE '' END
                || CASE WHEN a.attidentity IN ('a', 'd') THEN (
                    SELECT format(
                        ' GENERATED %s AS IDENTITY (SEQUENCE NAME %I INCREMENT BY %s MINVALUE %s'
                        ' MAXVALUE %s START WITH %s CACHE %s %s)',
                        CASE a.attidentity WHEN 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END,
                        sc.relname, s.seqincrement, s.seqmin, s.seqmax, s.seqstart, s.seqcache,
                        CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END)
                    FROM pg_depend dep JOIN pg_class sc ON sc.oid = dep.objid
                    JOIN pg_sequence s ON s.seqrelid = sc.oid
                    WHERE dep.refclassid = 'pg_class'::regclass AND dep.refobjid = a.attrelid
                        AND dep.refobjsubid = a.attnum AND dep.classid = 'pg_class'::regclass
                        AND dep.deptype = 'i')
                    ELSE '' END
                || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                ', ' ORDER BY a.attnum)
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        ) AS columns, (
            SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
            FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                AND NOT a.attisdropped AND a.attgenerated = ''
        ) AS stored
        FROM pg_class c WHERE c.oid = ANY(tables) ORDER BY c.oid
    LOOP
        statements := statements || (
            format('CREATE TABLE %I (%s)', item.relname, coalesce(item.columns, ''))
            || coalesce(' WITH (' || array_to_string(item.reloptions, ', ') || ')', ''));
        IF item.stored IS NOT NULL THEN
            statements := statements || format(
                'INSERT INTO %I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %I.%I',
                item.relname, item.stored, item.stored, template, item.relname);
        END IF;
    END LOOP;

    -- every sequence at the template's value
    FOR item IN
        SELECT relname FROM pg_class WHERE oid = ANY(sequences) ORDER BY oid
    LOOP
        EXECUTE format('SELECT last_value, is_called FROM %I.%I', template, item.relname)
            INTO last_value, called;
        statements := statements || format(
            'SELECT pg_catalog.setval(%L, %s, %L)', quote_ident(item.relname), last_value, called);
    END LOOP;

    -- constraints, once the rows are in: keys and checks, then foreign keys
    FOR item IN
        SELECT conrelid::regclass::text AS relation, conname, pg_get_constraintdef(oid, true) AS def
        FROM pg_constraint WHERE conrelid = ANY(tables) AND contype IN ('p', 'u', 'x', 'c', 'f')
        ORDER BY contype = 'f', conrelid, oid
    LOOP
        statements := statements || format(
            'ALTER TABLE %s ADD CONSTRAINT %I %s', item.relation, item.conname, item.def);
    END LOOP;

    -- sequences owned by a column (serial), other than identities'
    FOR item IN
        SELECT c.relname, d.refobjid::regclass::text AS relation, a.attname
        FROM pg_class c JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
            AND d.objsubid = 0 AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a'
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE c.oid = ANY(sequences) ORDER BY c.oid
    LOOP
        statements := statements || format(
            'ALTER SEQUENCE %I OWNED BY %s.%I', item.relname, item.relation, item.attname);
    END LOOP;

    -- indexes that no constraint made
    FOR item IN
        SELECT pg_get_indexdef(i.indexrelid, 0, true) AS def FROM pg_index i
        WHERE i.indrelid = ANY(tables) AND NOT EXISTS (
            SELECT FROM pg_constraint k WHERE k.conrelid = i.indrelid
                AND k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
        ORDER BY i.indrelid, i.indexrelid
    LOOP
        statements := statements || item.def;
    END LOOP;

    -- triggers (constraint triggers included), as enabled as in the template
    FOR item IN
        SELECT pg_get_triggerdef(oid, true) AS def, tgrelid::regclass::text AS relation, tgname,
            tgenabled FROM pg_trigger
        WHERE tgrelid = ANY(tables) AND NOT tgisinternal ORDER BY tgrelid, oid
    LOOP
        statements := statements || item.def;
        IF item.tgenabled <> 'O' THEN
            statements := statements || format('ALTER TABLE %s %s TRIGGER %I', item.relation,
                CASE item.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA'
                    ELSE 'ENABLE ALWAYS' END, item.tgname);
        END IF;
    END LOOP;

    -- comments on tables and columns
    FOR item IN
        SELECT d.objoid::regclass::text AS relation, a.attname, d.description
        FROM pg_description d LEFT JOIN pg_attribute a
            ON a.attrelid = d.objoid AND a.attnum = d.objsubid AND d.objsubid > 0
        WHERE d.classoid = 'pg_class'::regclass AND d.objoid = ANY(tables)
        ORDER BY d.objoid, d.objsubid
    LOOP
        statements := statements || CASE WHEN item.attname IS NULL
            THEN format('COMMENT ON TABLE %s IS %L', item.relation, item.description)
            ELSE format('COMMENT ON COLUMN %s.%I IS %L', item.relation, item.attname,
                item.description) END;
    END LOOP;

    EXECUTE format('CREATE SCHEMA %I', dest_schema);
    PERFORM set_config('search_path', quote_ident(dest_schema) || ', pg_temp', true);
    -- (check_function_bodies is off for this function only, as pg_dump's output has it: a
    -- function's body may name tables that come later)
    FOREACH statement IN ARRAY statements LOOP
        EXECUTE statement;
    END LOOP;
END
$body$;
REVOKE ALL ON FUNCTION public.mission_schema_clone(text) FROM PUBLIC;
"""


# pg_advisory_lock key: migrate_all holds it while it migrates the template; every clone takes
# it shared for its transaction.
TEMPLATE_LOCK_KEY = 0x0C10_E5C4


@contextlib.contextmanager
def template_locked() -> Iterator[None]:
    """Hold the template: no mission is cloned meanwhile. The lock is held by a session of its
    own (the default connection's role and database), which ends with the block: the default
    connection is closed and opened again under it (django-tenants closes it after migrating a
    schema, and a migration that gave way to a lock is tried again on a new one), and a lock of
    its session would end with it."""
    with connection.get_new_connection(connection.get_connection_params()) as session:
        session.autocommit = True
        session.execute("SELECT pg_advisory_lock(%s)", [TEMPLATE_LOCK_KEY])
        try:
            yield
        finally:
            # at once: a session's end lets its locks go a moment after the client has left
            with contextlib.suppress(psycopg.Error):
                session.execute("SELECT pg_advisory_unlock(%s)", [TEMPLATE_LOCK_KEY])


def clone_functions_install() -> None:
    """Install (or refresh) the function the application calls to clone the template, and drop
    django-tenants' clone functions that earlier deploys installed; run at every deploy, as the
    owner role."""
    statement = sql.SQL(_CLONE_FUNCTION_SQL).format(
        template=sql.Literal(settings.TENANT_BASE_SCHEMA), lock_key=sql.Literal(TEMPLATE_LOCK_KEY)
    )
    with connection.cursor() as cursor:
        cursor.execute(_OLD_CLONE_FUNCTIONS_DROP_SQL)
        cursor.execute(statement.as_string(cursor.connection))


def clone_functions_installed() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure(%s) IS NOT NULL", [CLONE_FUNCTION])
        (installed,) = cursor.fetchone()
    return bool(installed)


def schema_clone_from_template(*, schema_name: str) -> None:
    """Create `schema_name` as a copy of the template (tables, constraints, indexes, sequences
    at their values, functions, triggers and rows), owned by the owner role whichever role the
    connection has.

    Runs in the caller's transaction: if anything later fails, the new schema goes too.

    The schema's django_migrations and django_content_type rows are the template's, which
    `migrate_all` migrated at the last deploy, post_migrate's work (content types, history
    guards) included: no `migrate` runs here. (`migrate_schemas --fake` used to, for nothing
    but its cost: Django lists the tables visible on the search path four times, each a pass
    over pg_class, 7 ms with no mission and 75-110 ms with 300; and had the template been
    behind the code, it would have recorded as applied migrations it never ran, where now the
    next `migrate_all` finds the schema behind and migrates it.)
    """
    if not clone_functions_installed():
        clone_functions_install()  # only the owner can; the application's role needs migrate_all
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.mission_schema_clone(%s)", [schema_name])


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
