"""HQ's visa reference data: the services' checks, what they write, and what a mission's copy
receives (`visas.reference.services`, `visas.reference.demo`, `tests.visas.reference`)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.actors import SYSTEM
from consulate.kernel.errors import ApplicationError
from missions.models import Mission
from sync.hq.models import ReferenceVersion
from sync.reference import reference_apply_local, reference_publish
from tests.factories import UserFactory
from tests.fees.factories import seed_fee_reference
from tests.visas.reference import seed_visa_reference
from visas.reference import demo
from visas.reference.error_codes import VisaReferenceError
from visas.reference.models import CategoryQuestion, ChecklistItem, VisaCategory, WatchlistEntry
from visas.reference.services import (
    CategoryInput,
    ItemInput,
    QuestionInput,
    category_save,
    watchlist_entry_add,
    watchlist_entry_end,
)

pytestmark = pytest.mark.django_db

PHOTO = ItemInput(code="photo", label="Photo", kind="photo", order=1)


def _category(**changes: object) -> CategoryInput:
    base = CategoryInput(
        code="seasonal",
        name="Seasonal work",
        name_tr="Mevsimlik iş",
        description="Harvest work.",
        visa_type="C",
        max_stay_days=90,
        items=[
            PHOTO,
            ItemInput(code="contract", label="Contract", label_tr="Sözleşme", order=2),
        ],
        questions=[QuestionInput(code="farm", label="Which farm?", label_tr="Hangi çiftlik?")],
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _column(row: object, name: str) -> object:
    """A translated field's own column (`name_en`), which modeltranslation adds at run time."""
    return getattr(row, name)


def _publish_and_apply() -> None:
    with schema_context("public"):
        reference_publish(acting_user=SYSTEM)
        reference_apply_local()


def test_category_save_creates_then_changes_and_replaces_the_checklist() -> None:
    category, created = category_save(category=_category(), acting_user=SYSTEM)
    assert created
    assert category.fee_code == "seasonal"  # empty: the category's code
    assert _column(category, "name_en") == "Seasonal work"
    assert _column(category, "name_tr") == "Mevsimlik iş"
    assert _column(category, "description_tr") is None  # Turkish readers get the English
    with translation.override("tr"):
        assert VisaCategory.objects.get(pk=category.pk).name == "Mevsimlik iş"
        item = ChecklistItem.objects.get(category=category, code="photo")
        assert item.label == "Photo"  # no Turkish: the English
    changed, created = category_save(
        category=_category(
            name="Seasonal farm work",
            items=[PHOTO, ItemInput(code="permit", label="Permit")],
            questions=[],
        ),
        acting_user=SYSTEM,
    )
    assert not created
    assert changed.pk == category.pk
    assert _column(changed, "name_en") == "Seasonal farm work"
    assert sorted(
        ChecklistItem.objects.filter(category=category).values_list("code", flat=True)
    ) == [
        "permit",
        "photo",
    ]
    assert not CategoryQuestion.objects.filter(category=category).exists()


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"code": "Bad Code"}, VisaReferenceError.INVALID_CATEGORY, "code"),
        ({"name": "  "}, VisaReferenceError.INVALID_CATEGORY, "name"),
        ({"visa_type": "X"}, VisaReferenceError.INVALID_CATEGORY, "visa_type"),
        ({"processing_days": 0}, VisaReferenceError.INVALID_CATEGORY, "processing_days"),
        ({"processing_days": 61}, VisaReferenceError.INVALID_CATEGORY, "processing_days"),
        ({"max_stay_days": 120}, VisaReferenceError.INVALID_CATEGORY, "max_stay_days"),
        ({"fee_code": "Not A Code"}, VisaReferenceError.INVALID_CATEGORY, "fee_code"),
        ({"mission": "nowhere"}, VisaReferenceError.INVALID_CATEGORY, "mission"),
        ({"items": []}, VisaReferenceError.INVALID_ITEM, "items"),
        (
            {"items": [PHOTO, ItemInput(code="photo2", label="Another", kind="photo")]},
            VisaReferenceError.INVALID_ITEM,
            "items",
        ),
        (
            {"items": [dataclasses.replace(PHOTO, required=False)]},
            VisaReferenceError.INVALID_ITEM,
            "items",
        ),
        ({"items": [PHOTO, PHOTO]}, VisaReferenceError.INVALID_ITEM, "items"),
        (
            {"items": [PHOTO, ItemInput(code="x", label="")]},
            VisaReferenceError.INVALID_ITEM,
            "items",
        ),
        (
            {"questions": [QuestionInput(code="q", label="Q", kind="essay")]},
            VisaReferenceError.INVALID_QUESTION,
            "questions",
        ),
    ],
)
def test_category_save_refuses_what_is_wrong(
    changes: dict[str, object], code: VisaReferenceError, field: str
) -> None:
    with pytest.raises(ApplicationError) as raised:
        category_save(category=_category(**changes), acting_user=SYSTEM)
    assert raised.value.code == code
    assert raised.value.field == field
    assert not VisaCategory.objects.filter(code="seasonal").exists()


def test_a_long_stay_may_be_longer_than_ninety_days() -> None:
    category, _ = category_save(
        category=_category(visa_type="D", max_stay_days=365), acting_user=SYSTEM
    )
    assert category.max_stay_days == 365


