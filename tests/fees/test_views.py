"""The counter, receipts (PDF with a barcode that scans back), reports, and isolation."""

import io
import re
import zlib

import pytest
from django_tenants.utils import schema_context
from PIL import Image
from pyzbar.pyzbar import decode

from fees.models import Assessment, Receipt
from fees.pdf import barcode_png
from tests.conftest import error_summary, texts_of, widget_refused
from tests.fees.conftest import assess, login, pay_cash

pytestmark = pytest.mark.usefixtures("fee_reference")


def test_a_cashier_assesses_a_walk_in_and_takes_cash(client_a, mission_a, cashier_a):
    # given a cashier logged in at alpha
    login(client_a, cashier_a)
    assert client_a.get("/fees/counter/").status_code == 200
    # when they assess a passport application with express handling
    response = client_a.post(
        "/fees/counter/",
        {
            "payer_name": "Ayşe Yılmaz",
            "payer_language": "tr",
            "service": "passport_application",
            "express": "on",
        },
    )
    assert response.status_code == 302
    with schema_context(mission_a.schema_name):
        assessment = Assessment.objects.get()
    page = client_a.get(response["Location"]).content.decode()
    assert "135,00" in page or "135.00" in page
    # and take 135.00 in cash: the amount is shown back first, and nothing is issued yet
    url = f"/fees/assessments/{assessment.pk}/cash/"
    page = client_a.post(url, {"amount": "135.00", "idempotency_key": "k-1"}).content.decode()
    assert "Take €135.00 and issue the receipt" in page
    with schema_context(mission_a.schema_name):
        assert not Receipt.objects.exists()
    # then confirmed, twice with the same key (a double click)
    for _ in range(2):
        client_a.post(url, {"amount_minor": "13500", "idempotency_key": "k-1"})
    # then one receipt exists and the assessment is settled
    with schema_context(mission_a.schema_name):
        assert Receipt.objects.count() == 1
        assessment.refresh_from_db()
        assert assessment.status == "settled"


def test_a_bad_amount_gets_a_clear_message(client_a, mission_a, cashier_a):
    login(client_a, cashier_a)
    with schema_context(mission_a.schema_name):
        assessment = assess(cashier_a)
    for amount, message in (
        ("-5", "above zero"),
        ("0", "above zero"),
        ("1.234", "at most 2"),
        ("95.01", "more than is due"),
    ):
        response = client_a.post(
            f"/fees/assessments/{assessment.pk}/cash/",
            {"amount": amount, "idempotency_key": f"k-{amount}"},
            follow=True,
        )
        assert message in response.content.decode()
    with schema_context(mission_a.schema_name):
        assert not Receipt.objects.exists()


def test_staff_of_another_mission_get_404(client_b, mission_a, cashier_a, cashier_b):
    with schema_context(mission_a.schema_name):
        assessment = assess(cashier_a)
    login(client_b, cashier_a)
    assert client_b.get("/fees/counter/").status_code == 404
    login(client_b, cashier_b)
    assert client_b.get(f"/fees/assessments/{assessment.pk}/").status_code == 404


def _pdf_images(pdf: bytes) -> list[Image.Image]:
    """The raster images embedded in a reportlab PDF (Flate-compressed RGB or grey)."""
    images = []
    for match in re.finditer(rb"<<(.*?)>>\s*stream\r?\n", pdf, re.S):
        header = match.group(1)
        if b"/Subtype /Image" not in header:
            continue
        width = int(re.search(rb"/Width (\d+)", header).group(1))
        height = int(re.search(rb"/Height (\d+)", header).group(1))
        length = int(re.search(rb"/Length (\d+)", header).group(1))
        data = pdf[match.end() : match.end() + length]
        if b"/ASCII85Decode" in header:
            import base64

            data = base64.a85decode(data.strip(), adobe=True)
        data = zlib.decompress(data)
        mode = "RGB" if b"/DeviceRGB" in header else "L"
        images.append(Image.frombytes(mode, (width, height), data))
    return images


