import enum


class ReferenceError(enum.Enum):
    INVALID_CURRENCY = "invalid_currency"
    INVALID_RATE = "invalid_rate"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_DATE = "invalid_date"
    OVERLAPS = "overlaps"
