"""The fees app's event topics (payloads and versions in docs/events.md)."""

from consulate.kernel.events import EventTopic


class FeeTopic(EventTopic):
    ASSESSMENT_CREATED = "fees.assessment.created"
    ASSESSMENT_CANCELLED = "fees.assessment.cancelled"
    WAIVER_REQUESTED = "fees.waiver.requested"
    WAIVER_APPROVED = "fees.waiver.approved"
    WAIVER_REJECTED = "fees.waiver.rejected"
    PAYMENT_CREATED = "fees.payment.created"
    PAYMENT_SUCCEEDED = "fees.payment.succeeded"
    PAYMENT_DECLINED = "fees.payment.declined"
    PAYMENT_EXPIRED = "fees.payment.expired"
    PAYMENT_CANCELLED = "fees.payment.cancelled"
    CREDIT_NOTE_REQUESTED = "fees.credit_note.requested"
    CREDIT_NOTE_APPROVED = "fees.credit_note.approved"
    CREDIT_NOTE_REJECTED = "fees.credit_note.rejected"
    LEDGER_TRANSACTION_POSTED = "fees.ledger_transaction.posted"
    DAY_CLOSE_RECORDED = "fees.day_close.recorded"
    REMITTANCE_RECORDED = "fees.remittance.recorded"
