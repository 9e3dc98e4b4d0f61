"""Visa applications made through the applicant's real services, in a mission's schema: a draft
with every field and file (`visa_draft`), submitted (`visa_submitted`). HQ's demo categories
(`seed_visa_reference`) and fee schedule (`seed_fee_reference`) are seeded when missing.

Files: the photo is tests/passports/photos.py's good photo (it passes the ICAO checks); every
other item a one-page PDF made with pypdf."""

from __future__ import annotations

import datetime as dt
import functools
import io
import uuid
from typing import Any, cast

from django_tenants.utils import schema_context
from pypdf import PdfWriter

from consulate.kernel.accounts.models import User
from fees.reference.models import FeeScheduleEntry
from missions.models import Mission
from tests.factories import UserFactory
from tests.passports.photos import photo_bytes
from tests.visas.reference import seed_visa_reference
from visas.models import VisaApplication
from visas.reference.models import ItemKind, QuestionKind, VisaCategory
from visas.services import application as services

# A complete form; a test changes what it is about. The journey's dates, the passport's
# number and expiry are set per call (relative to the mission's today; a fresh number).
VALUES: dict[str, Any] = {
    "surname": "Smith",
    "given_names": "Jane Mary",
    "birth_date": "1985-06-15",
    "birth_place": "Boston",
    "sex": "F",
    "nationality": "USA",
    "passport_issuing_state": "USA",
    "address": "12 Elm Street\nBoston MA 02108\nUnited States",
    "phone": "+1 617 555 0100",
    "occupation": "Architect",
    "entries": "1",
    "stay_address": "Hotel Adlon, Unter den Linden 77, 10117 Berlin",
    "host_name": "Müller GmbH",
    "host_address": "Friedrichstraße 1, 10117 Berlin",
    "previous_visas": "",
    "previous_refusals": "",
    "means": "Savings of 6,000 USD and a monthly salary of 5,000 USD.",
}


def passport_number() -> str:
    """A fresh foreign passport number (9 letters and digits)."""
    return "P" + uuid.uuid4().hex[:8].upper()


@functools.cache
def photo_file() -> bytes:
    """The good photo, as a JPEG upload (drawn once per run)."""
    return photo_bytes()


@functools.cache
def pdf_file() -> bytes:
    """A one-page PDF document, well formed, with nothing active in it."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def item_file(kind: str) -> tuple[bytes, str]:
    """The bytes and name of a file that passes the checks for a checklist item of `kind`."""
    if kind == ItemKind.PHOTO:
        return photo_file(), "photo.jpg"
    return pdf_file(), "document.pdf"


def applicant(email: str | None = None) -> User:
    """A person with an ordinary account (no role at any mission)."""
    return cast(User, UserFactory(email=email) if email else UserFactory())


def reference_ensure(category: str = "tourism") -> None:
    """HQ's visa categories and fee schedule, in the current mission schema."""
    if not VisaCategory.objects.filter(code=category).exists():
        seed_visa_reference()
    if not FeeScheduleEntry.objects.exists():
        from tests.fees.factories import seed_fee_reference

        seed_fee_reference()


def values_complete(category: VisaCategory, today: dt.date) -> dict[str, Any]:
    """A complete form for `category`, the journey a month from `today`."""
    entry = today + dt.timedelta(days=30)
    stay = min(14, category.max_stay_days)
    values = {
        **VALUES,
        "passport_number": passport_number(),
        "passport_expires_on": (today + dt.timedelta(days=5 * 365)).isoformat(),
        "entry_date": entry.isoformat(),
        "exit_date": (entry + dt.timedelta(days=stay - 1)).isoformat(),
    }
    for question in category.questions.all():
        if question.kind == QuestionKind.YES_NO:
            values[services.QUESTION_PREFIX + question.code] = "yes"
        elif question.kind == QuestionKind.DATE:
            values[services.QUESTION_PREFIX + question.code] = (
                today - dt.timedelta(days=400)
            ).isoformat()
        else:
            values[services.QUESTION_PREFIX + question.code] = "An answer."
    return values


def uploads_add(application: VisaApplication, user: User, *, required_only: bool = True) -> None:
    """A file that passes the checks for each (required) item of the checklist."""
    category = services.application_category(application=application)
    for item in services.category_items(category=category):
        if required_only and not item.required:
            continue
        data, name = item_file(item.kind)
        services.application_upload_add(
            application=application, item=item.code, data=data, filename=name, acting_user=user
        )


def visa_draft(
    mission: Mission,
    *,
    user: User | None = None,
    category: str = "tourism",
    uploads: bool = True,
    **fields: Any,
) -> VisaApplication:
    """A draft with every field filled in (`fields` override, `None` leaves one empty) and, with
    `uploads`, a file for every required item: ready to submit."""
    with schema_context(mission.schema_name):
        reference_ensure(category)
        user = user or applicant()
        application = services.application_start(category=category, acting_user=user, language="en")
        row = services.application_category(application=application)
        assert row is not None
        values = {**values_complete(row, mission.today()), **fields}
        values = {name: value for name, value in values.items() if value is not None}
        services.application_draft_save(application=application, data=values, acting_user=user)
        if uploads:
            uploads_add(application, user)
        application.refresh_from_db()
        return application


def corrections_send(
    application: VisaApplication, user: User, *, items: tuple[str, ...] = ("passport_copy",)
) -> VisaApplication:
    """The applicant's corrections, in the current mission schema: a new file for each of
    `items`, then sent."""
    for item in items:
        services.application_upload_add(
            application=application,
            item=item,
            data=pdf_file(),
            filename=f"{item}.pdf",
            acting_user=user,
        )
    services.application_submit(application=application, acting_user=user)
    application.refresh_from_db()
    return application


def visa_submitted(mission: Mission, **kw: Any) -> VisaApplication:
    """`visa_draft(mission, **kw)` submitted: waiting for the completeness check, the fee
    assessed."""
    with schema_context(mission.schema_name):
        application = visa_draft(mission, **kw)
        user = User.objects.get(pk=application.user_id)
        services.application_submit(application=application, acting_user=user)
        application.refresh_from_db()
        return application
