"""Error codes of the fees app, namespaced by app ("fees.<code>"). Not found, not allowed, bad
transition and rate limited come from `consulate.kernel.errors.CommonError`."""

import enum


class FeeError(enum.Enum):
    INVALID_AMOUNT = "fees.invalid_amount"
    WRONG_CURRENCY = "fees.wrong_currency"
    NO_FEE = "fees.no_fee"
    NO_RATE = "fees.no_rate"
    ASSESSMENT_NOT_OPEN = "fees.assessment_not_open"
    ALREADY_CHARGED = "fees.already_charged"
    OVERPAYMENT = "fees.overpayment"
    IDEMPOTENCY_KEY_REQUIRED = "fees.idempotency_key_required"
    IDEMPOTENCY_MISMATCH = "fees.idempotency_mismatch"
    DAY_CLOSED = "fees.day_closed"
    FOUR_EYES = "fees.four_eyes"
    ALREADY_DECIDED = "fees.already_decided"
    REASON_REQUIRED = "fees.reason_required"
    INVALID_REASON = "fees.invalid_reason"
    EXEMPTION_RULE = "fees.exemption_rule"
    NOTHING_TO_REFUND = "fees.nothing_to_refund"
    BAD_SIGNATURE = "fees.bad_signature"
    BAD_EVENT = "fees.bad_event"
    UNKNOWN_REFERENCE = "fees.unknown_reference"
    BANK_MISMATCH = "fees.bank_mismatch"
    BANK_TRANSACTION_REQUIRED = "fees.bank_transaction_required"
    VALUE_DATE_IN_FUTURE = "fees.value_date_in_future"
    CHECKOUT_COMPLETED = "fees.checkout_completed"
