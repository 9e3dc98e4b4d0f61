"""The PDF receipt (and credit note): a Code128 barcode of the number, the amount in local
currency and its base-currency equivalent, in the payer's language."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.numbers import format_decimal
from barcode import Code128
from barcode.writer import ImageWriter
from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from missions.models import Mission

from .models import FeeLine, PaymentMethod, Receipt
from .money import Money

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu")]


@cache
def _fonts() -> tuple[str, str]:
    """DejaVu Sans when installed (Turkish, Cyrillic, Greek letters); else Helvetica."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            pdfmetrics.registerFont(TTFont("ReceiptSans", str(regular)))
            pdfmetrics.registerFont(TTFont("ReceiptSans-Bold", str(bold)))
            return "ReceiptSans", "ReceiptSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def barcode_png(number: str) -> bytes:
    """A Code128 barcode of `number` as PNG: the image embedded in the PDF."""
    out = io.BytesIO()
    Code128(number, writer=ImageWriter()).write(
        out,
        options={
            "module_width": 0.3,
            "module_height": 12.0,
            "quiet_zone": 6.0,
            "dpi": 300,
            "font_size": 0,
            "write_text": False,
        },
    )
    return out.getvalue()


def receipt_pdf(*, receipt: Receipt, mission: Mission) -> bytes:
    language = receipt.payer_language or "en"
    with translation.override(language):
        return _render(receipt=receipt, mission=mission, locale=language)


def _render(*, receipt: Receipt, mission: Mission, locale: str) -> bytes:
    regular, bold = _fonts()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=True)
    pdf.setTitle(f"{_('Receipt')} {receipt.number}")
    pdf.setAuthor(mission.name)
    width, height = A4
    left, y = 20 * mm, height - 25 * mm

    pdf.setFont(bold, 15)
    pdf.drawString(left, y, mission.name)
    pdf.setFont(regular, 9)
    for line in (mission.address or "").splitlines():
        y -= 4.5 * mm
        pdf.drawString(left, y, line)

    y -= 14 * mm
    pdf.setFont(bold, 20)
    pdf.drawString(left, y, _("Receipt"))
    pdf.setFont(bold, 13)
    pdf.drawRightString(width - left, y, receipt.number)

    y -= 10 * mm
    payment = receipt.payment
    method = {
        PaymentMethod.CASH: _("Cash"),
        PaymentMethod.CARD: _("Card"),
        PaymentMethod.BANK_TRANSFER: _("Bank transfer"),
    }.get(receipt.method, receipt.method)  # type: ignore[call-overload]
    rows = [
        (_("Date"), receipt.business_date.isoformat()),
        (_("Received from"), receipt.payer_name),
        (_("Payment method"), method),
        (
            _("For"),
            f"{payment.assessment.get_subject_type_display()} {payment.assessment.subject_ref}",
        ),
    ]
    for label, value in rows:
        pdf.setFont(regular, 10)
        pdf.drawString(left, y, label)
        pdf.drawString(left + 45 * mm, y, str(value))
        y -= 6 * mm

    y -= 4 * mm
    pdf.setFont(bold, 10)
    pdf.drawString(left, y, _("Fees assessed"))
    y -= 6 * mm
    pdf.setFont(regular, 10)
    for fee in FeeLine.objects.filter(assessment_id=payment.assessment_id).order_by("id"):
        pdf.drawString(left + 4 * mm, y, str(fee.get_service_display()))
        pdf.drawRightString(width - left, y, fee.amount.format(locale))
        y -= 5.5 * mm

    y -= 4 * mm
    pdf.line(left, y + 3 * mm, width - left, y + 3 * mm)
    pdf.setFont(bold, 13)
    pdf.drawString(left, y - 3 * mm, _("Amount paid"))
    pdf.drawRightString(width - left, y - 3 * mm, receipt.amount.format(locale))
    y -= 10 * mm
    pdf.setFont(regular, 9)
    if receipt.base_currency != receipt.currency:
        one = Money.from_decimal("1", receipt.base_currency).format(locale)
        rate = f"{format_decimal(receipt.rate.normalize(), locale=locale)} {receipt.currency}"
        pdf.drawRightString(
            width - left,
            y,
            _("Equivalent: %(base)s (rate %(one)s = %(rate)s)")
            % {"base": receipt.base_amount.format(locale), "one": one, "rate": rate},
        )
        y -= 6 * mm

    image = ImageReader(io.BytesIO(barcode_png(receipt.number)))
    img_w, img_h = image.getSize()
    draw_w = 80 * mm
    draw_h = draw_w * img_h / img_w
    y -= draw_h + 6 * mm
    pdf.drawImage(image, left, y, width=draw_w, height=draw_h)
    pdf.setFont(regular, 9)
    pdf.drawString(left, y - 4 * mm, receipt.number)

    pdf.setFont(regular, 8)
    pdf.drawString(
        left,
        15 * mm,
        _("This receipt is never changed: a refund or correction is issued as a credit note."),
    )
    pdf.showPage()
    pdf.save()
    return out.getvalue()
