"""Fixtures of HQ's passport work, shared by the personalisation tests."""

from __future__ import annotations

import pytest
from django.db import connection

from consulate.kernel.accounts.models import User
from passports.register import services as register_services
from passports.register.models import NumberBlock
from tests.factories import UserFactory


@pytest.fixture
def hq_admin(db) -> User:  # type: ignore[no-untyped-def]
    return UserFactory(hq_role="admin")


@pytest.fixture
def block(hq_admin: User) -> NumberBlock:
    """Passport numbers U00000100 to U00000105."""
    connection.set_schema_to_public()
    return register_services.number_block_add(
        document_type="P", prefix="U", digits=8, first=100, last=105, acting_user=hq_admin
    )
