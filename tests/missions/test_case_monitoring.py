"""The cases contributor to HQ monitoring (missions/register/monitoring.py): its figures,
alerts, trends and sections on a handful of missions east and west of UTC, from events
projected as HQ's apply projects them, and its query counts, the same for 2 and 12 missions."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone, translation

from missions.monitoring import contributors, weeks_ending
from missions.register.monitoring import CasesContributor, refusal_rate_differs
from sync.registry import events_project
from tests.conftest import text_of, texts_of
from tests.missions.case_events import WAIVER_APPROVED, Seqs, hq_missions
from tests.missions.test_sync_pages import _hq_client
from visas.events import VisaTopic
from visas.register.models import VisaCase

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # Berlin 13:00, Tokyo 21:00, New York 07:00


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def backlog(mission_a, mission_b):
    """alpha (Berlin): waivers W1 open since 20 Nov, W2 since 1 Dec, W3 asked 25 Nov and
    granted 28 Nov; refunds R1 open since 30 Nov 00:00 UTC, R2 since 10 Nov. Staff 11 and 12
    acted today in Berlin, 13 late yesterday. beta (Tokyo): no case; staff 11 acted at 05:00
    today Tokyo time (20:00 UTC yesterday)."""
    alpha = Seqs()
    alpha.waiver("W1", at(11, 20))
    alpha.waiver("W2", at(12, 1))
    alpha.waiver("W3", at(11, 25), at(11, 28), "granted")
    alpha.refund("R1", at(11, 30, 0))
    alpha.refund("R2", at(11, 10))
    alpha.add(WAIVER_APPROVED, "x1", at(12, 3, 8), actor=11)
    alpha.add(WAIVER_APPROVED, "x2", at(12, 2, 23, 30), actor=12)  # 00:30 today in Berlin
    alpha.add(WAIVER_APPROVED, "x3", at(12, 2, 22), actor=13)  # 23:00 yesterday in Berlin
    events_project(mission="alpha", events=alpha.events)
    beta = Seqs()
    beta.add(WAIVER_APPROVED, "x1", at(12, 2, 20), actor=11)
    events_project(mission="beta", events=beta.events)
    return [mission_a, mission_b]


def test_the_contributor_is_registered_with_its_columns():
    cases = next(c for c in contributors() if c.name == "cases")
    assert [c.key for c in cases.columns] == [
        "cases.open",
        "cases.oldest_days",
        "cases.overdue",
        "cases.staff_active_today",
    ]
    with translation.override("tr"):
        assert [str(c.label) for c in cases.columns] == [
            "Açık dosyalar",
            "En eski açık dosya",
            "Süresi aşılmış dosyalar",
            "Bugün işlem yapan personel",
        ]


def test_figures_count_the_backlog_and_todays_staff_on_each_missions_own_date(backlog, db):
    west = hq_missions(1, prefix="w")[0]  # New York: 07:00 on 3 Dec
    late = Seqs()
    late.add(WAIVER_APPROVED, "x", at(12, 3, 3), actor=11)  # 22:00 on 2 Dec in New York
    events_project(mission=west.code, events=late.events)
    figures = CasesContributor().figures(missions=[*backlog, west], now=NOW)
    assert figures == {
        "alpha": {
            "cases.open": 4,
            "cases.oldest_days": 23.0,  # R2
            "cases.overdue": 2,  # W1 (13 days > 5), R2 (23 days > 10)
            "cases.staff_active_today": 2,
        },
        "beta": {
            "cases.open": 0,
            "cases.oldest_days": None,
            "cases.overdue": 0,
            "cases.staff_active_today": 1,
        },
        "w01": {
            "cases.open": 0,
            "cases.oldest_days": None,
            "cases.overdue": 0,
            "cases.staff_active_today": 0,
        },
    }


def test_trends_count_per_week_on_the_missions_dates(backlog):
    weeks = weeks_ending(dt.date(2026, 12, 3), 3)
    trends = {t.key: t for t in CasesContributor().trends(missions=backlog, weeks=weeks)}
    monday = dict(zip(("w1", "w2", "w3"), weeks, strict=True))
    assert monday["w1"] == dt.date(2026, 11, 16)
    # R1 was asked at 01:00 on 30 Nov in Berlin; R2 (10 Nov) is before the weeks shown
    assert trends["cases.opened"].values == {monday["w1"]: 1, monday["w2"]: 1, monday["w3"]: 2}
    assert trends["cases.decided"].values == {monday["w1"]: 0, monday["w2"]: 1, monday["w3"]: 0}
    assert trends["cases.mean_decision_days"].values == {
        monday["w1"]: None,
        monday["w2"]: 3.0,
        monday["w3"]: None,
    }
    assert trends["cases.mean_decision_days"].kind == "days"


def _none_yet(label: str, target_days: int) -> dict:
    """A case type's row at a mission with no case of it."""
    return {
        "case_type": label,
        "target_days": target_days,
        "open": 0,
        "oldest_days": None,
        "overdue": 0,
        "opened_30d": 0,
        "decided_30d": 0,
        "refused_30d": 0,
        "refusal_rate_30d": None,
        "mean_decision_days_30d": None,
    }


