import functools
from typing import Any

from django.http import HttpRequest

from consulate.kernel.tenancy import current_schema


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as allauth sees it (ALLAUTH_TRUSTED_PROXY_COUNT,
    ALLAUTH_TRUSTED_CLIENT_IP_HEADER), for django-axes and the booking's rate limits.

    Where allauth takes the connection's own address (no header trusted, and no proxy trusted or
    no X-Forwarded-For), it is read here without building the request's header map, and each
    address is checked once: every refused booking at a release asks for it."""
    from allauth import app_settings
    from allauth.core.internal.httpkit import get_client_ip

    if not app_settings.TRUSTED_CLIENT_IP_HEADER and (
        not app_settings.TRUSTED_PROXY_COUNT or not request.META.get("HTTP_X_FORWARDED_FOR")
    ):
        own = request.META.get("REMOTE_ADDR")
        return _address_checked(own) if own else None
    return get_client_ip(request)


@functools.lru_cache(maxsize=4096)
def _address_checked(address: str) -> str | None:
    from allauth.core.internal.httpkit import clean_client_ip

    return clean_client_ip(address)


def tenant_scoped_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """django-axes key: failures at one mission's host do not lock the same e-mail elsewhere."""
    credentials = credentials or {}
    login = (
        credentials.get("email")
        or credentials.get("username")
        or credentials.get("login")
        or request.POST.get("login", "")
    )
    return f"{current_schema()}:{str(login).strip().lower()}"
