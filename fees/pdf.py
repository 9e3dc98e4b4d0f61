"""The PDF receipt and credit note: a Code128 barcode of the number, the amount in local
currency and its base-currency equivalent at the rate frozen on the receipt (shown as stored),
in the payer's language."""

from __future__ import annotations

import io
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.numbers import format_decimal
from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from consulate.kernel.barcodes import code128_png
from missions.models import Mission

from .models import CreditNote, FeeLine, PaymentMethod, Receipt
from .money import Money, to_base
from .selectors import receipt_standing

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
    return code128_png(
        number, module_width=0.3, module_height=12.0, quiet_zone=6.0, dpi=300, font_size=0,
        write_text=False,
    )  # fmt: skip


def receipt_pdf(*, receipt: Receipt, mission: Mission) -> bytes:
    language = receipt.payer_language or "en"
    with translation.override(language):
        return _receipt(receipt=receipt, mission=mission, locale=language)


def credit_note_pdf(*, note: CreditNote, mission: Mission) -> bytes:
    """The credit note of an approved refund, like the receipt it corrects: in the payer's
    language, with a Code128 barcode of its number. Only numbered (approved) notes have one."""
    language = note.receipt.payer_language or "en"
    with translation.override(language):
        return _credit_note(note=note, mission=mission, locale=language)


def rate_text(rate: Decimal, locale: str) -> str:
    """A rate as it is stored, every decimal it has and no more, in the reader's locale:
    "0.3571" (babel's default pattern would cut it to "0.357")."""
    return str(format_decimal(rate.normalize(), locale=locale, decimal_quantization=False))


def equivalent_lines(
    *, base: Money, amount: Money, rate: Decimal, locale: str, refund: bool = False
) -> list[str]:
    """What the base-currency amount of a receipt (or credit note) is, in two lines: the
    value HQ set on the fees paid (their frozen base amounts' share, docs/fees.md, "The
    base-currency equivalent"), and, so that a reader checking it against the rate printed is
    not misled, what the amount paid makes at that rate (which differs by the rounding of the
    local fee): "Value in EUR of the fees paid, as HQ set them: €57.94" and "At the receipt's
    rate (€1.00 = 172.35 JPY), ¥10,000 is €58.02."."""
    values = {"currency": base.currency, "base": base.format(locale)}
    first = (
        _("Value in %(currency)s of the fees refunded, as HQ set them: %(base)s")
        if refund
        else _("Value in %(currency)s of the fees paid, as HQ set them: %(base)s")
    ) % values
    converted = to_base(amount, base_currency=base.currency, rate=rate)
    second = _("At the receipt's rate (%(one)s = %(rate)s), %(amount)s is %(converted)s.") % {
        "one": Money.from_decimal("1", base.currency).format(locale),
        "rate": f"{rate_text(rate, locale)} {amount.currency}",
        "amount": amount.format(locale),
        "converted": converted.format(locale),
    }
    return [first, second]


def _method(method: str) -> str:
    return {
        PaymentMethod.CASH: _("Cash"),
        PaymentMethod.CARD: _("Card"),
        PaymentMethod.BANK_TRANSFER: _("Bank transfer"),
    }.get(method, method)  # type: ignore[call-overload,no-any-return]