def test_sections_show_each_case_type_of_the_mission(backlog):
    [section] = CasesContributor().sections(mission=backlog[0], now=NOW)
    assert section.key == "cases.types"
    assert section.rows == [
        {
            "case_type": "Fee waiver requests",
            "target_days": 5,
            "open": 2,
            "oldest_days": 13.0,
            "overdue": 1,
            "opened_30d": 3,
            "decided_30d": 1,
            "refused_30d": 0,
            "refusal_rate_30d": 0.0,
            "mean_decision_days_30d": 3.0,
        },
        {
            "case_type": "Refund requests",
            "target_days": 10,
            "open": 2,
            "oldest_days": 23.0,
            "overdue": 1,
            "opened_30d": 2,
            "decided_30d": 0,
            "refused_30d": 0,
            "refusal_rate_30d": None,
            "mean_decision_days_30d": None,
        },
        # registered by the passports and visas apps; none at this mission yet
        _none_yet("Passport applications", 20),
        _none_yet("Visa applications", 15),
    ]
    with translation.override("tr"):
        [section] = CasesContributor().sections(mission=backlog[0], now=NOW)
        assert str(section.title) == "Türe göre dosyalar"
        assert [row["case_type"] for row in section.rows] == [
            "Harç muafiyeti talepleri",
            "İade talepleri",
            "Pasaport başvuruları",
            "Vize başvuruları",
        ]
    # each label carries its type's stable code, which a CSV writes beside it
    assert [row["case_type"].code for row in section.rows] == [
        "fees.waiver",
        "fees.refund",
        "passports.application",
        "visas.application",
    ]


def test_a_backlog_growing_every_day_raises_an_alert(mission_a, mission_b, settings):
    # given three days in a row at alpha with two waivers asked and one decided each day; at
    # beta the same but for one day where as many were decided as asked
    settings.MONITORING_BACKLOG_GROWTH_DAYS = 3
    for code, even_day in (("alpha", None), ("beta", 1)):
        seqs = Seqs()
        for day in (30, 1, 2):
            month = 11 if day == 30 else 12
            seqs.waiver(f"{day}a", at(month, day), at(month, day, 13), "granted")
            if day == even_day:
                seqs.waiver(f"{day}b", at(month, day), at(month, day, 14), "granted")
            else:
                seqs.waiver(f"{day}b", at(month, day))
        events_project(mission=code, events=seqs.events)
    contributor = CasesContributor()
    missions = [mission_a, mission_b]
    figures = contributor.figures(missions=missions, now=NOW)
    [alert] = contributor.alerts(missions=missions, figures=figures, now=NOW)
    assert (alert.mission, alert.kind, alert.severity) == (
        "alpha",
        "cases.backlog_growing",
        "warning",
    )
    assert alert.message == (
        "Fee waiver requests: the backlog grew on each of the last 3 days (6 opened, 3 closed)."
    )
    assert alert.since == dt.datetime(2026, 11, 30, tzinfo=mission_a.zone)
    with translation.override("tr"):
        [alert] = contributor.alerts(missions=missions, figures=figures, now=NOW)
        assert alert.message == (
            "Harç muafiyeti talepleri: bekleyen dosyalar son 3 günün her birinde arttı "
            "(6 açılan, 3 kapanan)."
        )


