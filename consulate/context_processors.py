from typing import Any

from django.conf import settings
from django.http import HttpRequest

from consulate.tenancy import in_public_schema


def portal(request: HttpRequest) -> dict[str, Any]:
    """The current mission (None at HQ) for the layout's header and footer."""
    tenant = getattr(request, "tenant", None)
    is_hq = tenant is None or in_public_schema()
    user = getattr(request, "user", None)
    mission_roles: set[str] = set()
    if not is_hq and user is not None and user.is_authenticated:
        from missions.selectors import staff_roles

        mission_roles = staff_roles(user=user, mission=tenant)  # type: ignore[arg-type]
    return {
        # the nav shows each staff page only to the roles its view lets in
        "is_mission_staff": bool(mission_roles),
        "mission_roles": mission_roles,
        "mission": None if is_hq else tenant,
        "is_hq": is_hq,
        "portal_host": settings.PORTAL_HOST,
        "demo_mode": settings.DEMO_MODE,
    }
