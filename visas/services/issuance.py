"""Issuing a visa (docs/visas.md): its number from the mission's block, its MRZ, its dates; HQ's
allocation of visa number blocks into a mission's schema.

`visa_issue` is a step of the consul's decision (`casework.application_decide`), run inside its
transaction on the locked application: it checks the visa's dates and stay against the
passport and the category, takes the next number (a rolled-back decision gives it back), composes
the MRZ and writes the visa's fields. The caller moves the status, saves (`ISSUE_FIELDS`) and
records `visas.application.issued` with `IssuedVisa.payload()`, which is what HQ's register of
issued documents needs (`visas/register/issued_projector.py`).

The MRZ is an MRV-A (two lines of 44) for every visa by default: the e-visa is printed on an A4
page where the format-A zone fits, a Schengen-style uniform visa sticker uses the 44-character
lines too, and one format keeps the verifier's and the border's reading the same for every
category. A mission printing onto format-B stickers (two lines of 36, leaving room beside the
zone) sets `VISAS_MRZ_FORMAT = "mrvb"`, or the caller passes `mrz_format`. The document code is
"V" and the visa type (C, D or A), as Schengen visas write it ("VC").

The visible digital seal is made when the e-visa is printed (`visas.evisa_pdf`), with the
mission's document-signing key of that day: HQ's verifier accepts any key of the issuing mission
for a visa (`passports.register.verification`), so a visa printed again after the key's
rotation still checks.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SystemActor
from consulate.kernel.errors import ApplicationError, CommonError, FieldRefusals
from missions.selectors import current_mission
from passports.mrz import MrzError, MrzFields, MrzFormat, mrva_compose, mrvb_compose
from passports.numbers import NumberSeries, number_block_allocate, number_take, numbers_left
from passports.register.etd_projector import document_index_of
from passports.register.seal_keys import issuing_state
from passports.services.signer import document_signer_active
from visas.reference.models import VisaCategory

from ..error_codes import VisaError
from ..events import VisaTopic
from ..models import Entries, VisaApplication, VisaNumberBlock, VisaStatus

__all__ = [
    "ISSUE_FIELDS",
    "MAX_VALIDITY_DAYS",
    "VISA_NUMBERS",
    "IssuedVisa",
    "category_of",
    "visa_issue",
    "visa_mrz_lines",
    "visa_number_block_allocate",
    "visa_numbers_left",
    "visa_validity_check",
]

VISA_NUMBERS = NumberSeries(
    model=VisaNumberBlock,
    allocated_topic=VisaTopic.NUMBER_BLOCK_ALLOCATED,
    invalid=VisaError.INVALID,
    overlap=VisaError.BLOCK_OVERLAP,
    exhausted=VisaError.NO_NUMBERS,
    exhausted_message=_("This mission has no visa numbers left: ask HQ to allocate a new block."),
)
# The fields `visa_issue` writes, for the caller's save(update_fields=...).
ISSUE_FIELDS = (
    "visa_number", "visa_number_index", "visa_valid_from", "visa_valid_until", "visa_entries",
    "visa_duration_days", "visa_mrz", "issued_at",
)  # fmt: skip
# A multiple-entry visa is valid five years at most (the Visa Code's cascade).
MAX_VALIDITY_DAYS = 5 * 365 + 2
# A short-stay visa ends three months before the passport does (Schengen Borders Code).
PASSPORT_MARGIN_MONTHS = 3
_NOT_MRZ = re.compile(r"[^A-Z0-9]")


@dataclass(frozen=True, kw_only=True)
class IssuedVisa:
    """What `visa_issue` did, for the decision's event."""

    number: str
    number_index: str  # the number's blind index under HQ's key, as HQ's register keeps it
    mrz: tuple[str, str]
    mrz_format: MrzFormat
    issued_on: dt.date  # the mission's local date
    valid_from: dt.date
    valid_until: dt.date
    entries: str
    duration_days: int
    signer_serial: str  # the mission's signing key's serial when it has one, else ""

    def payload(self) -> dict[str, Any]:
        """The visa's part of `visas.application.issued` (the caller adds the reference,
        category, nationality, visa type, decided_at and the data sealed for HQ)."""
        return {
            "visa_number_index": self.number_index,
            "issued_on": self.issued_on.isoformat(),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "entries": self.entries,
            "duration_days": self.duration_days,
            "signer_serial": self.signer_serial,
        }


