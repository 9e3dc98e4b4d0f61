"""The e-visa: one A4 page the holder prints or shows, with their photo, the visa's facts, its
MRZ and the visible digital seal in the ICAO visa profile (Doc 9303 Part 13), which anyone
checks at HQ's public verifier (`passports.register.verification`). In the holder's language;
the time of issue in the mission's zone, named. The page's drawing is the ETD's
(`passports.etd_pdf`).

The seal is made when the page is made, with the mission's document-signing key of the day
(`passports.services.signer.document_signer_active`): issue date the visa's day of issue, the
MRZ the one written at the issue (the seal keeps line 1 and the first 28 characters of line 2),
the passport number, the entries (0 for multiple) and the duration of stay.
"""

from __future__ import annotations

import base64
import binascii
import io

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.seal import StayDuration, seal_issue, visa_content
from missions.mail import local_time
from missions.models import Mission
from missions.selectors import current_mission
from passports.etd_pdf import date_text, mrz_draw, pdf_fonts, photo_draw, seal_draw
from passports.register.seal_keys import issuing_state
from passports.services.signer import document_signer_active
from visas.reference.models import ChecklistItem, ItemKind, VisaCategory, VisaType

from .error_codes import VisaError
from .models import Entries, Sex, Upload, VisaApplication, VisaStatus
from .services.issuance import category_of, passport_number_mrz

__all__ = ["evisa_pdf", "evisa_seal", "stay_duration"]

# What the seal writes for the entries: 0 is "unlimited" (`consulate.kernel.seal.profiles`).
SEAL_ENTRIES = {Entries.SINGLE: 1, Entries.DOUBLE: 2, Entries.MULTIPLE: 0}
PRINTABLE = (VisaStatus.ISSUED, VisaStatus.ANNULLED, VisaStatus.REVOKED)


def stay_duration(days: int) -> StayDuration:
    """A stay of `days` days as the seal holds it (one byte each for days, months, years):
    the days themselves up to 255; beyond, years of 365 days, months of 30 and the days left
    (a long stay is granted in months or years anyway)."""
    if days <= 0xFF:
        return StayDuration(days=days)
    years, rest = divmod(days, 365)
    months, rest = divmod(rest, 30)
    return StayDuration(days=rest, months=months, years=years)


def evisa_seal(*, application: VisaApplication) -> bytes:
    """The visa's seal, signed now with the mission's key (in the mission's schema);
    `ApplicationError` NO_SIGNER when the mission has no valid key."""
    try:
        signer_key, certificate = document_signer_active()
    except ApplicationError as error:
        raise ApplicationError(VisaError.NO_SIGNER, error.message) from None
    mission = current_mission()
    issued_on = timezone.localdate(application.issued_at, mission.zone)
    return seal_issue(
        content=visa_content(
            mrz=application.visa_mrz,
            passport_number=passport_number_mrz(application.passport_number),
            entries=SEAL_ENTRIES[Entries(application.visa_entries)],
            duration_of_stay=stay_duration(application.visa_duration_days or 0),
        ),
        country=issuing_state(),
        signer_key=signer_key,
        signer_certificate=certificate,
        issue_date=issued_on,
        signature_date=max(issued_on, timezone.localdate(timezone.now(), mission.zone)),
    )


def _photo(application: VisaApplication, category: VisaCategory | None) -> bytes | None:
    """The current upload of the category's photo item (base64 in the encrypted column)."""
    if category is None:
        return None
    codes = ChecklistItem.objects.filter(category=category, kind=ItemKind.PHOTO).values_list(
        "code", flat=True
    )
    upload = (
        Upload.objects.filter(application=application, item__in=list(codes), is_current=True)
        .order_by("-created_at", "-id")
        .first()
    )
    if upload is None:
        return None
    try:
        return base64.b64decode(upload.content, validate=True)
    except (binascii.Error, ValueError):
        return None


def evisa_pdf(*, application: VisaApplication) -> bytes:
    """The issued visa (or annulled or revoked: marked so) as a one-page A4 PDF, in the
    mission's schema. `ApplicationError` when there is no visa, or no key to seal it with."""
    if application.status not in PRINTABLE or not application.visa_mrz:
        raise ApplicationError(CommonError.NOT_FOUND, gettext_lazy("Not found."))
    data = evisa_seal(application=application)
    mission = current_mission()
    category = category_of(application)
    with translation.override(application.language or "en"):
        return _document(application=application, mission=mission, category=category, data=data)


def _document(
    *,
    application: VisaApplication,
    mission: Mission,
    category: VisaCategory | None,
    data: bytes,
) -> bytes:
    regular, bold, mono = pdf_fonts()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=True)
    title = _("Electronic visa")
    number = application.visa_number
    pdf.setTitle(f"{title} {number}")
    pdf.setAuthor(mission.name)
    width, height = A4
    left, y = 20 * mm, height - 25 * mm
    pdf.setFont(bold, 15)
    pdf.drawString(left, y, mission.name)
    pdf.setFont(regular, 9)
    for line in mission.postal_address.splitlines():
        y -= 4.5 * mm
        pdf.drawString(left, y, line)
    y -= 14 * mm
    pdf.setFont(bold, 20)
    pdf.drawString(left, y, title)
    pdf.setFont(bold, 13)
    pdf.drawRightString(width - left, y, number)
    if application.status != VisaStatus.ISSUED:
        y -= 7 * mm
        pdf.setFont(bold, 12)
        pdf.setFillColorRGB(0.7, 0, 0)
        ended = (
            _("ANNULLED: this visa is no longer valid.")
            if application.status == VisaStatus.ANNULLED
            else _("REVOKED: this visa is no longer valid.")
        )
        pdf.drawString(left, y, ended)
        pdf.setFillColorRGB(0, 0, 0)
    y -= 10 * mm
    issued_at = application.issued_at
    duration = application.visa_duration_days or 0
    visa_type = str(VisaType(category.visa_type).label) if category is not None else ""
    rows = [
        (_("Surname"), application.surname),
        (_("Given names"), application.given_names),
        (_("Date of birth"), date_text(application.birth_date)),
        (_("Sex"), str(Sex(application.sex).label) if application.sex else ""),
        (_("Nationality"), application.nationality),
        (_("Passport number"), application.passport_number),
        (_("Visa number"), number),
        (_("Type of visa"), visa_type),
        (_("Number of entries"), str(Entries(application.visa_entries).label)),
        (_("Valid from"), date_text(application.visa_valid_from)),
        (_("Valid until"), date_text(application.visa_valid_until)),
        (
            _("Duration of stay"),
            translation.ngettext("%(days)d day", "%(days)d days", duration) % {"days": duration},
        ),
        (_("Issued at"), local_time(issued_at, mission.zone) if issued_at else ""),
        (_("Issued by"), mission.name),
    ]
    top = y
    for label, value in rows:
        pdf.setFont(regular, 10)
        pdf.drawString(left, y, label)
        pdf.drawString(left + 50 * mm, y, str(value))
        y -= 6.5 * mm
    photo = _photo(application, category)
    if photo is not None:
        photo_draw(pdf, jpeg=photo, right=width - left, top=top)
    y -= 2 * mm
    pdf.setFont(regular, 8)
    pdf.drawString(
        left,
        y,
        _("The visa is valid from the first to the last day shown, inclusive, at the border."),
    )
    seal_draw(pdf, data=data, left=left, top=y, font=regular)
    mrz_draw(pdf, lines=application.visa_mrz.splitlines(), left=left, font=mono)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
