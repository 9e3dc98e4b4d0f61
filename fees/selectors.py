"""Reads of a mission's money: balances, lists, reports, the remittance statement."""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.reference import day_written_short
from missions.permissions import Action, permission_require
from missions.selectors import current_mission

from .error_codes import FeeError
from .models import (
    Account,
    AccountKind,
    ApprovalStatus,
    Assessment,
    AssessmentStatus,
    CreditNote,
    DayClose,
    DrawerCount,
    FeeLine,
    LedgerEntry,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Receipt,
    Remittance,
    SubjectType,
    Waiver,
)
from .money import LocalAndBaseAmounts, Money, convert
from .reference.models import (
    ExchangeRate,
    FeeScheduleEntry,
    RoundingRule,
    ServiceCode,
    base_currency,
)
from .reference.selectors import (
    exchange_rate_in_force,
    exemption_category_names,
    fee_schedule_entry_in_force,
    fee_schedule_list_in_force,
    rounding_rule_for,
)


def _not_negative(amount: Money) -> Money:
    return amount if amount.amount_minor > 0 else Money.zero(amount.currency)


@dataclasses.dataclass(frozen=True)
class Balance:
    due: Money  # fee lines less approved waivers
    paid: Money  # successful payments
    reserved: Money  # card or bank payments started and not finished
    refunded: Money  # approved credit notes (a correction of the fee: not owed again)
    reserved_card: Money  # the part of `reserved` that card checkouts hold

    @property
    def left_to_pay(self) -> Money:
        """What the payer still owes: due less paid (a payment in progress is not paid)."""
        return _not_negative(self.due - self.paid)

    @property
    def outstanding(self) -> Money:
        """What a new payment may take now: left to pay less what payments in progress hold."""
        return _not_negative(self.due - self.paid - self.reserved)

    @property
    def card_payable(self) -> Money:
        """What a new card checkout takes: a checkout in progress gives way to it (the payer
        starts again; `payment_card_start` cancels the earlier one at the provider), a
        transfer expected does not."""
        return _not_negative(self.due - self.paid - (self.reserved - self.reserved_card))


def _fee_line(
    *,
    entry: FeeScheduleEntry,
    currency: str,
    today: dt.date,
    rate: ExchangeRate | None,
    rule: RoundingRule | None,
) -> FeeLine:
    """The schedule entry's fee in `currency` at `rate`, rounded by `rule` (unsaved)."""
    base = Money(entry.amount_minor, entry.currency)
    if currency == base.currency:
        rate_value, rate_date, local = Decimal(1), today, base
    else:
        if rate is None:
            raise ApplicationError(
                FeeError.NO_RATE,
                _("HQ has set no exchange rate for %(currency)s yet.") % {"currency": currency},
            )
        rate_value, rate_date = rate.rate, rate.effective_date
        local = convert(
            base,
            to_currency=currency,
            rate=rate.rate,
            increment_minor=rule.increment_minor if rule else 1,
            mode=rule.mode if rule else "half_up",
        )
    return FeeLine(
        service=entry.service,
        schedule_entry_id=entry.pk,
        base_amount_minor=base.amount_minor,
        base_currency=base.currency,
        rate=rate_value,
        rate_date=rate_date,
        amount_minor=local.amount_minor,
        currency=local.currency,
    )


def _rate_and_rule(
    currency: str, today: dt.date
) -> tuple[ExchangeRate | None, RoundingRule | None]:
    if currency == base_currency():
        return None, None
    return exchange_rate_in_force(currency=currency, on=today), rounding_rule_for(currency=currency)


def fee_quote(*, service: str, visa_category: str = "", nationality: str = "") -> FeeLine:
    """An unsaved fee line for `service` today at this mission: schedule fee → local currency at
    today's rate, rounded by the currency's rule. Raises when the schedule or the rate is
    missing. A read: it writes nothing and anyone who may see fees may ask."""
    mission = current_mission()
    today = mission.today()
    entry = fee_schedule_entry_in_force(
        service=service, on=today, visa_category=visa_category, nationality=nationality
    )
    if entry is None:
        raise ApplicationError(
            FeeError.NO_FEE,
            _("There is no fee in force for %(service)s.")
            % {"service": ServiceCode(service).label if service in ServiceCode else service},
        )
    rate, rule = _rate_and_rule(mission.currency, today)
    return _fee_line(entry=entry, currency=mission.currency, today=today, rate=rate, rule=rule)


