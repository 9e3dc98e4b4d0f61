"""Builds HQ's register of visa cases (`VisaCase`) from the missions' visa events (docs/events.md,
"visas"). Registered with sync by `visas.apps.VisasConfig.ready`.

One row per application (mission, application id: the events' aggregate). Payloads, version 1,
each with "reference" and "category", and "nationality" and "visa_type" where known:

    visas.application.submitted        + "submitted_at"
    visas.application.admissible       + "admissible_at", "decision_due_on"
    visas.application.extended         + "decision_due_on" (the new date)
    visas.application.issued           + "decided_at"; sealed for HQ: the applicant
    visas.application.refused          + "decided_at", "grounds"; sealed for HQ: the applicant
    visas.application.withdrawn        + "closed_at"
    visas.application.deemed_withdrawn + "closed_at"
    visas.visa.annulled / revoked      + "ended_at", "grounds"
    visas.appeal.decided               + "upheld" (aggregate: the application)

The sealed data (`payload["sealed"]`, `sync.services.SealedForHq`) is
{"surname", "given_names", "birth_date": "YYYY-MM-DD" or null, "passport_index"}; it is opened
here with HQ's key and kept encrypted under HQ's key (the columns are `shared`), so HQ's
register can show a refusal at one mission to the screening at another. The passport's index is
the blind index under HQ's key (purpose `travel_document`), the one the application keeps.

What each event does to the row (every event also takes "reference", "category",
"nationality" and "visa_type" when it carries them):

- submitted: the row is made (`submitted_at`).
- admissible: `admissible_at`, `decision_due_on`; extended: `decision_due_on`.
- issued, refused: the decision (`outcome`, `decided_at`, `grounds`) and who it was for.
- withdrawn, deemed withdrawn: `outcome` withdrawn, `decided_at` the closing time.
- annulled, revoked: `outcome` annulled or revoked and the grounds of the ending; the decision's
  time stays (set to the ending's if HQ never saw the decision).
- appeal decided and not upheld: the refusal is gone (the case is open again, with no
  outcome); upheld: nothing changes.

Replays and order: the row keeps the newest event applied (`seq`, increasing per mission); an
event at or below it changes nothing, so a batch applied twice, or a rebuild, gives the same
row. Events of one mission arrive in seq order (HQ holds a gap), so an older event never comes
after a newer one except as a replay. An event whose application has no row yet (its
submission skipped, or a register rebuilt from part of the log) makes the row, its submission
time then the first event's `occurred_at`.

An event that breaks the contract is skipped with its reason (`sync.hq.projection`). Sealed
data HQ cannot open (sealed with another key, or changed) does not stop the decision's facts:
they are applied and the identity left empty, and the reason is logged.

A batch costs three statements whatever its length (read and lock the rows, insert the new
ones, update the others), besides the skipped events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from typing import Any

from consulate.kernel.errors import ApplicationError
from sync.hq.projection import (
    RegisterRebuild,
    Unprojectable,
    checked_date,
    checked_moment,
    checked_text,
    envelope_read,
    events_read,
)
from sync.hq.sealed import SealedRefused, sealed_open
from sync.registry import Event, ProjectionBatch
from visas.events import VisaTopic
from visas.models import RefusalGround

from .models import INDEX_LENGTH, CaseOutcome, VisaCase

logger = logging.getLogger(__name__)

NAME = "visas.cases"
TOPICS = frozenset(
    str(topic)
    for topic in (
        VisaTopic.APPLICATION_SUBMITTED,
        VisaTopic.APPLICATION_ADMISSIBLE,
        VisaTopic.APPLICATION_EXTENDED,
        VisaTopic.APPLICATION_ISSUED,
        VisaTopic.APPLICATION_REFUSED,
        VisaTopic.APPLICATION_WITHDRAWN,
        VisaTopic.APPLICATION_DEEMED_WITHDRAWN,
        VisaTopic.VISA_ANNULLED,
        VisaTopic.VISA_REVOKED,
        VisaTopic.APPEAL_DECIDED,
    )
)
VERSIONS = frozenset({1})
INDEX = re.compile(r"[0-9a-f]{64}")
CODE = re.compile(r"[a-z][a-z0-9_]{0,29}")
NATIONALITY = re.compile(r"[A-Z<]{1,3}")
VISA_TYPES = frozenset({"A", "C", "D"})
GROUND_MAX_LENGTH = 300
MAX_GROUNDS = 30
NAME_MAX_LENGTH = 200

_DECISIONS = {
    str(VisaTopic.APPLICATION_ISSUED): CaseOutcome.ISSUED,
    str(VisaTopic.APPLICATION_REFUSED): CaseOutcome.REFUSED,
}
_CLOSINGS = {
    str(VisaTopic.APPLICATION_WITHDRAWN),
    str(VisaTopic.APPLICATION_DEEMED_WITHDRAWN),
}
_ENDINGS = {
    str(VisaTopic.VISA_ANNULLED): CaseOutcome.ANNULLED,
    str(VisaTopic.VISA_REVOKED): CaseOutcome.REVOKED,
}


@dataclasses.dataclass(frozen=True)
class Identity:
    surname: str
    given_names: str
    birth_date: dt.date | None
    passport_index: str


@dataclasses.dataclass(frozen=True)
class Change:
    """What one valid event says about its application."""

    seq: int
    topic: str
    application_id: int
    occurred_at: dt.datetime
    facts: dict[str, Any]  # the case's columns the event sets
    identity: Identity | None = None
    reopen: bool = False  # an appeal allowed: the refusal is gone


def _grounds(payload: dict[str, Any]) -> list[str]:
    grounds = payload.get("grounds")
    if (
        not isinstance(grounds, list)
        or len(grounds) > MAX_GROUNDS
        or not all(
            isinstance(g, str) and 0 < len(g) <= GROUND_MAX_LENGTH and "\x00" not in g
            for g in grounds
        )
    ):
        raise Unprojectable("grounds is not a list of texts")
    unknown = sorted(set(grounds) - set(RefusalGround.values))
    if unknown:
        # a screening elsewhere would show a refusal whose grounds nobody can read
        raise Unprojectable(f"grounds not in the standard list: {', '.join(unknown)[:200]}")
    return list(grounds)


def _identity(event: Event, mission: str, aggregate_id: str) -> Identity | None:
    sealed = event["payload"].get("sealed")
    if sealed is None:
        return None
    try:
        data = sealed_open(sealed, mission=mission, topic=event["topic"], aggregate_id=aggregate_id)
    except (SealedRefused, ApplicationError, KeyError, TypeError, ValueError) as error:
        logger.warning(
            "visa case %s/%s: the sealed applicant cannot be opened (%s); facts applied only",
            mission,
            aggregate_id,
            error,
        )
        return None
    try:
        surname = checked_text(data, "surname", NAME_MAX_LENGTH, blank=True)
        given_names = checked_text(data, "given_names", NAME_MAX_LENGTH, blank=True)
        birth = data.get("birth_date")
        birth_date = checked_date(birth, "birth_date") if birth else None
        index = data.get("passport_index") or event["payload"].get("passport_index") or ""
        if not isinstance(index, str) or (index and not INDEX.fullmatch(index)):
            raise Unprojectable("passport_index is not 64 lowercase hexadecimal digits")
    except Unprojectable as error:
        logger.warning("visa case %s/%s: sealed applicant: %s", mission, aggregate_id, error)
        return None
    return Identity(
        surname=surname,
        given_names=given_names,
        birth_date=birth_date,
        passport_index=index[:INDEX_LENGTH],
    )


def change_read(event: Event, mission: str) -> Change:
    """The event's change to its case, or `Unprojectable` when it breaks its contract."""
    seq, aggregate_id, payload = envelope_read(event, versions=VERSIONS)
    if not aggregate_id.isdigit() or len(aggregate_id) > 18:
        raise Unprojectable("aggregate_id is not an application's id")
    topic = str(event.get("topic"))
    occurred_at = checked_moment(event.get("occurred_at"), "occurred_at")
    facts: dict[str, Any] = {
        "reference": checked_text(payload, "reference", 12),
    }
    category = checked_text(payload, "category", 30)
    if not CODE.fullmatch(category):
        raise Unprojectable("category is not a category's code")
    facts["category"] = category
    nationality = checked_text(payload, "nationality", 3, blank=True)
    if nationality:
        if not NATIONALITY.fullmatch(nationality):
            raise Unprojectable("nationality is not a three-letter code")
        facts["nationality"] = nationality
    visa_type = checked_text(payload, "visa_type", 1, blank=True)
    if visa_type:
        if visa_type not in VISA_TYPES:
            raise Unprojectable("visa_type is not A, C or D")
        facts["visa_type"] = visa_type
    identity = None
    reopen = False
    if topic == VisaTopic.APPLICATION_SUBMITTED:
        facts["submitted_at"] = checked_moment(payload.get("submitted_at"), "submitted_at")
    elif topic == VisaTopic.APPLICATION_ADMISSIBLE:
        facts["admissible_at"] = checked_moment(payload.get("admissible_at"), "admissible_at")
        facts["decision_due_on"] = checked_date(payload.get("decision_due_on"), "decision_due_on")
    elif topic == VisaTopic.APPLICATION_EXTENDED:
        facts["decision_due_on"] = checked_date(payload.get("decision_due_on"), "decision_due_on")
    elif topic in _DECISIONS:
        facts["outcome"] = _DECISIONS[topic]
        facts["decided_at"] = checked_moment(payload.get("decided_at"), "decided_at")
        facts["grounds"] = _grounds(payload) if topic == VisaTopic.APPLICATION_REFUSED else []
        if facts["outcome"] == CaseOutcome.REFUSED and not facts["grounds"]:
            raise Unprojectable("a refusal has no grounds")
        identity = _identity(event, mission, aggregate_id)
    elif topic in _CLOSINGS:
        facts["outcome"] = CaseOutcome.WITHDRAWN
        facts["decided_at"] = checked_moment(payload.get("closed_at"), "closed_at")
        facts["grounds"] = []
    elif topic in _ENDINGS:
        facts["outcome"] = _ENDINGS[topic]
        facts["ended_at"] = checked_moment(payload.get("ended_at"), "ended_at")
        facts["grounds"] = _grounds(payload) if payload.get("grounds") is not None else []
    elif topic == VisaTopic.APPEAL_DECIDED:
        upheld = payload.get("upheld")
        if not isinstance(upheld, bool):
            raise Unprojectable("upheld is not true or false")
        reopen = not upheld
    else:  # pragma: no cover - sync hands this projector its topics only
        raise Unprojectable(f"{topic} is not a visa case's topic")
    return Change(
        seq=seq,
        topic=topic,
        application_id=int(aggregate_id),
        occurred_at=occurred_at,
        facts=facts,
        identity=identity,
        reopen=reopen,
    )


