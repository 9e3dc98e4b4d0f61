"""Builds HQ's personalisation queue and updates the register of issued documents from the
missions' passport events (docs/events.md). Registered with sync by
`passports.apps.PassportsConfig.ready`.

- `passports.application.approved` (v1): a case to personalise, keyed by (mission, application
  id), with the holder's data sealed for HQ (`payload["sealed"]`, opened only when
  personalised). Inserted once: a replay finds it there (ON CONFLICT DO NOTHING).
- `passports.application.collected` (v1): the new passport (by its number's blind index) was
  handed over by the mission that issued it (`collected_on` set on its row, and its case, the
  event's aggregate, marked handed over: the person may have a passport printed again) and the
  old one, if presented, cancelled (`cancelled_index`: its number's blind index under HQ's
  key; only a document HQ issued has a row to cancel). Updating a row to the same values
  again changes nothing, so replays are harmless.

An event that breaks its contract is skipped with the reason (`sync.hq.projection`)."""

from __future__ import annotations

import re

from django.db.models import Q
from django.utils import timezone

from passports.events import PassportTopic
from sync.hq.projection import Unprojectable, checked_date, envelope_read, events_read
from sync.registry import Event, ProjectionBatch

from .models import IssuedDocument, IssuedStatus, PersonalisationCase, PersonalisationStatus

NAME = "passports.personalisation"
TOPICS = frozenset(
    {str(PassportTopic.APPLICATION_APPROVED), str(PassportTopic.APPLICATION_COLLECTED)}
)
VERSIONS = frozenset({1})
REFERENCE = re.compile(r"P[A-Z0-9]{9}")
DOCUMENT_INDEX = re.compile(r"[0-9a-f]{64}")
SEALED_KEYS = frozenset({"key_id", "ephemeral", "nonce", "tag", "ciphertext"})


def _approved(event: Event, batch: ProjectionBatch) -> PersonalisationCase:
    seq, application_id, payload = envelope_read(event, versions=VERSIONS)
    reference = payload.get("reference")
    if not isinstance(reference, str) or not REFERENCE.fullmatch(reference):
        raise Unprojectable("reference is not a passport application's")
    kind = payload.get("kind")
    if not isinstance(kind, str) or not 1 <= len(kind) <= 10:
        raise Unprojectable("kind is missing")
    sealed = payload.get("sealed")
    if not isinstance(sealed, dict) or set(sealed) != SEALED_KEYS:
        raise Unprojectable("the holder's data is not sealed for HQ")
    return PersonalisationCase(
        mission=batch.mission,
        seq=seq,
        application_id=application_id,
        reference=reference,
        kind=kind,
        sealed=sealed,
        received_at=timezone.now(),
    )


def _collected(event: Event) -> tuple[str, str, str, object]:
    _seq, application_id, payload = envelope_read(event, versions=VERSIONS)
    number = payload.get("document_index")
    if not isinstance(number, str) or not DOCUMENT_INDEX.fullmatch(number):
        raise Unprojectable("document_index is not 64 lowercase hexadecimal digits")
    cancelled = payload.get("cancelled_index")
    if cancelled is not None and (
        not isinstance(cancelled, str) or not DOCUMENT_INDEX.fullmatch(cancelled)
    ):
        raise Unprojectable("cancelled_index is not 64 lowercase hexadecimal digits")
    day = checked_date(payload.get("collected_on"), "collected_on")
    return application_id, number, cancelled or "", day


def personalisation_project(batch: ProjectionBatch) -> None:
    approved = [
        e for e in batch.events if e.get("topic") == str(PassportTopic.APPLICATION_APPROVED)
    ]
    collected = [
        e for e in batch.events if e.get("topic") == str(PassportTopic.APPLICATION_COLLECTED)
    ]
    cases = list(
        events_read(
            ProjectionBatch(mission=batch.mission, events=approved),
            lambda event: _approved(event, batch),
            projector=NAME,
        )
    )
    if cases:
        PersonalisationCase.objects.bulk_create(cases, ignore_conflicts=True)
    for application_id, number, cancelled, day in events_read(
        ProjectionBatch(mission=batch.mission, events=collected), _collected, projector=NAME
    ):
        # only the mission that issued it hands it over
        IssuedDocument.objects.filter(
            document_index=number, mission=batch.mission, collected_on__isnull=True
        ).update(collected_on=day)
        PersonalisationCase.objects.filter(
            mission=batch.mission,
            application_id=application_id,
            status=PersonalisationStatus.PRINTED,
        ).update(status=PersonalisationStatus.COLLECTED)
        if cancelled:
            IssuedDocument.objects.filter(
                Q(document_index=cancelled) & Q(status=IssuedStatus.VALID)
            ).update(status=IssuedStatus.CANCELLED, cancelled_on=day)
