"""Pages of HQ's mission directory, a mission's public home and the staff dashboards. Thin:
the rules are in selectors.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from consulate.kernel import reference

from . import selectors
from .permissions import Action, roles_held, staff_access


def directory(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    country = request.GET.get("country", "").strip().upper()[:2]
    missions = selectors.mission_list_directory(query=query, country=country)
    countries = selectors.mission_countries_directory()
    return render(
        request,
        "missions/directory.html",
        {"missions": missions, "query": query, "country": country, "countries": countries},
    )


def mission_home(request: HttpRequest) -> HttpResponse:
    return render(request, "missions/home.html", {"profile": request.tenant})  # type: ignore[attr-defined]


@login_required
def staff_dashboard(request: HttpRequest) -> HttpResponse:
    mission = request.tenant  # type: ignore[attr-defined]
    staff_access(user=request.user, mission=mission, action=Action.MISSION_VIEW)
    return render(
        request,
        "missions/staff_dashboard.html",
        {
            "roles": sorted(roles_held(user=request.user, mission=mission)),
            "memberships": selectors.membership_list(mission=mission),
            "minor_units": reference.currency_minor_units(mission.currency),
        },
    )


@login_required
def hq_dashboard(request: HttpRequest) -> HttpResponse:
    staff_access(user=request.user, mission=request.tenant, action=Action.HQ_DASHBOARD_VIEW)  # type: ignore[attr-defined]
    return render(
        request, "missions/hq_dashboard.html", {"missions": selectors.mission_list_for_hq()}
    )