# The columns an event may change (and so the columns of the batch's update).
_COLUMNS = [
    "reference",
    "category",
    "visa_type",
    "nationality",
    "submitted_at",
    "admissible_at",
    "decision_due_on",
    "decided_at",
    "outcome",
    "grounds",
    "passport_index",
    "surname",
    "given_names",
    "birth_date",
    "seq",
]


def _apply(case: VisaCase, change: Change) -> None:
    facts = dict(change.facts)
    ended_at = facts.pop("ended_at", None)
    if ended_at is not None and case.decided_at is None:
        facts["decided_at"] = ended_at  # the decision never reached HQ: the ending dates it
    if "submitted_at" in facts and case.submitted_at is not None:
        facts["submitted_at"] = min(case.submitted_at, facts["submitted_at"])
    for field, value in facts.items():
        setattr(case, field, value)
    if change.reopen and case.outcome == CaseOutcome.REFUSED:
        case.outcome = CaseOutcome.PENDING
        case.decided_at = None
        case.grounds = []
    if change.identity is not None:
        case.surname = change.identity.surname
        case.given_names = change.identity.given_names
        case.birth_date = change.identity.birth_date
        case.passport_index = change.identity.passport_index
    case.seq = change.seq


def visa_cases_project(batch: ProjectionBatch) -> None:
    """Apply one batch of a mission's visa events to the register (see the module's doc)."""
    changes = events_read(batch, lambda event: change_read(event, batch.mission), projector=NAME)
    if not changes:
        return
    ids = sorted({change.application_id for change in changes})
    cases = {
        case.application_id: case
        for case in VisaCase.objects.select_for_update()
        .filter(mission=batch.mission, application_id__in=ids)
        .order_by("application_id")
    }
    known = set(cases)
    changed: set[int] = set()
    for change in sorted(changes, key=lambda c: c.seq):
        case = cases.get(change.application_id)
        if case is None:
            case = VisaCase(
                mission=batch.mission,
                application_id=change.application_id,
                submitted_at=change.facts.get("submitted_at", change.occurred_at),
                seq=change.seq,
            )
            cases[change.application_id] = case
        elif change.seq <= case.seq:
            continue  # applied before: a replay
        _apply(case, change)
        changed.add(change.application_id)
    new = [cases[i] for i in sorted(changed - known)]
    old = [cases[i] for i in sorted(changed & known)]
    if new:
        VisaCase.objects.bulk_create(new)
    if old:
        VisaCase.objects.bulk_update(old, _COLUMNS)


