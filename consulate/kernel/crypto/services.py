"""Writes to the key store, key rotation and re-encryption."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import BinaryField, F, Func, Max, Model, Q
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from consulate.kernel.history import set_acting_user

from .envelope import EncryptionError, active_key_id, clear_key_cache
from .keys import wrap
from .models import DataKey
from .selectors import encrypted_models


def data_key_create(*, schema_name: str, acting_user: Any) -> DataKey:
    """Create a new data key for a schema and make it the active one, with history rows (the
    new key, the retired one) by `acting_user` (a user or SYSTEM).

    Older keys stay (inactive) so that existing ciphertexts still decrypt until re-encrypted.
    """
    with transaction.atomic():
        keys = DataKey.objects.select_for_update().filter(schema_name=schema_name)
        next_id = (keys.aggregate(last=Max("key_id"))["last"] or 0) + 1
        for retired in keys.filter(is_active=True):
            retired.is_active, retired.retired_at = False, timezone.now()
            set_acting_user(retired, acting_user)
            retired.save(update_fields=["is_active", "retired_at", "updated_at"])
        key = DataKey(
            schema_name=schema_name,
            key_id=next_id,
            wrapped_key=wrap(secrets.token_bytes(32), schema_name=schema_name, key_id=next_id),
            is_active=True,
        )
        set_acting_user(key, acting_user)
        key.save(force_insert=True)
        return key


def data_key_rotate(*, schema_name: str, acting_user: Any) -> DataKey:
    """Make a new data key the mission's active one; every older key stays for reading.

    New writes use the new key at once in this process, and within `envelope.ACTIVE_KEY_TTL`
    seconds in others. Existing rows move over with `mission_reencrypt`. The permission check
    and the outbox event are the caller's: `missions.services.mission_data_key_rotate`. The
    public schema's key (accounts) is not rotated here: `mission_reencrypt` walks mission
    tables only.
    """
    if schema_name == settings.PUBLIC_SCHEMA_NAME or not schema_exists(schema_name):
        raise EncryptionError(f"{schema_name!r} is not a mission schema")
    with transaction.atomic():
        key = data_key_create(schema_name=schema_name, acting_user=acting_user)
        # Drop now so this transaction encrypts with the new key, and again once committed in
        # case another thread cached the old active id meanwhile.
        clear_key_cache(schema_name)
        transaction.on_commit(lambda: clear_key_cache(schema_name))
    return key


@dataclass(frozen=True)
class ReencryptProgress:
    table: str
    rows_done: int  # re-encrypted so far in this table
    rows_pending: int  # under older keys when the walk reached this table


@dataclass(frozen=True)
class ReencryptResult:
    key_id: int
    rows_reencrypted: int
    rows_total: int  # rows in every table that has encrypted fields
    tables: int


def _stale_rows(model: type[Model], fields: list[Any], target_key_id: int) -> Any:
    """Rows with any encrypted column written under a key older than `target_key_id`.

    Compares the blob's 4-byte big-endian key id in SQL (bytea compares bytewise, so big-endian
    order is numeric order). Only older ids count, so a rotation during the walk cannot make it
    chase its own writes.
    """
    target = target_key_id.to_bytes(4, "big")
    aliases = {
        f"_key_id_{field.attname}": Func(
            F(field.attname),
            template="substring(%(expressions)s from 2 for 4)",
            output_field=BinaryField(),
        )
        for field in fields
    }
    stale = Q()
    for alias in aliases:
        stale |= Q(**{f"{alias}__lt": target})
    return model._base_manager.alias(**aliases).filter(stale)


def mission_reencrypt(
    *,
    schema_name: str,
    batch_size: int = 500,
    progress: Callable[[ReencryptProgress], None] | None = None,
) -> ReencryptResult:
    """Re-encrypt, under the active key, every row of the mission still under an older key.

    Walks every model of the tenant apps that has encrypted fields (Historical* models too), in
    batches of `batch_size` rows, each in its own short transaction holding row locks, so the
    mission keeps working. Writes with `bulk_update`: no history rows, no signals, since the
    data does not change. Safe to run again; a second run finds nothing, or only rows written by
    processes that had not yet seen the new key.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    clear_key_cache(schema_name)  # the target must be the key in the database, not a cached one
    reencrypted = total = tables = 0
    with schema_context(schema_name):
        target = active_key_id(schema_name)
        for model, fields in encrypted_models():
            tables += 1
            table = model._meta.db_table
            total += model._base_manager.count()
            stale = _stale_rows(model, fields, target)
            pending = stale.count()
            done = 0
            if not pending and progress:
                progress(ReencryptProgress(table=table, rows_done=0, rows_pending=0))
            while True:
                with transaction.atomic():
                    if active_key_id(schema_name) < target:
                        clear_key_cache(schema_name)
                    rows = list(stale.select_for_update(of=("self",)).order_by("pk")[:batch_size])
                    if not rows:
                        break
                    model._base_manager.bulk_update(rows, [field.name for field in fields])
                done += len(rows)
                if progress:
                    progress(ReencryptProgress(table=table, rows_done=done, rows_pending=pending))
            reencrypted += done
    return ReencryptResult(
        key_id=target, rows_reencrypted=reencrypted, rows_total=total, tables=tables
    )
