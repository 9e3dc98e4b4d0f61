"""Error codes of HQ's fee reference data ("fees.reference.<code>")."""

import enum


class FeeReferenceError(enum.Enum):
    INVALID_CURRENCY = "fees.reference.invalid_currency"
    INVALID_RATE = "fees.reference.invalid_rate"
    INVALID_AMOUNT = "fees.reference.invalid_amount"
    INVALID_DATE = "fees.reference.invalid_date"
    INVALID_ROUNDING = "fees.reference.invalid_rounding"
    INVALID_CATEGORY = "fees.reference.invalid_category"
