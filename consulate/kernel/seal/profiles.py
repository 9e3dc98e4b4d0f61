"""The document profiles of ICAO Doc 9303 Part 13 this system issues: what each feature tag
holds and how, and the document's validity read from it.

Emergency travel document: feature definition reference 0x5E, type category 0x03.
    0x02  MRZ, C40, 48 bytes: the whole TD2-shaped MRZ, two lines of 36 (72 characters).

Visa: feature definition reference 0x5D, type category 0x01.
    0x01  MRZ of an MRV-A, C40, 48 bytes: line 1 (44) and the first 28 of line 2: the
          optional data at the end of line 2 is left out, as Part 13 prescribes
    0x02  MRZ of an MRV-B, C40, 44 bytes: line 1 (36) and the first 28 of line 2
          (one of 0x01 or 0x02)
    0x03  number of entries, one byte. Part 13 does not say, in what we could find, how
          "unlimited" is written; we write 0 for it (an issuing state's choice). Optional
          when reading: published specimen seals leave it out.
    0x04  duration of stay, three bytes: days, months, years
    0x05  passport number, C40, 6 bytes (nine characters, "<" filled)
    0x06  visa type, 1-4 bytes, the issuing state's own coding (optional)
    0x07  additional features, up to 254 bytes, the issuing state's own (optional)

In C40 the MRZ's filler "<" is written as a space (Part 13) and read back as "<". The
document's end of validity is the MRZ's expiry date (line 2, characters 22-27 in both TD2
and MRV shapes), which the seal carries whole.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from consulate.kernel.seal.c40 import c40_decode, c40_encode
from consulate.kernel.seal.errors import SealError, SealErrorCode
from consulate.kernel.seal.vds import Seal, SealFeature

_MRZ_CHARS = re.compile(r"[A-Z0-9<]*")


@dataclass(frozen=True, kw_only=True)
class SealProfile:
    name: str
    label: Any  # a lazy translation
    feature_definition_reference: int
    document_type_category: int


ETD_PROFILE = SealProfile(
    name="icao.emergency_travel_document",
    label=_("Emergency travel document"),
    feature_definition_reference=0x5E,
    document_type_category=0x03,
)
VISA_PROFILE = SealProfile(
    name="icao.visa",
    label=_("Visa"),
    feature_definition_reference=0x5D,
    document_type_category=0x01,
)
PROFILES = (ETD_PROFILE, VISA_PROFILE)


class MrvFormat(enum.Enum):
    A = "A"  # 2 × 44
    B = "B"  # 2 × 36


@dataclass(frozen=True, kw_only=True)
class StayDuration:
    days: int = 0
    months: int = 0
    years: int = 0


@dataclass(frozen=True, kw_only=True)
class EmergencyTravelDocumentContent:
    """What an emergency travel document's seal says: its MRZ, whole."""

    profile: ClassVar[SealProfile] = ETD_PROFILE
    LINE: ClassVar[int] = 36
    MRZ_TAG: ClassVar[int] = 0x02

    mrz: str  # 72 characters, no line break

    @property
    def lines(self) -> tuple[str, ...]:
        return (self.mrz[: self.LINE], self.mrz[self.LINE :])

    @property
    def valid_until(self) -> dt.date:
        return _expiry(self.lines[1])

    def features(self) -> tuple[SealFeature, ...]:
        return (SealFeature(tag=self.MRZ_TAG, value=_mrz_encode(self.mrz)),)

    def display(
        self, *, day: Callable[[dt.date], str] = dt.date.isoformat
    ) -> list[tuple[Any, str]]:
        """Labelled rows for a reader; `day` writes a date (a page passes the site's format)."""
        return [
            (_("Document type"), str(self.profile.label)),
            (_("MRZ"), "\n".join(self.lines)),
            (_("Valid until"), day(self.valid_until)),
        ]


