"""Staff actions on a mission's link to HQ, and HQ's alert about silent missions.

The transport itself is `sync.export` (push a round trip, build a file for the diplomatic bag,
apply HQ's answer) and, at HQ, `sync.hq.apply.frames_receive` / `sync.hq.answer.answer_build`
(what `manage.py sync_import` does with a file); these services put the permission table and a
check of the upload in front of them. `sync.export` is imported inside each function: the pages
and the permission walk do not depend on the transport being importable at start-up, and tests
replace `sync.export.push` / `file_export`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import logging
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole, User
from consulate.kernel.actors import SystemActor
from consulate.kernel.errors import ApplicationError
from sync import keys
from sync.bundle import BundleError, SignedBundle, file_unpack
from sync.error_codes import SyncError
from sync.hq.answer import answer_build
from sync.hq.apply import frames_receive
from sync.hq.models import MissionLink

from ..mail import plain_text_tidy
from ..models import Mission
from ..permissions import Action, permission_require
from ..selectors import mission_hq
from ..selectors_sync import (
    LinkStatus,
    MissionSync,
    SeqRange,
    sync_link_status,
    sync_missions_silent,
    sync_reason_text,
    sync_silence_threshold_shared,
)

logger = logging.getLogger(__name__)


def _export() -> Any:
    """`sync.export`, the transport, loaded when first used."""
    return importlib.import_module("sync.export")


def sync_push_now(*, mission: Mission, acting_user: User | SystemActor) -> LinkStatus:
    """Push this mission's pending bundles to HQ now, outside the beat's schedule, and return
    the link as it stands after HQ's answer (or after the failure, with its error).

    Runs in the mission's schema; the transport calls HQ outside any transaction of ours, so
    this service opens none. A failure that the transport reports as an `ApplicationError`
    (HQ unreachable, sync not set up) reaches the caller."""
    permission_require(user=acting_user, mission=mission, action=Action.SYNC_PUSH)
    with schema_context(mission.schema_name):
        _export().push(code=mission.code)
        return sync_link_status()


def sync_file_export(*, mission: Mission, acting_user: User | SystemActor) -> bytes:
    """A file of this mission's unacknowledged bundles, sealed for HQ (X25519 + AES-256-GCM),
    to be carried by hand when the link is down. Nothing changes here until HQ's answer file
    is imported."""
    permission_require(user=acting_user, mission=mission, action=Action.SYNC_PUSH)
    with schema_context(mission.schema_name):
        return bytes(_export().file_export(code=mission.code, sealed=True))


def sync_export_filename(*, mission: Mission) -> str:
    """`sync-<mission>-<date>.csb`, the date being the mission's own (its business day)."""
    return f"sync-{mission.code}-{mission.today().isoformat()}.csb"


# --- Files carried by hand (the diplomatic bag) -------------------------------------------------

# HQ's answer to an import, downloadable for a day after it (`sync_hq_answer_export`)
ANSWER_SIGNING_SALT = "missions.sync.hq_answer"
ANSWER_TOKEN_MAX_AGE = 24 * 3600
# what HQ sends down (its answer file); a mission's file never holds them
HQ_FRAME_KINDS = frozenset({"ack", "reference", "down"})


def sync_file_limit() -> int:
    """The largest file a page accepts: the same limit as a push over HTTPS
    (`SYNC_PUSH_MAX_BYTES`), so what HQ's endpoint takes can also travel by hand."""
    return int(settings.SYNC_PUSH_MAX_BYTES)


def _refused_file(message: Any, detail: str) -> ApplicationError:
    logger.warning("sync file refused: %s", detail)
    return ApplicationError(SyncError.FILE_INVALID, message, field="file")


def sync_file_check(*, size: int) -> None:
    """Refuse an empty file or one over `sync_file_limit()` before it is read or applied."""
    if size <= 0:
        raise _refused_file(_("The file is empty; nothing was changed."), "empty file")
    limit = sync_file_limit()
    if size > limit:
        raise _refused_file(
            _("The file is larger than %(limit)s, more than any bundle file; nothing was changed.")
            % {"limit": filesizeformat(limit)},
            f"{size} bytes over the limit of {limit}",
        )


