"""Staff who work passport and visa cases count in HQ's staff activity register, beside the
counter's and the cashier's: a tester saw "Staff active today" at 0 at a mission whose officer
had taken biometrics and whose consul had decided that day."""

from __future__ import annotations

import datetime as dt

from missions.register.models import StaffActivityDay
from sync.registry import events_project
from tests.missions.case_events import WAIVER_APPROVED, event

AT = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)


def test_passport_and_visa_staff_steps_count_and_the_applicants_own_do_not(mission_a):
    events = [
        event(1, "passports.application.biometrics_taken", "p1", AT, actor=21),
        event(2, "passports.application.approved", "p1", AT, actor=22),
        event(3, "visas.application.screened", "v1", AT, actor=23),
        event(4, "visas.application.issued", "v1", AT, actor=24),
        event(5, "passports.etd.issued", "e1", AT, actor=25),
        # the applicants' own steps: not staff activity
        event(6, "passports.application.submitted", "p2", AT, actor=40),
        event(7, "visas.application.submitted", "v2", AT, actor=41),
        event(8, "visas.application.corrected", "v1", AT, actor=41),
        # a step the platform took by itself
        event(9, "visas.application.deemed_withdrawn", "v3", AT, actor=None),
        # and the same officer at the fees: counted once
        event(10, WAIVER_APPROVED, "w1", AT, actor=21),
    ]
    events_project(mission="alpha", events=events)
    staff = sorted(
        StaffActivityDay.objects.filter(mission="alpha", day=dt.date(2026, 11, 2)).values_list(
            "actor_id", flat=True
        )
    )
    assert staff == [21, 22, 23, 24, 25]