def test_the_pdf_receipt_carries_a_barcode_that_scans_back(client_b, mission_b, cashier_b):
    # given a cash payment at the Tokyo mission (JPY, no minor units)
    with schema_context(mission_b.schema_name):
        assessment = assess(cashier_b, payer_language="en")
        pay_cash(assessment, cashier_b)
        receipt = Receipt.objects.get()
    login(client_b, cashier_b)
    # when the PDF is downloaded
    response = client_b.get(f"/fees/receipts/{receipt.pk}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    # then the barcode embedded in it decodes to the receipt number
    images = _pdf_images(pdf)
    assert images
    decoded = {d.data.decode() for image in images for d in decode(image)}
    assert receipt.number in decoded
    # and the PNG the PDF embeds scans back too
    assert decode(Image.open(io.BytesIO(barcode_png(receipt.number))))[0].data.decode() == (
        receipt.number
    )


def test_the_printed_page_scans_back_to_the_number(client_b, mission_b, cashier_b, tmp_path):
    """Rasterise the whole PDF page as a printer would (Ghostscript) and scan it."""
    import shutil
    import subprocess

    if shutil.which("gs") is None:
        pytest.skip("Ghostscript (gs) is not installed: the page was not rasterised")
    with schema_context(mission_b.schema_name):
        assessment = assess(cashier_b)
        pay_cash(assessment, cashier_b)
        receipt = Receipt.objects.get()
    login(client_b, cashier_b)
    (tmp_path / "r.pdf").write_bytes(client_b.get(f"/fees/receipts/{receipt.pk}/pdf/").content)
    subprocess.run(
        [
            "gs",
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-dSAFER",
            "-sDEVICE=pnggray",
            "-r300",
            f"-sOutputFile={tmp_path / 'r.png'}",
            str(tmp_path / "r.pdf"),
        ],
        check=True,
        timeout=60,
    )
    assert [d.data.decode() for d in decode(Image.open(tmp_path / "r.png"))] == [receipt.number]


def test_the_report_shows_local_and_base_currency_and_downloads_as_csv(
    client_b, mission_b, cashier_b
):
    with schema_context(mission_b.schema_name):
        assessment = assess(cashier_b)
        pay_cash(assessment, cashier_b)
    login(client_b, cashier_b)
    page = client_b.get("/fees/reports/").content.decode()
    assert "16,400" in page
    # collected in base currency: the fee line's frozen €95.00, not 16,400 / 172.35 = €95.16
    assert "€95.00" in page
    assert "95.16" not in page
    csv_text = client_b.get("/fees/reports/?format=csv").content.decode()
    assert "collected,cash,JPY,16400,EUR,95.00" in csv_text
    assert "assessed,passport_application,JPY,16400,EUR,95.00" in csv_text
    statement = client_b.get("/fees/remittance/").content.decode()
    assert "€95.00" in statement


def test_the_report_costs_the_same_queries_however_many_days_and_payments(
    client_b, mission_b, cashier_b, django_assert_max_num_queries
):
    login(client_b, cashier_b)
    with schema_context(mission_b.schema_name):
        pay_cash(assess(cashier_b), cashier_b)
    client_b.get("/fees/reports/")  # warm caches (session, tenant, user)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client_b.get("/fees/reports/")
    with schema_context(mission_b.schema_name):
        for _ in range(4):
            pay_cash(assess(cashier_b, services=["visa", "courier"]), cashier_b)
    with django_assert_max_num_queries(len(one.captured_queries)):
        client_b.get("/fees/reports/")


def test_a_pay_link_that_does_not_exist_is_404(client_a):
    assert client_a.get("/pay/not-a-token/").status_code == 404


def test_a_waiver_is_asked_for_and_approved_through_the_pages(
    client_a, mission_a, cashier_a, consul_a
):
    from fees.models import Waiver

    with schema_context(mission_a.schema_name):
        assessment = assess(cashier_a)
        line = assessment.lines.get()
    login(client_a, cashier_a)
    response = client_a.post(
        f"/fees/assessments/{assessment.pk}/waiver/",
        {"line": line.pk, "category": "child-under-6", "reason": "Newborn", "applicant_age": "0"},
        follow=True,
    )
    assert "a consul must approve" in response.content.decode()
    with schema_context(mission_a.schema_name):
        waiver = Waiver.objects.get()
    # the cashier cannot approve it; the consul can
    client_a.post(f"/fees/waivers/{waiver.pk}/decide/", {"decision": "approve"})
    with schema_context(mission_a.schema_name):
        assert Waiver.objects.get().status == "requested"
    client_a.logout()
    login(client_a, consul_a)
    page = client_a.get("/fees/approvals/").content.decode()
    assert "Newborn" in page
    client_a.post(f"/fees/waivers/{waiver.pk}/decide/", {"decision": "approve"})
    with schema_context(mission_a.schema_name):
        assert Waiver.objects.get().status == "approved"
        assessment.refresh_from_db()
        assert assessment.status == "settled"


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", ["Payer's name: This field is required."]),
        ("tr", ["Ödeyenin adı: Bu alan zorunlu."]),
    ],
)
def test_a_refused_counter_form_names_each_reason_at_the_top_and_beside_its_field(
    client_a, mission_a, cashier_a, language, said
):
    login(client_a, cashier_a)
    # when the cashier assesses without the payer's name
    response = client_a.post(
        "/fees/counter/",
        {"payer_language": "en", "service": "passport_application"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then the form's summary names the field and links to it, the field says it too and is
    # tied to its reason, and no banner repeats it; nothing is assessed
    assert response.status_code == 400
    page = response.content.decode()
    assert [text for _link, text in error_summary(page)] == said
    assert error_summary(page)[0][0] == "#id_payer_name"
    assert widget_refused(page, "id_payer_name")
    assert not texts_of(page, "li", class_="message error")
    with schema_context(mission_a.schema_name):
        assert not Assessment.objects.exists()
