"""Builds HQ's register of lost and stolen travel documents from `passports.document.reported`
events (docs/sync.md, "Travel document registers"). Registered with sync by
`passports.apps.PassportsConfig.ready`.

One row per document (its number's blind index under HQ's key), whichever mission reported it.
Of several reports of one number the row keeps one: the first in the order (stolen before lost,
`reported_at`, mission, seq). So a second `lost` records nothing new, and a `stolen` after a
`lost` replaces it:

- why "first" is by `reported_at` and not by arrival: a mission whose link was down for a week
  sends its reports late; ordering by when each was made, and breaking ties by (mission, seq),
  is a total order over the reports, so the row is the same whatever order the batches come
  in, replayed or split, and after a rebuild.
- why `stolen` wins: a stolen passport may be in someone else's hands, which is what a border
  or counter officer must act on; a loss reported first does not make a later theft report
  (with its police case, at the mission that took it) less true, and a later `lost` says
  nothing the theft did not. The kind is never mixed into another report's row: the row names
  the one report it is, mission and seq included, so HQ knows whom to ask.

Called by HQ's apply inside the transaction that applies a bundle, once per batch of one
mission's events, in seq order. A batch costs two statements at most whatever its length: one
insert of the events it had to skip (`events_read`), one upsert of the reports, whose `WHERE`
lets a report replace the row only if it sorts before it (so an event applied twice finds
nothing to change).

An event whose payload breaks the contract (an index that is not 64 lowercase hex digits, a kind
other than lost or stolen, a date that is no date or not the mission's date of `reported_at`, a
version this code does not read) is recorded in `sync_hq.SkippedEvent` with the reason and left
out; the rest of the batch is applied. What every register does so is in `sync.hq.projection`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction

from passports.events import PassportTopic
from passports.models import ReportKind
from sync.export import EVENT_FIELDS, event_wire
from sync.hq.models import CentralEvent, MissionLink
from sync.hq.projection import (
    RegisterRebuild,
    Unprojectable,
    array_literal,
    checked_date,
    checked_moment,
    envelope_read,
    events_read,
)
from sync.registry import Event, ProjectionBatch

from .models import ReportedDocument

NAME = "passports.reported_documents"
TOPICS = frozenset({str(PassportTopic.DOCUMENT_REPORTED)})
VERSIONS = frozenset({1})  # the payload versions this projector reads (docs/events.md)
KINDS = frozenset(ReportKind.values)
DOCUMENT_INDEX = re.compile(r"[0-9a-f]{64}")
# A mission's local date is its UTC date, the day before or the day after (offsets run from
# -12:00 to +14:00).
LOCAL_DATE_SPREAD = dt.timedelta(days=1)

_UPSERT = """
INSERT INTO passports_register_reporteddocument AS current
    (document_index, kind, mission, seq, report_id, reported_on, reported_at)
SELECT r.document_index, r.kind, %s, r.seq, r.report_id, r.reported_on, r.reported_at
FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::text[], %s::date[], %s::timestamptz[])
    AS r(document_index, kind, seq, report_id, reported_on, reported_at)
-- rows taken in one order by every batch, so two missions' batches never deadlock
ORDER BY r.document_index
ON CONFLICT (document_index) DO UPDATE SET
    kind = EXCLUDED.kind, mission = EXCLUDED.mission, seq = EXCLUDED.seq,
    report_id = EXCLUDED.report_id, reported_on = EXCLUDED.reported_on,
    reported_at = EXCLUDED.reported_at
WHERE (EXCLUDED.kind <> 'stolen', EXCLUDED.reported_at, EXCLUDED.mission, EXCLUDED.seq)
    < (current.kind <> 'stolen', current.reported_at, current.mission, current.seq)
"""


@dataclasses.dataclass(frozen=True)
class Report:
    """What one valid event says."""

    seq: int
    report_id: str
    document_index: str
    kind: str
    reported_on: dt.date
    reported_at: dt.datetime

    def rank(self) -> tuple[bool, dt.datetime, int]:
        """Where the report sorts among one mission's reports of the same document: the same
        order as the upsert's `WHERE` (false before true: stolen first)."""
        return (self.kind != ReportKind.STOLEN, self.reported_at, self.seq)