def fee_quote_list_today() -> list[FeeLine]:
    """Today's general fee of every service the schedule has, in the mission's currency (for
    the counter): three queries whatever the number of services; none without a rate."""
    mission = current_mission()
    today = mission.today()
    rate, rule = _rate_and_rule(mission.currency, today)
    quotes = []
    for entry in fee_schedule_list_in_force(on=today):
        try:
            quotes.append(
                _fee_line(entry=entry, currency=mission.currency, today=today, rate=rate, rule=rule)
            )
        except ApplicationError:
            continue
    return quotes


def assessment_balance(*, assessment: Assessment) -> Balance:
    currency = assessment.currency
    lines = FeeLine.objects.filter(assessment=assessment).aggregate(t=Sum("amount_minor"))["t"]
    waived = Waiver.objects.filter(
        line__assessment=assessment, status=ApprovalStatus.APPROVED
    ).aggregate(t=Sum("amount_minor"))["t"]
    payments = Payment.objects.filter(assessment=assessment).aggregate(
        paid=Sum("amount_minor", filter=Q(status=PaymentStatus.SUCCEEDED)),
        reserved=Sum(
            "amount_minor",
            filter=Q(
                status=PaymentStatus.PENDING,
                method__in=[PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER],
            ),
        ),
        reserved_card=Sum(
            "amount_minor", filter=Q(status=PaymentStatus.PENDING, method=PaymentMethod.CARD)
        ),
    )
    refunded = CreditNote.objects.filter(
        receipt__payment__assessment=assessment, status=ApprovalStatus.APPROVED
    ).aggregate(t=Sum("amount_minor"))["t"]
    return Balance(
        due=Money((lines or 0) - (waived or 0), currency),
        paid=Money(payments["paid"] or 0, currency),
        reserved=Money(payments["reserved"] or 0, currency),
        refunded=Money(refunded or 0, currency),
        reserved_card=Money(payments["reserved_card"] or 0, currency),
    )


def assessment_get(*, pk: int) -> Assessment:
    assessment = Assessment.objects.filter(pk=pk).first()
    if assessment is None:
        raise Http404
    return assessment


def assessment_get_for_staff(*, pk: int, acting_user: Any) -> Assessment:
    """The assessment, for someone who may see this mission's fees: fetched and checked in one
    call, and "not found" alike for a missing one and for someone with no role here."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.FEES_VIEW)
    assessment = Assessment.objects.filter(pk=pk).first()
    if assessment is None:
        raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))
    return assessment


def assessment_get_by_token(*, token: str) -> Assessment:
    assessment = Assessment.objects.filter(pay_token=token).first() if token else None
    if assessment is None:
        raise Http404
    return assessment


def assessment_list_recent(*, limit: int = 50) -> QuerySet[Assessment]:
    return Assessment.objects.order_by("-created_at", "-id")[:limit]


def assessment_search(*, query: str, limit: int = 50) -> QuerySet[Assessment]:
    """Assessments whose payer's name or reference is exactly `query`. Names are encrypted:
    they are matched through their blind index (case, spaces and hyphens do not count), never
    by reading them."""
    return Assessment.objects.filter(
        Q(payer_name_index__matches=query) | Q(subject_ref__iexact=query)
    ).order_by("-created_at", "-id")[:limit]


@dataclasses.dataclass(frozen=True)
class FeesCharged:
    """An assessment that charges some of the fees asked for again: `services`, those fees;
    `receipt`, its latest receipt (None before a payment)."""

    assessment: Assessment
    services: list[str]
    receipt: Receipt | None

    @property
    def fees_named(self) -> str:
        """The fees charged, by their names in the reader's language ("Passport application,
        Express handling")."""
        return ", ".join(str(ServiceCode(code).label) for code in self.services)

    @property
    def day(self) -> dt.date:
        """The day the fees were paid (the receipt's business day), or assessed when unpaid."""
        return self.receipt.business_date if self.receipt else self.assessment.assessed_on