def test_a_refusal_rate_far_from_the_missions_own_raises_an_alert_with_both_rates(
    mission_a, mission_b
):
    # given at both missions 40 waivers decided in June, 4 refused (10%); then at alpha 12
    # decided on 1 and 2 December, 6 refused (50%); at beta 9, all refused (too few to judge)
    for code, recent, refused in (("alpha", 12, 6), ("beta", 9, 9)):
        seqs = Seqs()
        for n in range(40):
            seqs.waiver(f"j{n}", at(6, 10), at(6, 12), "refused" if n < 4 else "granted")
        for n in range(recent):
            seqs.waiver(f"d{n}", at(12, 1), at(12, 2), "refused" if n < refused else "granted")
        events_project(mission=code, events=seqs.events)
    contributor = CasesContributor()
    missions = [mission_a, mission_b]
    [alert] = contributor.alerts(missions=missions, figures={}, now=NOW)
    assert (alert.mission, alert.kind) == ("alpha", "cases.refusal_rate")
    assert alert.message == (
        "Fee waiver requests: 50% of 12 decisions refused over the last 30 days, "
        "against 10% over the 12 months before."
    )
    with translation.override("tr"):
        [alert] = contributor.alerts(missions=missions, figures={}, now=NOW)
        assert alert.message == (
            "Harç muafiyeti talepleri: son 30 günde 12 kararın %50 kadarı ret; önceki 12 ayda "
            "bu oran %10 idi."
        )


@pytest.mark.parametrize(
    ("refused", "decided", "baseline", "differs"),
    [
        (6, 12, 0.10, True),  # 50% against 10%: 40 points, 3 standard errors are 26
        (6, 9, 0.10, False),  # fewer than 10 decisions
        (9, 20, 0.30, False),  # 15 points, but 3 standard errors are 31
        (2, 10, 0.0, True),  # no refusal before: 20 points is enough
        (1, 10, 0.0, False),  # 10 points is not
        (50, 100, 0.35, True),  # 15 points, 3 standard errors are 14.3
        (0, 40, 0.5, True),
    ],
)
def test_the_refusal_rule(refused, decided, baseline, differs):
    assert refusal_rate_differs(refused=refused, decided=decided, baseline=baseline) is differs


@pytest.mark.parametrize("count", [2, 12])
def test_each_method_costs_the_same_queries_whatever_the_number_of_missions(
    db, count, django_assert_num_queries
):
    missions = hq_missions(count)
    for mission in missions:
        seqs = Seqs()
        seqs.waiver("1", at(12, 1), at(12, 2), "refused")
        seqs.refund("2", at(11, 1))
        seqs.add(WAIVER_APPROVED, "3", at(12, 3, 4), actor=5)
        events_project(mission=mission.code, events=seqs.events)
    contributor = CasesContributor()
    weeks = weeks_ending(dt.date(2026, 12, 3), 12)
    with django_assert_num_queries(2):
        figures = contributor.figures(missions=missions, now=NOW)
    assert sum(f["cases.open"] for f in figures.values()) == count
    with django_assert_num_queries(2):
        contributor.alerts(missions=missions, figures=figures, now=NOW)
    with django_assert_num_queries(1):
        trends = contributor.trends(missions=missions, weeks=weeks)
    assert trends[0].values[dt.date(2026, 11, 30)] == count
    with django_assert_num_queries(2):
        contributor.sections(mission=missions[0], now=NOW)


