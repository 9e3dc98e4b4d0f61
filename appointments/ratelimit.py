"""Rate limits on every booking endpoint: per account and per client address, counted in the
Django cache (fixed windows)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.throttling import client_ip
from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.tenancy import current_schema

# action: (requests, seconds) per account and per address.
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "book": (10, 60),
    "cancel": (20, 60),
    "lottery": (10, 60),
    "read": (120, 60),
}


def _limits(action: str) -> tuple[int, int]:
    limits = getattr(settings, "APPOINTMENTS_RATE_LIMITS", {})
    return limits.get(action, DEFAULT_LIMITS[action])


def client_address(request: HttpRequest) -> str:
    """The client's address, behind trusted proxies too (the same rule as the login throttle)."""
    return str(client_ip(request) or "")


def rate_limit_consume(*, request: HttpRequest, action: str) -> None:
    """Count one request against the account's and the address's budget; raise when either is
    spent."""
    count, period = _limits(action)
    keys = [f"ip:{client_address(request)}"]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        keys.append(f"user:{user.pk}")
    for key in keys:
        digest = hashlib.sha256(f"{current_schema()}|{action}|{key}".encode()).hexdigest()[:32]
        cache_key = f"appointments-rl:{digest}"
        cache.add(cache_key, 0, timeout=period)
        try:
            used = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=period)
            used = 1
        if used > count:
            raise ApplicationError(
                CommonError.RATE_LIMITED,
                _("Too many requests. Please wait a minute and try again."),
            )
