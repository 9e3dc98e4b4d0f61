"""Fixtures for the fee tests: HQ's reference data (the demo schedule and rates), staff of
each money role at alpha (EUR, the base currency) and beta (JPY, no minor units)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.db import connection
from django_tenants.utils import schema_context

from fees.models import Assessment
from missions.models import Mission
from tests.conftest import MODEL_BACKEND, make_staff
from tests.fees.factories import AssessmentFactory, CashPaymentFactory, seed_fee_reference


@pytest.fixture
def fee_reference(db) -> None:  # type: ignore[no-untyped-def]
    """HQ's demo reference data, published and applied to every mission's copy."""
    seed_fee_reference()
    connection.set_schema_to_public()


@pytest.fixture
def cashier_a(mission_a: Mission):  # type: ignore[no-untyped-def]
    return make_staff(mission_a, "cashier")


@pytest.fixture
def consul_a(mission_a: Mission):  # type: ignore[no-untyped-def]
    return make_staff(mission_a, "consul")


@pytest.fixture
def cashier_b(mission_b: Mission):  # type: ignore[no-untyped-def]
    return make_staff(mission_b, "cashier")


@pytest.fixture
def consul_b(mission_b: Mission):  # type: ignore[no-untyped-def]
    return make_staff(mission_b, "consul")


@pytest.fixture
def in_mission_b(mission_b: Mission) -> Iterator[Mission]:
    with schema_context(mission_b.schema_name):
        yield mission_b


def key() -> str:
    return uuid.uuid4().hex


def assess(user, services=("passport_application",), **kwargs) -> Assessment:  # type: ignore[no-untyped-def]
    """An assessment made by `user` (a Turkish-speaking payer unless told otherwise)."""
    kwargs.setdefault("payer_name", "Ayşe Yılmaz")
    kwargs.setdefault("payer_language", "tr")
    return AssessmentFactory(acting_user=user, services=list(services), **kwargs)


def pay_cash(assessment: Assessment, user, amount_minor: int | None = None):  # type: ignore[no-untyped-def]
    """Cash taken by `user` (a cashier): what is left to pay, or `amount_minor`."""
    return CashPaymentFactory(assessment=assessment, acting_user=user, amount_minor=amount_minor)


def login(client, user) -> None:  # type: ignore[no-untyped-def]
    if not user.authenticator_set.filter(type="totp").exists():
        TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    client.force_login(user, backend=MODEL_BACKEND)


def at_place(request, place: str, role: str = "cashier"):  # type: ignore[no-untyped-def]
    """(mission, staff member of `role`, client) at Tokyo (beta, JPY, east of UTC) or New York
    (alpha made USD in America/New_York, west of UTC), for tests that look at both."""
    suffix = "b" if place == "tokyo" else "a"
    mission, staff, client = (
        request.getfixturevalue(f"{name}_{suffix}") for name in ("mission", role, "client")
    )
    if place == "new_york":
        Mission.objects.filter(pk=mission.pk).update(currency="USD", timezone="America/New_York")
    return mission, staff, client