def report_read(event: Event) -> Report:
    """The event's report, or `Unprojectable` when it breaks its topic's contract."""
    seq, report_id, payload = envelope_read(event, versions=VERSIONS)
    document_index = payload.get("document_index")
    if not isinstance(document_index, str) or not DOCUMENT_INDEX.fullmatch(document_index):
        raise Unprojectable("document_index is not 64 lowercase hexadecimal digits")
    kind = payload.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise Unprojectable("kind is not lost or stolen")
    reported_at = checked_moment(payload.get("reported_at"), "reported_at")
    reported_on = checked_date(payload.get("reported_on"), "reported_on")
    if abs(reported_on - reported_at.date()) > LOCAL_DATE_SPREAD:
        raise Unprojectable("reported_on is not the mission's date of reported_at")
    return Report(
        seq=seq,
        report_id=report_id,
        document_index=document_index,
        kind=kind,
        reported_on=reported_on,
        reported_at=reported_at,
    )


def reported_documents_project(batch: ProjectionBatch) -> None:
    """Apply one batch of a mission's reports to the register (see the module's doc)."""
    first: dict[str, Report] = {}
    for report in events_read(batch, report_read, projector=NAME):
        # one row per document in the upsert: PostgreSQL refuses to change a row twice in one
        # statement, so the batch's own reports of one number are settled here, in the same
        # order (the mission is the batch's, the same for all)
        known = first.get(report.document_index)
        if known is None or report.rank() < known.rank():
            first[report.document_index] = report
    if not first:
        return
    reports = [first[index] for index in sorted(first)]
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT,
            [
                batch.mission,
                array_literal([r.document_index for r in reports]),
                array_literal([r.kind for r in reports]),
                array_literal([r.seq for r in reports]),
                array_literal([r.report_id for r in reports]),
                array_literal([r.reported_on for r in reports]),
                array_literal([r.reported_at for r in reports]),
            ],
        )


_mission_rebuild = RegisterRebuild(
    projector=NAME, topics=TOPICS, tables=(ReportedDocument,), project=reported_documents_project
)


def reported_documents_rebuild(*, mission: str, batch_size: int = 10_000) -> int:
    """Build the mission's part of the register again from HQ's central event log; one
    transaction; returns the mission's events read.

    The register is shared by the missions: a row of this mission may stand for other
    missions' later reports of the same number too (they changed nothing when they came). So
    after the mission's rows are deleted and its events projected again (`RegisterRebuild`), a
    document it held whose row did not come back (its event now skipped by a corrected
    projector, say) is projected again from the other missions' reports of it in the log.
    Usually there is none, and the log is not read beyond the mission's own events."""
    with transaction.atomic():
        # the lock HQ's apply takes (again in `RegisterRebuild`): what the mission holds is not
        # changed by its own apply between this read and the delete
        MissionLink.objects.select_for_update().filter(mission=mission).first()
        held = list(
            ReportedDocument.objects.filter(mission=mission).values_list(
                "document_index", flat=True
            )
        )
        read = _mission_rebuild(mission=mission, batch_size=batch_size)
        back = set(
            ReportedDocument.objects.filter(mission=mission).values_list(
                "document_index", flat=True
            )
        )
        orphans = sorted(set(held) - back)
        for start in range(0, len(orphans), batch_size):
            _others_project(mission, orphans[start : start + batch_size])
        return read


def _others_project(mission: str, indexes: Iterable[str]) -> None:
    """Project again the other missions' reports of these documents from the central log (a
    scan of the log's reports: the log has no index on payloads; a rebuild is rare)."""
    rows = (
        CentralEvent.objects.filter(topic__in=TOPICS, payload__document_index__in=list(indexes))
        .exclude(mission=mission)
        .order_by("mission", "seq")
        .only("mission", *EVENT_FIELDS)
    )
    per_mission: dict[str, list[Event]] = defaultdict(list)
    for row in rows:
        per_mission[row.mission].append(event_wire(row))
    for other, events in sorted(per_mission.items()):
        reported_documents_project(ProjectionBatch(mission=other, events=events))
