import enum


class FeeError(enum.Enum):
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    INVALID_AMOUNT = "invalid_amount"
    WRONG_CURRENCY = "wrong_currency"
    NO_FEE = "no_fee"
    NO_RATE = "no_rate"
    ASSESSMENT_NOT_OPEN = "assessment_not_open"
    OVERPAYMENT = "overpayment"
    IDEMPOTENCY_MISMATCH = "idempotency_mismatch"
    DAY_CLOSED = "day_closed"
    FOUR_EYES = "four_eyes"
    ALREADY_DECIDED = "already_decided"
    REASON_REQUIRED = "reason_required"
    EXEMPTION_RULE = "exemption_rule"
    NOTHING_TO_REFUND = "nothing_to_refund"
    BAD_SIGNATURE = "bad_signature"
    BAD_EVENT = "bad_event"
    BANK_MISMATCH = "bank_mismatch"
    BANK_TRANSACTION_REQUIRED = "bank_transaction_required"
    VALUE_DATE_IN_FUTURE = "value_date_in_future"
