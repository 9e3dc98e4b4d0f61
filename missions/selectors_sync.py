"""Reads for the sync pages: HQ's view of every mission's link, and a mission's view of its own.

HQ reads only its own tables (`sync.hq.models`: what arrived in bundles), never a mission's
schema; a mission reads only its own `SyncLink` and outbox counter. Each list costs a fixed
number of queries whatever the number of missions (`tests/missions/test_sync_pages.py` pins it).

Lag: HQ cannot see what a mission has not sent. A mission sends everything it has on every
contact, so the time since the last contact bounds how far behind HQ's copy is; held bundles
and gaps (shown beside it) are what arrived but cannot be applied yet. A mission is *silent*
when that time passes its own threshold (`Mission.silence_alert_after()`: its
`silence_alert_minutes`, else `settings.SYNC_SILENCE_ALERT_MINUTES`; a mission that never made
contact counts from its creation). Each row carries the threshold it was judged by
(`MissionSync.silent_after_minutes`), so a page or an e-mail says the rule that decided.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Count, Max, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sync.error_codes import BundleRefusal, SyncError
from sync.hq.models import HeldBundle, MissionLink, RefusedBundle
from sync.models import OutboxCounter, SentBundle, SyncLink

from .models import Mission, MissionKind, MissionStatus
from .selectors import missions_ordered

REFUSED_SHOWN = 20

# What a refusal or a failed push means, in words a person at HQ or at the mission understands.
REASON_TEXTS: dict[str, Any] = {
    BundleRefusal.MALFORMED.value: _("The bundle could not be read: it is damaged or incomplete."),
    BundleRefusal.TOO_LARGE.value: _("The bundle is larger than HQ accepts."),
    BundleRefusal.UNKNOWN_MISSION.value: _("The bundle names a mission HQ does not know."),
    BundleRefusal.UNKNOWN_KEY.value: _(
        "The bundle is signed with a key HQ does not hold for this mission."
    ),
    BundleRefusal.REVOKED_KEY.value: _(
        "The bundle is signed with a key that was revoked (for example a lost laptop)."
    ),
    BundleRefusal.BAD_SIGNATURE.value: _(
        "The signature does not match: the bundle was altered after it was signed."
    ),
    BundleRefusal.INCONSISTENT.value: _("The bundle's header and its events disagree."),
    BundleRefusal.CHAIN_BROKEN.value: _(
        "The bundle does not follow the previous one in the chain of bundles."
    ),
    BundleRefusal.CONFLICT.value: _(
        "An event in the bundle differs from the one HQ already holds with the same number."
    ),
    SyncError.NOT_CONFIGURED.value: _("Sync is not set up: no HQ address or no signing key."),
    SyncError.UNREACHABLE.value: _("HQ could not be reached. The push is tried again later."),
    SyncError.FILE_INVALID.value: _("The file is not a bundle file, or it is not for us."),
}


def sync_reason_text(code: str) -> str:
    """A refusal or error code in the reader's words; an unknown code is shown as it is
    (a message written by the transport, or a code a newer HQ sends)."""
    code = (code or "").strip()
    prefix = code.split(":", 1)[0].split(" ", 1)[0]
    text = REASON_TEXTS.get(code) or REASON_TEXTS.get(prefix)
    return str(text) if text is not None else code


def minutes_since(since: dt.datetime | None, now: dt.datetime) -> int | None:
    """Whole minutes from `since` to `now` (never negative), None for no time."""
    if since is None:
        return None
    return max(0, int((now - since).total_seconds() // 60))


@dataclasses.dataclass(frozen=True)
class SeqRange:
    first: int
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@dataclasses.dataclass(frozen=True)
class HeldInfo:
    number: int
    first_seq: int
    last_seq: int
    received_at: dt.datetime

    @property
    def event_count(self) -> int:
        return self.last_seq - self.first_seq + 1


def gaps_before_held(applied_to: int, held: list[HeldInfo]) -> list[SeqRange]:
    """The sequence ranges missing between what HQ applied (`applied_to`) and the bundles it
    holds: what HQ asks the mission for again."""
    gaps: list[SeqRange] = []
    expected = applied_to + 1
    for bundle in sorted(held, key=lambda b: b.first_seq):
        if bundle.first_seq > expected:
            gaps.append(SeqRange(expected, bundle.first_seq - 1))
        expected = max(expected, bundle.last_seq + 1)
    return gaps


@dataclasses.dataclass(frozen=True)
class MissionSync:
    """One mission's link as HQ sees it."""

    mission: Mission
    last_contact_at: dt.datetime | None
    last_seq: int
    last_bundle_number: int
    reference_version_acked: int
    last_reconciled_at: dt.datetime | None
    reconcile_differences: int
    lag_minutes: int | None  # since the last contact; None: never
    silent_minutes: int  # since the last contact, or since the mission was created
    silent_after_minutes: int  # the mission's own threshold, by which `silent` was decided
    silent: bool
    held: list[HeldInfo]
    gaps: list[SeqRange]
    refused_count: int
    last_refused_at: dt.datetime | None

    @property
    def events_held(self) -> int:
        return sum(bundle.event_count for bundle in self.held)

    @property
    def events_missing(self) -> int:
        return sum(gap.count for gap in self.gaps)


