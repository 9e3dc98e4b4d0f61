"""Local opening hours to UTC slots: daylight-saving days neither double nor lose a slot."""

import datetime as dt
import zoneinfo

from appointments import calendar

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HALF_HOUR = dt.timedelta(minutes=30)


def _times(day, opens, closes):
    return list(
        calendar.slot_times(
            day=day, spans=[(opens, closes)], duration=HALF_HOUR, step=HALF_HOUR, zone=BERLIN
        )
    )


def test_morning_slots_keep_their_local_time_across_the_spring_change():
    # given 09:00–10:00 on the Saturday before and the Sunday of the 2026 spring change
    before = _times(dt.date(2026, 3, 28), dt.time(9), dt.time(10))
    on_day = _times(dt.date(2026, 3, 29), dt.time(9), dt.time(10))
    # then 09:00 local is 08:00 UTC in winter time and 07:00 UTC in summer time
    assert [s for s, _ in before] == [
        dt.datetime(2026, 3, 28, 8, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 28, 8, 30, tzinfo=dt.UTC),
    ]
    assert [s for s, _ in on_day] == [
        dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 29, 7, 30, tzinfo=dt.UTC),
    ]


def test_the_skipped_hour_has_no_slots_and_the_repeated_hour_is_not_doubled():
    # when hours span the night of each change (01:00–04:00 local)
    spring = _times(dt.date(2026, 3, 29), dt.time(1), dt.time(4))
    autumn = _times(dt.date(2026, 10, 25), dt.time(1), dt.time(4))
    # then spring has no 02:00/02:30 (they do not exist): 4 slots
    assert [s.astimezone(BERLIN).strftime("%H:%M") for s, _ in spring] == [
        "01:00", "01:30", "03:00", "03:30",
    ]  # fmt: skip
    # and autumn has each wall-clock time once: 6 slots, all distinct instants
    assert len(autumn) == 6
    assert len({s for s, _ in autumn}) == 6


def test_a_dst_day_is_23_or_25_hours_long():
    spring = calendar.local_day_bounds(dt.date(2026, 3, 29), BERLIN)
    autumn = calendar.local_day_bounds(dt.date(2026, 10, 25), BERLIN)
    assert spring[1] - spring[0] == dt.timedelta(hours=23)
    assert autumn[1] - autumn[0] == dt.timedelta(hours=25)


def test_berlin_holidays_use_the_city_subdivision():
    # Women's Day (8 March) is a public holiday in Berlin only
    berlin = calendar.host_holidays(country="DE", jurisdiction=["DE-BE"], years=[2026])
    bavaria = calendar.host_holidays(country="DE", jurisdiction=["DE-BY"], years=[2026])
    assert dt.date(2026, 3, 8) in berlin
    assert dt.date(2026, 3, 8) not in bavaria
    assert dt.date(2026, 12, 25) in berlin


def test_the_draw_is_a_function_of_seed_and_tickets_only():
    tickets = ["AAA", "BBB", "CCC", "DDD"]
    order = calendar_free_draw("seed-1", tickets)
    assert order == calendar_free_draw("seed-1", list(reversed(tickets)))
    assert sorted(order) == sorted(tickets)


def calendar_free_draw(seed, tickets):
    from appointments.lottery import draw_order

    return draw_order(seed, tickets)
