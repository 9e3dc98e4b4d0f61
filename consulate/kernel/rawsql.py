"""A fixed statement's row as a model instance, without `RawQuerySet`'s per-row cost.

`Model.objects.raw(sql, params)` matches every column against every field again for each row
(`RawQuerySet.columns` is not cached): on the hot reads (the signed-in user on every request,
the booking's service and slot) it cost as much CPU as the round trip. `raw_one` gives the
same instance: the columns that are the model's fields (their converters applied, so encrypted
fields decrypt), the other columns as attributes."""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from django.db import connection
from django.db.models import DEFERRED, Model

M = TypeVar("M", bound=Model)


@functools.cache
def _fields_by_column(model: type[Model]) -> dict[str, tuple[str, list[Any]]]:
    return {
        str(field.column): (field.attname, field.get_db_converters(connection))
        for field in model._meta.concrete_fields
    }


def raw_one(model: type[M], sql: str, params: Any) -> M | None:
    """The first row of a fixed statement as `Model.objects.raw(sql, params)` gives it: an
    instance of `model` from the columns that are its fields (their converters applied), with
    the other columns as attributes."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        names = [column.name for column in cursor.description or ()]
    if row is None:
        return None
    fields = _fields_by_column(model)
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, value in zip(names, row, strict=True):
        if name not in fields:
            extra[name] = value
            continue
        attname, converters = fields[name]
        for converter in converters:
            value = converter(value, None, connection)
        values[attname] = value
    instance = model.from_db(
        connection.alias,
        list(values),
        [values.get(field.attname, DEFERRED) for field in model._meta.concrete_fields],
    )
    for name, value in extra.items():
        setattr(instance, name, value)
    return instance