def _missions_syncing() -> list[Mission]:
    return list(
        missions_ordered(
            Mission.objects.exclude(kind=MissionKind.HEADQUARTERS).exclude(
                status=MissionStatus.CLOSED
            )
        )
    )


def _mission_sync(
    mission: Mission,
    link: MissionLink | None,
    held: list[HeldInfo],
    refused: Mapping[str, Any] | None,
    *,
    now: dt.datetime,
) -> MissionSync:
    last_contact = link.last_contact_at if link else None
    silent_minutes = minutes_since(last_contact or mission.created_at, now) or 0
    threshold = mission.silence_alert_after()
    last_seq = link.last_seq if link else 0
    return MissionSync(
        mission=mission,
        last_contact_at=last_contact,
        last_seq=last_seq,
        last_bundle_number=link.last_bundle_number if link else 0,
        reference_version_acked=link.reference_version_acked if link else 0,
        last_reconciled_at=link.last_reconciled_at if link else None,
        reconcile_differences=link.reconcile_differences if link else 0,
        lag_minutes=minutes_since(last_contact, now),
        silent_minutes=silent_minutes,
        silent_after_minutes=threshold,
        silent=silent_minutes >= threshold,
        held=held,
        gaps=gaps_before_held(last_seq, held),
        refused_count=refused["count"] if refused else 0,
        last_refused_at=refused["last"] if refused else None,
    )


def _held_of(codes: list[str]) -> dict[str, list[HeldInfo]]:
    held: dict[str, list[HeldInfo]] = defaultdict(list)
    # the frames themselves (`data`) stay in the database: the page needs only their ranges
    rows = HeldBundle.objects.filter(mission__in=codes).values_list(
        "mission", "number", "first_seq", "last_seq", "received_at"
    )
    for code, number, first, last, received in rows.order_by("mission", "number"):
        held[code].append(HeldInfo(number, first, last, received))
    return held


def sync_mission_list_for_hq(*, now: dt.datetime | None = None) -> list[MissionSync]:
    """Every open mission's link, silent ones first (longest silence first), then in the
    directory's order. Four queries whatever the number of missions."""
    now = now or timezone.now()
    missions = _missions_syncing()
    codes = [mission.code for mission in missions]
    links = {link.mission: link for link in MissionLink.objects.filter(mission__in=codes)}
    held = _held_of(codes)
    refused = {
        row["mission"]: row
        for row in RefusedBundle.objects.filter(mission__in=codes)
        .values("mission")
        .annotate(count=Count("id"), last=Max("received_at"))
        .order_by("mission")
    }
    rows = [
        _mission_sync(
            mission,
            links.get(mission.code),
            held.get(mission.code, []),
            refused.get(mission.code),
            now=now,
        )
        for mission in missions
    ]
    # stable sort: within each group the directory's order stays
    rows.sort(key=lambda row: (not row.silent, -row.silent_minutes if row.silent else 0))
    return rows


def sync_silence_threshold_shared(rows: Iterable[MissionSync]) -> int | None:
    """The threshold every row was judged by when they share one (a page says it once), None
    when they differ (each row says its own) or there is no row."""
    thresholds = {row.silent_after_minutes for row in rows}
    return thresholds.pop() if len(thresholds) == 1 else None


def sync_missions_silent(*, now: dt.datetime | None = None) -> list[MissionSync]:
    """The missions silent longer than the threshold, longest first (the HQ dashboard's alert)."""
    return [row for row in sync_mission_list_for_hq(now=now) if row.silent]


@dataclasses.dataclass(frozen=True)
class RefusedInfo:
    received_at: dt.datetime
    number: int | None
    reason: str
    reason_text: str
    detail: str
    source: str
    size: int
    sha256: str


@dataclasses.dataclass(frozen=True)
class MissionSyncDetail:
    sync: MissionSync
    refused: list[RefusedInfo]


