"""Rate limits on every booking endpoint: per account and per client address, counted in the
Django cache (fixed windows).

`APPOINTMENTS_RATE_LIMIT_EXEMPT_ADDRESSES` (exact addresses, default none) lifts only the
per-address budget for those addresses; their accounts keep theirs. The load benchmark sets it
to loopback (bench/booking_settings.py), where its hundreds of clients share one address."""

from __future__ import annotations

import dataclasses
import hashlib

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.throttling import client_ip
from consulate.kernel.cache import counters_add
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
    signed_in = user is not None and user.is_authenticated
    _consume(
        address=client_address(request),
        own=f"user:{user.pk}" if signed_in else None,  # type: ignore[union-attr]
        action=action,
    )


@dataclasses.dataclass(frozen=True)
class Budget:
    """The counters one request counts against (cache keys), and the limit of each in its
    window."""

    keys: list[str]
    limit: int
    seconds: int

    def judge(self, counts: list[int]) -> None:
        """Raise when a count is over the limit."""
        if any(count > self.limit for count in counts):
            raise ApplicationError(
                CommonError.RATE_LIMITED,
                _("Too many requests. Please wait a minute and try again."),
            )


def rate_limit_budget_early(*, address: str, session_key: str, action: str) -> Budget:
    """The budget of a request answered before its user is read (the early refusal of a full
    slot, appointments/middleware.py): the address's, as the view counts it, and the session's
    own of the same size, in place of the account's (unknown until the user's row is read).
    The caller counts it (with what it reads, in one round trip: `read_then_count`) and
    judges."""
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:32]
    return _budget(address=address, own=f"session:{digest}", action=action)


def rate_limit_consume_early(*, address: str, session_key: str, action: str) -> None:
    """Count and judge `rate_limit_budget_early`'s budget."""
    budget = rate_limit_budget_early(address=address, session_key=session_key, action=action)
    budget.judge(counters_add(budget.keys, timeout=budget.seconds))


def _budget(*, address: str, own: str | None, action: str) -> Budget:
    count, period = _limits(action)
    keys = [] if _address_exempt(address) else [f"ip:{address}"]
    if own is not None:
        keys.append(own)
    return Budget(
        keys=[
            "appointments-rl:"
            + hashlib.sha256(f"{current_schema()}|{action}|{key}".encode()).hexdigest()[:32]
            for key in keys
        ],
        limit=count,
        seconds=period,
    )


def _consume(*, address: str, own: str | None, action: str) -> None:
    """Every counter in one round trip (one script on Redis); a request counts against each."""
    budget = _budget(address=address, own=own, action=action)
    if budget.keys:
        budget.judge(counters_add(budget.keys, timeout=budget.seconds))
