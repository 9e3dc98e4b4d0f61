"""Barcodes read back as what they encode (zbar, as a counter's scanner would): every booking
reference shape, the "99" that python-barcode dropped after Start C, receipt numbers."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from appointments.documents import barcode_png as booking_barcode
from appointments.services.places import REFERENCE_ALPHABET
from fees.pdf import barcode_png as receipt_barcode


def _read(png: bytes) -> list[tuple[str, str]]:
    return [(code.type, code.data.decode()) for code in decode(Image.open(io.BytesIO(png)))]


@pytest.mark.parametrize(
    "reference",
    ["99QAZMJ9", "99999999", "9999ABCD", "99ABCDEF", "A99BCDEF", "ABCD9999", "2345678Z"],
)
def test_a_booking_reference_reads_back_whole(reference):
    assert _read(booking_barcode(reference)) == [("CODE128", reference)]


@pytest.mark.parametrize("number", ["99-2026-000099", "BER-2026-000099", "9900001", "R-000001"])
def test_a_receipt_number_reads_back_whole(number):
    assert _read(receipt_barcode(number)) == [("CODE128", number)]


def test_random_references_read_back_whole():
    draw = random.Random(20261203)  # reproducible; "99…" comes up about once in 1,000
    references = ["99" + "".join(draw.choices(REFERENCE_ALPHABET, k=6)) for _ in range(20)]
    references += ["".join(draw.choices(REFERENCE_ALPHABET, k=8)) for _ in range(200)]
    misread = [ref for ref in references if _read(booking_barcode(ref)) != [("CODE128", ref)]]
    assert misread == []