def test_only_an_hq_admin_manages_reference_data(mission_a: Mission) -> None:
    analyst = UserFactory(hq_role=HqRole.ANALYST)
    admin = UserFactory(hq_role=HqRole.ADMIN)
    with pytest.raises(ApplicationError) as raised:
        category_save(category=_category(), acting_user=analyst)
    assert raised.value.code.name == "NOT_ALLOWED"
    with pytest.raises(ApplicationError):
        watchlist_entry_add(names="DOE JOHN", reason="x", acting_user=analyst)
    category_save(category=_category(), acting_user=admin)
    # from a mission's schema too, it writes HQ's table, never the mission's copy
    with schema_context(mission_a.schema_name):
        category_save(category=_category(name="Changed"), acting_user=SYSTEM)
        assert not VisaCategory.objects.filter(code="seasonal").exists()  # the copy
    assert _column(VisaCategory.objects.get(code="seasonal"), "name_en") == "Changed"


def test_watchlist_entry_add_normalises_and_checks() -> None:
    entry = watchlist_entry_add(
        names=["  doe   john ", "DOE JOHN", "doh jon\nDOE JONATHAN"],
        birth_date=dt.date(1970, 8, 9),
        birth_year_only=True,
        nationality="usa",
        reason=" Demo   reason ",
        acting_user=SYSTEM,
    )
    assert entry.spellings() == ["DOE JOHN", "DOH JON", "DOE JONATHAN"]
    assert entry.birth_date == dt.date(1970, 1, 1)
    assert entry.nationality == "USA"
    assert entry.reason == "Demo reason"
    today = timezone.localdate()
    cases: list[tuple[dict[str, object], str]] = [
        ({"names": " \n "}, "names"),
        ({"names": "123"}, "names"),
        ({"nationality": "XX"}, "nationality"),
        ({"nationality": "ZZZ"}, "nationality"),
        ({"reason": ""}, "reason"),
        ({"birth_date": today + dt.timedelta(days=1)}, "birth_date"),
        ({"birth_year_only": True}, "birth_date"),
        ({"expires_on": today}, "expires_on"),
    ]
    for kwargs, field in cases:
        arguments: dict[str, object] = {"names": "DOE JANE", "reason": "Demo", **kwargs}
        with pytest.raises(ApplicationError) as raised:
            watchlist_entry_add(acting_user=SYSTEM, **arguments)  # type: ignore[arg-type]
        assert raised.value.code == VisaReferenceError.INVALID_WATCHLIST, kwargs
        assert raised.value.field == field, kwargs


def test_watchlist_entry_end_once() -> None:
    entry = watchlist_entry_add(names="DOE JOHN", reason="Demo", acting_user=SYSTEM)
    ended = watchlist_entry_end(entry=entry, acting_user=SYSTEM)
    assert ended.ended_at is not None
    with pytest.raises(ApplicationError) as raised:
        watchlist_entry_end(entry=entry, acting_user=SYSTEM)
    assert raised.value.code == VisaReferenceError.ENDED


def test_demo_seed_is_idempotent_and_reaches_every_mission(
    mission_a: Mission, mission_b: Mission
) -> None:
    seed_fee_reference()
    seed_visa_reference()
    version = ReferenceVersion.objects.order_by("-version").first()
    assert version is not None
    assert {"visas", "fees"} <= set(version.sets)
    assert demo.seed_reference() == {"categories": 0, "watchlist": 0}
    codes = {"tourism", "business", "transit", "study", "work", "family_visit"}
    assert set(VisaCategory.objects.filter(mission="").values_list("code", flat=True)) == codes
    assert WatchlistEntry.objects.count() == len(demo.WATCHLIST)
    for mission in (mission_a, mission_b):
        with schema_context(mission.schema_name):
            copy = VisaCategory.objects.filter(mission="")
            assert set(copy.values_list("code", flat=True)) == codes
            assert all(
                category.items.filter(kind="photo", required=True).count() == 1 for category in copy
            )
            assert WatchlistEntry.objects.count() == len(demo.WATCHLIST)
            # the fee schedule came too
            from fees.reference.models import FeeScheduleEntry

            assert FeeScheduleEntry.objects.filter(service="visa").exists()
    with translation.override("tr"):
        assert VisaCategory.objects.get(code="study", mission="").name == "Öğrenim"
        assert ChecklistItem.objects.get(category__code="study", code="photo").label == (
            "Vesikalık fotoğraf"
        )


def test_a_per_mission_addition_is_in_every_copy_but_names_its_mission(
    mission_a: Mission, mission_b: Mission
) -> None:
    category_save(category=_category(mission="alpha"), acting_user=SYSTEM)
    _publish_and_apply()
    for mission in (mission_a, mission_b):
        with schema_context(mission.schema_name):
            # the copy is whole; what a mission offers is `mission in ("", its code)`
            offered = VisaCategory.objects.filter(mission__in=["", mission.code], active=True)
            assert offered.filter(code="seasonal").exists() == (mission.code == "alpha")


def test_a_retired_category_reaches_the_copy(mission_a: Mission) -> None:
    category_save(category=_category(), acting_user=SYSTEM)
    _publish_and_apply()
    category_save(category=_category(active=False), acting_user=SYSTEM)
    _publish_and_apply()
    with schema_context(mission_a.schema_name):
        assert VisaCategory.objects.get(code="seasonal").active is False


def test_the_visas_demo_gives_every_mission_a_block_once(
    mission_a: Mission, mission_b: Mission
) -> None:
    import io

    from visas.demo import seed_demo
    from visas.models import VisaNumberBlock

    out = io.StringIO()
    seed_demo(stdout=out)
    assert "visa numbers for alpha" in out.getvalue()
    seed_demo(stdout=io.StringIO())
    for mission in (mission_a, mission_b):
        with schema_context(mission.schema_name):
            assert VisaNumberBlock.objects.count() == 1
