"""What the visa services share: the applicant's timeline (each step also an e-mail) and the
reference numbers of applications."""

from __future__ import annotations

import datetime as dt
import secrets

from django.utils import timezone

from consulate.kernel.tenancy import task_queue_on_commit

from ..models import Step, VisaApplication, VisaStep

# Reference: "V" and nine characters without the ones people misread (0/O, 1/I/L).
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 9

# Steps the applicant is not mailed about: the booking and the payment, which the appointments
# and fees apps confirm by e-mail themselves. Submitting and sending corrections are: the mail
# says what the mission does next.
UNMAILED = frozenset({Step.BOOKED, Step.PAID})


def reference_new() -> str:
    """A fresh application reference (the caller retries on the unique constraint)."""
    return "V" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def step_record(
    *,
    application: VisaApplication,
    step: Step,
    note: str = "",
    mail: bool = True,
    at: dt.datetime | None = None,
) -> VisaStep:
    """Add a step to the applicant's timeline and queue its e-mail on commit (a step may happen
    more than once: corrections)."""
    from .. import tasks

    row = VisaStep.objects.create(
        application=application, step=step, happened_at=at or timezone.now(), note=note
    )
    if mail and step not in UNMAILED:
        task_queue_on_commit(tasks.send_visa_step, row.pk)
    return row
