"""The built-in test provider. It behaves like a real hosted-page provider: the payer is
redirected to its page (served on the mission host under /test-provider/), chooses pay, decline
or time out, and the provider reports the outcome with webhooks signed by HMAC-SHA256 over the
raw body (header `X-Test-Signature: t=<unix time>,v1=<hex>`), each with an event id. Tests
use it to deliver duplicates and out-of-order events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.cache import cache

from consulate.kernel.http import json_loads_bounded

from . import Checkout, ProviderEvent

SIGNATURE_TOLERANCE_SECONDS = 600


def pages_enabled() -> bool:
    """The test provider's hosted page exists in development, the demo and tests, never in
    production (production settings turn DEBUG and DEMO_MODE off). Read when the URLs load."""
    return bool(settings.DEBUG or getattr(settings, "DEMO_MODE", False)) or str(
        settings.SETTINGS_MODULE
    ) in {"consulate.settings.local", "consulate.settings.test"}


class SignatureError(ValueError):
    pass


# What the provider knows of a checkout once it is answered, as a real provider keeps it in its
# own store: "paid", "declined" or "cancelled", written once (`cache.add`), so a cancel and a
# payment racing for one checkout cannot both win. Kept in the cache, longer than a session.
_STATE_SECONDS = 6 * 3600


def _state_key(ref: str) -> str:
    return f"fees.test_provider.checkout:{ref}"


def checkout_state(ref: str) -> str:
    """ "open", or the answer the checkout got: "paid", "declined", "cancelled"."""
    return str(cache.get(_state_key(ref), "open"))


def checkout_answer(ref: str, answer: str) -> str:
    """Record `answer` for checkout `ref` unless it has one; returns the one that stands."""
    if cache.add(_state_key(ref), answer, _STATE_SECONDS):
        return answer
    return str(cache.get(_state_key(ref), answer))


def webhook_secret() -> bytes:
    secret = getattr(settings, "CONSULATE_PAYMENT_WEBHOOK_SECRET", "")
    if not secret:
        # unset: a secret derived from this deployment's SECRET_KEY, never a constant
        secret = hmac.new(
            settings.SECRET_KEY.encode(), b"consulate-payment-webhook", hashlib.sha256
        ).hexdigest()
    return str(secret).encode()


def sign(body: bytes, *, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(webhook_secret(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def event_body(
    *,
    event_type: str,
    provider_ref: str,
    amount_minor: int,
    currency: str,
    event_id: str | None = None,
    occurred_at: dt.datetime | None = None,
) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{secrets.token_hex(12)}",
            "type": event_type,
            "created": (occurred_at or dt.datetime.now(tz=dt.UTC)).isoformat(),
            "data": {"checkout": provider_ref, "amount_minor": amount_minor, "currency": currency},
        },
        separators=(",", ":"),
    ).encode()


class TestProvider:
    __test__ = False  # not a pytest class
    name = "test"

    def create_checkout(
        self, *, payment_id: int, amount_minor: int, currency: str, host: str, return_path: str
    ) -> Checkout:
        ref = f"cs_test_{secrets.token_hex(12)}"
        # The hosted page learns amount and return address from a signed token, as a real
        # provider would from its own session store.
        token = signing.dumps(
            {"ref": ref, "amount_minor": amount_minor, "currency": currency, "back": return_path},
            salt="fees.test_provider",
        )
        return Checkout(
            provider_ref=ref, redirect_url="/test-provider/checkout/?" + urlencode({"s": token})
        )

    def cancel_checkout(self, *, provider_ref: str) -> bool:
        return checkout_answer(provider_ref, "cancelled") != "paid"

    @staticmethod
    def read_session(token: str) -> dict[str, Any]:
        return dict(signing.loads(token, salt="fees.test_provider", max_age=3600))

    def verify_webhook(self, *, body: bytes, signature: str) -> ProviderEvent:
        parts = dict(p.split("=", 1) for p in signature.split(",") if "=" in p)
        try:
            stamp = int(parts.get("t", ""))
        except ValueError as error:
            raise SignatureError("no timestamp") from error
        expected = hmac.new(webhook_secret(), f"{stamp}.".encode() + body, hashlib.sha256)
        # as bytes: compare_digest raises TypeError on a str that is not ASCII (a 500)
        given = parts.get("v1", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(expected.hexdigest().encode(), given):
            raise SignatureError("signature does not match")
        if abs(time.time() - stamp) > SIGNATURE_TOLERANCE_SECONDS:
            raise SignatureError("signature too old")
        try:
            data = json_loads_bounded(body)
            return ProviderEvent(
                event_id=str(data["id"]),
                event_type=str(data["type"]),
                provider_ref=str(data["data"]["checkout"]),
                amount_minor=int(data["data"]["amount_minor"]),
                currency=str(data["data"]["currency"]),
                occurred_at=dt.datetime.fromisoformat(data["created"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise SignatureError("malformed event") from error
