"""HQ monitoring's pages (docs/monitoring.md): the dashboard over every mission, the weekly
trends, one mission's page, and the CSV of each table. Thin: the figures come from
`selectors_monitoring`, the CSV from `exporters_monitoring`; every page is for those who may
read HQ's dashboard (HQ analysts and admins), 404 for anyone else."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from . import exporters_monitoring as exporters
from .models import MissionStatus, WorldRegion
from .permissions import Action, staff_access
from .selectors_monitoring import (
    dashboard_filters,
    dashboard_missions,
    dashboard_read,
    mission_monitoring_read,
    trends_read,
)


def _hq_staff(request: HttpRequest) -> frozenset[Action]:
    return staff_access(
        user=request.user,
        mission=request.tenant,  # type: ignore[attr-defined]
        action=Action.HQ_DASHBOARD_VIEW,
    )


def _csv(filename: str, content: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def hq_dashboard(request: HttpRequest) -> HttpResponse:
    held = _hq_staff(request)
    filters = dashboard_filters(request.GET)
    dashboard = dashboard_read(filters=filters)
    query = request.GET.copy()
    query.pop("sort", None)
    query.pop("order", None)
    return render(
        request,
        "missions/hq_dashboard.html",
        {
            "dashboard": dashboard,
            "filters": filters,
            "regions": WorldRegion.choices,
            "statuses": MissionStatus.choices,
            "filter_query": query.urlencode(),
            "full_query": request.GET.urlencode(),
            "sees_sync": Action.SYNC_HQ_VIEW in held,
            "zone": request.tenant.zone,  # type: ignore[attr-defined]
        },
    )


@login_required
def hq_dashboard_csv(request: HttpRequest) -> HttpResponse:
    _hq_staff(request)
    content = exporters.dashboard_csv(
        filters=dashboard_filters(request.GET), acting_user=request.user
    )
    return _csv(f"missions-{timezone.localdate():%Y-%m-%d}.csv", content)


@login_required
def hq_trends(request: HttpRequest) -> HttpResponse:
    _hq_staff(request)
    filters = dashboard_filters(request.GET)
    missions = dashboard_missions(filters=filters)
    weeks, trends = trends_read(missions=missions)
    return render(
        request,
        "missions/hq_trends.html",
        {
            "filters": filters,
            "regions": WorldRegion.choices,
            "statuses": MissionStatus.choices,
            "missions_count": len(missions),
            "weeks": weeks,
            "trends": trends,
            "full_query": request.GET.urlencode(),
        },
    )


@login_required
def hq_trends_csv(request: HttpRequest) -> HttpResponse:
    _hq_staff(request)
    filters = dashboard_filters(request.GET)
    content = exporters.trends_csv(
        missions=dashboard_missions(filters=filters), acting_user=request.user
    )
    return _csv(f"trends-{timezone.localdate():%Y-%m-%d}.csv", content)


@login_required
def hq_mission(request: HttpRequest, code: str) -> HttpResponse:
    _hq_staff(request)
    page = mission_monitoring_read(code=code)
    if page is None:
        raise Http404
    return render(request, "missions/hq_mission.html", {"page": page})


@login_required
def hq_mission_csv(request: HttpRequest, code: str, table: str) -> HttpResponse:
    """One of a mission's tables as CSV: `trends`, or a section's key."""
    _hq_staff(request)
    content = exporters.mission_table_csv(code=code, table=table, acting_user=request.user)
    if content is None:
        raise Http404
    return _csv(f"{code}-{table}-{timezone.localdate():%Y-%m-%d}.csv", content)
