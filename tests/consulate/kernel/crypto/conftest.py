from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection

from tests.crypto_app.models import Dossier

PASSPORT = "U98765432"
BIRTH_DATE = datetime.date(1984, 2, 29)
BIRTH_PLACE = "Königsberg"


@pytest.fixture(autouse=True)
def _fresh_key_cache(fresh_key_cache: None) -> None:
    """Keys cached by one test must not hide a bug in the next (tests/conftest.py)."""


def dossier_create(**fields: Any) -> Dossier:
    values = {
        "full_name": "Ayşe Yılmaz",
        "passport_number": PASSPORT,
        "date_of_birth": BIRTH_DATE,
        "place_of_birth": BIRTH_PLACE,
        **fields,
    }
    return Dossier.objects.create(**values)


def raw_row(table: str, pk_column: str, pk: int) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table}" WHERE "{pk_column}" = %s', [pk])
        names = [column.name for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def raw_set(table: str, column: str, value: bytes, pk: int, pk_column: str = "id") -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" SET "{column}" = %s WHERE "{pk_column}" = %s', [value, pk]
        )
