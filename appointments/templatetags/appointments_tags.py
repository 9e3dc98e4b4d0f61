"""Template tags other apps' pages use to show appointments without importing this app
(`missions` must not depend on `appointments`; its templates load this library instead)."""

from __future__ import annotations

from typing import Any

from django import template

from consulate.kernel.tenancy import current_schema

from ..selectors import availability_feed_times

register = template.Library()


@register.inclusion_tag("appointments/_availability_summary.html", takes_context=True)
def availability_summary(context: template.Context) -> dict[str, Any]:
    """The public availability of the page's mission (`request.tenant`): per offered service
    the next free time and the next release, in the mission's time zone; no personal data.
    A fixed number of queries whatever the number of services (`availability_feed`). Renders
    nothing outside a mission's schema."""
    request = context.get("request")
    mission = getattr(request, "tenant", None)
    if mission is None or current_schema() != mission.schema_name:
        return {"mission": None}
    return {
        "mission": mission,
        "zone": mission.zone,
        "services": availability_feed_times(mission=mission),
    }
