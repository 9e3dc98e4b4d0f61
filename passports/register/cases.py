"""Passport applications as a case type of HQ monitoring's generic case register
(missions/register/cases.py), beside fee waivers, refunds and visa applications: registered by
`passports.apps.PassportsConfig.ready`.

A case opens when the citizen submits (`passports.application.submitted`) and closes with the
consul's decision (`.approved` granted, `.refused` refused) or the citizen's withdrawal
(`.withdrawn`); printing and the hand-over come after the decision and are not the case's. A
draft discarded (`.withdrawn` with `was_draft`) closes a case HQ never saw open, which counts
nowhere. Its target is the longest of the kinds' (`passports.selectors.SERVICE_LEVEL_DAYS`, 20
days): the generic register keeps one per type, and the mission's queue keeps each kind's.

Emergency travel documents are not cases of this kind: a request is issued or left, never
refused or withdrawn, so one left unpaid would read open for ever."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from missions.register.cases import CaseType
from passports.events import PassportTopic

CASES_NAME = "passports.cases"

CASE_TYPES = (
    CaseType(
        code="passports.application",
        label=_("Passport applications"),
        target_days=20,
        opened_topics=frozenset({str(PassportTopic.APPLICATION_SUBMITTED)}),
        closed_topics={
            str(PassportTopic.APPLICATION_APPROVED): "granted",
            str(PassportTopic.APPLICATION_REFUSED): "refused",
            str(PassportTopic.APPLICATION_WITHDRAWN): "withdrawn",
        },
    ),
)