@dataclasses.dataclass(frozen=True)
class AnswerImported:
    """What HQ's answer file did at the mission."""

    acked_seq: int  # HQ has applied every event of this mission up to here
    want: list[SeqRange]  # HQ asks for these again (they go with the next push or file)
    refused: list[str]  # HQ's refusals of this mission's bundles, in words
    reference_applied: bool  # a newer version of HQ's reference data was applied
    reference_version: int  # the version of the copy the mission reads now


def sync_file_import(
    *, mission: Mission, acting_user: User | SystemActor, data: bytes
) -> AnswerImported:
    """Apply HQ's answer file, carried by hand, at this mission: `sync.export.answer_apply`
    (what `manage.py sync_import --mission` does). An answer not signed by HQ's trusted key, for
    another mission, or unreadable is refused (ApplicationError FILE_INVALID) and changes
    nothing; an old answer applied again changes nothing either (HQ's mark only moves forward).

    Runs in the mission's schema; `answer_apply` holds the link's row in its own transaction."""
    permission_require(user=acting_user, mission=mission, action=Action.SYNC_PUSH)
    sync_file_check(size=len(data))
    with schema_context(mission.schema_name):
        outcome = _export().answer_apply(bytes(data), code=mission.code)
        link = sync_link_status()
    refused = [
        " ".join(
            part
            for part in (sync_reason_text(str(r.get("reason") or "")), str(r.get("detail") or ""))
            if part
        )
        for r in outcome.get("refused") or []
    ]
    return AnswerImported(
        acked_seq=link.acked_seq,
        want=[SeqRange(int(low), int(high)) for low, high in outcome.get("want") or []],
        refused=refused,
        reference_applied=bool(outcome.get("reference_applied")),
        reference_version=link.reference_version,
    )


@dataclasses.dataclass(frozen=True)
class BundleImported:
    """One frame of a mission's file, as HQ received it."""

    kind: str  # "events", or another kind of frame (reconciliation)
    number: int | None
    first_seq: int | None
    last_seq: int | None
    outcome: str  # "applied", "duplicate", "held", "refused"; "received" for other kinds
    applied: int  # events new to HQ (a held bundle released by this one counts here too)
    reason_text: str  # why it was refused, in words
    detail: str


@dataclasses.dataclass(frozen=True)
class FileImported:
    """What a mission's file did at HQ; `answer_token` names it for HQ's answer file."""

    mission: str
    bundles: list[BundleImported]
    last_seq: int  # HQ has applied every event of the mission up to here
    want: list[SeqRange]
    answer_token: str

    @property
    def refused_count(self) -> int:
        return sum(1 for bundle in self.bundles if bundle.outcome == "refused")


def _frames_of(data: bytes, *, code: str) -> list[SignedBundle]:
    """The file's frames (a sealed file opened with HQ's key), each claiming `code` as its
    mission. Nothing is verified or applied here: this only refuses, before anything is written,
    a file that is no bundle file or carries another mission's bundles."""
    try:
        frames = file_unpack(data, private_key_for=keys.hq_encryption_private_key)
        claimed = [str(frame.header.get("mission") or "") for frame in frames]
    except BundleError as error:
        raise _refused_file(
            _(
                "The file cannot be read: it is not a bundle file, or it was changed after it "
                "was sealed. Nothing was changed."
            ),
            f"{error.code}: {error.detail}",
        ) from error
    if not frames:
        raise _refused_file(_("The file holds no bundle; nothing was changed."), "no frame")
    if any(frame.header.get("kind") in HQ_FRAME_KINDS for frame in frames):
        raise _refused_file(
            _(
                "This is HQ's answer file: the mission imports it on its own sync page. "
                "Nothing was changed."
            ),
            "an answer file uploaded at HQ",
        )
    others = sorted({mission for mission in claimed if mission != code})
    if others:
        raise _refused_file(
            _("The file holds bundles of %(others)s, not of %(mission)s; nothing was changed.")
            % {"others": ", ".join(other or "?" for other in others), "mission": code},
            f"frames of {others} on {code}'s page",
        )
    return frames