@dataclass(frozen=True, kw_only=True)
class VisaContent:
    """What a visa's seal says. `mrz` is the part the seal holds: line 1 and the first 28
    characters of line 2 (the optional data is not in the seal)."""

    profile: ClassVar[SealProfile] = VISA_PROFILE
    KEPT_OF_LINE_2: ClassVar[int] = 28

    mrz_format: MrvFormat
    mrz: str
    passport_number: str  # without "<" fillers
    entries: int | None  # 0: unlimited; None: the seal does not say
    duration_of_stay: StayDuration
    visa_type: bytes | None = None
    additional_features: bytes | None = None

    @property
    def line_length(self) -> int:
        return 44 if self.mrz_format is MrvFormat.A else 36

    @property
    def lines(self) -> tuple[str, ...]:
        return (self.mrz[: self.line_length], self.mrz[self.line_length :])

    @property
    def valid_until(self) -> dt.date:
        return _expiry(self.lines[1])

    def features(self) -> tuple[SealFeature, ...]:
        duration = self.duration_of_stay
        mrz_tag = 0x01 if self.mrz_format is MrvFormat.A else 0x02
        features = [SealFeature(tag=mrz_tag, value=_mrz_encode(self.mrz))]
        if self.entries is not None:
            features.append(SealFeature(tag=0x03, value=bytes((self.entries,))))
        features += [
            SealFeature(tag=0x04, value=bytes((duration.days, duration.months, duration.years))),
            SealFeature(tag=0x05, value=_mrz_encode(self.passport_number.ljust(9, "<"))),
        ]
        if self.visa_type is not None:
            features.append(SealFeature(tag=0x06, value=self.visa_type))
        if self.additional_features is not None:
            features.append(SealFeature(tag=0x07, value=self.additional_features))
        return tuple(features)

    def display(
        self, *, day: Callable[[dt.date], str] = dt.date.isoformat
    ) -> list[tuple[Any, str]]:
        """Labelled rows for a reader; `day` writes a date (a page passes the site's format)."""
        duration = self.duration_of_stay
        entries = {None: "-", 0: str(_("unlimited"))}.get(self.entries, str(self.entries))
        rows: list[tuple[Any, str]] = [
            (_("Document type"), str(self.profile.label)),
            (_("MRZ"), "\n".join(self.lines)),
            (_("Valid until"), day(self.valid_until)),
            (_("Passport number"), self.passport_number),
            (_("Number of entries"), entries),
            (_("Duration of stay"), stay_words(duration)),
        ]
        if self.visa_type is not None:
            rows.append((_("Visa type"), self.visa_type.hex().upper()))
        if self.additional_features is not None:
            rows.append((_("Additional features"), self.additional_features.hex().upper()))
        return rows


SealContent = EmergencyTravelDocumentContent | VisaContent


def stay_words(duration: StayDuration) -> str:
    """A stay as a person says it: "1 year, 2 months", "15 days" (the parts that are not 0)."""
    parts = [
        ngettext("%(count)d year", "%(count)d years", duration.years) % {"count": duration.years},
        ngettext("%(count)d month", "%(count)d months", duration.months)
        % {"count": duration.months},
        ngettext("%(count)d day", "%(count)d days", duration.days) % {"count": duration.days},
    ]
    counts = (duration.years, duration.months, duration.days)
    return ", ".join(part for part, count in zip(parts, counts, strict=True) if count) or "-"


def etd_content(*, mrz: str) -> EmergencyTravelDocumentContent:
    """An emergency travel document's seal content from its MRZ (two lines of 36, with or
    without a line break); `SealError` when it is not one."""
    text = _mrz_clean(mrz)
    if len(text) != 2 * EmergencyTravelDocumentContent.LINE:
        raise _bad_content()
    content = EmergencyTravelDocumentContent(mrz=text)
    content.valid_until  # noqa: B018 - refuses an MRZ without an expiry date now, not later
    return content


def visa_content(
    *,
    mrz: str,
    passport_number: str,
    entries: int,
    duration_of_stay: StayDuration,
    visa_type: bytes | None = None,
    additional_features: bytes | None = None,
) -> VisaContent:
    """A visa's seal content from its whole MRZ (MRV-A: 2 × 44, MRV-B: 2 × 36); the seal keeps
    line 1 and the first 28 characters of line 2. `entries` 0 is unlimited."""
    text = _mrz_clean(mrz)
    if len(text) == 88:
        mrz_format, line = MrvFormat.A, 44
    elif len(text) == 72:
        mrz_format, line = MrvFormat.B, 36
    else:
        raise _bad_content()
    content = VisaContent(
        mrz_format=mrz_format,
        mrz=text[: line + VisaContent.KEPT_OF_LINE_2],
        passport_number=passport_number,
        entries=entries,
        duration_of_stay=duration_of_stay,
        visa_type=visa_type,
        additional_features=additional_features,
    )
    _visa_check(content)
    return content


