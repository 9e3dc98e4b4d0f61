"""Reads of missions and staff."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from consulate.accounts.models import HqRole, User

from .models import Membership, Mission, MissionKind, MissionStatus


def mission_list_directory(*, query: str = "", country: str = "") -> QuerySet[Mission]:
    """Missions shown to the public at HQ, searchable by city, name and country."""
    missions = Mission.objects.exclude(kind=MissionKind.HEADQUARTERS).exclude(
        status=MissionStatus.CLOSED
    )
    if country:
        missions = missions.filter(host_country=country.upper())
    if query:
        missions = missions.filter(
            Q(city__icontains=query)
            | Q(name__icontains=query)
            | Q(code__icontains=query)
            | Q(host_country__iexact=query)
        )
    return missions.order_by("host_country", "city", "code")


def mission_list_for_hq() -> QuerySet[Mission]:
    """Every mission with its active staff count, in one query whatever the number of missions."""
    return (
        Mission.objects.exclude(kind=MissionKind.HEADQUARTERS)
        .annotate(staff_count=Count("memberships", filter=Q(memberships__is_active=True)))
        .order_by("host_country", "city", "code")
    )


def staff_roles(*, user: User, mission: Mission) -> set[str]:
    """The roles `user` holds at `mission`; HQ roles count at every mission."""
    if not user.is_authenticated:
        return set()
    roles = set(
        Membership.objects.filter(user=user, mission=mission, is_active=True).values_list(
            "role", flat=True
        )
    )
    if user.hq_role:
        roles.add(f"hq_{user.hq_role}")
    return roles


def staff_access_mission(
    *, user: User, mission: Mission, roles: set[str] | None = None
) -> set[str]:
    """Roles of `user` at `mission`, or 404 if they have none (or none of `roles`).

    404 and never 403: a staff member of another mission learns nothing about this one.
    """
    held = staff_roles(user=user, mission=mission)
    allowed = (
        held if roles is None else held & (roles | {f"hq_{HqRole.ADMIN}", f"hq_{HqRole.ANALYST}"})
    )
    if not allowed:
        raise Http404
    return held


def membership_list(*, mission: Mission) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(mission=mission)
        .select_related("user")
        .order_by("role", "user__email")
    )
