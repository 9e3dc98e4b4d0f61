"""HQ's visa reference data for tests: the demo categories and watchlist, sent down to every
mission schema as a mission gets them in production (`seed_visa_reference`); and a mission's
visa events as HQ's register receives them (`visa_events_record`, `to_hq`, `case_steps`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from sync.reference import reference_apply_local, reference_publish
from visas.events import VisaTopic
from visas.reference.demo import seed_reference


def seed_visa_reference() -> None:
    """The demo's six categories (every mission) and watchlist (public schema), published as a
    signed version and applied to every mission schema present (`sync.reference`; the fan-out
    task does this after a commit, which a test's transaction never makes). Works with
    `tests.fees.factories.seed_fee_reference` in either order: each publish holds every set,
    so the later one carries both. The connection's schema is back on return."""
    with schema_context("public"):
        seed_reference()
        reference_publish(acting_user=SYSTEM)
        reference_apply_local()


# --- HQ's register of visa cases: a mission's visa events as HQ receives them ---------------------

REFUSAL_GROUNDS = ["purpose"]


def passport_index_of(number: str) -> str:
    """A passport number's blind index as the application and HQ's register keep it."""
    from consulate.kernel.crypto.blind_index import blind_index

    return blind_index(number, schema_name="public", purpose="travel_document")


def visa_events_record(
    mission: Mission, application_id: int, steps: list[tuple[VisaTopic, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Record `steps` (topic, payload) of one application in `mission`'s outbox, as the visa
    services do (a decision's payload may hold "_sealed": the applicant for HQ, sealed as
    `SealedForHq`), and return them as they travel to HQ, in seq order. The payload's
    "reference", "category", "nationality" and "visa_type" default to a tourism application's."""
    from django.db import transaction

    from sync.services import SealedForHq, outbox_event_record
    from tests.registers import outbox_on_the_wire

    with schema_context(mission.schema_name):
        before = {e["seq"] for e in outbox_on_the_wire("visas.")}
        for topic, payload in steps:
            data = {
                "reference": f"V{application_id:09d}"[-10:],
                "category": "tourism",
                "nationality": "GBR",
                "visa_type": "C",
                **payload,
            }
            sealed = data.pop("_sealed", None)
            with transaction.atomic():
                outbox_event_record(
                    topic=topic,
                    aggregate_id=application_id,
                    payload=data,
                    acting_user=SYSTEM,
                    sealed_for_hq=SealedForHq(mission=mission.code, data=sealed)
                    if sealed is not None
                    else None,
                )
        return [e for e in outbox_on_the_wire("visas.") if e["seq"] not in before]


def to_hq(mission: Mission, events: list[dict[str, Any]]) -> None:
    """What HQ's apply does with a mission's batch: the central log, then the projectors."""
    from django.db import connection

    from sync.registry import events_project
    from tests.registers import central_log

    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants
    central_log(mission.code, events)
    events_project(mission=mission.code, events=events)


def moment(day: dt.date, hour: int = 10) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC).isoformat()


def case_steps(
    *,
    submitted: dt.date,
    admissible: dt.date | None = None,
    due: dt.date | None = None,
    decided: dt.date | None = None,
    outcome: str = "",
    applicant: dict[str, Any] | None = None,
    **facts: Any,
) -> list[tuple[VisaTopic, dict[str, Any]]]:
    """A case's events from submission to its decision (`outcome` "issued", "refused" or
    "withdrawn"; "" for none yet). `facts` go into every payload (category, nationality)."""
    steps: list[tuple[VisaTopic, dict[str, Any]]] = [
        (VisaTopic.APPLICATION_SUBMITTED, {"submitted_at": moment(submitted), **facts})
    ]
    if admissible is not None:
        due = due or admissible + dt.timedelta(days=15)
        steps.append(
            (
                VisaTopic.APPLICATION_ADMISSIBLE,
                {"admissible_at": moment(admissible), "decision_due_on": due.isoformat(), **facts},
            )
        )
    sealed = applicant or {
        "surname": "SMITH",
        "given_names": "JOHN",
        "birth_date": "1985-03-14",
        "passport_index": passport_index_of("123456789"),
    }
    if outcome == "issued" and decided is not None:
        steps.append(
            (
                VisaTopic.APPLICATION_ISSUED,
                {"decided_at": moment(decided), "_sealed": sealed, **facts},
            )
        )
    elif outcome == "refused" and decided is not None:
        steps.append(
            (
                VisaTopic.APPLICATION_REFUSED,
                {
                    "decided_at": moment(decided),
                    "grounds": REFUSAL_GROUNDS,
                    "_sealed": sealed,
                    **facts,
                },
            )
        )
    elif outcome == "withdrawn" and decided is not None:
        steps.append((VisaTopic.APPLICATION_WITHDRAWN, {"closed_at": moment(decided), **facts}))
    return steps
