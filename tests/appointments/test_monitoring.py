"""The appointments contributor to HQ monitoring (appointments/register/monitoring.py): its
figures, alerts, trends and tables, from HQ's registers only, in a fixed number of queries.

Three missions, the same events each: Berlin (UTC+1), Tokyo (UTC+9) and Los Angeles (UTC-8).
At 06:00 UTC on 15 December it is already the 15th in Berlin and Tokyo but still the 14th in
Los Angeles, so "the last 30 days" are 16 Nov-15 Dec at the first two and 15 Nov-14 Dec at the
third: an appointment at 10:00 UTC on 15 November counts only in Los Angeles, one at 09:00 UTC on
15 December only in Berlin and Tokyo."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from appointments.models import ReleaseMode
from appointments.register.monitoring import contributor
from missions.models import Mission
from missions.monitoring import contributors, weeks_ending
from tests.appointments.hq_data import booking_event, hq_mission, project, report_event

NOW = dt.datetime(2026, 12, 15, 6, tzinfo=dt.UTC)


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _mission_events(*, legal_gone: bool = False) -> list[dict]:
    events = [
        # b1: online, for 15 Nov 10:00 UTC, booked 1 Nov
        booking_event("created", "b1", occurred_at=_at("2026-11-01T10:00"),
                      starts_at=_at("2026-11-15T10:00"), channel="online"),
        # b2: at the counter, for 15 Dec 09:00 UTC, booked 5 Dec
        booking_event("created", "b2", occurred_at=_at("2026-12-05T10:00"),
                      starts_at=_at("2026-12-15T09:00"), channel="counter"),
        # b3: online, served on 10 Dec; b4: from an older mission (no channel), did not come
        booking_event("created", "b3", occurred_at=_at("2026-12-01T10:00"),
                      starts_at=_at("2026-12-10T10:00"), channel="online"),
        booking_event("served", "b3", occurred_at=_at("2026-12-10T10:30")),
        booking_event("created", "b4", occurred_at=_at("2026-12-01T10:00"),
                      starts_at=_at("2026-12-11T10:00")),
        booking_event("no_show", "b4", occurred_at=_at("2026-12-11T11:00")),
        # the passport service is free in three days, the visa one in forty
        report_event("passport", occurred_at=_at("2026-12-15T05:00"),
                     next_bookable=NOW + dt.timedelta(days=3), free=12,
                     names={"en": "Passport", "tr": "Pasaport"}),
        report_event("visa", occurred_at=_at("2026-12-15T05:00"),
                     next_bookable=NOW + dt.timedelta(days=40), free=0,
                     names={"en": "Visa"}, mode="scheduled"),
    ]  # fmt: skip
    if legal_gone:
        # legalisation had four places on the 2nd, none since the 14th
        events += [
            report_event("legal", occurred_at=_at("2026-12-02T05:00"),
                         next_bookable=NOW + dt.timedelta(days=2), free=4),
            report_event("legal", occurred_at=_at("2026-12-14T05:00"),
                         next_bookable=None, free=0),
        ]  # fmt: skip
    return events


@pytest.fixture
def three_missions(mission_a, mission_b) -> list[Mission]:
    Mission.objects.filter(code="alpha").update(wait_target_days=45)
    hq_mission("la", city="Los Angeles", country="US", zone="America/Los_Angeles")
    project("alpha", _mission_events())
    project("beta", _mission_events(legal_gone=True))
    project("la", _mission_events())
    return list(Mission.objects.filter(code__in=["alpha", "beta", "la"]).order_by("code"))


def test_the_contributor_is_registered_with_its_columns():
    (registered,) = [c for c in contributors() if c.name == "appointments"]
    assert [column.key for column in registered.columns] == [
        "appointments.next_free", "appointments.wait_days", "appointments.mean_wait_days",
        "appointments.no_show_rate", "appointments.online_share", "appointments.bookings_30d",
    ]  # fmt: skip


def test_figures_are_each_missions_own_last_30_days(three_missions):
    # when HQ reads the figures at 06:00 UTC on 15 December
    figures = contributor.figures(missions=three_missions, now=NOW)
    # then the next free appointment is the earliest over the services, three days away
    for code in ("alpha", "beta", "la"):
        assert figures[code]["appointments.next_free"] == NOW + dt.timedelta(days=3)
        assert figures[code]["appointments.wait_days"] == pytest.approx(3.0)
        # one served, one no-show among those due
        assert figures[code]["appointments.no_show_rate"] == pytest.approx(0.5)
        assert figures[code]["appointments.bookings_30d"] == 3
    # Berlin and Tokyo: b2 (10 days), b3 (9), b4 (10); b2 at the counter, b3 online
    for code in ("alpha", "beta"):
        assert figures[code]["appointments.mean_wait_days"] == pytest.approx(29 / 3)
        assert figures[code]["appointments.online_share"] == pytest.approx(0.5)
    # Los Angeles: b1 (14 days), b3, b4; b1 and b3 online, b4's channel unknown
    assert figures["la"]["appointments.mean_wait_days"] == pytest.approx(11.0)
    assert figures["la"]["appointments.online_share"] == pytest.approx(1.0)


def test_a_mission_without_reports_or_bookings_has_no_figures(mission_a):
    figures = contributor.figures(missions=[mission_a], now=NOW)
    assert figures == {"alpha": {"appointments.next_free": None, "appointments.wait_days": None}}


def test_alerts_name_the_service_and_how_far_in_the_readers_language(three_missions):
    figures = contributor.figures(missions=three_missions, now=NOW)
    # when HQ reads the alerts, in English
    with translation.override("en"):
        alerts = contributor.alerts(missions=three_missions, figures=figures, now=NOW)
    # then Berlin (target 45 days) has none; Tokyo and Los Angeles (30) wait too long for a
    # visa, and Tokyo's legalisation has no place left after having had some
    got = sorted((a.mission, a.severity, a.message) for a in alerts)
    assert got == [
        ("beta", "critical",
         "Legal: no free appointment in the next 30 days (there were some on Wed 2 Dec 2026)."),
        ("beta", "warning",
         "Visa: the next free appointment is 40 days away (target: 30 days)."),
        ("la", "warning", "Visa: the next free appointment is 40 days away (target: 30 days)."),
    ]  # fmt: skip
    assert {a.kind for a in alerts} == {"appointments.wait_above_target"}
    # and in Turkish
    with translation.override("tr"):
        alerts = contributor.alerts(missions=three_missions, figures=figures, now=NOW)
    messages = sorted(a.message for a in alerts if a.mission == "beta")
    assert messages == [
        "Legal: önümüzdeki 30 gün içinde boş randevu yok (2 Ara 2026 Çrş tarihinde vardı).",
        "Visa: bir sonraki boş randevu 40 gün sonra (hedef: 30 gün).",
    ]


def test_trends_sum_the_missions_by_week_of_the_appointment(three_missions):
    weeks = weeks_ending(dt.date(2026, 12, 15), 6)
    assert weeks[0] == dt.date(2026, 11, 9)
    bookings, waits = contributor.trends(missions=three_missions, weeks=weeks)
    # b1 in the week of 9 Nov, b3 and b4 in that of 7 Dec, b2 in that of 14 Dec: three missions
    assert bookings.key == "appointments.bookings"
    assert bookings.values == {
        dt.date(2026, 11, 9): 3, dt.date(2026, 11, 16): 0, dt.date(2026, 11, 23): 0,
        dt.date(2026, 11, 30): 0, dt.date(2026, 12, 7): 6, dt.date(2026, 12, 14): 3,
    }  # fmt: skip
    assert waits.values == {
        dt.date(2026, 11, 9): 14.0, dt.date(2026, 11, 16): None, dt.date(2026, 11, 23): None,
        dt.date(2026, 11, 30): None, dt.date(2026, 12, 7): 9.5, dt.date(2026, 12, 14): 10.0,
    }  # fmt: skip
    # one mission's page: its own only
    (one, _) = contributor.trends(missions=three_missions[:1], weeks=weeks)
    assert one.values[dt.date(2026, 12, 7)] == 2


def test_a_missions_page_has_a_row_per_service_named_in_the_readers_language(three_missions):
    beta = next(m for m in three_missions if m.code == "beta")
    with translation.override("tr"):
        (section,) = contributor.sections(mission=beta, now=NOW)
        scheduled = str(ReleaseMode.SCHEDULED.label)
        open_ = str(ReleaseMode.OPEN.label)
        title = str(section.title)
    assert title == "Hizmete göre randevular"
    rows = {row["appointments.service.name"]: row for row in section.rows}
    # Turkish where the service has a Turkish name, English otherwise; b1-b4 were for passport
    assert sorted(rows) == ["Legal", "Pasaport", "Visa"]
    passport = rows["Pasaport"]
    assert passport == {
        "appointments.service.name": "Pasaport",
        "appointments.service.release_mode": open_,
        "appointments.service.next_free": NOW + dt.timedelta(days=3),
        "appointments.service.free_places_30d": 12,
        "appointments.service.mean_wait_days": pytest.approx(29 / 3),
        "appointments.service.bookings_30d": 3,
        "appointments.service.no_show_rate": pytest.approx(0.5),
    }
    assert rows["Visa"]["appointments.service.release_mode"] == scheduled
    assert rows["Visa"]["appointments.service.bookings_30d"] == 0
    assert rows["Legal"]["appointments.service.next_free"] is None


def _more_missions(count: int) -> list[Mission]:
    made = []
    for n in range(count):
        code = f"extra-{n:02d}"
        made.append(hq_mission(code, city=f"City {n}", country="FR", zone="Europe/Paris"))
        project(code, _mission_events(legal_gone=True))
    return made


@pytest.mark.parametrize("extra", [0, 10])
def test_every_method_costs_the_same_queries_for_2_or_12_missions(
    mission_a, mission_b, extra, django_assert_num_queries
):
    project("alpha", _mission_events())
    project("beta", _mission_events(legal_gone=True))
    missions = [mission_a, mission_b, *_more_missions(extra)]
    assert len(missions) in (2, 12)
    weeks = weeks_ending(NOW.date(), 12)
    with django_assert_num_queries(2):
        figures = contributor.figures(missions=missions, now=NOW)
    assert len(figures) == len(missions)
    with django_assert_num_queries(1):
        alerts = contributor.alerts(missions=missions, figures=figures, now=NOW)
    assert len(alerts) == 2 * (len(missions) - 1) + 1  # Berlin's visa target is 30 here
    with django_assert_num_queries(1):
        contributor.trends(missions=missions, weeks=weeks)
    with django_assert_num_queries(2):
        contributor.sections(mission=missions[-1], now=NOW)


def test_a_service_no_longer_offered_leaves_the_missions_page(db):
    mission = hq_mission("gone", city="Lyon", country="FR", zone="Europe/Paris")
    now = timezone.now()
    project(
        "gone",
        [
            report_event("legal", occurred_at=now - dt.timedelta(hours=3), next_bookable=None,
                         free=0, names={"en": "Legal"}),
            report_event("passport", occurred_at=now - dt.timedelta(hours=3),
                         next_bookable=now + dt.timedelta(days=3), free=5,
                         names={"en": "Passport"}),
            booking_event("created", "gone-1", occurred_at=now - dt.timedelta(days=5),
                          starts_at=now - dt.timedelta(days=1), service="legal"),
        ],
    )  # fmt: skip
    # when the mission stops offering "legal" (one more report, offered: false)
    stopped = report_event("legal", occurred_at=now - dt.timedelta(hours=1), next_bookable=None,
                           free=0, names={"en": "Legal"})  # fmt: skip
    stopped["payload"]["offered"] = False
    project("gone", [stopped])
    # then the mission's page lists only what it offers, even with bookings for the other
    (section,) = contributor.sections(mission=mission, now=now)
    assert [row["appointments.service.name"] for row in section.rows] == ["Passport"]
