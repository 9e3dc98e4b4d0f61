"""The seal's Data Matrix: any bytes written read back byte for byte (zxing-cpp), from a PNG,
a JPEG or a PDF; anything without one answers a SealError."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from consulate.kernel.seal import (
    SealError,
    SealErrorCode,
    seal_datamatrix_png,
    seal_datamatrix_read,
    seal_extract,
)

SEAL_LIKE = (
    bytes.fromhex("dc03d3b0d3281fe92177fe43") + bytes(range(256)) + b"\xff\x40" + b"\x00" * 64
)


def pdf_with(png: bytes, *, text: str = "Emergency travel document") -> bytes:
    """An A4 page with some text and the picture, as the issuing code lays one out."""
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.drawString(72, 770, text)
    page.drawImage(ImageReader(io.BytesIO(png)), 72, 500, width=160, height=160)
    page.showPage()
    page.save()
    return out.getvalue()


def test_a_seal_reads_back_byte_for_byte():
    # given bytes with every value, 0x00 and 0xFF included
    # when they are drawn as a Data Matrix and the PNG read
    png = seal_datamatrix_png(SEAL_LIKE)
    # then the same bytes come back
    assert png.startswith(b"\x89PNG")
    assert seal_datamatrix_read(png) == SEAL_LIKE


@settings(max_examples=25, deadline=None)
@given(data=st.binary(min_size=1, max_size=400), module_px=st.integers(min_value=2, max_value=6))
def test_any_bytes_read_back_byte_for_byte(data, module_px):
    assert seal_datamatrix_read(seal_datamatrix_png(data, module_px=module_px)) == data


def test_the_module_size_sets_the_pictures_size():
    small = Image.open(io.BytesIO(seal_datamatrix_png(SEAL_LIKE, module_px=2)))
    large = Image.open(io.BytesIO(seal_datamatrix_png(SEAL_LIKE, module_px=6)))
    assert large.width == 3 * small.width


def test_a_jpeg_of_the_seal_reads():
    # given the seal photographed, so to speak: a JPEG, scaled up
    image = Image.open(io.BytesIO(seal_datamatrix_png(SEAL_LIKE))).convert("RGB")
    out = io.BytesIO()
    image.resize((image.width * 2, image.height * 2)).save(out, format="JPEG", quality=80)
    # then the seal's bytes come out of it
    assert seal_extract(out.getvalue()) == SEAL_LIKE


def test_a_seal_in_a_pdf_is_found():
    assert seal_extract(pdf_with(seal_datamatrix_png(SEAL_LIKE))) == SEAL_LIKE


def test_the_bytes_themselves_are_taken_as_they_are():
    assert seal_extract(SEAL_LIKE) == SEAL_LIKE


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="nothing"),
        pytest.param(b"\x00" * 1000, id="NUL bytes"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, id="a broken PNG"),
        pytest.param(b"%PDF-1.7\n garbage", id="a broken PDF"),
        pytest.param(b"%PDF-", id="a PDF header only"),
        pytest.param(b"x" * (21 * 1024 * 1024), id="21 MB"),
    ],
)
def test_files_without_a_seal_answer_a_seal_error(data):
    with pytest.raises(SealError):
        seal_extract(data)


def test_a_picture_or_pdf_without_a_data_matrix_answers_no_barcode():
    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, format="PNG")
    for data in (blank.getvalue(), pdf_with(blank.getvalue())):
        with pytest.raises(SealError) as caught:
            seal_extract(data)
        assert caught.value.code is SealErrorCode.NO_BARCODE


def test_a_picture_too_large_to_decode_is_refused():
    # given a small file that claims a huge picture (a decompression bomb)
    huge = io.BytesIO()
    Image.new("1", (10_000, 10_000), 1).save(huge, format="PNG")
    with pytest.raises(SealError):
        seal_datamatrix_read(huge.getvalue())


@pytest.mark.parametrize(("data", "module_px"), [(b"", 4), (b"x" * 1557, 4), (b"x", 0), (b"x", 65)])
def test_what_cannot_be_a_seal_is_not_drawn(data, module_px):
    with pytest.raises(SealError):
        seal_datamatrix_png(data, module_px=module_px)


@settings(max_examples=150, deadline=None)
@given(
    start=st.sampled_from([b"", b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a"]),
    rest=st.binary(max_size=300),
)
def test_any_file_answers_bytes_or_a_seal_error(start, rest):
    # given any file, some starting like a PDF or a picture
    # when the seal is looked for in it
    try:
        found = seal_extract(start + rest)
    except SealError:
        return
    # then only a file starting like a seal gives bytes back: itself, for seal_decode to judge
    assert found == start + rest
    assert found[:1] == b"\xdc"


def test_a_damaged_pdf_with_a_seal_answers_a_seal_error_or_the_seal():
    pdf = pdf_with(seal_datamatrix_png(SEAL_LIKE))
    for position in range(0, len(pdf), max(1, len(pdf) // 200)):
        damaged = bytearray(pdf)
        damaged[position] ^= 0xFF
        try:
            found = seal_extract(bytes(damaged))
        except SealError:
            continue
        assert found == SEAL_LIKE  # a Data Matrix corrects damage, or reads nothing
