"""Pages of HQ's mission directory, a mission's public home and the staff dashboards. Thin:
the rules are in selectors.py."""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from consulate.kernel import reference
from consulate.kernel.errors import ApplicationError
from consulate.kernel.http import SearchForm, query_string_cleaned_by
from consulate.kernel.public_cache import public_page
from consulate.kernel.tenancy import host_url
from sync.reference import reference_age_context

from . import selectors
from .permissions import Action, navigation_variant, roles_held, staff_access
from .services import handoff_create, handoff_redeem, second_factor_passed


@query_string_cleaned_by(SearchForm)
def directory(request: HttpRequest) -> HttpResponse:
    search = SearchForm(request.GET)
    query = search.query()
    country = request.GET.get("country", "").strip().upper()[:2]
    missions = selectors.mission_list_directory(query=query, country=country)
    countries = selectors.mission_countries_directory()
    return render(
        request,
        "missions/directory.html",
        {
            "missions": missions,
            "search": search,
            "query": query,
            "country": country,
            "countries": countries,
        },
        status=200 if search.is_valid() else 400,
    )


# the same for every reader not signed in, and for signed-in readers with the same navigation:
# served from a copy a second old, renewed by one request while the others still get it
# (consulate/kernel/public_cache.py)
@public_page(variant=navigation_variant)
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
            "other_missions": selectors.mission_list_other_of_staff(
                user=request.user, mission=mission
            ),
            "minor_units": reference.currency_minor_units(mission.currency),
            # how old this mission's copy of HQ's reference data is (sync/reference_age.html)
            **reference_age_context(),
        },
    )


@require_POST
@login_required
def handoff_start(request: HttpRequest, code: str) -> HttpResponse:
    """From any host: go to a mission's host as the same person, without logging in again
    (missions/services/handoff.py). A session that did not pass a second factor is sent to
    the mission's login page instead."""
    mission = selectors.mission_by_code(code=code)
    if mission is None:
        raise Http404
    factor = second_factor_passed(get_authentication_records(request, request.user))
    if factor is None:
        return redirect(host_url(request, mission.host, "/accounts/login/?next=/staff/"))
    try:
        token = handoff_create(
            user=request.user,  # type: ignore[arg-type]
            mission=mission,
            second_factor=factor,
            origin=request.get_host(),
        )
    except ApplicationError as error:
        raise Http404 from error  # no role there: as if the mission had no staff area
    path = reverse("handoff_redeem", urlconf=settings.ROOT_URLCONF, args=[token])
    return redirect(host_url(request, mission.host, path))


@never_cache
def handoff_redeem_view(request: HttpRequest, token: str) -> HttpResponse:
    """At a mission's host: log in the person a hand-off names, in a new session that carries
    their second factor and nothing else, and open their staff area."""
    try:
        handoff = handoff_redeem(
            token=token,
            mission=request.tenant,  # type: ignore[attr-defined]
            signed_in=request.user,
        )
    except ApplicationError as error:
        if error.http_status == 404:
            raise Http404 from error
        return render(
            request,
            "missions/handoff_refused.html",
            {"message": error.message},
            status=error.http_status,
        )
    user = handoff.user
    # A new session: nothing this browser had at this host, nor anything of the session at the
    # host it came from, carries over, but the fact that the person passed a second factor.
    request.session.flush()
    login(request, user, backend="missions.auth.ModelBackend")
    # allauth's own log of how this session was authenticated (what reauthentication and
    # second-factor checks read); the internal helper keeps the record's format allauth's.
    record_authentication(request, user, "handoff", origin=handoff.origin)
    record_authentication(request, user, "mfa", handoff=True, **handoff.second_factor)
    return redirect("staff_dashboard")
