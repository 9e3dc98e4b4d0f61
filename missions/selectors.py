"""Reads of missions and staff."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from modeltranslation.utils import build_localized_fieldname, get_language

from consulate.kernel import reference
from consulate.kernel.tenancy import current_schema

from .models import Membership, Mission, MissionKind, MissionStatus


def current_mission() -> Mission:
    """The mission whose schema the connection is set to: the one way a service learns its
    mission. In a request django-tenants has already loaded it (no query); in a task or a
    `schema_context` it is read once from the public schema, on every mission's search path."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Mission) and tenant.schema_name == current_schema():
        return tenant
    return Mission.objects.get(schema_name=current_schema())


def mission_list_directory(*, query: str = "", country: str = "") -> list[Mission]:
    """Missions shown to the public at HQ, searchable by city, name and country: a name or city
    in any language (a reader of Turkish pages may type the English one, which is also what
    they see where a mission has no Turkish one), folded as the wait times' search folds it
    (`reference.search_fold`: "BERLİN", "berlin" and "Berlin" alike, which SQL's ILIKE does
    not do for the dotted İ). A few hundred missions at most: compared here, not in SQL."""
    missions = Mission.objects.exclude(kind=MissionKind.HEADQUARTERS).exclude(
        status=MissionStatus.CLOSED
    )
    if country:
        missions = missions.filter(host_country=country.upper())
    listed = list(missions_ordered(missions))
    folded = reference.search_fold(query.strip())
    if not folded:
        return listed
    countries = reference.country_codes_named(query)
    return [
        mission
        for mission in listed
        if mission.host_country in countries
        or mission.host_country.casefold() == folded
        or any(folded in reference.search_fold(text) for text in _directory_texts(mission))
    ]


def _directory_texts(mission: Mission) -> list[str]:
    texts = [mission.code]
    for language in settings.MODELTRANSLATION_LANGUAGES:
        for field in ("name", "city"):
            texts.append(getattr(mission, f"{field}_{language}", None) or "")
    return texts


def missions_order() -> list[Any]:
    """The directory's order as SQL sorts it: the host country's code, the city in the reader's
    language, the code. The city is the language's own where the mission has one and the
    English one where it has none (NULL or empty), as `mission.city` reads it: a bare
    `order_by("city")` (modeltranslation's `city_tr` in Turkish) put a mission without a
    Turkish city first or last in its country, wherever its English name falls."""
    english = build_localized_fieldname("city", settings.MODELTRANSLATION_DEFAULT_LANGUAGE)
    own = build_localized_fieldname("city", get_language())
    city = F(english) if own == english else Coalesce(NullIf(F(own), Value("")), F(english))
    return ["host_country", city, "code"]


def missions_ordered(missions: QuerySet[Mission]) -> QuerySet[Mission]:
    """`missions` in `missions_order()`."""
    return missions.order_by(*missions_order())


def mission_sort_key(mission: Mission) -> tuple[str, str, str]:
    """The directory's order in the reader's language: the host country's name (Almanya,
    Amerika Birleşik Devletleri, Japonya in Turkish), then the city, then the code."""
    country = reference.country_name(mission.host_country)
    return (reference.name_sort_key(country), reference.name_sort_key(mission.city), mission.code)


def mission_countries_directory() -> list[str]:
    """The host countries of the directory's missions, in the order of their names in the
    reader's language (Almanya before Japonya in Turkish)."""
    codes = {mission.host_country for mission in mission_list_directory()}
    return sorted(codes, key=lambda code: reference.name_sort_key(reference.country_name(code)))


def membership_list(*, mission: Mission) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(mission=mission)
        .select_related("user")
        .order_by("role", "user__email")
    )


def mission_hq() -> Mission:
    """HQ's own row (the public schema's): where HQ-wide actions, such as opening a mission or
    managing accounts, are checked against the permission table."""
    return Mission.objects.get(schema_name=settings.PUBLIC_SCHEMA_NAME)


def mission_by_code(*, code: str) -> Mission | None:
    """A mission (never HQ's row) by its code, or None."""
    return Mission.objects.exclude(kind=MissionKind.HEADQUARTERS).filter(code=code).first()


def mission_list_other_of_staff(*, user: Any, mission: Mission) -> QuerySet[Mission]:
    """The other missions where `user` holds an active role: the staff dashboard links to
    them (through a hand-off, so no second login)."""
    missions = (
        Mission.objects.exclude(kind=MissionKind.HEADQUARTERS)
        .exclude(pk=mission.pk)
        .exclude(status=MissionStatus.CLOSED)
        .filter(memberships__user=user, memberships__is_active=True)
        .distinct()
    )
    return missions_ordered(missions)