def _bundle_imported(frame: SignedBundle, result: dict[str, Any]) -> BundleImported:
    header = frame.header
    kind = str(header.get("kind") or "")
    if result.get("refused"):
        outcome = "refused"
    elif kind != "events":
        outcome = "received"
    elif result.get("held"):
        outcome = "held"
    elif result.get("applied"):
        outcome = "applied"
    else:
        outcome = "duplicate"

    def number(key: str) -> int | None:
        value = header.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return BundleImported(
        kind=kind,
        number=number("number"),
        first_seq=number("first_seq"),
        last_seq=number("last_seq"),
        outcome=outcome,
        applied=int(result.get("applied") or 0),
        reason_text=sync_reason_text(str(result["refused"])) if result.get("refused") else "",
        detail=str(result.get("detail") or "")[:500] if result.get("refused") else "",
    )


def sync_hq_file_import(
    *, mission: Mission, acting_user: User | SystemActor, data: bytes
) -> FileImported:
    """At HQ: apply a file of `mission`'s bundles carried by hand (sealed for HQ, or plain)
    through `sync.hq.apply.frames_receive`, as `manage.py sync_import` does; say per bundle
    whether it was applied, a duplicate, held or refused.

    `MISSION_MANAGE` (HQ admins): it writes HQ's copy of the mission's events. A file that
    cannot be read, holds nothing, or carries another mission's bundles is refused before
    anything is written; a bundle refused on its own (a bad signature, a broken chain) is logged
    at HQ (`RefusedBundle`) as one arriving by the network is, and applies in no part. Each
    bundle is received in its own transaction (`frames_receive`); call it outside any."""
    permission_require(user=acting_user, mission=mission, action=Action.MISSION_MANAGE)
    sync_file_check(size=len(data))
    code = mission.code
    with schema_context("public"):
        frames = _frames_of(bytes(data), code=code)
        results = frames_receive(bytes(data), source="file")
        link = MissionLink.objects.filter(mission=code).first()
    if len(results) != len(frames):  # cannot happen with the same bytes; never mislabel
        raise _refused_file(_("The file cannot be read."), "frames and results differ")
    mine = [result for result in results if result.get("mission") == code]
    want = mine[-1].get("want") if mine else []
    logger.info("sync file of %s imported at HQ: %s frame(s)", code, len(results))
    return FileImported(
        mission=code,
        bundles=[
            _bundle_imported(frame, result) for frame, result in zip(frames, results, strict=True)
        ],
        last_seq=link.last_seq if link else 0,
        want=[SeqRange(int(low), int(high)) for low, high in want or []],
        answer_token=signing.dumps(
            # a digests or repair frame's result carries HQ's signed answer ("answer", a
            # SignedBundle): not JSON, and signed again when the answer is built
            {"mission": code, "results": [_token_result(result) for result in results]},
            salt=ANSWER_SIGNING_SALT,
            compress=True,
        ),
    )


def _token_result(result: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in result.items() if name != "answer"}


