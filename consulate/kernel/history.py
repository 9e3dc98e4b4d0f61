"""History records (django-simple-history) configured for this project.

Users live in the public schema while most history tables live in mission schemas, so the
acting user is stored as a plain id rather than a foreign key across schemas.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import models
from simple_history.manager import HistoryManager as SimpleHistoryManager
from simple_history.models import HistoricalRecords


def _get_user(historical_instance: Any, **kwargs: Any) -> Any:
    from django.contrib.auth import get_user_model

    user_id = historical_instance.history_user_id
    if user_id is None:
        return None
    return get_user_model().objects.filter(pk=user_id).first()


def _set_user(historical_instance: Any, user: Any) -> None:
    historical_instance.history_user_id = user.pk if user is not None else None


class HistoryManager(SimpleHistoryManager):
    """simple-history's manager, built once per queryset class.

    `instance.history` (which simple-history reads for every history row it writes) calls
    `from_queryset` each time, and each call builds a new manager class by walking the
    queryset's members (`inspect.getmembers`): about 1 ms of CPU per saved row. The class it
    builds depends on nothing but its arguments, so it is kept."""

    @classmethod
    @functools.cache
    def from_queryset(cls, queryset_class: Any, class_name: str | None = None) -> Any:
        return super().from_queryset(queryset_class, class_name)


def history_records(**kwargs: Any) -> HistoricalRecords:
    """HistoricalRecords that record the acting user by id; pass `excluded_fields` etc. through."""
    return HistoricalRecords(
        history_manager=HistoryManager,
        history_user_id_field=models.BigIntegerField(null=True, blank=True, db_index=True),
        history_user_getter=_get_user,
        history_user_setter=_set_user,
        **kwargs,
    )


def set_acting_user(instance: models.Model, acting_user: Any) -> None:
    """Tell simple-history who makes the next save of `instance` (services call this)."""
    instance._history_user = acting_user  # type: ignore[attr-defined]


def history_latest_by(record: models.Model, *, acting_user: Any, **values: Any) -> bool:
    """Whether `record`'s latest history row is `acting_user`'s own change and holds `values`
    (`status="approved"`), read afresh: what a staff step sent twice finds (a double click, a
    second tap on a slow connection), the first request having recorded it. Another person's
    change since, or a step the record never took, is not. One query."""
    latest = record.history.values("history_user_id", *values).first()  # type: ignore[attr-defined]
    return (
        latest is not None
        and latest["history_user_id"] == getattr(acting_user, "pk", None)
        and all(latest[name] == value for name, value in values.items())
    )


# History is the audit trail: rows are added, never changed or removed, whatever SQL the
# application's role sends. The one change it may make is a re-encryption under a newer data
# key (`mission_reencrypt`), which rewrites ciphertext (bytea) columns and nothing else. The
# tables' owner, which runs the migrations and nothing else, may rewrite history in a data
# migration (encrypting a column that was clear, splitting a column per language).
HISTORY_GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION history_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    IF pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE')
    THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT string_agg(n.key, ', ') INTO changed
        FROM jsonb_each(to_jsonb(NEW)) AS n
        WHERE n.value IS DISTINCT FROM to_jsonb(OLD) -> n.key
          AND NOT EXISTS (
              SELECT 1 FROM pg_attribute a
              WHERE a.attrelid = TG_RELID AND a.attname = n.key
                AND a.atttypid = 'bytea'::regtype
          );
        IF changed IS NULL THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'history is append-only: % of %.% cannot change',
            changed, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
    END IF;
    RAISE EXCEPTION 'history is append-only: % on %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END;
$$;
"""

HISTORY_GUARD_TRIGGERS = """
CREATE OR REPLACE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION history_append_only();
CREATE OR REPLACE TRIGGER history_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION history_append_only();
"""


def history_guards_install(**kwargs: Any) -> None:
    """post_migrate, in every schema `migrate_all` migrates (public, the template, each
    mission; missions cloned later copy the triggers): guard every history table that exists
    in this schema. Idempotent."""
    from django.apps import apps
    from django.db import connection

    tables = [
        model._meta.db_table
        for model in apps.get_models()
        if model.__name__.startswith("Historical") and hasattr(model, "instance_type")
    ]
    with connection.cursor() as cursor:
        present = []
        for table in tables:
            # in this schema only (public is on every mission's search path too)
            cursor.execute(
                "SELECT to_regclass(format('%%I.%%I', current_schema(), %s)) IS NOT NULL",
                [table],
            )
            if cursor.fetchone()[0]:
                present.append(table)
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE c.relnamespace = current_schema()::regnamespace"
            " AND t.tgname = 'history_append_only'"
        )
        guarded = {name for (name,) in cursor.fetchall()}
        # a mission cloned from the template has them already (and its migrations are only
        # recorded, by the application's role, which may not create functions)
        missing = [table for table in present if table not in guarded]
        if not missing:
            return
        cursor.execute("SELECT current_schema()")
        (current,) = cursor.fetchone()
        cursor.execute(HISTORY_GUARD_FUNCTION)
        for table in missing:
            name = f"{connection.ops.quote_name(current)}.{connection.ops.quote_name(table)}"
            cursor.execute(HISTORY_GUARD_TRIGGERS.format(table=name))
