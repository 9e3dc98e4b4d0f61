from typing import Any

from django.http import HttpRequest

from consulate.kernel.tenancy import current_schema


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as allauth sees it (ALLAUTH_TRUSTED_PROXY_COUNT), for django-axes."""
    from allauth.core.internal.httpkit import get_client_ip

    return get_client_ip(request)


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