visa_cases_rebuild = RegisterRebuild(
    projector=NAME, topics=TOPICS, tables=(VisaCase,), project=visa_cases_project
)


# --- HQ monitoring's generic case register (missions/register/cases.py) -------------------------
# Visa applications as one case type of HQ's case register, beside fee waivers and refunds: a
# case opens when the file is admissible (the legal clock starts) and closes with the decision
# (an allowed appeal's new decision closes it again, the latest wins); its target is the
# standard 15 calendar days (an extension is not known to the generic register: it shows such
# a case overdue from day 16). Turned on by calling `monitoring_cases_register()` from
# `visas.apps.VisasConfig.ready` (not yet: see there).

CASES_NAME = "visas.monitoring_cases"


def monitoring_case_types() -> tuple[Any, ...]:
    from django.utils.translation import gettext_lazy as _

    from missions.register.cases import CaseType

    return (
        CaseType(
            code="visas.application",
            label=_("Visa applications"),
            target_days=15,
            opened_topics=frozenset({str(VisaTopic.APPLICATION_ADMISSIBLE)}),
            closed_topics={
                str(VisaTopic.APPLICATION_ISSUED): "granted",
                str(VisaTopic.APPLICATION_REFUSED): "refused",
                str(VisaTopic.APPLICATION_WITHDRAWN): "withdrawn",
                str(VisaTopic.APPLICATION_DEEMED_WITHDRAWN): "withdrawn",
            },
        ),
    )


def monitoring_cases_projector() -> Any:
    """The generic case register's projector for visa applications (`case_projector`)."""
    from missions.register.cases import case_projector

    return case_projector(name=CASES_NAME, case_types=monitoring_case_types())


def monitoring_cases_register() -> None:
    """Register visa applications with HQ monitoring's case register (call from `ready()`)."""
    from missions.register.cases import case_type_register
    from sync.registry import projector_register

    cases = monitoring_cases_projector()
    projector_register(
        name=CASES_NAME, topics=cases.topics, apply=cases.apply, rebuild=cases.rebuild
    )
    for case_type in monitoring_case_types():
        case_type_register(case_type)
