"""Card payment providers: a hosted payment page (no card number ever reaches this system)
and signed webhooks. `get_provider(name)` returns the one configured."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class Checkout:
    provider_ref: str
    redirect_url: str


@dataclasses.dataclass(frozen=True)
class ProviderEvent:
    event_id: str
    event_type: str  # "payment.succeeded", "payment.declined", "payment.expired"
    provider_ref: str
    amount_minor: int
    currency: str
    occurred_at: dt.datetime


class PaymentProvider(Protocol):
    name: str

    def create_checkout(
        self, *, payment_id: int, amount_minor: int, currency: str, host: str, return_path: str
    ) -> Checkout: ...

    def cancel_checkout(self, *, provider_ref: str) -> bool:
        """Close the checkout so that it can no longer be paid. False when the payer already
        paid it (its success is on its way as a webhook); True when it is closed or was never
        paid (declined, timed out, already cancelled)."""
        ...

    def verify_webhook(self, *, body: bytes, signature: str) -> ProviderEvent: ...


def get_provider(name: str = "test") -> PaymentProvider:
    from .test_provider import TestProvider

    if name != TestProvider.name:
        raise LookupError(f"unknown payment provider {name!r}")
    return TestProvider()