def _without_refunded_in_full(lines: QuerySet[FeeLine]) -> QuerySet[FeeLine]:
    """`lines` less those of an assessment whose fee was paid back: settled, with payments,
    and approved credit notes against its receipts that add up to what was paid. Such an
    assessment no longer holds its case's fee, so a fee taken in error and refunded can be
    charged again where it belongs. A part refund leaves the fee charged (the receipt stands
    for the rest); an open assessment is still where the fee is paid. The fee-line trigger
    of migration 0012 says the same."""
    paid = (
        Payment.objects.filter(
            assessment_id=OuterRef("assessment_id"), status=PaymentStatus.SUCCEEDED
        )
        .values("assessment_id")
        .annotate(t=Sum("amount_minor"))
        .values("t")
    )
    refunded = (
        CreditNote.objects.filter(
            receipt__payment__assessment_id=OuterRef("assessment_id"),
            status=ApprovalStatus.APPROVED,
        )
        .values("receipt__payment__assessment_id")
        .annotate(t=Sum("amount_minor"))
        .values("t")
    )
    return lines.annotate(
        paid_minor=Coalesce(Subquery(paid), 0), refunded_minor=Coalesce(Subquery(refunded), 0)
    ).exclude(
        assessment__status=AssessmentStatus.SETTLED,
        paid_minor__gt=0,
        refunded_minor__gte=F("paid_minor"),
    )


def reference_fees_charged(
    *, reference: str, services: list[str] | None = None
) -> list[FeesCharged]:
    """The case assessments of `reference` (matched as the counter's search matches it: case
    of letters does not count), not cancelled nor refunded in full, that charge one of
    `services` (every fee when None), oldest first: open ones (still to pay) and settled ones
    (paid, part refunded, or waived). A case's fee is charged once; a booking's or a walk-in's
    reference holds nothing (one booking covers several people, each paying their own fee).
    Two queries; no payer's name is decrypted."""
    lines = (
        FeeLine.objects.filter(
            assessment__subject_ref__iexact=reference.strip(),
            assessment__subject_type=SubjectType.CASE,
        )
        .exclude(assessment__status=AssessmentStatus.CANCELLED)
        .select_related("assessment")
        .defer("assessment__payer_name")
        .order_by("assessment_id", "id")
    )
    if services is not None:
        lines = lines.filter(service__in=services)
    lines = _without_refunded_in_full(lines)
    charged: dict[int, tuple[Assessment, list[str]]] = {}
    for line in lines:
        charged.setdefault(line.assessment_id, (line.assessment, []))[1].append(line.service)
    receipts: dict[int, Receipt] = {}
    if charged:
        for receipt in (
            Receipt.objects.filter(payment__assessment_id__in=list(charged))
            .select_related("payment")
            .defer("payer_name")
            .order_by("pk")
        ):
            receipts[receipt.payment.assessment_id] = receipt  # the latest wins
    return [
        FeesCharged(assessment=assessment, services=fees, receipt=receipts.get(pk))
        for pk, (assessment, fees) in charged.items()
    ]


def reference_is_a_case(*, reference: str) -> bool:
    """Whether a case's assessment (any, cancelled or refunded too) has `reference`, matched as
    `reference_fees_charged` matches it: a walk-in quoting it pays that case's fee."""
    return Assessment.objects.filter(
        subject_ref__iexact=reference.strip(), subject_type=SubjectType.CASE
    ).exists()


def payment_list(*, assessment: Assessment) -> list[Payment]:
    """An assessment's payments, oldest first, with their receipts and the credit notes issued
    against them (`payment.credit_notes_issued`): two queries."""
    payments = list(
        Payment.objects.filter(assessment=assessment).select_related("receipt").order_by("id")
    )
    issued: dict[int, list[CreditNote]] = defaultdict(list)
    receipts = [p.receipt.pk for p in payments if hasattr(p, "receipt")]
    if receipts:
        for note in CreditNote.objects.filter(
            receipt_id__in=receipts, status=ApprovalStatus.APPROVED
        ).order_by("id"):
            issued[note.receipt_id].append(note)
    for payment in payments:
        receipt = getattr(payment, "receipt", None)
        payment.credit_notes_issued = issued[receipt.pk] if receipt else []  # type: ignore[attr-defined]
    return payments


def payment_get(*, pk: int) -> Payment:
    payment = Payment.objects.select_related("assessment").filter(pk=pk).first()
    if payment is None:
        raise Http404
    return payment


def payment_list_bank_pending(*, limit: int = 50) -> QuerySet[Payment]:
    """Transfers the mission is waiting for, oldest first, with their assessment."""
    return (
        Payment.objects.filter(method=PaymentMethod.BANK_TRANSFER, status=PaymentStatus.PENDING)
        .select_related("assessment")
        .order_by("created_at", "id")[:limit]
    )


