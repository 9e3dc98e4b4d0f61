from typing import Any

from django.conf import settings
from django.http import HttpRequest

from consulate.tenancy import in_public_schema


def portal(request: HttpRequest) -> dict[str, Any]:
    """The current mission (None at HQ) for the layout's header and footer."""
    tenant = getattr(request, "tenant", None)
    is_hq = tenant is None or in_public_schema()
    return {
        "mission": None if is_hq else tenant,
        "is_hq": is_hq,
        "portal_host": settings.PORTAL_HOST,
        "demo_mode": settings.DEMO_MODE,
    }