# --- HQ's blocks ----------------------------------------------------------------------------


def visa_number_block_allocate(
    *, mission_code: str, first: int, last: int, acting_user: User | SystemActor, prefix: str = "V"
) -> VisaNumberBlock:
    """HQ (an HQ admin, `Action.MISSION_MANAGE`) allocates visa numbers `prefix` +
    `first`..`last` to a mission, written into its schema (`passports.numbers`): never
    overlapping a block of any mission, of visas or emergency travel documents, nor HQ's
    passport numbers."""
    block = number_block_allocate(
        series=VISA_NUMBERS, mission_code=mission_code, first=first, last=last,
        acting_user=acting_user, prefix=prefix,
    )  # fmt: skip
    return cast(VisaNumberBlock, block)


def visa_numbers_left() -> int:
    """How many visa numbers the mission's blocks still hold."""
    return numbers_left(series=VISA_NUMBERS)


# --- the visa ---------------------------------------------------------------------------------


def category_of(application: VisaApplication) -> VisaCategory | None:
    """The application's category in the mission's copy of HQ's reference data: its own
    addition first, else the one every mission offers."""
    return (
        VisaCategory.objects.filter(
            code=application.category, mission__in=["", current_mission().code]
        )
        .order_by("-mission")
        .first()
    )


def _invalid(message: Any, field: str) -> ApplicationError:
    return ApplicationError(VisaError.INVALID, message, field=field)


def _months_before(day: dt.date, months: int) -> dt.date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for last_day in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last_day))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - February has 28 days


