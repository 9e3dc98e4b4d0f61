"""Passport applications in HQ monitoring's generic case register (passports/register/cases.py,
missions/register/cases.py): a case opened at a mission is one of HQ's open cases on the
dashboard and on the mission's page ("Cases by type"), in the reader's language, and leaves them
when the consul decides it or the citizen withdraws it; the register is the same whatever the
order, repetition or split of the events, and built again from HQ's central log."""

from __future__ import annotations

import random

import pytest
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from missions.register.cases import case_types
from missions.register.models import CASE_SUMS, CaseDay, RegisteredCase
from passports import services
from sync.registry import events_project, projectors, registers_rebuild
from tests.conftest import make_staff, text_of, texts_of
from tests.missions.test_sync_pages import _hq_client
from tests.passports.factories import (
    application_draft,
    application_recommended,
    application_submitted,
)
from tests.passports.test_personalisation import _to_hq
from tests.registers import outbox_on_the_wire, shuffled_batches

pytestmark = pytest.mark.django_db


def _owner(application):  # type: ignore[no-untyped-def]
    return User.objects.get(pk=application.user_id)


def _three_cases(mission):  # type: ignore[no-untyped-def]
    """At the mission: one application submitted and left, one withdrawn, one approved, and a
    draft discarded; their events on the wire."""
    with schema_context(mission.schema_name):
        application_submitted()
        withdrawn = application_submitted()
        services.application_withdraw(application=withdrawn, acting_user=_owner(withdrawn))
        approved = application_recommended(mission)
        services.application_decide(
            application=approved,
            approve=True,
            reason="",
            acting_user=make_staff(mission, "consul"),
        )
        draft = application_draft()
        services.application_withdraw(application=draft, acting_user=_owner(draft))
        return outbox_on_the_wire("passports.application.")


def _register() -> list[tuple]:
    return list(
        RegisteredCase.objects.filter(case_type="passports.application")
        .order_by("mission", "case_id")
        .values_list("mission", "case_id", "opened_seq", "closed_seq", "outcome")
    )


CASE_TOPIC_ENDS = {"submitted", "approved", "refused", "withdrawn"}


def _sums() -> list[tuple]:
    return list(
        CaseDay.objects.filter(case_type="passports.application")
        .order_by("mission", "day")
        .values_list("mission", "day", *CASE_SUMS)
    )


def test_passport_applications_are_a_registered_case_type():
    types = {t.code: t for t in case_types()}
    assert str(types["passports.application"].label) == "Passport applications"
    assert types["passports.application"].closed_topics == {
        "passports.application.approved": "granted",
        "passports.application.refused": "refused",
        "passports.application.withdrawn": "withdrawn",
    }
    assert "passports.cases" in {p.name for p in projectors()}


WORDS = {
    "en": {"open": "Open cases", "type": "Passport applications", "section": "Cases by type"},
    "tr": {
        "open": "Açık dosyalar",
        "type": "Pasaport başvuruları",
        "section": "Türe göre dosyalar",
    },
}


def _dashboard_open(client, words) -> str:  # type: ignore[no-untyped-def]
    """Tokyo's "Open cases" on HQ's dashboard: its row read under the header's names (the
    mission's cell holds its name and its city)."""
    rows = texts_of(client.get("/hq/").content.decode(), "tr", role="row")
    header = rows[0].split("\n")
    tokyo = next(row for row in rows[1:] if row.split("\n")[1].startswith("Tokyo"))
    return dict(zip(header[1:], tokyo.split("\n")[2:], strict=True))[words["open"]]


def _mission_page(client, words) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Tokyo's page: its figures at a glance and its passport row of "Cases by type"."""
    html = client.get("/hq/missions/beta/").content.decode()
    glance = text_of(html, "dl", class_="figures-list")
    section = text_of(html, "section", **{"aria-labelledby": "section-casestypes"})
    assert section.startswith(words["section"])
    row = section.split(words["type"] + "\n", 1)[1].split("\n")[:2]
    return glance, "\n".join(row)


@pytest.mark.parametrize("language", ["en", "tr"])
def test_an_open_passport_case_is_one_of_hqs_open_cases_until_decided_or_withdrawn(
    mission_b, language
):
    words = WORDS[language]
    # given three applications submitted at Tokyo, HQ seeing only their submissions
    events = _three_cases(mission_b)
    _to_hq(mission_b, [e for e in events if e["topic"] == "passports.application.submitted"])
    client = _hq_client(language=language)
    # then HQ's dashboard counts three open cases at Tokyo, and the mission's page lists them
    # under passport applications, their target 20 days
    assert _dashboard_open(client, words) == "3"
    glance, row = _mission_page(client, words)
    assert f"{words['open']}\n3\n" in glance
    assert row == "20\n3"  # the target, the open cases
    # when the withdrawal, the decision and the discarded draft reach HQ
    _to_hq(mission_b, events)
    # then only the application left open is counted
    assert _dashboard_open(client, words) == "1"
    glance, row = _mission_page(client, words)
    assert f"{words['open']}\n1\n" in glance
    assert row == "20\n1"


def test_the_register_is_the_same_in_any_order_split_or_replay_and_rebuilt(mission_a):
    events = _three_cases(mission_a)
    _to_hq(mission_a, events)
    expected = _register()
    sums = _sums()
    # three cases: one open, one withdrawn, one granted (the discarded draft counts nowhere)
    assert sorted(row[4] for row in expected if row[2] is not None) == ["", "granted", "withdrawn"]
    for seed in range(3):
        RegisteredCase.objects.filter(case_type="passports.application").delete()
        CaseDay.objects.filter(case_type="passports.application").delete()
        for batch in shuffled_batches(events, random.Random(seed)):
            events_project(mission="alpha", events=batch)
        assert _register() == expected, seed
        assert _sums() == sums, seed
    # and a rebuild from HQ's central log gives the same register
    read = registers_rebuild(mission="alpha")
    assert read["passports.cases"] == len(
        [e for e in events if e["topic"].rsplit(".", 1)[1] in CASE_TOPIC_ENDS]
    )
    assert (_register(), _sums()) == (expected, sums)
