"""factory_boy factories of the fees app, built on the real services (so a factory-made row
has its fee lines, ledger postings, history and outbox events, as a user-made one would).

Run them in a mission's schema, with HQ's reference data seeded (`seed_fee_reference`).
`acting_user` defaults to SYSTEM where the service allows it; waivers, credit notes and cash
need a person (the requester, the cashier).
"""

from __future__ import annotations

import uuid
from typing import Any

import factory
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from fees import services
from fees.demo import seed_reference
from fees.models import Assessment, CreditNote, Payment, Receipt, Waiver
from fees.money import Money
from fees.selectors import assessment_balance
from missions.selectors import current_mission
from sync.reference import reference_apply_local, reference_publish


def seed_fee_reference() -> None:
    """HQ's demo schedule, rates, rounding and exemptions (public schema), from wherever, sent
    down to every mission schema present as a mission gets it in production: HQ publishes a
    signed version, and each mission checks it against the key it trusts and applies it to its
    own copy (`sync.reference`; the fan-out task does this after a commit, which a test's
    transaction never makes). The connection's schema is back on return."""
    with schema_context("public"):
        seed_reference()
        reference_publish(acting_user=SYSTEM)
        reference_apply_local()


def new_key() -> str:
    return uuid.uuid4().hex


def _outstanding(assessment: Assessment, amount_minor: int | None) -> Money:
    if amount_minor is not None:
        return Money(amount_minor, assessment.currency)
    return assessment_balance(assessment=assessment).outstanding


class AssessmentFactory(factory.Factory):
    """`assessment_create`: a walk-in's passport application unless told otherwise."""

    class Meta:
        model = Assessment

    subject_type = "walk_in"
    subject_ref = factory.Sequence(lambda n: f"W-F{n:05d}")
    payer_name = factory.Faker("name")
    payer_language = "en"
    services = factory.LazyFunction(lambda: ["passport_application"])
    acting_user = SYSTEM

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Assessment:
        return services.assessment_create(**kwargs)


class CashPaymentFactory(factory.Factory):
    """`payment_take_cash` by `acting_user` (a cashier): the amount left to pay by default."""

    class Meta:
        model = Payment

    assessment = factory.SubFactory(AssessmentFactory)
    amount_minor: int | None = None
    idempotency_key = factory.LazyFunction(new_key)
    acting_user = None  # a cashier: cash needs a drawer

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Payment:
        assessment = kwargs.pop("assessment")
        amount = _outstanding(assessment, kwargs.pop("amount_minor"))
        return services.payment_take_cash(assessment=assessment, amount=amount, **kwargs)


class BankTransferExpectedFactory(factory.Factory):
    """`payment_bank_expect`: a pending transfer with its reference (the amount left to pay)."""

    class Meta:
        model = Payment

    assessment = factory.SubFactory(AssessmentFactory)
    amount_minor: int | None = None
    idempotency_key = factory.LazyFunction(new_key)
    acting_user = SYSTEM

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Payment:
        assessment = kwargs.pop("assessment")
        amount = _outstanding(assessment, kwargs.pop("amount_minor"))
        return services.payment_bank_expect(assessment=assessment, amount=amount, **kwargs)


class ReceiptFactory(factory.Factory):
    """A receipt as the bank statement makes one: a transfer expected, then matched."""

    class Meta:
        model = Receipt

    payment = factory.SubFactory(BankTransferExpectedFactory)
    acting_user = SYSTEM

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Receipt:
        expected: Payment = kwargs["payment"]
        paid, _created = services.payment_bank_match(
            reference=expected.bank_reference,
            amount=expected.amount,
            bank_transaction_id=f"BNK-{new_key()[:12]}",
            value_date=current_mission().today(),
            acting_user=kwargs["acting_user"],
        )
        return paid.receipt


class WaiverFactory(factory.Factory):
    """`waiver_request` on the assessment's first line, by `acting_user` (a staff member)."""

    class Meta:
        model = Waiver

    assessment = factory.SubFactory(AssessmentFactory)
    category_code = "humanitarian"
    reason = "Humanitarian grounds"
    acting_user = None  # the requester: a second person decides

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Waiver:
        line = kwargs.pop("assessment").lines.order_by("id").first()
        return services.waiver_request(line=line, **kwargs)


class CreditNoteFactory(factory.Factory):
    """`credit_note_request` against a receipt, by `acting_user` (a staff member)."""

    class Meta:
        model = CreditNote

    receipt = factory.SubFactory(ReceiptFactory)
    amount_minor = 100
    reason = "Charged the wrong service"
    acting_user = None  # the requester: a second person decides

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> CreditNote:
        receipt = kwargs.pop("receipt")
        amount = Money(kwargs.pop("amount_minor"), receipt.currency)
        return services.credit_note_request(receipt=receipt, amount=amount, **kwargs)