def _name_categories(waivers: list[Waiver]) -> None:
    """`waiver.category_name`: its category's name in the reader's language (one query)."""
    if waivers:
        names = exemption_category_names()
        for waiver in waivers:
            waiver.category_name = names.get(waiver.category_code, waiver.category_code)  # type: ignore[attr-defined]


def fee_line_list(*, assessment: Assessment) -> list[FeeLine]:
    """The assessment's lines with their waivers, each waiver with its `category_name`."""
    lines = list(
        FeeLine.objects.filter(assessment=assessment).prefetch_related("waivers").order_by("id")
    )
    _name_categories([waiver for line in lines for waiver in line.waivers.all()])
    return lines


def fee_line_get(*, assessment: Assessment, pk: int) -> FeeLine:
    line = FeeLine.objects.filter(assessment=assessment, pk=pk).first()
    if line is None:
        raise Http404
    return line


def waiver_get(*, pk: int) -> Waiver:
    waiver = Waiver.objects.select_related("line").filter(pk=pk).first()
    if waiver is None:
        raise Http404
    return waiver


def credit_note_get(*, pk: int) -> CreditNote:
    note = CreditNote.objects.select_related("receipt__payment").filter(pk=pk).first()
    if note is None:
        raise Http404
    return note


def credit_note_get_issued(*, pk: int, assessment: Assessment | None = None) -> CreditNote:
    """An approved (numbered) credit note, of `assessment` if given; 404 otherwise."""
    notes = CreditNote.objects.select_related("receipt__payment__assessment").filter(
        pk=pk, status=ApprovalStatus.APPROVED
    )
    if assessment is not None:
        notes = notes.filter(receipt__payment__assessment=assessment)
    note = notes.exclude(number="").first()
    if note is None:
        raise Http404
    return note


def receipt_get_for_payer(*, assessment: Assessment, pk: int) -> Receipt:
    receipt = Receipt.objects.filter(pk=pk, payment__assessment=assessment).first()
    if receipt is None:
        raise Http404
    return receipt


def credit_note_list(*, receipt: Receipt) -> QuerySet[CreditNote]:
    return CreditNote.objects.filter(receipt=receipt).order_by("id")


def receipt_get(*, pk: int) -> Receipt:
    receipt = Receipt.objects.select_related("payment__assessment").filter(pk=pk).first()
    if receipt is None:
        raise Http404
    return receipt


@dataclasses.dataclass(frozen=True)
class ReceiptStanding:
    """Where the fee stood once a receipt was issued: `due`, the fees less the waivers approved
    by then; `paid_before`, the receipts of the assessment issued before it; `left`, what was
    still to pay after it (never below zero: a late card success is flagged for a refund)."""

    due: Money
    paid_before: Money
    left: Money


def receipt_standing(*, receipt: Receipt) -> ReceiptStanding:
    """`ReceiptStanding` as at `receipt`'s issue, so a copy printed later reads as the first
    one did (a receipt never changes): later payments and waivers are not counted, nor refunds
    (a credit note is a document of its own). Three queries."""
    assessment_id = receipt.payment.assessment_id
    currency = receipt.currency
    fees = FeeLine.objects.filter(assessment_id=assessment_id).aggregate(t=Sum("amount_minor"))
    waived = Waiver.objects.filter(
        line__assessment_id=assessment_id,
        status=ApprovalStatus.APPROVED,
        decided_at__lte=receipt.issued_at,
    ).aggregate(t=Sum("amount_minor"))
    before = (
        Receipt.objects.filter(payment__assessment_id=assessment_id, pk__lt=receipt.pk).aggregate(
            t=Sum("amount_minor")
        )["t"]
        or 0
    )
    due = Money((fees["t"] or 0) - (waived["t"] or 0), currency)
    return ReceiptStanding(
        due=due,
        paid_before=Money(before, currency),
        left=_not_negative(due - Money(before, currency) - receipt.amount),
    )


