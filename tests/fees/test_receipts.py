"""What the payer reads on a receipt and a credit note: the base-currency equivalent is the sum
of the fee lines' frozen base amounts (the fee HQ set, not the local amount converted back), the
rate is shown as stored, in the payer's language; an approved refund has a PDF credit note
whose barcode scans back to its number, for staff and on the payer's link."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.utils import formats, translation
from django_tenants.utils import schema_context
from PIL import Image
from pyzbar.pyzbar import decode

from consulate.kernel import reference
from fees.models import CreditNote, Payment, Receipt
from fees.money import Money
from fees.services import credit_note_decide, credit_note_request
from missions.models import Mission
from tests.conftest import text_of, texts_of
from tests.fees.conftest import assess, at_place, login, pay_cash
from tests.fees.pdf_text import pdf_text
from tests.fees.test_views import _pdf_images

pytestmark = pytest.mark.usefixtures("fee_reference")

KUWAIT_FEES = ["passport_application", "express"]  # €95.00 + €40.00 → KWD 33.900 + 14.300


def _lines(pdf: bytes) -> list[str]:
    return [line.replace("\xa0", " ") for line in pdf_text(pdf)]


def _kuwait(mission: Mission) -> None:
    Mission.objects.filter(pk=mission.pk).update(currency="KWD")


@pytest.mark.parametrize(
    ("language", "equivalent"),
    [
        (
            "en",
            [
                "Value in EUR of the fees paid, as HQ set them: €135.00",
                "At the receipt's rate (€1.00 = 0.3571 KWD), KWD 48.200 is €134.98.",
            ],
        ),
        (
            "tr",
            [
                "Ödenen harçların merkezin (HQ) belirlediği EUR değeri: €135,00",
                "Makbuzun kuruyla (€1,00 = 0,3571 KWD) KWD 48,200, €134,98 eder.",
            ],
        ),
    ],
)
def test_the_kuwait_receipt_shows_the_fees_base_amount_and_the_rate_as_stored(
    client_a, mission_a, cashier_a, language, equivalent
):
    # given €135.00 of fees assessed at Kuwait (0.3571 KWD per euro, rounded to KWD 48.200)
    _kuwait(mission_a)
    with schema_context(mission_a.schema_name):
        assessment = assess(cashier_a, services=KUWAIT_FEES, payer_language=language)
        payment = pay_cash(assessment, cashier_a)
    # when the payer's receipt is printed
    login(client_a, cashier_a)
    lines = _lines(client_a.get(f"/fees/receipts/{payment.receipt.pk}/pdf/").content)
    # then it reads KWD 48.200, worth the €135.00 of the fees, at the rate HQ stored
    assert "KWD 48.200" in lines or "KWD 48,200" in lines
    # and says what the €135.00 is, beside what KWD 48.200 makes at the rate printed
    assert all(line in lines for line in equivalent)
    assert (payment.base_amount_minor, payment.receipt.base_amount_minor) == (13500, 13500)


def test_part_payments_add_up_to_the_fees_base_amount(in_mission_a, cashier_a):
    # given KWD 48.200 (€135.00) paid in two parts
    Mission.objects.filter(pk=in_mission_a.pk).update(currency="KWD")
    assessment = assess(cashier_a, services=KUWAIT_FEES)
    first = pay_cash(assessment, cashier_a, 20000)
    second = pay_cash(assessment, cashier_a)
    # then each part has its share of the base amount and together they are €135.00
    assert second.amount == Money(28200, "KWD")
    assert (first.base_amount_minor, second.base_amount_minor) == (5602, 7898)
    assert sum(p.base_amount_minor for p in Payment.objects.all()) == 13500


def test_the_tokyo_receipt_equivalent_is_the_fee_set_by_hq(client_b, mission_b, cashier_b):
    with schema_context(mission_b.schema_name):
        payment = pay_cash(assess(cashier_b, payer_language="en"), cashier_b)
    login(client_b, cashier_b)
    lines = _lines(client_b.get(f"/fees/receipts/{payment.receipt.pk}/pdf/").content)
    assert "¥16,400" in lines
    assert "Value in EUR of the fees paid, as HQ set them: €95.00" in lines
    assert "At the receipt's rate (€1.00 = 172.35 JPY), ¥16,400 is €95.16." in lines


# --- credit notes ----------------------------------------------------------------------------


def _approved_note(mission, cashier, consul, language="en"):  # type: ignore[no-untyped-def]
    """KWD 5.000 refunded of a KWD 48.200 cash receipt, approved by the consul."""
    _kuwait(mission)
    with schema_context(mission.schema_name):
        receipt = pay_cash(
            assess(cashier, services=KUWAIT_FEES, payer_language=language), cashier
        ).receipt
        note = credit_note_request(
            receipt=receipt,
            amount=Money(5000, "KWD"),
            reason="Express charged by mistake",
            acting_user=cashier,
        )
        return receipt, credit_note_decide(note=note, approve=True, acting_user=consul)


def test_an_approved_refund_has_a_credit_note_pdf_in_the_payers_language(
    client_a, mission_a, cashier_a, consul_a
):
    # given a refund approved at Kuwait for a Turkish-speaking payer
    receipt, note = _approved_note(mission_a, cashier_a, consul_a, language="tr")
    assert note.number.startswith("ALP-CN-")
    # when the credit note is printed from the receipt's page
    login(client_a, cashier_a)
    page = client_a.get(f"/fees/receipts/{receipt.pk}/").content.decode()
    assert f'href="/fees/credit-notes/{note.pk}/pdf/"' in page
    response = client_a.get(f"/fees/credit-notes/{note.pk}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    # then it reads, in Turkish, its number, the receipt it corrects, the amount and its
    # equivalent at the receipt's rate
    lines = _lines(response.content)
    for expected in (
        "İade makbuzu",
        note.number,
        receipt.number,
        "Express charged by mistake",
        "KWD 5,000",
        "İade edilen harçların merkezin (HQ) belirlediği EUR değeri: €14,00",
        "Makbuzun kuruyla (€1,00 = 0,3571 KWD) KWD 5,000, €14,00 eder.",
    ):
        assert expected in lines, (expected, lines)
    # and its barcode scans back to its number
    scanned = {d.data.decode() for image in _pdf_images(response.content) for d in decode(image)}
    assert scanned == {note.number}


def test_the_printed_credit_note_scans_back(client_a, mission_a, cashier_a, consul_a, tmp_path):
    if shutil.which("gs") is None:
        pytest.skip("Ghostscript (gs) is not installed: the page was not rasterised")
    _receipt, note = _approved_note(mission_a, cashier_a, consul_a)
    login(client_a, cashier_a)
    (tmp_path / "c.pdf").write_bytes(client_a.get(f"/fees/credit-notes/{note.pk}/pdf/").content)
    subprocess.run(
        ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pnggray", "-r300",
         f"-sOutputFile={tmp_path / 'c.png'}", str(tmp_path / "c.pdf")],
        check=True,
        timeout=60,
    )  # fmt: skip
    assert [d.data.decode() for d in decode(Image.open(tmp_path / "c.png"))] == [note.number]


def test_the_payer_downloads_the_credit_note_from_the_pay_link(
    client_a, mission_a, cashier_a, consul_a
):
    receipt, note = _approved_note(mission_a, cashier_a, consul_a)
    with schema_context(mission_a.schema_name):
        token = receipt.payment.assessment.pay_token
        other = assess(cashier_a).pay_token
    page = client_a.get(f"/pay/{token}/").content.decode()
    link = f"/pay/{token}/credit-notes/{note.pk}.pdf"
    assert link in page
    assert note.number in _lines(client_a.get(link).content)
    # another payer's link does not open it
    assert client_a.get(f"/pay/{other}/credit-notes/{note.pk}.pdf").status_code == 404


def test_a_refund_not_approved_has_no_credit_note(client_a, mission_a, cashier_a, consul_a):
    _kuwait(mission_a)
    with schema_context(mission_a.schema_name):
        receipt = pay_cash(assess(cashier_a, services=KUWAIT_FEES), cashier_a).receipt
        note = credit_note_request(
            receipt=receipt, amount=Money(5000, "KWD"), reason="x", acting_user=cashier_a
        )
    login(client_a, cashier_a)
    assert client_a.get(f"/fees/credit-notes/{note.pk}/pdf/").status_code == 404
    page = client_a.get(f"/fees/receipts/{receipt.pk}/").content.decode()
    assert "/fees/credit-notes/" not in page
    with schema_context(mission_a.schema_name):
        assert CreditNote.objects.get().status == "requested"
    assert Receipt.objects is not None


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_fee_pages_write_a_day_as_every_page_does(client_a, mission_a, cashier_a, language):
    # given a receipt (the assessment's day, the receipt's, the rate's: today at the mission)
    with schema_context(mission_a.schema_name):
        assessment = assess(cashier_a)
        receipt = pay_cash(assessment, cashier_a, 5000).receipt
        day = receipt.business_date
    with translation.override(language):
        short = reference.day_written_short(day)
        out = reference.day_written_out(mission_a.today())
    expected = {"en": f"{day:%a} {day.day} {day:%b} {day.year}"}.get(language)
    assert expected is None or short == expected  # "Sun 6 Dec 2026"; Turkish "6 Ara 2026 Paz"
    login(client_a, cashier_a)
    # when the receipt, its assessment and the day's close are read
    receipt_page = client_a.get(f"/fees/receipts/{receipt.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    assessment_page = client_a.get(
        f"/fees/assessments/{assessment.pk}/", HTTP_ACCEPT_LANGUAGE=language
    )
    close_page = client_a.get("/fees/day-close/", HTTP_ACCEPT_LANGUAGE=language)
    # then each writes the day as the rest of the system does, not Django's "Dec. 6, 2026"
    assert short in texts_of(receipt_page.content, "dd")
    assert short in text_of(assessment_page.content, "main")
    assert text_of(close_page.content, "h1").endswith(out)
    with translation.override(language):
        django_default = formats.date_format(day)  # "Dec. 6, 2026", "06 Aralık 2026"
    for page in (receipt_page, assessment_page, close_page):
        assert django_default not in page.content.decode()


# --- what is still owed, and what the base amount is --------------------------------------------

PART_FEES = ["passport_application", "express"]  # €95.00 + €40.00


# Tokyo: ¥16,400 + ¥6,900 = ¥23,300, ¥10,000 paid; New York: $103.00 + $44.00 = $147.00,
# $50.00 paid. The base amount is the fees' share (€135.00 × paid / due), not the amount paid
# converted at the rate.
PART_PAYMENTS = [
    ("tokyo", "en", 10000, [
        "Total due", "¥23,300", "Amount paid", "¥10,000", "Left to pay", "¥13,300",
        "Value in EUR of the fees paid, as HQ set them: €57.94",
        "At the receipt's rate (€1.00 = 172.35 JPY), ¥10,000 is €58.02.",
    ]),
    ("tokyo", "tr", 10000, [
        "Toplam borç", "¥23.300", "Ödenen tutar", "¥10.000", "Kalan borç", "¥13.300",
        "Ödenen harçların merkezin (HQ) belirlediği EUR değeri: €57,94",
        "Makbuzun kuruyla (€1,00 = 172,35 JPY) ¥10.000, €58,02 eder.",
    ]),
    ("new_york", "en", 5000, [
        "Total due", "$147.00", "Amount paid", "$50.00", "Left to pay", "$97.00",
        "Value in EUR of the fees paid, as HQ set them: €45.92",
        "At the receipt's rate (€1.00 = 1.0842 USD), $50.00 is €46.12.",
    ]),
    ("new_york", "tr", 5000, [
        "Toplam borç", "$147,00", "Ödenen tutar", "$50,00", "Kalan borç", "$97,00",
        "Ödenen harçların merkezin (HQ) belirlediği EUR değeri: €45,92",
        "Makbuzun kuruyla (€1,00 = 1,0842 USD) $50,00, €46,12 eder.",
    ]),
]  # fmt: skip


def _part_paid(request, place: str, language: str, amount_minor: int):  # type: ignore[no-untyped-def]
    """A receipt for `amount_minor` of the two fees, at Tokyo or New York; its client."""
    mission, cashier, client = at_place(request, place)
    with schema_context(mission.schema_name):
        assessment = assess(cashier, services=PART_FEES, payer_language=language)
        payment = pay_cash(assessment, cashier, amount_minor)
    login(client, cashier)
    return client, cashier, mission, assessment, payment.receipt


@pytest.mark.parametrize(("place", "language", "paid", "expected"), PART_PAYMENTS)
def test_a_part_payment_receipt_says_what_is_left_to_pay(request, place, language, paid, expected):
    # given part of the fees paid in cash, by a payer reading `language`
    client, _cashier, _mission, _assessment, receipt = _part_paid(request, place, language, paid)
    # when the receipt is printed
    lines = _lines(client.get(f"/fees/receipts/{receipt.pk}/pdf/").content)
    # then it says what was due, what was paid, what is left, and what its base amount is
    for expected_line in expected:
        assert expected_line in lines, (expected_line, lines)
    assert "Paid in full" not in lines
    assert "Tamamı ödendi" not in lines
    # and the receipt's page says the same, in the reader's language
    page = client.get(f"/fees/receipts/{receipt.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    details = text_of(page.content, "dl").replace("\xa0", " ").splitlines()
    for expected_line in expected:
        assert expected_line in details, (expected_line, details)


@pytest.mark.parametrize(
    ("place", "language", "earlier", "full"),
    [
        ("tokyo", "en", "¥10,000", "Paid in full"),
        ("tokyo", "tr", "¥10.000", "Tamamı ödendi"),
        ("new_york", "en", "$50.00", "Paid in full"),
        ("new_york", "tr", "$50,00", "Tamamı ödendi"),
    ],
)
def test_the_last_receipt_says_paid_in_full_and_the_first_still_reads_as_issued(
    request, place, language, earlier, full
):
    # given a part paid, then the rest
    client, cashier, mission, assessment, first = _part_paid(
        request, place, language, 10000 if place == "tokyo" else 5000
    )
    with schema_context(mission.schema_name):
        last = pay_cash(assessment, cashier).receipt
    # when the last receipt is printed
    lines = _lines(client.get(f"/fees/receipts/{last.pk}/pdf/").content)
    # then it says what was paid before it, and that nothing is left
    paid_earlier = "Paid earlier" if language == "en" else "Daha önce ödenen"
    assert [paid_earlier, earlier] == lines[lines.index(paid_earlier) :][:2]
    assert full in lines
    assert ("Left to pay" if language == "en" else "Kalan borç") not in lines
    # and the first receipt printed again still says what was left when it was issued
    again = _lines(client.get(f"/fees/receipts/{first.pk}/pdf/").content)
    assert full not in again
    assert paid_earlier not in again
