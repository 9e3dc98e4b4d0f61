"""Writes to the key store."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .keys import wrap
from .models import DataKey


def data_key_create(*, schema_name: str) -> DataKey:
    """Create a new data key for a mission schema and make it the active one.

    Older keys stay (inactive) so that existing ciphertexts still decrypt until re-encrypted.
    """
    with transaction.atomic():
        keys = DataKey.objects.select_for_update().filter(schema_name=schema_name)
        next_id = (keys.aggregate(last=Max("key_id"))["last"] or 0) + 1
        keys.filter(is_active=True).update(is_active=False, retired_at=timezone.now())
        return DataKey.objects.create(
            schema_name=schema_name,
            key_id=next_id,
            wrapped_key=wrap(secrets.token_bytes(32), schema_name=schema_name, key_id=next_id),
            is_active=True,
        )