def _is_day(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def visa_validity_check(
    *,
    application: VisaApplication,
    category: VisaCategory,
    valid_from: Any,
    valid_until: Any,
    entries: Any,
    duration_days: Any,
    today: dt.date,
) -> None:
    """The visa's dates, entries and stay, every one refused with its reason at once (the last
    day and the stay are judged against the first day once that one is right). Dates are
    compared before any arithmetic on them, so that 9999-12-31 is refused and never
    overflows."""
    refusals = FieldRefusals()
    horizon = today + dt.timedelta(days=MAX_VALIDITY_DAYS)
    start = valid_from if _is_day(valid_from) and today <= valid_from <= horizon else None
    if not _is_day(valid_from):
        refusals.add(_invalid(_("Give the first day of the visa's validity."), "valid_from"))
    elif start is None:
        refusals.add(
            _invalid(_("A visa starts today or on a day within the next five years."), "valid_from")
        )
    refused = _valid_until_refused(
        application, category, start=start, valid_until=valid_until, today=today, horizon=horizon
    )
    if refused is not None:
        refusals.add(refused)
    dates = start is not None and refused is None
    if entries not in Entries.values:
        refusals.add(_invalid(_("Choose the number of entries."), "entries"))
    if (duration_days is not None or dates) and (
        type(duration_days) is not int
        or not 1 <= duration_days <= category.max_stay_days
        or (dates and duration_days > (valid_until - valid_from).days + 1)
    ):
        refusals.add(
            _invalid(
                _("The stay is 1 to %(days)s days, and no longer than the visa's validity.")
                % {"days": category.max_stay_days},
                "duration_days",
            )
        )
    refusals.raise_any()


def _valid_until_refused(
    application: VisaApplication,
    category: VisaCategory,
    *,
    start: dt.date | None,
    valid_until: Any,
    today: dt.date,
    horizon: dt.date,
) -> ApplicationError | None:
    """Why the visa's last day cannot be, or None when it can. `start`: its first day, None
    when that one is refused (a last day left out is then not asked for: none could be worked
    out from it, and the first day's refusal says what to correct)."""
    if valid_until is None and start is None:
        return None
    if not _is_day(valid_until):
        return _invalid(_("Give the last day of the visa's validity."), "valid_until")
    if not (start or today) <= valid_until <= horizon:
        return _invalid(
            _("A visa is valid until a day after it starts, at most five years ahead."),
            "valid_until",
        )
    expires = application.passport_expires_on
    if expires is None:
        return _invalid(_("The passport's date of expiry is not known."), "valid_until")
    if category.visa_type == "C":
        latest = _months_before(expires, PASSPORT_MARGIN_MONTHS) if expires.year > 1 else expires
        if valid_until > latest:
            return _invalid(
                _(
                    "A short-stay visa ends at least three months before the passport expires"
                    " (%(date)s)."
                )
                % {"date": expires.isoformat()},
                "valid_until",
            )
    elif valid_until > expires:
        return _invalid(
            _("A visa ends before the passport expires (%(date)s).")
            % {"date": expires.isoformat()},
            "valid_until",
        )
    return None


def _mrz_format(mrz_format: MrzFormat | str | None) -> MrzFormat:
    chosen = mrz_format or getattr(settings, "VISAS_MRZ_FORMAT", MrzFormat.MRVA.value)
    value = MrzFormat(chosen) if not isinstance(chosen, MrzFormat) else chosen
    if value is MrzFormat.TD3:
        raise ValueError("a visa's MRZ is an MRV-A or an MRV-B")
    return value


def visa_mrz_lines(
    *,
    application: VisaApplication,
    number: str,
    visa_type: str,
    valid_until: dt.date,
    today: dt.date,
    mrz_format: MrzFormat = MrzFormat.MRVA,
) -> tuple[str, str]:
    """The visa's two MRZ lines (names through the MRZ's transliteration); `ApplicationError`
    naming the field the MRZ cannot hold."""
    compose = mrva_compose if mrz_format is MrzFormat.MRVA else mrvb_compose
    if application.birth_date is None:
        raise _invalid(_("The date of birth is not known."), "birth_date")
    try:
        return compose(
            MrzFields(
                surname=application.surname,
                given_names=application.given_names,
                document_number=number,
                issuing_state=issuing_state(),
                nationality=application.nationality,
                birth_date=application.birth_date,
                sex=application.sex or "X",
                expiry_date=valid_until,
                document_code="V" + visa_type,
            ),
            today=today,
        )
    except MrzError as error:
        raise _invalid(error.message, error.field or "mrz") from None


def passport_number_mrz(number: str) -> str:
    """The passport number as an MRZ and a seal hold it: capitals and digits, nine at most."""
    return _NOT_MRZ.sub("", number.upper())[:9]


def _signer_serial() -> str:
    try:
        return f"{document_signer_active()[1].serial_number:X}"
    except ApplicationError:
        return ""


def visa_issue(
    *,
    application: VisaApplication,
    valid_from: dt.date,
    valid_until: dt.date,
    entries: str,
    duration_days: int,
    acting_user: User,
    mrz_format: MrzFormat | str | None = None,
) -> IssuedVisa:
    """Number and write the visa of `application`, locked by the caller, who decides (four
    eyes, `Action.VISA_DECIDE`) in the transaction this runs in; the caller then moves the
    status, saves `ISSUE_FIELDS` and records the issued event with `IssuedVisa.payload()`.
    Refused (`ApplicationError`, nothing taken) for dates or a stay the passport or the category
    does not allow, or when the mission has no number left."""
    # the caller may have moved the status to issued already, in this transaction
    if application.visa_number or application.status not in (
        VisaStatus.RECOMMENDED,
        VisaStatus.ISSUED,
    ):
        raise ApplicationError(
            CommonError.BAD_TRANSITION, _("A visa is issued once, on a recommended application.")
        )
    category = category_of(application)
    if category is None:
        raise ApplicationError(VisaError.NO_CATEGORY, _("This visa category no longer exists."))
    now = timezone.now()
    today = timezone.localdate(now, current_mission().zone)
    visa_validity_check(
        application=application, category=category, valid_from=valid_from,
        valid_until=valid_until, entries=entries, duration_days=duration_days, today=today,
    )  # fmt: skip
    chosen = _mrz_format(mrz_format)
    number, _block = number_take(series=VISA_NUMBERS, acting_user=acting_user)
    lines = visa_mrz_lines(
        application=application, number=number, visa_type=category.visa_type,
        valid_until=valid_until, today=today, mrz_format=chosen,
    )  # fmt: skip
    index = document_index_of(number)  # what the model's shared blind index computes too
    application.visa_number = number
    application.visa_number_index = index
    application.visa_valid_from = valid_from
    application.visa_valid_until = valid_until
    application.visa_entries = entries
    application.visa_duration_days = duration_days
    application.visa_mrz = "\n".join(lines)
    application.issued_at = now
    return IssuedVisa(
        number=number,
        number_index=index,
        mrz=lines,
        mrz_format=chosen,
        issued_on=today,
        valid_from=valid_from,
        valid_until=valid_until,
        entries=entries,
        duration_days=duration_days,
        signer_serial=_signer_serial(),
    )
