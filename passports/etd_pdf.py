"""The printed emergency travel document: the holder's data, the journey it is valid for, the
TD2 MRZ in a monospace font, and the visible digital seal as a Data Matrix that any verifier
reads back (`consulate.kernel.seal.seal_extract` finds it in this PDF). In the holder's language;
the time of issue in the mission's zone, named."""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from consulate.kernel.seal import seal_content, seal_datamatrix_png, seal_decode
from consulate.kernel.tenancy import absolute_url
from missions.mail import local_time
from missions.models import Mission

from .models import EmergencyTravelDocument, Sex
from .services.etd import etd_seal

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu")]


@cache
def _fonts() -> tuple[str, str, str]:
    """DejaVu Sans (Turkish, Cyrillic, Greek letters) and DejaVu Sans Mono for the MRZ when
    installed; else Helvetica and Courier. OCR-B is not shipped; a monospace font keeps the
    MRZ's columns."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        mono = folder / "DejaVuSansMono.ttf"
        if regular.exists() and bold.exists() and mono.exists():
            pdfmetrics.registerFont(TTFont("EtdSans", str(regular)))
            pdfmetrics.registerFont(TTFont("EtdSans-Bold", str(bold)))
            pdfmetrics.registerFont(TTFont("EtdMono", str(mono)))
            return "EtdSans", "EtdSans-Bold", "EtdMono"
    return "Helvetica", "Helvetica-Bold", "Courier"


def etd_pdf(*, etd: EmergencyTravelDocument, mission: Mission) -> bytes:
    """The issued (or revoked: marked so) document as a one-page A4 PDF."""
    with translation.override(etd.language or "en"):
        return _document(etd=etd, mission=mission)


def date_text(value: dt.date | None) -> str:
    """A date as the page prints it, in the active language ("12 April 1988")."""
    return str(formats.date_format(value, "j F Y")) if value is not None else ""


_day = date_text


def pdf_fonts() -> tuple[str, str, str]:
    """The printed documents' fonts: regular, bold and the MRZ's monospace (ETDs, e-visas)."""
    return _fonts()


def photo_draw(pdf: canvas.Canvas, *, jpeg: bytes, right: float, top: float) -> None:
    """The holder's photo, 35 x 45 mm, its right edge at `right`, beside their data, as on a
    passport's data page (JPEG or PNG bytes)."""
    photo = ImageReader(io.BytesIO(jpeg))
    pdf.drawImage(photo, right - 35 * mm, top - 40 * mm, width=35 * mm, height=45 * mm)


def seal_draw(pdf: canvas.Canvas, *, data: bytes, left: float, top: float, font: str) -> float:
    """The visible digital seal as a Data Matrix about 40 mm wide (Part 13 leaves the size to
    the State) below `top`, with where anyone checks it (HQ's public verifier) beside it;
    returns the bottom of what it drew."""
    image = ImageReader(io.BytesIO(seal_datamatrix_png(data, module_px=6)))
    img_w, img_h = image.getSize()
    draw_w = 40 * mm
    draw_h = draw_w * img_h / img_w
    y = top - draw_h - 4 * mm
    pdf.drawImage(image, left, y, width=draw_w, height=draw_h)
    pdf.setFont(font, 8)
    pdf.drawString(
        left + draw_w + 6 * mm,
        y + draw_h / 2,
        _("Visible digital seal: scan it to check this document."),
    )
    pdf.drawString(
        left + draw_w + 6 * mm,
        y + draw_h / 2 - 5 * mm,
        _("Check it at %(url)s") % {"url": absolute_url(settings.PORTAL_HOST, "/verify/")},
    )
    return y


def mrz_draw(pdf: canvas.Canvas, *, lines: Sequence[str], left: float, font: str) -> None:
    """The MRZ at the foot of the page, as on a document's data page."""
    pdf.setFont(font, 12)
    base = 25 * mm
    for n, line in enumerate(lines):
        pdf.drawString(left, base - n * 6 * mm, line)


def _document(*, etd: EmergencyTravelDocument, mission: Mission) -> bytes:
    regular, bold, mono = _fonts()
    data = etd_seal(etd=etd)
    mrz = seal_content(seal=seal_decode(data)).lines  # the MRZ printed is the one sealed
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=True)
    title = _("Emergency travel document")
    number = etd.number or ""
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
    y -= 7 * mm
    pdf.setFont(regular, 10)
    pdf.drawString(
        left,
        y,
        _("Valid for a single journey to %(city)s (%(country)s).")
        % {"city": etd.destination_city, "country": etd.destination_country},
    )
    if etd.status == "revoked":
        y -= 7 * mm
        pdf.setFont(bold, 12)
        pdf.setFillColorRGB(0.7, 0, 0)
        pdf.drawString(left, y, _("REVOKED: this document is no longer valid."))
        pdf.setFillColorRGB(0, 0, 0)
    y -= 10 * mm
    rows = [
        (_("Surname"), etd.surname),
        (_("Given names"), etd.given_names),
        (_("Date of birth"), _day(etd.birth_date)),
        (_("Sex"), str(Sex(etd.sex).label)),
        (_("Nationality"), etd.nationality),
        (_("Destination"), f"{etd.destination_city}, {etd.destination_country}"),
        (_("Date of the journey"), _day(etd.journey_date)),
        (_("Valid until"), _day(etd.valid_until)),
        (_("Issued on"), _day(etd.issued_on)),
        (_("Issued at"), local_time(etd.issued_at, mission.zone) if etd.issued_at else ""),
        (_("Issued by"), mission.name),
    ]
    top = y
    for label, value in rows:
        pdf.setFont(regular, 10)
        pdf.drawString(left, y, label)
        pdf.drawString(left + 50 * mm, y, str(value))
        y -= 6.5 * mm
    if etd.photo_jpeg:
        photo_draw(pdf, jpeg=base64.b64decode(etd.photo_jpeg), right=width - left, top=top)
    seal_draw(pdf, data=data, left=left, top=y, font=regular)
    mrz_draw(pdf, lines=mrz, left=left, font=mono)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