class _Page:
    """One A4 page drawn top to bottom: the mission's letterhead, a title with the number, rows
    of label and value, amounts on the right, the barcode of the number and a footnote."""

    def __init__(self, *, mission: Mission, title: str, number: str) -> None:
        self.regular, self.bold = _fonts()
        self.out = io.BytesIO()
        self.pdf = canvas.Canvas(self.out, pagesize=A4, invariant=True)
        self.pdf.setTitle(f"{title} {number}")
        self.pdf.setAuthor(mission.name)
        self.width, height = A4
        self.left, self.y = 20 * mm, height - 25 * mm
        self.number = number
        pdf = self.pdf
        pdf.setFont(self.bold, 15)
        pdf.drawString(self.left, self.y, mission.name)
        pdf.setFont(self.regular, 9)
        for line in mission.postal_address.splitlines():
            self.y -= 4.5 * mm
            pdf.drawString(self.left, self.y, line)
        self.y -= 14 * mm
        pdf.setFont(self.bold, 20)
        pdf.drawString(self.left, self.y, title)
        pdf.setFont(self.bold, 13)
        pdf.drawRightString(self.width - self.left, self.y, number)
        self.y -= 10 * mm

    def rows(self, rows: list[tuple[str, str]]) -> None:
        for label, value in rows:
            self.pdf.setFont(self.regular, 10)
            self.pdf.drawString(self.left, self.y, label)
            self.pdf.drawString(self.left + 45 * mm, self.y, str(value))
            self.y -= 6 * mm

    def lines(self, heading: str, lines: list[tuple[str, str]]) -> None:
        self.y -= 4 * mm
        self.pdf.setFont(self.bold, 10)
        self.pdf.drawString(self.left, self.y, heading)
        self.y -= 6 * mm
        self.pdf.setFont(self.regular, 10)
        for label, amount in lines:
            self.pdf.drawString(self.left + 4 * mm, self.y, label)
            self.pdf.drawRightString(self.width - self.left, self.y, amount)
            self.y -= 5.5 * mm

    def total(self, label: str, amount: str, notes: list[str]) -> None:
        self.y -= 4 * mm
        self.pdf.line(self.left, self.y + 3 * mm, self.width - self.left, self.y + 3 * mm)
        self.pdf.setFont(self.bold, 13)
        self.pdf.drawString(self.left, self.y - 3 * mm, label)
        self.pdf.drawRightString(self.width - self.left, self.y - 3 * mm, amount)
        self.y -= 10 * mm
        self.pdf.setFont(self.regular, 9)
        for note in notes:
            self.pdf.drawRightString(self.width - self.left, self.y, note)
            self.y -= 4.5 * mm
        if notes:
            self.y -= 1.5 * mm

    def standing(self, rows: list[tuple[str, str]], last: tuple[str, str]) -> None:
        """What was due and, in bold, what is left to pay once this document is issued."""
        self.pdf.setFont(self.regular, 10)
        for label, amount in rows:
            self.pdf.drawString(self.left, self.y, label)
            self.pdf.drawRightString(self.width - self.left, self.y, amount)
            self.y -= 5.5 * mm
        self.pdf.setFont(self.bold, 11)
        self.pdf.drawString(self.left, self.y, last[0])
        self.pdf.drawRightString(self.width - self.left, self.y, last[1])
        self.y -= 8 * mm

    def finish(self, footnote: str) -> bytes:
        image = ImageReader(io.BytesIO(barcode_png(self.number)))
        img_w, img_h = image.getSize()
        draw_w = 80 * mm
        draw_h = draw_w * img_h / img_w
        self.y -= draw_h + 6 * mm
        self.pdf.drawImage(image, self.left, self.y, width=draw_w, height=draw_h)
        self.pdf.setFont(self.regular, 9)
        self.pdf.drawString(self.left, self.y - 4 * mm, self.number)
        self.pdf.setFont(self.regular, 8)
        self.pdf.drawString(self.left, 15 * mm, footnote)
        self.pdf.showPage()
        self.pdf.save()
        return self.out.getvalue()


def _receipt(*, receipt: Receipt, mission: Mission, locale: str) -> bytes:
    page = _Page(mission=mission, title=_("Receipt"), number=receipt.number)
    payment = receipt.payment
    assessment = payment.assessment
    page.rows(
        [
            (_("Date"), receipt.business_date.isoformat()),
            (_("Received from"), receipt.payer_name),
            (_("Payment method"), _method(receipt.method)),
            (_("For"), f"{assessment.get_subject_type_display()} {assessment.subject_ref}"),
        ]
    )
    page.lines(
        _("Fees assessed"),
        [
            (str(fee.get_service_display()), fee.amount.format(locale))
            for fee in FeeLine.objects.filter(assessment_id=assessment.pk).order_by("id")
        ],
    )
    standing = receipt_standing(receipt=receipt)
    page.lines("", [(_("Total due"), standing.due.format(locale))])
    page.total(
        _("Amount paid"),
        receipt.amount.format(locale),
        equivalent_lines(
            base=receipt.base_amount, amount=receipt.amount, rate=receipt.rate, locale=locale
        )
        if receipt.base_currency != receipt.currency
        else [],
    )
    earlier = [(_("Paid earlier"), standing.paid_before.format(locale))]
    page.standing(
        earlier if standing.paid_before else [],
        (_("Left to pay"), standing.left.format(locale))
        if standing.left
        else (_("Paid in full"), ""),
    )
    return page.finish(
        _("This receipt is never changed: a refund or correction is issued as a credit note.")
    )


def _credit_note(*, note: CreditNote, mission: Mission, locale: str) -> bytes:
    receipt = note.receipt
    page = _Page(mission=mission, title=_("Credit note"), number=note.number)
    assessment = receipt.payment.assessment
    page.rows(
        [
            (_("Date"), note.business_date.isoformat() if note.business_date else ""),
            (_("Refunded to"), receipt.payer_name),
            (_("Corrects receipt"), receipt.number),
            (_("Payment method"), _method(receipt.method)),
            (_("For"), f"{assessment.get_subject_type_display()} {assessment.subject_ref}"),
            (_("Reason"), note.reason),
        ]
    )
    base = Money(note.base_amount_minor, note.base_currency)
    page.total(
        _("Amount refunded"),
        note.amount.format(locale),
        equivalent_lines(
            base=base, amount=note.amount, rate=receipt.rate, locale=locale, refund=True
        )
        if note.base_currency != note.currency
        else [],
    )
    return page.finish(
        _("Receipt %(number)s stays as it was issued; this credit note corrects it.")
        % {"number": receipt.number}
    )
