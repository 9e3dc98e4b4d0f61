"""Passport applications at each point of their workflow, made through the real services (the
citizen's, the cashier's, the officer's), in the current mission schema."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone
from stdnum.tr import tckimlik

from consulate.kernel.accounts.models import User
from fees.models import Assessment
from missions.models import Mission
from passports import services
from passports.models import Application
from tests.conftest import make_staff
from tests.factories import UserFactory
from tests.fees.conftest import pay_cash
from tests.fees.factories import seed_fee_reference
from tests.passports.photos import photo_bytes

# A complete draft of an adult's renewal; a test changes what it is about.
VALUES: dict[str, Any] = {
    "surname": "Yılmaz",
    "given_names": "Ayşe Gül",
    "birth_date": "1988-04-12",
    "birth_place": "İzmir",
    "sex": "F",
    "height_cm": "168",
    "address": "Friedrichstraße 12\n10117 Berlin",
    "phone": "+49 30 1234567",
    "previous_document": "U12345678",
}


def national_id() -> str:
    """A T.C. Kimlik No. with its check digits (CONSULATE_ISSUING_STATE is TUR in the tests)."""
    first_nine = str(1 + uuid.uuid4().int % 899_999_999).rjust(9, "1")
    return first_nine + tckimlik.calc_check_digits(first_nine)


def application_draft(
    *, citizen: User | None = None, kind: str = "renewal", photo: bool = True, **values: Any
) -> Application:
    citizen = citizen or UserFactory()
    application = services.application_start(kind=kind, acting_user=citizen, language="en")
    filled = {**VALUES, "national_id": national_id(), **values}
    if kind in ("lost", "stolen"):
        filled.setdefault("previous_document", f"L{uuid.uuid4().hex[:7].upper()}")
    saved = services.application_draft_save(
        application=application, values=filled, acting_user=citizen
    )
    assert not saved.errors, saved.errors
    if photo:
        result = services.application_photo_add(
            application=application, data=photo_bytes(), acting_user=citizen
        )
        assert result.accepted, result.problems
    return application


def application_submitted(**kwargs: Any) -> Application:
    seed_fee_reference()
    application = application_draft(**kwargs)
    citizen = User.objects.get(pk=application.user_id)
    return services.application_submit(application=application, acting_user=citizen)


def application_paid(mission: Mission, **kwargs: Any) -> Application:
    application = application_submitted(**kwargs)
    pay_cash(Assessment.objects.get(pk=application.assessment_id), make_staff(mission, "cashier"))
    return application


def application_biometrics_taken(mission: Mission, **kwargs: Any) -> Application:
    application = application_paid(mission, **kwargs)
    return services.application_biometrics_take(
        application=application, identity_confirmed=True, acting_user=make_staff(mission, "officer")
    )


def application_recommended(
    mission: Mission, *, officer: User | None = None, **kwargs: Any
) -> Application:
    application = application_biometrics_taken(mission, **kwargs)
    return services.application_recommend(
        application=application,
        recommendation="issue",
        reason="",
        acting_user=officer or make_staff(mission, "officer"),
    )


def birth_years_ago(years: int) -> str:
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=min(today.day, 28)).isoformat()