def sync_mission_detail_for_hq(
    *, code: str, now: dt.datetime | None = None
) -> MissionSyncDetail | None:
    """One mission's link with its latest refused bundles, held bundles and gaps; None for a
    code that names no open mission."""
    now = now or timezone.now()
    mission = (
        Mission.objects.exclude(kind=MissionKind.HEADQUARTERS)
        .exclude(status=MissionStatus.CLOSED)
        .filter(code=code)
        .first()
    )
    if mission is None:
        return None
    link = MissionLink.objects.filter(mission=code).first()
    held = _held_of([code]).get(code, [])
    refused_rows = list(
        RefusedBundle.objects.filter(mission=code)
        .order_by("-received_at", "-id")
        .values("received_at", "number", "reason", "detail", "source", "size", "sha256")[
            :REFUSED_SHOWN
        ]
    )
    summary = RefusedBundle.objects.filter(mission=code).aggregate(
        count=Count("id"), last=Max("received_at")
    )
    sync = _mission_sync(mission, link, held, summary, now=now)
    return MissionSyncDetail(sync=sync, refused=_refused_infos(refused_rows))


def _refused_infos(rows: Iterable[Mapping[str, Any]]) -> list[RefusedInfo]:
    return [
        RefusedInfo(
            received_at=row["received_at"],
            number=row["number"],
            reason=row["reason"],
            reason_text=sync_reason_text(row["reason"]),
            detail=row["detail"],
            source=row["source"],
            size=row["size"],
            sha256=row["sha256"],
        )
        for row in rows
    ]


def sync_refused_unknown_sender() -> list[RefusedInfo]:
    """The latest refusals HQ could not put to a mission (a sealed file that does not open, a
    body that is no bundle): shown on HQ's sync page, since no mission's page can show them.
    One query."""
    return _refused_infos(
        RefusedBundle.objects.filter(mission="")
        .order_by("-received_at", "-id")
        .values("received_at", "number", "reason", "detail", "source", "size", "sha256")[
            :REFUSED_SHOWN
        ]
    )


# --- a mission's own side -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LinkStatus:
    """This mission's link to HQ as the mission sees it (its `SyncLink` and outbox counter)."""

    last_seq: int  # the last event recorded here
    acked_seq: int  # what HQ said it has applied
    last_bundled_seq: int
    bundles_unacknowledged: int
    last_attempt_at: dt.datetime | None
    last_success_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    failures: int
    last_error: str
    resend_ranges: list[SeqRange]
    reference_version: int  # how old that copy is: `sync.reference.reference_age_context`
    now: dt.datetime

    @property
    def events_pending(self) -> int:
        return max(0, self.last_seq - self.acked_seq)

    @property
    def last_error_text(self) -> str:
        return sync_reason_text(self.last_error) if self.last_error else ""

    @property
    def last_push_failed(self) -> bool:
        """The last attempt did not succeed (its error is the one shown)."""
        if not self.last_error or self.last_attempt_at is None:
            return False
        return self.last_success_at is None or self.last_attempt_at > self.last_success_at


def sync_link_status(*, now: dt.datetime | None = None) -> LinkStatus:
    """The current mission's link (the connection's schema), in one query."""
    now = now or timezone.now()
    link: Any = (
        SyncLink.objects.filter(pk=1)
        .annotate(
            outbox_last_seq=Subquery(OutboxCounter.objects.filter(pk=1).values("last_seq")[:1]),
            unacknowledged=Subquery(
                SentBundle.objects.filter(acked_at__isnull=True)
                .order_by()
                .values("acked_at")
                .annotate(n=Count("id"))
                .values("n")[:1]
            ),
        )
        .first()
    )
    if link is None:  # the migration creates the row; a schema restored without it reads empty
        link = SyncLink()
        link.outbox_last_seq = 0
        link.unacknowledged = 0
    ranges = [
        SeqRange(int(pair[0]), int(pair[1]))
        for pair in (link.resend_ranges or [])
        if isinstance(pair, list | tuple) and len(pair) == 2
    ]
    return LinkStatus(
        last_seq=link.outbox_last_seq or 0,
        acked_seq=link.acked_seq,
        last_bundled_seq=link.last_bundled_seq,
        bundles_unacknowledged=link.unacknowledged or 0,
        last_attempt_at=link.last_attempt_at,
        last_success_at=link.last_success_at,
        next_attempt_at=link.next_attempt_at,
        failures=link.failures,
        last_error=link.last_error,
        resend_ranges=ranges,
        reference_version=link.reference_version,
        now=now,
    )
