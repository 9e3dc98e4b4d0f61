from typing import Any

from django.db import connection
from django.http import HttpRequest


def tenant_scoped_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """django-axes key: failures at one mission's host do not lock the same e-mail elsewhere."""
    credentials = credentials or {}
    login = (
        credentials.get("email")
        or credentials.get("username")
        or credentials.get("login")
        or request.POST.get("login", "")
    )
    return f"{connection.schema_name}:{str(login).strip().lower()}"
