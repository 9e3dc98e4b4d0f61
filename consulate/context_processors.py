from typing import Any

from django.conf import settings
from django.http import HttpRequest

from consulate.kernel.tenancy import in_public_schema


def portal(request: HttpRequest) -> dict[str, Any]:
    """The current mission (None at HQ) for the layout's header and footer."""
    tenant = getattr(request, "tenant", None)
    is_hq = tenant is None or in_public_schema()
    user = getattr(request, "user", None)
    permissions: frozenset[str] = frozenset()
    if not is_hq and user is not None and user.is_authenticated:
        from missions.permissions import permissions_held

        permissions = frozenset(permissions_held(user=user, mission=tenant))  # type: ignore[arg-type]
    return {
        # the permission table's answer for this person here: navigation and buttons show what
        # it allows (`{% if "fees.payment.take_cash" in permissions %}`), services enforce it
        "is_mission_staff": bool(permissions),
        "permissions": permissions,
        "mission": None if is_hq else tenant,
        "is_hq": is_hq,
        "portal_host": settings.PORTAL_HOST,
        "demo_mode": settings.DEMO_MODE,
    }