def sync_hq_answer_export(
    *, mission: Mission, acting_user: User | SystemActor, answer_token: str = ""
) -> bytes:
    """At HQ: HQ's answer file for `mission`, to carry back by hand (`sync.hq.answer.
    answer_build`): HQ's signed acknowledgement and any newer reference data than the mission
    acknowledged. With the token of an import (`FileImported.answer_token`) it is the answer to
    that file, naming what was refused, as `manage.py sync_import --answer-out` writes it;
    without, the answer of `manage.py sync_export --answer`. A token that was changed, is older
    than a day or names another mission is refused. Nothing is written but HQ's signing key,
    made if it is missing."""
    permission_require(user=acting_user, mission=mission, action=Action.MISSION_MANAGE)
    results: list[dict[str, Any]] = []
    if answer_token:
        try:
            payload = signing.loads(
                answer_token, salt=ANSWER_SIGNING_SALT, max_age=ANSWER_TOKEN_MAX_AGE
            )
        except signing.BadSignature as error:
            raise _refused_file(
                _("This import is too old or was changed; download HQ's answer from the page."),
                "bad or expired answer token",
            ) from error
        if not isinstance(payload, dict) or payload.get("mission") != mission.code:
            raise _refused_file(
                _("This import is too old or was changed; download HQ's answer from the page."),
                "answer token of another mission",
            )
        results = [r for r in payload.get("results") or [] if isinstance(r, dict)]
    with schema_context("public"):
        version = (
            MissionLink.objects.filter(mission=mission.code)
            .values_list("reference_version_acked", flat=True)
            .first()
        )
        return answer_build(results, mission=mission.code, reference_version=version or 0)


def sync_answer_filename(*, mission: Mission) -> str:
    """`sync-answer-<mission>-<date>.csb`, the date being the mission's (like its export)."""
    return f"sync-answer-{mission.code}-{mission.today().isoformat()}.csb"


def _silence_is_new(link: MissionLink) -> bool:
    """Not yet alerted for this silence: never alerted, or alerted before the last contact
    (that silence ended; this is a new one)."""
    if link.silent_alerted_at is None:
        return True
    return link.last_contact_at is not None and link.silent_alerted_at < link.last_contact_at


def sync_silence_alert(*, now: dt.datetime | None = None) -> list[str]:
    """At HQ (public schema): e-mail HQ admins once per silence about each mission silent longer
    than its own threshold (`Mission.silence_alert_after()`); return the codes alerted about.

    The platform's own work (beat, `missions.tasks.sync_silence_alert`). Each mission's
    `MissionLink` row is locked while `silent_alerted_at` is read and set, so two runs at once
    send one e-mail; the mail goes after the commit. A mission that never made contact gets its
    row here (the applying side creates it on first contact otherwise)."""
    if settings.SYNC_HQ_URL:  # a mission node: HQ watches for silence, not the node
        return []
    now = now or timezone.now()
    silent = sync_missions_silent(now=now)
    if not silent:
        return []
    alerted: list[MissionSync] = []
    with transaction.atomic():
        for row in silent:
            MissionLink.objects.get_or_create(mission=row.mission.code)
        links = {
            link.mission: link
            for link in MissionLink.objects.select_for_update()
            .filter(mission__in=[row.mission.code for row in silent])
            .order_by("pk")
        }
        for row in silent:
            link = links[row.mission.code]
            if not _silence_is_new(link):
                continue
            link.silent_alerted_at = now
            link.save(update_fields=["silent_alerted_at"])
            alerted.append(row)
        if alerted:
            transaction.on_commit(lambda: _silence_mail_send(alerted))
    return [row.mission.code for row in alerted]


def _silence_mail_send(rows: list[MissionSync]) -> None:
    """One e-mail per HQ admin, in their language, times in HQ's zone with the zone named."""
    zone = mission_hq().zone
    admins = User.objects.filter(hq_role=HqRole.ADMIN, is_active=True).order_by("pk")
    for admin in admins:
        language = admin.preferred_language or settings.LANGUAGE_CODE
        with translation.override(language), timezone.override(zone):
            context: dict[str, Any] = {
                "rows": rows,
                "zone": zone.key,
                "threshold": sync_silence_threshold_shared(rows),
            }
            subject = render_to_string("missions/email/sync_silent_subject.txt", context)
            body = plain_text_tidy(render_to_string("missions/email/sync_silent.txt", context))
        try:
            EmailMessage(subject=" ".join(subject.split()), body=body, to=[admin.email]).send()
        except Exception:  # one unreachable mailbox must not stop the others
            logger.exception("sync silence alert to %s failed", admin.pk)
