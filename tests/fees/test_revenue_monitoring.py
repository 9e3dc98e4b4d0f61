"""The fees contributor to HQ monitoring (fees/register/monitoring.py): net revenue this month on
each mission's own calendar, in its currency and HQ's base currency, the weekly trend and the
months' table, from payment and refund events projected as HQ's apply projects them; one query
a method whatever the number of missions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from fees.money import Money
from fees.register.monitoring import FeesContributor, Revenue
from missions.monitoring import contributors, weeks_ending
from sync.registry import events_project
from tests.missions.case_events import PAYMENT_SUCCEEDED, Seqs, hq_missions

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
APPROVED = "fees.credit_note.approved"
POSTED = "fees.ledger_transaction.posted"


def at(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)


def pay(seqs: Seqs, n: int, day: dt.date, amount: int, currency: str, base: int) -> None:
    seqs.add(
        PAYMENT_SUCCEEDED, f"p{n}", at(day.month, day.day), actor=3,
        payload={
            "subject_ref": "X", "method": "cash", "amount_minor": amount, "currency": currency,
            "base_amount_minor": base, "base_currency": "EUR", "rate": "1",
            "receipt": f"R-{n}", "business_date": day.isoformat(), "needs_refund": False,
        },
    )  # fmt: skip


def refund(seqs: Seqs, n: int, day: dt.date, amount: int, currency: str, base: int) -> None:
    seqs.add(
        POSTED, f"t{n}", at(day.month, day.day),
        payload={"kind": "refund", "source_type": "credit_note", "source_id": f"c{n}",
                 "business_date": day.isoformat()},
    )  # fmt: skip
    seqs.add(
        APPROVED, f"c{n}", at(day.month, day.day), actor=4,
        payload={"number": f"CN-{n}", "receipt": "R-1", "amount_minor": amount,
                 "currency": currency, "base_amount_minor": base, "base_currency": "EUR"},
    )  # fmt: skip


@pytest.fixture
def revenue(mission_a, mission_b, db):
    """alpha (EUR): 95.00 and 25.00 on 1 Dec, 10.00 refunded on 2 Dec, 40.00 on 15 Nov.
    beta (JPY): ¥16,400 (95.00 EUR) on 2 Dec. A New York mission (USD): $50.00 (46.00 EUR) on
    30 Nov."""
    alpha = Seqs()
    pay(alpha, 1, dt.date(2026, 12, 1), 9500, "EUR", 9500)
    pay(alpha, 2, dt.date(2026, 12, 1), 2500, "EUR", 2500)
    refund(alpha, 3, dt.date(2026, 12, 2), 1000, "EUR", 1000)
    pay(alpha, 4, dt.date(2026, 11, 15), 4000, "EUR", 4000)
    events_project(mission="alpha", events=alpha.events)
    beta = Seqs()
    pay(beta, 1, dt.date(2026, 12, 2), 16400, "JPY", 9500)
    events_project(mission="beta", events=beta.events)
    west = hq_missions(1, prefix="w")[0]
    usd = Seqs()
    pay(usd, 1, dt.date(2026, 11, 30), 5000, "USD", 4600)
    events_project(mission=west.code, events=usd.events)
    return [mission_a, mission_b, west]


def test_revenue_this_month_in_local_and_base_currency(revenue):
    contributor = next(c for c in contributors() if c.name == "fees")
    assert [c.key for c in contributor.columns] == ["fees.revenue_mtd", "fees.revenue_mtd_base"]
    figures = contributor.figures(missions=revenue, now=NOW)
    assert figures == {
        "alpha": {
            "fees.revenue_mtd": Revenue(Money(11000, "EUR"), 11000),
            "fees.revenue_mtd_base": Money(11000, "EUR"),
        },
        "beta": {
            "fees.revenue_mtd": Revenue(Money(16400, "JPY"), 9500),
            "fees.revenue_mtd_base": Money(9500, "EUR"),
        },
        # New York's November is over
        "w01": {
            "fees.revenue_mtd": Revenue(Money(0, "USD"), 0),
            "fees.revenue_mtd_base": Money(0, "EUR"),
        },
    }
    # the dashboard sorts the local figures across currencies by their base amount
    assert sorted(figures, key=lambda code: figures[code]["fees.revenue_mtd"]) == [
        "w01",
        "beta",
        "alpha",
    ]
    local, base = contributor.columns
    assert [local.display(figures["beta"]["fees.revenue_mtd"]), local.csv(Money(11000, "EUR"))] == [
        "¥16,400",
        "110.00 EUR",
    ]
    assert local.csv(Money(16400, "JPY")) == "16400 JPY"
    with translation.override("tr"):
        assert base.display(figures["alpha"]["fees.revenue_mtd_base"]) == "€110,00"
        assert str(local.label) == "Bu ayın geliri"
    assert local.display(None) == "–"


def test_this_month_is_the_missions_own(revenue):
    # at 03:00 UTC on 1 Dec it is December in Berlin and Tokyo but still 30 Nov in New York
    early = dt.datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    figures = FeesContributor().figures(missions=revenue, now=early)
    assert figures["w01"]["fees.revenue_mtd"] == Revenue(Money(5000, "USD"), 4600)
    assert figures["w01"]["fees.revenue_mtd_base"] == Money(4600, "EUR")
    assert figures["alpha"]["fees.revenue_mtd"].money == Money(11000, "EUR")
    assert Money(5000, "USD").to_decimal() == Decimal("50.00")


def test_net_revenue_per_week_in_the_base_currency(revenue):
    weeks = weeks_ending(dt.date(2026, 12, 3), 3)
    [trend] = FeesContributor().trends(missions=revenue, weeks=weeks)
    assert (trend.key, trend.kind, trend.unit) == ("fees.net_revenue", "money", "EUR")
    # by business date: New York's 30 Nov (a Monday) is in the week of 30 Nov
    assert trend.values == {
        dt.date(2026, 11, 16): 0,
        dt.date(2026, 11, 23): 0,
        dt.date(2026, 11, 30): 9500 + 2500 - 1000 + 9500 + 4600,
    }


def test_the_months_table_of_a_mission(revenue):
    [section] = FeesContributor().sections(mission=revenue[0], now=NOW)
    assert section.key == "fees.revenue_months"
    assert len(section.rows) == 12
    assert section.rows[0] == {
        "month": dt.date(2026, 12, 1),
        "payments": 2,
        "refunds": 1,
        "net": Money(11000, "EUR"),
        "net_base": Money(11000, "EUR"),
    }
    assert section.rows[1] == {
        "month": dt.date(2026, 11, 1),
        "payments": 1,
        "refunds": 0,
        "net": Money(4000, "EUR"),
        "net_base": Money(4000, "EUR"),
    }
    assert section.rows[11]["month"] == dt.date(2026, 1, 1)
    assert section.rows[11]["net"] == Money(0, "EUR")
    month = section.columns[0]
    assert month.display(section.rows[0]["month"]) == "December 2026"
    with translation.override("tr"):
        assert month.display(section.rows[0]["month"]) == "Aralık 2026"
        [section] = FeesContributor().sections(mission=revenue[0], now=NOW)
        assert str(section.title) == "Aylık gelir, son 12 ay"


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize(
    ("code", "page_rows", "csv_rows"),
    [
        # Tokyo: ¥16,400 (€95.00) on 2 Dec
        (
            "beta",
            {"en": "December 2026", "tr": "Aralık 2026"},
            ["2026-12,1,0,16400,JPY,95.00,EUR", "2026-11,0,0,0,JPY,0.00,EUR"],
        ),
        # New York: $50.00 (€46.00) on 30 Nov
        (
            "w01",
            {"en": "December 2026", "tr": "Aralık 2026"},
            ["2026-12,0,0,0.00,USD,0.00,EUR", "2026-11,1,0,50.00,USD,46.00,EUR"],
        ),
    ],
)
def test_the_months_csv_writes_iso_months_and_amounts_apart_from_their_currency(
    revenue, monkeypatch, language, code, page_rows, csv_rows
):
    # given the months' table of a mission, read at HQ in `language`
    from missions import selectors_monitoring
    from tests.missions.test_sync_pages import _hq_client

    monkeypatch.setattr(selectors_monitoring.timezone, "now", lambda: NOW)
    client = _hq_client(language=language)
    # when its CSV is downloaded
    response = client.get(f"/hq/missions/{code}/fees.revenue_months.csv")
    # then the header is the columns' keys, the month is ISO 8601 and each amount has its
    # currency's code in the next column, whatever the reader's language
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert lines[0] == "month,payments,refunds,net,net.currency,net_base,net_base.currency"
    assert lines[1:3] == csv_rows
    # while the page names the month in the reader's language
    page = client.get(f"/hq/missions/{code}/").content.decode()
    assert f">{page_rows[language]}</th>" in page


@pytest.mark.parametrize("count", [2, 12])
def test_one_query_a_method_whatever_the_number_of_missions(db, count, django_assert_num_queries):
    missions = hq_missions(count)
    for mission in missions:
        seqs = Seqs()
        pay(seqs, 1, dt.date(2026, 12, 1), 5000, mission.currency, 4000)
        events_project(mission=mission.code, events=seqs.events)
    contributor = FeesContributor()
    with django_assert_num_queries(1):
        figures = contributor.figures(missions=missions, now=NOW)
    assert all(f["fees.revenue_mtd_base"] == Money(4000, "EUR") for f in figures.values())
    with django_assert_num_queries(0):
        assert contributor.alerts(missions=missions, figures=figures, now=NOW) == []
    with django_assert_num_queries(1):
        contributor.trends(missions=missions, weeks=weeks_ending(dt.date(2026, 12, 3), 12))
    with django_assert_num_queries(1):
        contributor.sections(mission=missions[0], now=NOW)