def seal_profile(*, seal: Seal) -> SealProfile | None:
    """The profile `seal`'s header names, if it is one this system knows."""
    header = seal.header
    return next(
        (
            profile
            for profile in PROFILES
            if profile.feature_definition_reference == header.feature_definition_reference
            and profile.document_type_category == header.document_type_category
        ),
        None,
    )


def seal_content(*, seal: Seal) -> SealContent:
    """The document data in `seal`, read by its profile; `SealError` when the profile is
    unknown or its features are not what the profile prescribes (missing, repeated, unknown
    tags, wrong lengths)."""
    profile = seal_profile(seal=seal)
    if profile is None:
        raise SealError(
            SealErrorCode.BAD_CONTENT, _("This seal's document type is not one this system knows.")
        )
    tags = [feature.tag for feature in seal.features]
    if len(set(tags)) != len(tags):
        raise _bad_content()
    values = {feature.tag: feature.value for feature in seal.features}
    if profile is ETD_PROFILE:
        if set(values) != {EmergencyTravelDocumentContent.MRZ_TAG}:
            raise _bad_content()
        return etd_content(mrz=_mrz_decode(values[EmergencyTravelDocumentContent.MRZ_TAG], 48))
    return _visa_read(values)


def _visa_read(values: dict[int, bytes]) -> VisaContent:
    if not set(values) <= set(range(1, 8)) or not {4, 5} <= set(values):
        raise _bad_content()
    if (1 in values) == (2 in values):
        raise _bad_content()
    if 1 in values:
        mrz_format, mrz = MrvFormat.A, _mrz_decode(values[1], 48)
    else:
        mrz_format, mrz = MrvFormat.B, _mrz_decode(values[2], 44)
    entries = values.get(3)
    duration = values[4]
    if (entries is not None and len(entries) != 1) or len(duration) != 3:
        raise _bad_content()
    content = VisaContent(
        mrz_format=mrz_format,
        mrz=mrz,
        passport_number=_mrz_decode(values[5], 6).rstrip("<"),
        entries=None if entries is None else entries[0],
        duration_of_stay=StayDuration(days=duration[0], months=duration[1], years=duration[2]),
        visa_type=values.get(6),
        additional_features=values.get(7),
    )
    _visa_check(content)
    return content


def _visa_check(content: VisaContent) -> None:
    duration = content.duration_of_stay
    if (
        len(content.mrz) != content.line_length + VisaContent.KEPT_OF_LINE_2
        or not _MRZ_CHARS.fullmatch(content.mrz)
        or not 1 <= len(content.passport_number) <= 9
        or not _MRZ_CHARS.fullmatch(content.passport_number)
        or not all(0 <= part <= 0xFF for part in (duration.days, duration.months, duration.years))
        or (content.entries is not None and not 0 <= content.entries <= 0xFF)
        or (content.visa_type is not None and not 1 <= len(content.visa_type) <= 4)
        or (content.additional_features is not None and len(content.additional_features) > 254)
    ):
        raise _bad_content()
    content.valid_until  # noqa: B018 - refuses an MRZ without an expiry date


def _mrz_clean(mrz: str) -> str:
    text = mrz.replace("\r", "").replace("\n", "")
    if not _MRZ_CHARS.fullmatch(text):
        raise _bad_content()
    return text


def _mrz_encode(text: str) -> bytes:
    return c40_encode(text.replace("<", " "))


def _mrz_decode(value: bytes, length: int) -> str:
    if len(value) != length:
        raise _bad_content()
    return c40_decode(value).replace(" ", "<")


def _expiry(line: str) -> dt.date:
    # MRZ expiry dates are YYMMDD; a travel document or visa expires in this century
    digits = line[21:27]
    try:
        return dt.date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        raise _bad_content() from None


def _bad_content() -> SealError:
    return SealError(
        SealErrorCode.BAD_CONTENT,
        _("The document data in this seal does not follow its document type."),
    )
