"""A service's field checks gathered (`FieldRefusals`): every field refused is named at once, the
first refusal's code, message and details lead, and a refusal that is not a field's goes on."""

from __future__ import annotations

import pytest

from consulate.kernel.errors import ApplicationError, CommonError, FieldRefusals
from passports.error_codes import PassportError


def _refuse(field: str | None, message: str = "wrong", **kw: object) -> None:
    raise ApplicationError(PassportError.INVALID, message, field=field, **kw)  # type: ignore[arg-type]


def test_every_refused_field_is_named_and_the_first_leads() -> None:
    refusals = FieldRefusals()
    # the checks that pass give their value, those that refuse give None
    assert refusals.check(lambda: "Yılmaz") == "Yılmaz"
    refused = refusals.check(lambda: _refuse("birth_date", "Give the date.", details={"at": 3}))
    assert refused is None
    refusals.add(ApplicationError(CommonError.INVALID, "Choose one.", field="sex"))
    refusals.add(ApplicationError(CommonError.INVALID, "Too long.", field="birth_date"))
    with pytest.raises(ApplicationError) as raised:
        refusals.raise_any()
    error = raised.value
    assert (error.code, str(error.message), error.field) == (
        PassportError.INVALID,
        "Give the date.",
        "birth_date",
    )
    assert error.errors == {"birth_date": ["Give the date.", "Too long."], "sex": ["Choose one."]}
    assert error.details == {"at": 3}
    assert isinstance(error.__cause__, ApplicationError)


def test_a_single_refusal_is_raised_as_it_was() -> None:
    refusals = FieldRefusals()
    original = ApplicationError(PassportError.INVALID, "Give the date.", field="birth_date")
    refusals.add(original)
    with pytest.raises(ApplicationError) as raised:
        refusals.raise_any()
    assert raised.value is original


def test_nothing_refused_raises_nothing() -> None:
    refusals = FieldRefusals()
    assert refusals.check(lambda: 1) == 1
    refusals.raise_any()
    assert refusals.errors == {}


def test_a_refusal_that_is_not_a_fields_goes_on_at_once() -> None:
    refusals = FieldRefusals()
    refusals.add(ApplicationError(PassportError.INVALID, "Give the date.", field="birth_date"))
    with pytest.raises(ApplicationError) as raised:
        refusals.check(lambda: _refuse(None, "Not allowed."))
    assert str(raised.value.message) == "Not allowed."
    # and what was gathered before is still there for the caller that goes on
    assert refusals.errors == {"birth_date": ["Give the date."]}