def approvals_pending() -> dict[str, Any]:
    """Waivers and credit notes waiting for a second person, newest first, and the names of
    the waivers' categories: three queries, however many there are."""
    waivers = list(
        Waiver.objects.filter(status=ApprovalStatus.REQUESTED)
        .select_related("line__assessment")
        .order_by("-created_at", "-id")
    )
    _name_categories(waivers)
    return {
        "waivers": waivers,
        "credit_notes": list(
            CreditNote.objects.filter(status=ApprovalStatus.REQUESTED)
            .select_related("receipt")
            .order_by("-created_at", "-id")
        ),
    }


def account_balances() -> dict[tuple[str, str], int]:
    """(account code, currency) → balance (debits positive), from the ledger entries."""
    rows = LedgerEntry.objects.values("account__code", "currency").annotate(t=Sum("amount_minor"))
    return {(row["account__code"], row["currency"]): row["t"] for row in rows}


def ledger_totals_per_currency() -> dict[str, int]:
    rows = LedgerEntry.objects.values("currency").annotate(t=Sum("amount_minor"))
    return {row["currency"]: row["t"] for row in rows}


def drawer_expected(*, business_date: dt.date) -> list[tuple[Account, Money]]:
    """Each cashier drawer's balance at the end of `business_date` (the cash that should be in
    it), for drawers that hold money or moved that day."""
    rows = (
        LedgerEntry.objects.filter(
            account__kind=AccountKind.DRAWER, transaction__business_date__lte=business_date
        )
        .values("account_id", "currency")
        .annotate(
            t=Sum("amount_minor"),
            today=Sum("amount_minor", filter=Q(transaction__business_date=business_date)),
        )
    )
    accounts = Account.objects.in_bulk([row["account_id"] for row in rows])
    return [
        (accounts[row["account_id"]], Money(row["t"], row["currency"]))
        for row in rows
        if row["t"] or row["today"]
    ]


def drawer_list(*, drawers: list[tuple[Account, Money]]) -> list[dict[str, Any]]:
    """`drawer_expected`'s drawers with their cashiers, for the day-close page (one query)."""
    from django.contrib.auth import get_user_model

    ids = [int(account.qualifier) for account, _money in drawers]
    users = get_user_model().objects.in_bulk(ids)
    return [
        {"cashier_id": cashier, "user": users.get(cashier), "expected": expected}
        for cashier, (_account, expected) in zip(ids, drawers, strict=True)
    ]


def drawer_counts(*, business_date: dt.date) -> QuerySet[DrawerCount]:
    return DrawerCount.objects.filter(day__business_date=business_date).order_by("cashier_email")


def day_is_closed(*, business_date: dt.date) -> bool:
    return DayClose.objects.filter(business_date=business_date).exists()


@dataclasses.dataclass
class ReportRow(LocalAndBaseAmounts):
    day: dt.date
    section: str  # "assessed" (by service) or "collected" (by payment method)
    key: str
    currency: str
    amount_minor: int
    base_currency: str
    base_amount_minor: int


def revenue_report_period_check(*, date_from: dt.date, date_to: dt.date) -> None:
    """Refuse a period that ends before it starts (`ApplicationError`, `INVALID`, on `to`): the
    report of no day under dates the reader still sees would look like a quiet period."""
    if date_to < date_from:
        message = _("Choose a day on or after the start of the period, %(day)s.") % {
            "day": day_written_short(date_from)
        }
        raise ApplicationError(CommonError.INVALID, message, field="to")


