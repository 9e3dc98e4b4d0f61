"""Rate limits on every booking endpoint: per account and per client address, counted in the
Django cache (fixed windows).

`APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES` (exact addresses, default none) lifts only the
per-address budget for those addresses; their accounts keep theirs. The load benchmark sets it
to loopback (bench/booking_settings.py), where its hundreds of clients share one address."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.throttling import client_ip
from consulate.kernel.cache import counter_add
from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.tenancy import current_schema

# action: (requests, seconds) per account and per address.
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "book": (10, 60),
    "cancel": (20, 60),
    "lottery": (10, 60),
    "read": (120, 60),
    # the public seal verifier: a person checks a document or two, a scanner at a border more;
    # a bot trying numbers is slowed down
    "verify": (20, 60),
    # a citizen reporting a passport lost or stolen invalidates it at once: a few a day
    "report": (3, 24 * 3600),
}


def _limits(action: str) -> tuple[int, int]:
    limits = getattr(settings, "APPOINTMENTS_RATE_LIMITS", {})
    return limits.get(action, DEFAULT_LIMITS[action])


def client_address(request: HttpRequest) -> str:
    """The client's address, behind trusted proxies too (the same rule as the login throttle)."""
    return str(client_ip(request) or "")


def _address_exempt(address: str) -> bool:
    return bool(address) and address in getattr(
        settings, "APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES", ()
    )


def rate_limit_consume(*, request: HttpRequest, action: str) -> None:
    """Count one request against the account's and the address's budget; raise when either is
    spent."""
    user = getattr(request, "user", None)
    rate_limit_consume_as(
        address=client_address(request),
        user_id=user.pk if user is not None and user.is_authenticated else None,
        action=action,
    )


def rate_limit_consume_as(*, address: str, user_id: object, action: str) -> None:
    """`rate_limit_consume` for a request whose account (`user_id`, None: not signed in) was
    read without the user's row: the early refusal of a full slot
    (appointments/middleware.py), which counts against the same budgets."""
    count, period = _limits(action)
    keys = [] if _address_exempt(address) else [f"ip:{address}"]
    if user_id is not None:
        keys.append(f"user:{user_id}")
    for key in keys:
        digest = hashlib.sha256(f"{current_schema()}|{action}|{key}".encode()).hexdigest()[:32]
        cache_key = f"appointments-rl:{digest}"
        if counter_add(cache_key, timeout=period) > count:
            raise ApplicationError(
                CommonError.RATE_LIMITED,
                _("Too many requests. Please wait a minute and try again."),
            )
