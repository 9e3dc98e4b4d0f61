from typing import Any

from django.http import HttpRequest

from consulate.tenancy import current_schema


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
