"""Double-entry postings. Python checks balance first for a clear error; the database checks
again at commit (deferred constraint trigger), whatever wrote the rows."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import connection, transaction

from sync.services import outbox_event_record

from ..events import FeeTopic
from ..models import Account, AccountKind, LedgerEntry, LedgerTransaction
from ..money import Money, MoneyError

ACCOUNT_NAMES: dict[str, str] = {
    AccountKind.CARD_CLEARING: "Card clearing",
    AccountKind.BANK: "Bank",
    AccountKind.RECEIVABLE: "Fees receivable",
    AccountKind.WAIVERS: "Fees waived",
    AccountKind.REFUNDS: "Refunds",
    AccountKind.CASH_OVER_SHORT: "Cash over and short",
    AccountKind.DUE_TO_HQ: "Due to HQ",
}


def account_code(kind: str, qualifier: str | int = "") -> str:
    return f"{kind}:{qualifier}" if qualifier != "" else str(kind)


def account_get(*, kind: str, qualifier: str | int = "", name: str = "") -> Account:
    """The account, created on first use (concurrent first uses create it once)."""
    code = account_code(kind, qualifier)
    account = Account.objects.filter(code=code).first()
    if account is not None:
        return account
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO fees_account (code, kind, qualifier, name) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (code) DO NOTHING",
            [code, kind, str(qualifier), name or ACCOUNT_NAMES.get(kind, code)],
        )
    return Account.objects.get(code=code)


Leg = tuple[Account, Money]


def ledger_post(
    *,
    kind: str,
    business_date: dt.date,
    legs: list[Leg],
    acting_user: Any,
    memo: str = "",
    source_type: str = "",
    source_id: int | None = None,
) -> LedgerTransaction:
    """Write one balanced transaction (debits positive, credits negative) and its outbox event.

    Must run inside the caller's transaction, with the change the posting records; the
    caller has checked who may make that change.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("ledger_post must run inside the change's transaction")
    legs = [(account, money) for account, money in legs if money.amount_minor != 0]
    totals: dict[str, int] = defaultdict(int)
    for _account, money in legs:
        totals[money.currency] += money.amount_minor
    if not legs or any(totals.values()):
        raise MoneyError(f"unbalanced posting {kind}: {dict(totals)}")
    with transaction.atomic():
        tx = LedgerTransaction.objects.create(
            business_date=business_date,
            kind=kind,
            memo=memo[:200],
            source_type=source_type,
            source_id=source_id,
            created_by_id=getattr(acting_user, "pk", None),
        )
        LedgerEntry.objects.bulk_create(
            LedgerEntry(
                transaction=tx,
                account=account,
                currency=money.currency,
                amount_minor=money.amount_minor,
            )
            for account, money in legs
        )
        outbox_event_record(
            topic=FeeTopic.LEDGER_TRANSACTION_POSTED,
            aggregate_id=tx.pk,
            payload={
                "kind": kind,
                "business_date": business_date.isoformat(),
                "source_type": source_type,
                "source_id": source_id,
                "entries": [
                    {
                        "account": account.code,
                        "currency": money.currency,
                        "amount_minor": money.amount_minor,
                    }
                    for account, money in legs
                ],
            },
            acting_user=acting_user,
        )
    return tx
