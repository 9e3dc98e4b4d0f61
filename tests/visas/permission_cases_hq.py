"""HQ's visa services for the permission walk (tests/missions/test_permission_table.py): the
reference data (categories, watchlist: HQ admins only) and the statistics (HQ roles). Not
walked automatically: add `HQ_CASES` to `CASES` in tests/visas/permission_cases.py
(`CASES += HQ_CASES`). The reference services check the permission at the caller's mission
and write HQ's tables; the statistics check it at HQ's row.

Pages to add to the walk's `PAGE_READS` if wanted:
`Action.VISA_STATISTICS_VIEW: ("hq", "/hq/visas/statistics/")`."""

from __future__ import annotations

from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from missions.permissions import Action
from tests.permission_table import PermissionCase
from visas.reference.models import VisaCategory, WatchlistEntry
from visas.reference.services import (
    CategoryInput,
    ItemInput,
    category_active_set,
    category_save,
    watchlist_entry_add,
    watchlist_entry_end,
)
from visas.register.statistics import StatisticsFilters, statistics_csv, statistics_read

WALK_CATEGORY = CategoryInput(
    code="walk_test",
    name="Walk test",
    items=[ItemInput(code="photo", label="Photo", kind="photo")],
)


def _nothing(mission: Mission) -> Mission:
    return mission


def _category(mission: Mission) -> VisaCategory:
    category, _created = category_save(category=WALK_CATEGORY, acting_user=SYSTEM)
    return category


def _entry(mission: Mission) -> WatchlistEntry:
    return watchlist_entry_add(names="WALK TEST", reason="Walk test", acting_user=SYSTEM)


HQ_CASES = [
    PermissionCase(
        service="category_save",
        action=Action.VISA_REFERENCE_MANAGE,
        prepare=_nothing,
        call=lambda actor, mission: category_save(category=WALK_CATEGORY, acting_user=actor),
    ),
    PermissionCase(
        service="category_active_set",
        action=Action.VISA_REFERENCE_MANAGE,
        prepare=_category,
        call=lambda actor, category: category_active_set(
            category=category, active=False, acting_user=actor
        ),
    ),
    PermissionCase(
        service="watchlist_entry_add",
        action=Action.VISA_REFERENCE_MANAGE,
        prepare=_nothing,
        call=lambda actor, mission: watchlist_entry_add(
            names="WALK TEST", reason="Walk test", acting_user=actor
        ),
    ),
    PermissionCase(
        service="watchlist_entry_end",
        action=Action.VISA_REFERENCE_MANAGE,
        prepare=_entry,
        call=lambda actor, entry: watchlist_entry_end(entry=entry, acting_user=actor),
    ),
    PermissionCase(
        service="statistics_read",
        action=Action.VISA_STATISTICS_VIEW,
        prepare=_nothing,
        call=lambda actor, mission: statistics_read(filters=StatisticsFilters(), acting_user=actor),
    ),
    PermissionCase(
        service="statistics_csv",
        action=Action.VISA_STATISTICS_VIEW,
        prepare=_nothing,
        call=lambda actor, mission: statistics_csv(filters=StatisticsFilters(), acting_user=actor),
    ),
]