# What each page's open visa cases count, as the page says it (English, Turkish).
OPEN_DEFINITIONS = {
    "en": {
        "dashboard": "Cases of every type opened at the mission and not yet decided or "
        "withdrawn. A visa application is a case from the day its file is complete, so this "
        "can be fewer than the “Open” of HQ's visa statistics, which counts every application "
        "submitted.",
        "mission": "Open: opened and not yet decided or withdrawn. A visa application is open "
        "here from the day its file is complete; HQ's visa statistics count it as open from "
        "its submission.",
        "statistics": "Open: applications submitted and not yet decided or withdrawn, their "
        "file complete or not. HQ's dashboard counts a visa application among its open cases "
        "only from the day its file is complete.",
    },
    "tr": {
        "dashboard": "Temsilcilikte açılmış, henüz karara bağlanmamış ya da geri çekilmemiş her "
        "türden dosya. Bir vize başvurusu, dosyasının eksiksiz olduğu günden itibaren dosya "
        "sayılır; bu yüzden bu sayı, gönderilen her başvuruyu sayan merkezin vize "
        "istatistiklerindeki “Açık” sayısından az olabilir.",
        "mission": "Açık: açılmış, henüz karara bağlanmamış ya da geri çekilmemiş. Bir vize "
        "başvurusu burada dosyasının eksiksiz olduğu günden itibaren açık sayılır; merkezin "
        "vize istatistikleri ise onu gönderildiği günden itibaren açık sayar.",
        "statistics": "Açık: gönderilmiş, henüz karara bağlanmamış ya da geri çekilmemiş "
        "başvurular (dosyası eksiksiz olsun olmasın). Merkez (HQ) paneli bir vize başvurusunu "
        "açık dosyaları arasında ancak dosyasının eksiksiz olduğu günden itibaren sayar.",
    },
}


@pytest.mark.parametrize("language", ["en", "tr"])
def test_each_page_says_what_its_open_visa_cases_count(mission_a, language):
    # given two visa applications submitted at Berlin, one whose file is complete
    now = timezone.now()
    for number, complete in ((1, True), (2, False)):
        VisaCase.objects.create(
            mission="alpha", application_id=number, reference=f"V{number:09d}",
            category="tourism", visa_type="C", nationality="GBR", seq=number,
            submitted_at=now - dt.timedelta(days=2),
            admissible_at=now - dt.timedelta(days=1) if complete else None,
        )  # fmt: skip
    seqs = Seqs()
    seqs.add(str(VisaTopic.APPLICATION_ADMISSIBLE), 1, now - dt.timedelta(days=1))
    events_project(mission="alpha", events=seqs.events)
    client = _hq_client(language=language)
    said = OPEN_DEFINITIONS[language]
    # then the dashboard counts one open case, the complete one, and says so beside its column
    dashboard = client.get("/hq/").content.decode()
    [berlin] = re.findall(r'<tr role="row"[^>]*><th[^>]*><a href="/hq/missions/alpha/".*?</tr>',
                          dashboard, flags=re.S)  # fmt: skip
    label = {"en": "Open cases", "tr": "Açık dosyalar"}[language]
    assert f'data-label="{label}">1</td>' in berlin
    terms = texts_of(dashboard, "dt")
    assert texts_of(dashboard, "dd")[terms.index(label)] == said["dashboard"]
    # and the mission's page says it under its cases by type (visa applications: 1 open)
    page = client.get("/hq/missions/alpha/").content.decode()
    assert text_of(page, "p", id="section-casestypes-note") == said["mission"]
    visas = {"en": "Visa applications", "tr": "Vize başvuruları"}[language]
    [row] = [row for row in texts_of(page, "tr") if row.startswith(visas)]
    assert row.split("\n")[2] == "1"  # the label, the target (15 days), open
    # and the visa statistics count both, and say that they do
    statistics = client.get("/hq/visas/statistics/").content.decode()
    total = texts_of(statistics, "tr")[-1].split("\n")
    assert (total[1], total[5]) == ("2", "2")  # applications, open
    assert text_of(statistics, "p", id="open-definition") == said["statistics"]


@pytest.mark.parametrize(
    ("language", "title"),
    [("en", "Mean time to decide (days)"), ("tr", "Ortalama karar süresi (gün)")],
)
def test_the_mean_decision_time_plot_names_its_unit_once(backlog, language, title):
    from django.template import Context, Template

    weeks = weeks_ending(dt.date(2026, 12, 3), 3)
    # when the plot of the mean time to decide is drawn in `language`
    with translation.override(language):
        trends = {t.key: t for t in CasesContributor().trends(missions=backlog, weeks=weeks)}
        html = Template("{% load missions_monitoring %}{% trend_chart trend weeks 'c' %}").render(
            Context({"trend": trends["cases.mean_decision_days"], "weeks": weeks})
        )
    # then its title, its table's heading and the picture's name say the unit once (Turkish
    # read "Ortalama karar süresi (gün) (gün)")
    assert text_of(html, "figcaption") == title
    assert texts_of(html, "th", scope="col")[1] == title
    assert f'aria-label="{title}: ' in html
