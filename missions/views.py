"""Pages of HQ's mission directory, a mission's public home and the staff dashboards. Thin:
the rules are in selectors.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from consulate import reference

from . import selectors


def directory(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    country = request.GET.get("country", "").strip().upper()[:2]
    missions = selectors.mission_list_directory(query=query, country=country)
    countries = sorted(
        set(selectors.mission_list_directory().values_list("host_country", flat=True))
    )
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
    roles = selectors.staff_access_mission(user=request.user, mission=mission)  # type: ignore[arg-type]
    return render(
        request,
        "missions/staff_dashboard.html",
        {
            "roles": sorted(roles),
            "memberships": selectors.membership_list(mission=mission),
            "minor_units": reference.currency_minor_units(mission.currency),
        },
    )


@login_required
def hq_dashboard(request: HttpRequest) -> HttpResponse:
    if not request.user.hq_role:  # type: ignore[union-attr]
        raise Http404
    return render(
        request, "missions/hq_dashboard.html", {"missions": selectors.mission_list_for_hq()}
    )
