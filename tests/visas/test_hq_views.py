"""HQ's visa pages: the watchlist (HQ staff read, HQ admins add and end) and the categories
(HQ admins retire and offer again); and HQ's visa services walked through the permission
table (tests/visas/permission_cases_hq.py), as the app-wide walk will."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.errors import ApplicationError
from missions.models import Mission, Role
from missions.permissions import PERMISSIONS
from tests.conftest import (
    error_summary,
    host_client,
    make_staff,
    text_of,
    texts_of,
    widget_refused,
)
from tests.factories import UserFactory
from tests.missions.test_sync_pages import _login
from tests.permission_table import PermissionCase
from tests.visas.permission_cases_hq import HQ_CASES
from tests.visas.reference import seed_visa_reference
from visas.reference.models import VisaCategory, WatchlistEntry

pytestmark = pytest.mark.django_db


def _client(role: str = HqRole.ADMIN, language: str = "en") -> Client:
    client = _login(host_client("localhost"), UserFactory(hq_role=role))
    client.cookies["django_language"] = language
    return client


def test_the_watchlist_lists_entries_in_force_with_every_spelling(mission_a: Mission) -> None:
    seed_visa_reference()
    response = _client(HqRole.ANALYST).get("/hq/visas/watchlist/")
    assert response.status_code == 200
    rows = texts_of(response.content, "tr")[1:]
    assert len(rows) == 6
    smith = next(row for row in rows if "SMITH JOHNATHAN" in row)
    assert smith.split("\n")[:4] == ["SMITH JOHNATHAN", "SMYTH JONATHAN", "14 Mar 1985", "GBR"]
    assert smith.endswith("In force")  # an analyst reads: no button to end it
    assert b"Add an entry" not in response.content
    year_only = next(row for row in rows if "AL-HASSAN OMAR" in row)
    assert "1990 (year only)" in year_only


def test_an_hq_admin_adds_and_ends_an_entry(mission_a: Mission) -> None:
    client = _client()
    page = client.get("/hq/visas/watchlist/")
    assert text_of(page.content, "h2", id="add-heading") == "Add an entry"
    response = client.post(
        "/hq/visas/watchlist/",
        {
            "names": "doe john\nDOE JONATHAN",
            "birth_date": "1970-08-09",
            "nationality": "usa",
            "reason": "Demo reason",
        },
        follow=True,
    )
    assert "Entry added." in text_of(response.content, "ul", class_="messages")
    entry = WatchlistEntry.objects.get(reason="Demo reason")
    assert entry.spellings() == ["DOE JOHN", "DOE JONATHAN"]
    assert entry.nationality == "USA"
    # a refused value is named at the form's top, linked to its field, which says it beside
    # the input and is tied to it; no banner repeats it; the form is kept; nothing is added
    response = client.post(
        "/hq/visas/watchlist/", {"names": "DOE JANE", "nationality": "ZZZ", "reason": "x"}
    )
    assert response.status_code == 400
    [(link, line)] = error_summary(response.content.decode())
    assert link == "#id_nationality"
    assert line.startswith("Nationality")
    assert "not a three-letter nationality code" in line
    assert "not a three-letter nationality code" in text_of(
        response.content, "ul", id="id_nationality_errors"
    )
    assert widget_refused(response.content, "id_nationality")
    assert not texts_of(response.content, "li", **{"class": "message error"})  # no banner
    assert "DOE JANE" in text_of(response.content, "textarea", id="id_names")
    assert not WatchlistEntry.objects.filter(names__contains="DOE JANE").exists()
    # so is a field the form itself refuses (no reason given), with its own words
    response = client.post("/hq/visas/watchlist/", {"names": "DOE JANE", "reason": ""})
    assert response.status_code == 400
    assert error_summary(response.content.decode()) == [
        ("#id_reason", "Reason: This field is required.")
    ]
    assert widget_refused(response.content, "id_reason")
    # ended: it leaves the list in force, shown with every entry
    response = client.post(f"/hq/visas/watchlist/{entry.pk}/end/", follow=True)
    assert "Entry ended." in text_of(response.content, "ul", class_="messages")
    assert not any("DOE JOHN" in row for row in texts_of(response.content, "tr"))
    every = client.get("/hq/visas/watchlist/?all=1")
    assert any("DOE JOHN" in row and "Ended" in row for row in texts_of(every.content, "tr"))
    # ending it again says so
    assert client.post(f"/hq/visas/watchlist/{entry.pk}/end/").status_code == 400


def test_an_analyst_cannot_add_or_end(mission_a: Mission) -> None:
    entry = _entry()
    client = _client(HqRole.ANALYST)
    response = client.post("/hq/visas/watchlist/", {"names": "DOE JANE", "reason": "Demo"})
    assert response.status_code == 403
    assert client.post(f"/hq/visas/watchlist/{entry.pk}/end/").status_code == 403
    entry.refresh_from_db()
    assert entry.ended_at is None
    assert not WatchlistEntry.objects.filter(names="DOE JANE").exists()


def _entry() -> WatchlistEntry:
    from consulate.kernel.actors import SYSTEM
    from visas.reference.services import watchlist_entry_add

    return watchlist_entry_add(names="DOE JOHN", reason="Demo", acting_user=SYSTEM)


def test_the_categories_with_their_checklists_and_a_retirement(mission_a: Mission) -> None:
    seed_visa_reference()
    client = _client()
    response = client.get("/hq/visas/categories/")
    headings = texts_of(response.content, "h2")
    assert headings[:6] == [
        "Tourism tourism",
        "Business business",
        "Airport transit transit",
        "Study study",
        "Work work",
        "Visiting family or friends family_visit",
    ]
    assert "Passport photo photo · Photo" in texts_of(response.content, "li")
    turkish = _client(language="tr").get("/hq/visas/categories/")
    assert texts_of(turkish.content, "h2")[0] == "Turizm tourism"
    study = VisaCategory.objects.get(code="study", mission="")
    response = client.post(f"/hq/visas/categories/{study.pk}/active/", {"active": "0"}, follow=True)
    assert "retired" in text_of(response.content, "ul", class_="messages")
    study.refresh_from_db()
    assert study.active is False
    client.post(f"/hq/visas/categories/{study.pk}/active/", {"active": "1"})
    study.refresh_from_db()
    assert study.active is True
    # an analyst reads, and may not retire
    analyst = _client(HqRole.ANALYST)
    page = analyst.get("/hq/visas/categories/")
    assert page.status_code == 200
    assert b"Retire" not in page.content
    assert (
        analyst.post(f"/hq/visas/categories/{study.pk}/active/", {"active": "0"}).status_code == 403
    )


def test_the_pages_are_not_there_for_mission_staff_or_strangers(
    mission_a: Mission, client_hq: Client
) -> None:
    entry = _entry()
    paths = ("/hq/visas/watchlist/", "/hq/visas/categories/", "/hq/visas/statistics/")
    consul = _login(host_client("localhost"), make_staff(mission_a, "consul"))
    for path in paths:
        assert consul.get(path).status_code == 404, path
    assert consul.post(f"/hq/visas/watchlist/{entry.pk}/end/").status_code == 404
    assert client_hq.get("/hq/visas/watchlist/").status_code == 302
    assert _client().post("/hq/visas/watchlist/999999/end/").status_code == 404


# --- The permission walk of HQ's visa services ---------------------------------------------------

ACTORS = [(role, "own") for role in Role.values] + [(role, "other") for role in Role.values]
ACTORS += [(f"hq_{role}", "hq") for role in HqRole.values]


@pytest.mark.parametrize(("role", "where"), ACTORS, ids=[f"{r}@{w}" for r, w in ACTORS])
@pytest.mark.parametrize("case", HQ_CASES, ids=str)
def test_hq_services_do_what_the_table_says(
    case: PermissionCase, role: str, where: str, mission_a: Mission, mission_b: Mission
) -> None:
    actor: object
    if where == "hq":
        actor = UserFactory(hq_role=role.removeprefix("hq_"))
    else:
        actor = make_staff(mission_a if where == "own" else mission_b, role)
    allowed = where != "other" and role in PERMISSIONS[case.action]
    with schema_context(mission_a.schema_name):
        state = case.prepare(mission_a)
        if allowed:
            case.call(actor, state)
            return
        with pytest.raises(ApplicationError) as refused:
            case.call(actor, state)
        expected = {"NOT_FOUND"} if where == "other" else {"NOT_ALLOWED", "NOT_FOUND"}
        assert refused.value.code.name in expected


def test_an_hq_admin_adds_a_per_mission_category_and_changes_it(mission_a: Mission) -> None:
    client = _client()
    assert client.get("/hq/visas/categories/new/").status_code == 200
    form = {
        "code": "seasonal",
        "mission": "alpha",
        "name": "Seasonal work",
        "name_tr": "Mevsimlik iş",
        "visa_type": "C",
        "processing_days": "15",
        "max_stay_days": "90",
        "order": "80",
        "active": "on",
        "items": "photo|photo|required|Photo|Fotoğraf\ncontract|document|optional|Contract",
        "questions": "farm|text|required|Which farm?|Hangi çiftlik?",
    }
    response = client.post("/hq/visas/categories/new/", form, follow=True)
    assert "Category added." in text_of(response.content, "ul", class_="messages")
    category = VisaCategory.objects.get(code="seasonal", mission="alpha")
    assert category.fee_code == "seasonal"
    assert [(i.code, i.kind, i.required) for i in category.items.order_by("order")] == [
        ("photo", "photo", True),
        ("contract", "document", False),
    ]
    # the form shows it as saved; a change keeps its code and mission
    page = client.get(f"/hq/visas/categories/{category.pk}/")
    assert "contract|document|optional|Contract" in page.content.decode()
    changed = {**form, "code": "forged", "mission": "", "name": "Seasonal farm work"}
    changed["items"] = "photo|photo|required|Photo"
    client.post(f"/hq/visas/categories/{category.pk}/", changed)
    category.refresh_from_db()
    assert str(category.name) == "Seasonal farm work"
    assert (category.code, category.mission) == ("seasonal", "alpha")
    assert list(category.items.values_list("code", flat=True)) == ["photo"]
    # what the service refuses is said next to its field
    response = client.post(
        f"/hq/visas/categories/{category.pk}/",
        {**changed, "items": "contract|document|required|Contract"},
    )
    assert response.status_code == 400
    [(link, line)] = error_summary(response.content.decode())
    assert link == "#id_items"
    assert "exactly one photo" in line
    assert "exactly one photo" in text_of(response.content, "ul", id="id_items_errors")
    assert widget_refused(response.content, "id_items")
    assert not texts_of(response.content, "li", **{"class": "message error"})  # no banner
    response = client.post(
        f"/hq/visas/categories/{category.pk}/", {**changed, "items": "photo|photo|maybe|Photo"}
    )
    assert response.status_code == 400
    assert "Line 1" in text_of(response.content, "ul", id="id_items_errors")
    assert [link for link, _ in error_summary(response.content.decode())] == ["#id_items"]
    category.refresh_from_db()
    assert list(category.items.values_list("code", flat=True)) == ["photo"]
    # an analyst has no such page
    analyst = _client(HqRole.ANALYST)
    assert analyst.get("/hq/visas/categories/new/").status_code == 404
    assert analyst.get(f"/hq/visas/categories/{category.pk}/").status_code == 404