def revenue_report(*, date_from: dt.date, date_to: dt.date) -> list[ReportRow]:
    """Per day: fees assessed by service (less approved waivers), and money collected by
    payment method (less approved refunds), in local currency and base currency at the rates
    frozen on the fee lines. A handful of queries whatever the number of days. A period that
    ends before it starts is refused (`revenue_report_period_check`)."""
    revenue_report_period_check(date_from=date_from, date_to=date_to)
    rows: dict[tuple[dt.date, str, str], list[Any]] = {}

    def add(day: dt.date, section: str, key: str, cur: str, amt: int, bcur: str, bamt: int) -> None:
        row = rows.setdefault((day, section, key), [cur, 0, bcur, 0])
        row[1] += amt
        row[3] += bamt

    # Amounts only: the payers' names stay encrypted (deferred, never decrypted here).
    for line in (
        FeeLine.objects.filter(assessment__assessed_on__range=(date_from, date_to))
        .select_related("assessment")
        .defer("assessment__payer_name")
    ):
        add(
            line.assessment.assessed_on,
            "assessed",
            line.service,
            line.currency,
            line.amount_minor,
            line.base_currency,
            line.base_amount_minor,
        )
    for waiver in (
        Waiver.objects.filter(
            status=ApprovalStatus.APPROVED,
            line__assessment__assessed_on__range=(date_from, date_to),
        )
        .select_related("line__assessment")
        .defer("line__assessment__payer_name")
    ):
        line = waiver.line
        base = (
            Money(line.base_amount_minor, line.base_currency)
            .allocate([waiver.amount_minor, max(line.amount_minor - waiver.amount_minor, 0)])[0]
            .amount_minor
        )
        add(
            line.assessment.assessed_on,
            "assessed",
            line.service,
            line.currency,
            -waiver.amount_minor,
            line.base_currency,
            -base,
        )
    for receipt in Receipt.objects.filter(business_date__range=(date_from, date_to)).defer(
        "payer_name"
    ):
        add(
            receipt.business_date,
            "collected",
            receipt.method,
            receipt.currency,
            receipt.amount_minor,
            receipt.base_currency,
            receipt.base_amount_minor,
        )
    for note in (
        CreditNote.objects.filter(
            status=ApprovalStatus.APPROVED, business_date__range=(date_from, date_to)
        )
        .select_related("receipt")
        .defer("receipt__payer_name")
    ):
        add(
            note.business_date or note.receipt.business_date,
            "collected",
            note.receipt.method,
            note.currency,
            -note.amount_minor,
            note.base_currency,
            -note.base_amount_minor,
        )
    result = [
        ReportRow(day, section, key, cur, amt, bcur, bamt)
        for (day, section, key), (cur, amt, bcur, bamt) in rows.items()
    ]
    return sorted(result, key=lambda r: (r.day, r.section, r.key))


@dataclasses.dataclass
class ReportDay:
    """One day of the revenue report as a page shows it: its sections ("assessed",
    "collected"), each a list of (label in the reader's language, row)."""

    day: dt.date
    sections: list[tuple[str, list[tuple[str, ReportRow]]]]


def report_by_day(rows: list[ReportRow]) -> list[ReportDay]:
    """`revenue_report`'s rows grouped by day, then by section, labelled (services and payment
    methods by their names): a narrow table a phone shows without squeezing its columns."""
    labels: dict[str, str] = {
        str(k): str(v) for k, v in [*ServiceCode.choices, *PaymentMethod.choices]
    }
    days: dict[dt.date, dict[str, list[tuple[str, ReportRow]]]] = {}
    for row in rows:
        sections = days.setdefault(row.day, {})
        sections.setdefault(row.section, []).append((labels.get(row.key, row.key), row))
    return [
        ReportDay(day=day, sections=sorted(sections.items()))
        for day, sections in sorted(days.items())
    ]


def report_totals(rows: list[ReportRow], section: str) -> tuple[Money, Money] | None:
    picked = [r for r in rows if r.section == section]
    if not picked:
        return None
    local: dict[str, int] = defaultdict(int)
    base: dict[str, int] = defaultdict(int)
    for r in picked:
        local[r.currency] += r.amount_minor
        base[r.base_currency] += r.base_amount_minor
    (lc, la), (bc, ba) = next(iter(local.items())), next(iter(base.items()))
    return Money(la, lc), Money(ba, bc)


def remittance_get(*, month: dt.date) -> Remittance | None:
    return Remittance.objects.filter(month=month.replace(day=1)).first()


def month_before(month: dt.date) -> dt.date:
    """The first day of the month before `month`'s (January of year 1 has none: itself)."""
    first = month.replace(day=1)
    return first if first == dt.date.min else (first - dt.timedelta(days=1)).replace(day=1)


@dataclasses.dataclass
class RemittanceStatement:
    month: dt.date
    rows: list[ReportRow]
    collected: Money
    collected_base: Money


def remittance_statement(
    *, month: dt.date, currency: str, base_currency: str
) -> RemittanceStatement:
    """What the mission owes HQ for a month: money collected less refunds, in local currency
    and in base currency at the rates used on each receipt and credit note."""
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    rows = [r for r in revenue_report(date_from=first, date_to=last) if r.section == "collected"]
    local = sum((r.amount_minor for r in rows), 0)
    base = sum((r.base_amount_minor for r in rows), 0)
    return RemittanceStatement(
        month=first,
        rows=rows,
        collected=Money(local, currency),
        collected_base=Money(base, base_currency),
    )
