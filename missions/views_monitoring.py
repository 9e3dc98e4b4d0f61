"""HQ monitoring's pages (docs/monitoring.md): the dashboard over every mission, the weekly
trends, one mission's page, and the CSV of each table. Thin: the figures come from
`selectors_monitoring`, the CSV from `exporters_monitoring`; every page is for those who may
read HQ's dashboard (HQ analysts and admins), 404 for anyone else."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from consulate.kernel.errors import form_read, form_refused_in_text
from consulate.kernel.http import csv_response, query_string_cleaned_by

from . import exporters_monitoring as exporters
from .forms import DashboardFilterForm, TrendsFilterForm
from .models import MissionStatus, WorldRegion
from .monitoring import figure_text
from .permissions import Action, staff_access
from .selectors_monitoring import (
    Dashboard,
    dashboard_columns,
    dashboard_read,
    mission_countries_monitored,
    mission_list_monitored,
    mission_monitoring_read,
    trends_read,
)

# A page under filters it cannot honour: 400, the reasons named in the page's error summary
# (each field's label, a link to it) and beside each field, not as a message above the page,
# which repeated a select's reason without saying whose it was.
REFUSED = 400


def _hq_staff(request: HttpRequest) -> frozenset[Action]:
    return staff_access(
        user=request.user,
        mission=request.tenant,  # type: ignore[attr-defined]
        action=Action.HQ_DASHBOARD_VIEW,
    )


def _filter_form(
    request: HttpRequest, form_class: type[DashboardFilterForm] = DashboardFilterForm
) -> DashboardFilterForm:
    """The filters of the query string, to read with `form_read`: a page under a filter it
    cannot honour answers 400 with the reasons beside the fields, a CSV the reasons in plain
    text, never every mission's figures. A control character in a filter is such a filter
    (the views are marked `query_string_cleaned_by`, so the form, not `BadInputMiddleware`,
    refuses it). The trends' `TrendsFilterForm` drops a sort it would not honour."""
    columns = [(column.key, column.label) for column in dashboard_columns()]
    return form_class(request.GET, columns=columns)


def _filter_choices(form: DashboardFilterForm) -> dict[str, Any]:
    """What the filter form offers, and the page's links with the filters understood."""
    filters = form.filters()
    return {
        "form": form,
        "filters": filters,
        "regions": WorldRegion.choices,
        "statuses": MissionStatus.choices,
        "countries": mission_countries_monitored(chosen=filters.country),
        "columns": dashboard_columns(),
        "query": filters.query(),
    }


def _today(request: HttpRequest) -> str:
    """HQ's date, for the name of a downloaded file."""
    return f"{timezone.localdate(timezone=request.tenant.zone):%Y-%m-%d}"  # type: ignore[attr-defined]


def _cells_written(dashboard: Dashboard) -> None:
    """Each row's figures as the reader reads them, written once here: a page of 300 missions
    has some 4,500 cells, and a template tag per cell (with its label translated again each
    time) cost most of the page's time (bench/hq_monitoring.py)."""
    columns = dashboard.columns
    labels = [str(column.label) for column in columns]
    sort = dashboard.filters.sort
    for row in dashboard.rows:
        zone = row.mission.zone
        row.cells = [
            (label, figure_text(column, row.figures.get(column.key), zone=zone), column.key == sort)
            for label, column in zip(labels, columns, strict=True)
        ]


@query_string_cleaned_by(DashboardFilterForm)
@login_required
def hq_dashboard(request: HttpRequest) -> HttpResponse:
    held = _hq_staff(request)
    form = _filter_form(request)
    dashboard = form_read(form, lambda: dashboard_read(filters=form.filters()))
    if dashboard is not None:
        _cells_written(dashboard)
    return render(
        request,
        "missions/hq_dashboard.html",
        {
            "dashboard": dashboard,
            "sees_sync": Action.SYNC_HQ_VIEW in held,
            "zone": request.tenant.zone,  # type: ignore[attr-defined]
            **_filter_choices(form),
        },
        status=200 if dashboard is not None else REFUSED,
    )


@query_string_cleaned_by(DashboardFilterForm)
@login_required
def hq_dashboard_csv(request: HttpRequest) -> HttpResponse:
    _hq_staff(request)
    form = _filter_form(request)
    content = form_read(
        form, lambda: exporters.dashboard_csv(filters=form.filters(), acting_user=request.user)
    )
    if content is None:
        return form_refused_in_text(form)
    return csv_response(f"missions-{_today(request)}.csv", content)


@query_string_cleaned_by(TrendsFilterForm)
@login_required
def hq_trends(request: HttpRequest) -> HttpResponse:
    _hq_staff(request)
    form = _filter_form(request, TrendsFilterForm)
    missions = form_read(form, lambda: mission_list_monitored(filters=form.filters()))
    if missions is None:
        return render(
            request,
            "missions/hq_trends.html",
            {"refused": True} | _filter_choices(form),
            status=REFUSED,
        )
    weeks, trends = trends_read(missions=missions)
    return render(
        request,
        "missions/hq_trends.html",
        {"missions_count": len(missions), "weeks": weeks, "trends": trends} | _filter_choices(form),
    )


@query_string_cleaned_by(TrendsFilterForm)
@login_required
def hq_trends_csv(request: HttpRequest) -> HttpResponse:
    _hq_staff(request)
    form = _filter_form(request, TrendsFilterForm)
    missions = form_read(form, lambda: mission_list_monitored(filters=form.filters()))
    if missions is None:
        return form_refused_in_text(form)
    content = exporters.trends_csv(missions=missions, acting_user=request.user)
    return csv_response(f"trends-{_today(request)}.csv", content)


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
    return csv_response(f"{code}-{table}-{_today(request)}.csv", content)
