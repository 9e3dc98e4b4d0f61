"""Reads of HQ's register of visa cases (public schema; every mission's search path ends in
`public`, so a mission's screening reads it as HQ does).

- `refusals_for_screening`: the refusals of the last years at every mission, with who they
  were for (decrypted), as candidates for `visas.matching.screen`.
- `case_find`: one case by mission and application, or by reference.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from visas.matching import Candidate

from .models import CaseOutcome, VisaCase


@dataclass(frozen=True)
class RefusalRecord:
    """One refusal in HQ's register, as the screening shows it. `surname`, `given_names`,
    `birth_date` and `passport_index` are empty (None for the date) when HQ could not read the
    decision's sealed data. `passport_index` is the passport number's blind index under HQ's key
    (purpose `travel_document`): the same value as `VisaApplication.passport_index`, so the same
    passport is found whatever the name's spelling. `grounds` are as the refusing mission gave
    them. `decided_at` is aware (UTC)."""

    mission: str  # the refusing mission's code
    application_id: int  # the application's id at that mission
    reference: str
    category: str
    visa_type: str
    nationality: str  # ICAO three letters, or ""
    decided_at: dt.datetime
    grounds: tuple[str, ...]
    surname: str
    given_names: str
    birth_date: dt.date | None
    passport_index: str

    @property
    def source(self) -> str:
        """Where the officer finds it: "<mission>/<reference>"."""
        return f"{self.mission}/{self.reference}"

    def candidate(self) -> Candidate:
        """The refused person as a candidate for `visas.matching.screen` (its `reference` is
        `source`)."""
        return Candidate(
            names=(f"{self.surname} {self.given_names}".strip(),),
            birth_date=self.birth_date,
            nationality=self.nationality or None,
            reference=self.source,
        )


def refusals_for_screening(
    *,
    since_years: int = 5,
    now: dt.datetime | None = None,
    exclude: tuple[str, int] | None = None,
) -> list[RefusalRecord]:
    """Every refusal at any mission decided in the last `since_years` years (a refusal later
    overturned on appeal is no longer one), newest first, with the applicant's identity
    decrypted. `exclude`: (mission code, application id) of the application being screened,
    left out. Reads the public schema whatever the connection's (its search path ends there),
    so a mission's screening calls it as it is."""
    now = now or timezone.now()
    try:
        since = now.replace(year=now.year - since_years)
    except ValueError:  # 29 February
        since = now.replace(year=now.year - since_years, day=28)
    cases = VisaCase.objects.filter(outcome=CaseOutcome.REFUSED, decided_at__gte=since).order_by(
        "-decided_at", "mission", "application_id"
    )
    if exclude is not None:
        cases = cases.exclude(mission=exclude[0], application_id=exclude[1])
    return [
        RefusalRecord(
            mission=case.mission,
            application_id=case.application_id,
            reference=case.reference,
            category=case.category,
            visa_type=case.visa_type,
            nationality=case.nationality,
            decided_at=case.decided_at,  # type: ignore[arg-type]  # refused: decided
            grounds=tuple(str(ground) for ground in case.grounds or ()),
            surname=case.surname or "",
            given_names=case.given_names or "",
            birth_date=case.birth_date,
            passport_index=case.passport_index,
        )
        for case in cases
    ]


def case_find(
    *, mission: str, application_id: int | None = None, reference: str = ""
) -> VisaCase | None:
    """The register's row of an application at `mission`, by its id or its reference."""
    cases = VisaCase.objects.filter(mission=mission)
    if application_id is not None:
        return cases.filter(application_id=application_id).first()
    if reference:
        return cases.filter(reference=reference).first()
    return None
