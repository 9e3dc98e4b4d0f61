"""History records (django-simple-history) configured for this project.

Users live in the public schema while most history tables live in mission schemas, so the
acting user is stored as a plain id rather than a foreign key across schemas.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from simple_history.models import HistoricalRecords


def _get_user(historical_instance: Any, **kwargs: Any) -> Any:
    from django.contrib.auth import get_user_model

    user_id = historical_instance.history_user_id
    if user_id is None:
        return None
    return get_user_model().objects.filter(pk=user_id).first()


def _set_user(historical_instance: Any, user: Any) -> None:
    historical_instance.history_user_id = user.pk if user is not None else None


def history_records(**kwargs: Any) -> HistoricalRecords:
    """HistoricalRecords that record the acting user by id; pass `excluded_fields` etc. through."""
    return HistoricalRecords(
        history_user_id_field=models.BigIntegerField(null=True, blank=True, db_index=True),
        history_user_getter=_get_user,
        history_user_setter=_set_user,
        **kwargs,
    )


def set_acting_user(instance: models.Model, acting_user: Any) -> None:
    """Tell simple-history who makes the next save of `instance` (services call this)."""
    instance._history_user = acting_user  # type: ignore[attr-defined]
