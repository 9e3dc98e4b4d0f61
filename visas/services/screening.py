"""The screening of a visa applicant: their name, date of birth and nationality against the
mission's copy of HQ's watchlist, and against HQ's register of refusals at every mission (this
one included) in the last `REFUSALS_YEARS` years, through `visas.matching.screen`; an earlier
refusal on the same passport (its blind index under HQ's key) is shown whatever the name.

Each run is recorded (`Screening`) with every near-match (`ScreeningHit`: the score, and what
the officer compares, encrypted); the officer clears a match (another person) or confirms it,
with a reason either way. A match is a reason to look, never a decision: the recommendation
waits until the latest run, made after the last change to the application, has no match left to
look at (`screening_ready`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.history import set_acting_user
from missions.permissions import Action, permission_require
from missions.selectors import current_mission
from sync.services import outbox_event_record

from .. import locks
from ..error_codes import VisaError
from ..events import VisaTopic
from ..matching import Candidate, Match, screen, watchlist_prepare
from ..models import (
    HitResolution,
    HitSource,
    Screening,
    ScreeningHit,
    ScreeningResult,
    Step,
    VisaApplication,
    VisaStatus,
    VisaStep,
)
from ..reference.models import WatchlistEntry
from .casework import _facts, _reason, grounds_labels

# Earlier refusals screened against: those decided in the last five years (what the form asks
# the applicant to declare too).
REFUSALS_YEARS = 5
# The states in which an officer screens: from submission to the recommendation.
SCREENABLE = (VisaStatus.SUBMITTED, VisaStatus.COMPLETE, VisaStatus.ATTENDED)
# What changes the person screened: a submission (the first, or with corrections) and a new
# examination after a successful appeal. A screening older than the latest of these is stale.
_CHANGES = (Step.SUBMITTED, Step.CORRECTED, Step.APPEAL_GRANTED)


@dataclass(frozen=True)
class Refusal:
    """An earlier refusal as the screening compares it (from HQ's register)."""

    id: int
    mission: str
    reference: str
    decided_at: dt.datetime | None
    grounds: list[str]
    passport_index: str
    surname: str
    given_names: str
    birth_date: dt.date | None
    nationality: str


def _refusals(application: VisaApplication) -> list[Refusal]:
    """HQ's register's refusals of the last five years at every mission, but not this
    application's own (a refusal set aside on appeal is no longer one)."""
    from visas.register.selectors import refusals_for_screening

    rows = refusals_for_screening(
        since_years=REFUSALS_YEARS, exclude=(current_mission().code, application.pk)
    )
    return [
        Refusal(
            # the application's id at the refusing mission (with `mission`, the register's key)
            id=row.application_id,
            mission=row.mission,
            reference=row.reference,
            decided_at=row.decided_at,
            grounds=list(row.grounds or []),
            passport_index=row.passport_index or "",
            surname=row.surname or "",
            given_names=row.given_names or "",
            birth_date=row.birth_date,
            nationality=row.nationality or "",
        )
        for row in rows
    ]


def watchlist_active() -> list[WatchlistEntry]:
    """The mission's copy of the watchlist, as screened today: not ended, not expired."""
    today = current_mission().today()
    return list(
        WatchlistEntry.objects.filter(ended_at__isnull=True).filter(
            Q(expires_on__isnull=True) | Q(expires_on__gte=today)
        )
    )


def _reference_version() -> int:
    from sync.models import SyncLink

    version = SyncLink.objects.filter(id=1).values_list("reference_version", flat=True).first()
    return int(version or 0)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def screening_run(*, application: VisaApplication, acting_user: Any) -> Screening:
    """Screen the applicant now; the run, its matches and its result are recorded."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_PROCESS)
    if application.status not in SCREENABLE:
        raise ApplicationError(
            CommonError.BAD_TRANSITION,
            _("An application is screened between its submission and the recommendation."),
        )
    entries = watchlist_active()
    refusals = _refusals(application)
    applicant = {
        "surname": application.surname,
        "given_names": application.given_names,
        "birth_date": application.birth_date,
        "nationality": application.nationality or None,
    }
    hits: list[ScreeningHit] = []
    by_entry = {f"watchlist:{entry.pk}": entry for entry in entries}
    watchlist = watchlist_prepare(
        candidates=[
            Candidate(
                names=tuple(entry.spellings()),
                birth_date=entry.birth_date,
                nationality=entry.nationality or None,
                reference=key,
            )
            for key, entry in by_entry.items()
        ]
    )
    for match in screen(candidates=watchlist, **applicant):
        entry = by_entry[match.candidate.reference]
        detail = {
            "names": entry.spellings(),
            "birth_date": _iso(entry.birth_date),
            "birth_year_only": entry.birth_year_only,
            "nationality": entry.nationality,
            "reason": entry.reason,
            "expires_on": _iso(entry.expires_on),
            "why": _why(match),
            "name_percent": int(match.name_score * 100),
        }
        hits.append(_hit(HitSource.WATCHLIST, entry.pk, match.score, detail))
    by_refusal = {f"refusal:{row.mission}:{row.id}": row for row in refusals}
    matched: dict[tuple[str, int], tuple[float, list[dict[str, Any]], int | None]] = {}
    for match in screen(
        candidates=[
            Candidate(
                names=(f"{row.surname} {row.given_names}".strip(),),
                birth_date=row.birth_date,
                nationality=row.nationality or None,
                reference=key,
            )
            for key, row in by_refusal.items()
            if row.surname or row.given_names
        ],
        **applicant,
    ):
        row = by_refusal[match.candidate.reference]
        matched[(row.mission, row.id)] = (match.score, _why(match), int(match.name_score * 100))
    for row in refusals:
        same_passport = bool(
            application.passport_index and row.passport_index == application.passport_index
        )
        if (row.mission, row.id) not in matched and not same_passport:
            continue
        score, why, name_percent = matched.get((row.mission, row.id), (0.0, [], None))
        if same_passport:
            score = 1.0
            why = [{"code": "same_passport"}, *why]
        detail = {
            "names": [f"{row.surname} {row.given_names}".strip()],
            "birth_date": _iso(row.birth_date),
            "nationality": row.nationality,
            "mission": row.mission,
            "reference": row.reference,
            "decided_at": _iso(row.decided_at),
            "grounds": row.grounds,
            "same_passport": same_passport,
            "why": why,
            "name_percent": name_percent,
        }
        hits.append(_hit(HitSource.REFUSAL, row.id, score, detail))
    result = ScreeningResult.OPEN if hits else ScreeningResult.CLEAR
    with transaction.atomic():
        application = locks.application_lock(pk=application.pk)
        screening = Screening(
            application=application,
            ran_by_id=acting_user.pk,
            reference_version=_reference_version(),
            watchlist_entries=len(entries),
            refusals_compared=len(refusals),
            result=result,
        )
        set_acting_user(screening, acting_user)
        screening.save()
        for hit in hits:
            hit.screening = screening
            set_acting_user(hit, acting_user)
            hit.save()
        outbox_event_record(
            topic=VisaTopic.APPLICATION_SCREENED,
            aggregate_id=application.pk,
            payload={
                **_facts(application),
                "watchlist_entries": len(entries),
                "refusals_compared": len(refusals),
                "watchlist_hits": sum(h.source == HitSource.WATCHLIST for h in hits),
                "refusal_hits": sum(h.source == HitSource.REFUSAL for h in hits),
                "result": result,
            },
            acting_user=acting_user,
        )
    return screening


def _hit(source: str, source_id: int, score: float, detail: dict[str, Any]) -> ScreeningHit:
    return ScreeningHit(
        source=source,
        source_id=source_id,
        score=Decimal(str(round(min(max(score, 0.0), 1.0), 3))),
        detail=json.dumps(detail, ensure_ascii=False),
    )


# Why a candidate matched, stored as codes (and values) and put in words when read, in the
# reader's language. `matching.screen` words its reasons lazily; they are read here in English
# once, to know which reason each is.
_NAME_REASON = re.compile(r"^The name is (\d+)% similar to “(.*)” on the list\.$", re.S)
_REASON_CODES = {
    "The names are in another order.": "reordered",
    "A name appears on only one side (a middle name left out?).": "unpaired",
    "No date of birth to compare.": "birth_none",
    "Same date of birth.": "birth_same",
    "Same date of birth with the day and month swapped.": "birth_swapped",
    "Same year of birth, another day.": "birth_year",
    "Different date of birth.": "birth_differs",
    "No nationality to compare.": "nationality_none",
    "Same nationality.": "nationality_same",
    "Different nationality (people change nationality; not a reason to dismiss).": (
        "nationality_differs"
    ),
}


def _why(match: Match) -> list[dict[str, Any]]:
    with translation.override("en"):
        texts = [str(reason) for reason in match.reasons]
    why: list[dict[str, Any]] = []
    for text in texts:
        name = _NAME_REASON.match(text)
        if name:
            why.append({"code": "name", "percent": int(name[1]), "spelling": name[2]})
        else:
            why.append({"code": _REASON_CODES.get(text, "text"), "text": text})
    return why


def _reason_sentence(reason: Any, *, refusal: str) -> str:
    """One reason in the reader's language; an older run stored sentences, shown as they are."""
    if not isinstance(reason, dict):
        return str(reason)
    code = reason.get("code", "")
    if code == "name":
        values = {"percent": reason.get("percent", ""), "spelling": reason.get("spelling", "")}
        if refusal:
            sentence = gettext(
                "The name is %(percent)s%% similar to “%(spelling)s”, refused at %(mission)s."
            )
            return sentence % {**values, "mission": refusal}
        return gettext("The name is %(percent)s%% similar to “%(spelling)s” on the list.") % values
    sentences = {
        "same_passport": gettext("The same passport number."),
        "reordered": gettext("The names are in another order."),
        "unpaired": gettext("A name appears on only one side (a middle name left out?)."),
        "birth_none": gettext("No date of birth to compare."),
        "birth_same": gettext("Same date of birth."),
        "birth_swapped": gettext("Same date of birth with the day and month swapped."),
        "birth_year": gettext("Same year of birth, another day."),
        "birth_differs": gettext("Different date of birth."),
        "nationality_none": gettext("No nationality to compare."),
        "nationality_same": gettext("Same nationality."),
        "nationality_differs": gettext(
            "Different nationality (people change nationality; not a reason to dismiss)."
        ),
    }
    return sentences.get(code) or str(reason.get("text", ""))


def _score_words(hit: ScreeningHit, why: list[Any], name_percent: int | None) -> str:
    """The final score and what made it: "Score 100% (name 95% similar, same date of
    birth)", as the other percentages on the case are written."""
    score = int(hit.score * 100)
    codes = {reason.get("code") for reason in why if isinstance(reason, dict)}
    parts = []
    if "same_passport" in codes:
        parts.append(pgettext("screening score", "the same passport"))
    if name_percent is not None:
        parts.append(gettext("name %(percent)s%% similar") % {"percent": name_percent})
    short = {
        "birth_same": pgettext("screening score", "same date of birth"),
        "birth_swapped": pgettext("screening score", "date of birth with day and month swapped"),
        "birth_year": pgettext("screening score", "same year of birth"),
        "birth_differs": pgettext("screening score", "another date of birth"),
        "nationality_same": pgettext("screening score", "same nationality"),
        "nationality_differs": pgettext("screening score", "another nationality"),
    }
    parts += [words for code, words in short.items() if code in codes]
    if not parts:
        return gettext("Score %(score)s%%") % {"score": score}
    return gettext("Score %(score)s%% (%(details)s)") % {
        "score": score,
        "details": ", ".join(parts),
    }


def _mission_name(code: str) -> str:
    from missions.models import Mission

    mission = Mission.objects.filter(code=code).only("code", "name").first()
    return mission.name if mission is not None else code


def hit_detail(hit: ScreeningHit) -> dict[str, Any]:
    """What the officer compares for `hit` (decrypted), with the grounds of a refusal in words,
    the refusing mission by name, and why it matched in the reader's language (`why_text`,
    `score_text`)."""
    detail: dict[str, Any] = json.loads(hit.detail or "{}")
    if detail.get("grounds"):
        detail["grounds_labels"] = grounds_labels(detail["grounds"])
    refusal = ""
    if detail.get("mission"):
        refusal = detail["mission_name"] = _mission_name(detail["mission"])
        decided = detail.get("decided_at")
        detail["decided"] = dt.datetime.fromisoformat(decided) if decided else None
    detail["birth"] = None
    if detail.get("birth_date"):
        with contextlib.suppress(TypeError, ValueError):
            detail["birth"] = dt.date.fromisoformat(detail["birth_date"])
    why = list(detail.get("why") or [])
    detail["why_text"] = [_reason_sentence(reason, refusal=refusal) for reason in why]
    detail["score_text"] = _score_words(hit, why, detail.get("name_percent"))
    return detail


def _result_of(screening: Screening) -> str:
    resolutions = list(screening.hits.values_list("resolution", flat=True))
    if not resolutions:
        return ScreeningResult.CLEAR
    if HitResolution.CONFIRMED in resolutions:
        return ScreeningResult.CONFIRMED
    if HitResolution.OPEN in resolutions:
        return ScreeningResult.OPEN
    return ScreeningResult.CLEARED


def screening_hit_resolve(
    *, hit: ScreeningHit, resolution: str, reason: str, acting_user: Any
) -> ScreeningHit:
    """The officer's word on one match of the latest screening: cleared (another person) or
    confirmed (the same person), with the reason; the screening's result follows (cleared when
    every match is cleared, confirmed when any is confirmed)."""
    permission_require(user=acting_user, mission=current_mission(), action=Action.VISA_PROCESS)
    if resolution not in (HitResolution.CLEARED, HitResolution.CONFIRMED):
        raise ApplicationError(
            VisaError.INVALID,
            _("Choose: not the same person, or the same person."),
            field="resolution",
        )
    text = _reason(reason)
    with transaction.atomic():
        application = locks.application_lock(pk=hit.screening.application_id)
        hit = ScreeningHit.objects.select_for_update().select_related("screening").get(pk=hit.pk)
        latest = application.screenings.order_by("-created_at", "-id").first()
        if latest is None or hit.screening_id != latest.pk:
            raise ApplicationError(
                CommonError.BAD_TRANSITION, _("This match is from an earlier screening.")
            )
        if hit.resolution:
            raise ApplicationError(CommonError.BAD_TRANSITION, _("This match is already decided."))
        if application.status not in SCREENABLE:
            raise ApplicationError(
                CommonError.BAD_TRANSITION, _("The examination of this application is over.")
            )
        hit.resolution = resolution
        hit.resolution_reason = text
        hit.resolved_by_id = acting_user.pk
        hit.resolved_at = timezone.now()
        set_acting_user(hit, acting_user)
        hit.save(
            update_fields=[
                "resolution", "resolution_reason", "resolved_by_id", "resolved_at", "updated_at",
            ]
        )  # fmt: skip
        screening = hit.screening
        screening.result = _result_of(screening)
        set_acting_user(screening, acting_user)
        screening.save(update_fields=["result", "updated_at"])
    return hit


def last_change(application: VisaApplication) -> dt.datetime | None:
    """When the person to screen last changed: a submission, corrections, a new examination."""
    stepped = VisaStep.objects.filter(application=application, step__in=_CHANGES).aggregate(
        last=Max("happened_at")
    )["last"]
    moments = [moment for moment in (application.submitted_at, stepped) if moment is not None]
    return max(moments, default=None)


def screening_latest(application: VisaApplication) -> Screening | None:
    return application.screenings.order_by("-created_at", "-id").first()


def screening_ready(*, application: VisaApplication) -> Screening:
    """The latest screening, when it is recent enough and has nothing open; else refuse."""
    latest = screening_latest(application)
    changed = last_change(application)
    if latest is None or (changed is not None and latest.created_at < changed):
        raise ApplicationError(
            VisaError.NOT_SCREENED,
            _("Screen the applicant first (the application changed since the last screening)."),
        )
    if latest.result == ScreeningResult.OPEN:
        raise ApplicationError(
            VisaError.HITS_OPEN, _("Clear or confirm every match of the screening first.")
        )
    return latest
