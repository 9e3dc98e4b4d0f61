"""Uploaded images are read safely: JPEG and PNG only, known from their bytes; bombs,
polyglots, executables, documents, truncated and damaged files refused, each with its own code,
before Pillow decodes a pixel where that is possible; what is accepted comes back upright and
RGB, and leaves re-encoded without any metadata."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from consulate.kernel.errors import ApplicationError
from passports.uploads import (
    SafeImage,
    UploadProblem,
    image_reencode_jpeg,
    image_upload_read,
)


def _image(size: tuple[int, int] = (120, 90), colour: tuple[int, int, int] = (200, 30, 40)):  # type: ignore[no-untyped-def]
    image = Image.new("RGB", size, colour)
    # a second colour in the left half, to see orientation
    image.paste((20, 40, 220), (0, 0, size[0] // 2, size[1]))
    return image


def _encoded(image: Image.Image, fmt: str, **save: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def _jpeg(**save: object) -> bytes:
    return _encoded(_image(), "JPEG", **save)


def _png(**save: object) -> bytes:
    return _encoded(_image(), "PNG", **save)


def _refused(data: bytes, **kwargs: int) -> UploadProblem:
    with pytest.raises(ApplicationError) as caught:
        image_upload_read(data=data, **kwargs)
    assert isinstance(caught.value.code, UploadProblem)
    assert str(caught.value.message) == str(caught.value.code.label)
    return caught.value.code


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def _jpeg_with_segment(segment: bytes) -> bytes:
    """A valid JPEG with `segment` inserted right after SOI."""
    data = _jpeg()
    return data[:2] + segment + data[2:]


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


# --- what is accepted ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_jpeg_or_png_is_read_as_rgb(fmt: str) -> None:
    # given
    data = _encoded(_image(), fmt)
    # when
    safe = image_upload_read(data=data)
    # then
    assert isinstance(safe, SafeImage)
    assert (safe.format, safe.image.mode, safe.width, safe.height) == (fmt, "RGB", 120, 90)
    assert safe.size_bytes == len(data)
    # the left half blue, the right red
    assert safe.image.getpixel((10, 45))[2] > 180
    assert safe.image.getpixel((110, 45))[0] > 160


@pytest.mark.parametrize(
    "mode", ["L", "LA", "RGBA", "P", "I;16", "1"], ids=lambda mode: f"png-{mode}"
)
def test_png_of_every_colour_mode_becomes_rgb(mode: str) -> None:
    # given
    rgba = _image().convert("RGBA")
    image = Image.new("I;16", (120, 90), 40000) if mode == "I;16" else rgba.convert(mode)
    # when
    safe = image_upload_read(data=_encoded(image, "PNG"))
    # then
    assert safe.image.mode == "RGB"
    assert safe.image.size == (120, 90)


def test_transparency_becomes_white() -> None:
    # given: a fully transparent PNG
    image = Image.new("RGBA", (40, 50), (0, 0, 0, 0))
    # when
    safe = image_upload_read(data=_encoded(image, "PNG"))
    # then
    assert safe.image.getpixel((20, 25)) == (255, 255, 255)


def test_a_greyscale_jpeg_is_read() -> None:
    safe = image_upload_read(data=_encoded(_image().convert("L"), "JPEG"))
    assert safe.image.mode == "RGB"


@pytest.mark.parametrize(("orientation", "size"), [(1, (120, 90)), (3, (120, 90)), (6, (90, 120))])
def test_the_exif_orientation_is_applied(orientation: int, size: tuple[int, int]) -> None:
    # given: a phone's photo stored sideways with the orientation in EXIF
    exif = Image.Exif()
    exif[0x0112] = orientation
    # when
    safe = image_upload_read(data=_jpeg(exif=exif.tobytes()))
    # then
    assert safe.image.size == size
    if orientation == 3:
        # turned half round: the blue half is now on the right
        assert safe.image.getpixel((110, 45))[2] > 180
    if orientation == 6:
        # turned a quarter clockwise: the blue half is now on top
        assert safe.image.getpixel((45, 10))[2] > 180


def _icc_wide_rgb() -> bytes:
    """An ICC v2 display profile with Adobe RGB's primaries (adapted to D50) and gamma 2.2,
    written out here: ImageCms can only make sRGB, and no profile file is in the repo."""

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + s15(x) + s15(y) + s15(z)

    name = b"Wide RGB\x00"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(name)) + name + bytes(8 + 3 + 67)
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, 563) + bytes(2)
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.6097, 0.3111, 0.0195)),
        (b"gXYZ", xyz(0.2053, 0.6257, 0.0609)),
        (b"bXYZ", xyz(0.1492, 0.0632, 0.7446)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        padded = data + bytes(-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(padded))
        body += padded
    header = (
        struct.pack(">I", offset + len(body))
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(28)
        + xyz(0.9642, 1.0, 0.8249)[8:]
        + bytes(48)
    )
    return header + struct.pack(">I", len(tags)) + table + body


def test_colours_are_converted_to_srgb_from_an_embedded_profile() -> None:
    # given: the same pixels, once tagged with a wide gamut profile, once untagged (sRGB)
    image = Image.new("RGB", (40, 30), (120, 160, 80))
    wide = image_upload_read(data=_encoded(image, "PNG", icc_profile=_icc_wide_rgb()))
    plain = image_upload_read(data=_encoded(image, "PNG"))
    # then: the tagged one was converted: the same numbers are a more saturated green in the
    # wide gamut, so in sRGB its red and blue drop
    assert plain.image.getpixel((5, 5)) == (120, 160, 80)
    red, green, blue = wide.image.getpixel((5, 5))
    assert red < 110
    assert abs(green - 160) <= 3
    assert blue < 78
    # and what leaves, without a profile, shows the converted colours
    stored = Image.open(io.BytesIO(image_reencode_jpeg(image=wide.image)))
    assert "icc_profile" not in stored.info
    assert stored.getpixel((5, 5))[0] < 110


def test_an_srgb_profile_changes_nothing() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = image_upload_read(data=_png(icc_profile=srgb))
    plain = image_upload_read(data=_png())
    for a, b in zip(tagged.image.getpixel((110, 45)), plain.image.getpixel((110, 45)), strict=True):
        assert abs(a - b) <= 2


def test_a_broken_colour_profile_does_not_refuse_the_photo() -> None:
    safe = image_upload_read(data=_jpeg(icc_profile=b"not a profile" * 10))
    assert safe.image.mode == "RGB"


def test_jpegs_appended_by_a_phone_are_not_a_polyglot() -> None:
    # given: a depth map or HDR gain map appended after the first JPEG, as MPF does
    data = _jpeg() + _encoded(_image((30, 20)), "JPEG")
    # when
    safe = image_upload_read(data=data)
    # then: the first image is the photo
    assert safe.image.size == (120, 90)


def test_text_that_only_looks_like_another_file_is_not_a_polyglot() -> None:
    # given: a JPEG comment naming other formats, without their structure
    comment = b"MZ PK %PDF PKzip \x7fELF? no"
    # when
    safe = image_upload_read(data=_jpeg_with_segment(_jpeg_segment(0xFE, comment)))
    # then
    assert safe.format == "JPEG"


# --- what is refused -----------------------------------------------------------------------------


def test_an_empty_upload_is_refused() -> None:
    assert _refused(b"") is UploadProblem.EMPTY


def test_an_upload_over_the_limit_is_refused_before_it_is_read() -> None:
    # given: 30 MB that start like a JPEG
    data = b"\xff\xd8\xff\xe0" + bytes(30 * 1024 * 1024)
    # then
    assert _refused(data) is UploadProblem.TOO_LARGE
    assert _refused(_jpeg(), max_bytes=100) is UploadProblem.TOO_LARGE
    # and the limit is told to the caller, for the page to show
    with pytest.raises(ApplicationError) as caught:
        image_upload_read(data=_jpeg(), max_bytes=100)
    assert caught.value.as_dict()["max_bytes"] == 100
    assert caught.value.http_status == 400


def test_a_png_bomb_is_refused_without_allocating_it() -> None:
    # given: a PNG of 50 KB declaring 20,000 x 20,000 RGB pixels (1.2 GB decoded)
    ihdr = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    rows = zlib.compress(bytes(50 * 1024 * 1024), 9)[: 50 * 1024]
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )
    assert len(data) < 60 * 1024
    # when
    tracemalloc.start()
    try:
        problem = _refused(data)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # then: refused, having allocated far less than one row of the image
    assert problem is UploadProblem.TOO_MANY_PIXELS
    assert peak < 2 * 1024 * 1024


def test_a_jpeg_declaring_huge_dimensions_is_refused() -> None:
    # given: a small JPEG whose frame header claims 60,000 x 60,000
    data = bytearray(_jpeg())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60_000, 60_000)
    # then
    assert _refused(bytes(data)) is UploadProblem.TOO_MANY_PIXELS


def test_the_pixel_limit_is_the_callers() -> None:
    assert _refused(_png(), max_pixels=100) is UploadProblem.TOO_MANY_PIXELS


def test_a_zip_appended_to_a_jpeg_is_refused() -> None:
    assert _refused(_jpeg() + _zip()) is UploadProblem.POLYGLOT


def test_a_zip_inside_a_jpeg_segment_is_refused() -> None:
    # given: the archive hidden in an APP segment, so nothing trails the EOI
    data = _jpeg_with_segment(_jpeg_segment(0xE9, _zip()))
    # then
    assert _refused(data) is UploadProblem.POLYGLOT


def test_a_zip_end_of_central_directory_alone_is_refused() -> None:
    eocd = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, 46, 100, 0)
    assert _refused(_jpeg_with_segment(_jpeg_segment(0xFE, eocd))) is UploadProblem.POLYGLOT


def test_bytes_after_a_png_iend_are_refused() -> None:
    assert _refused(_png() + b"<html><script>alert(1)</script>") is UploadProblem.POLYGLOT


def test_bytes_after_a_jpeg_eoi_are_refused() -> None:
    assert _refused(_jpeg() + b"<?php system($_GET['c']); ?>") is UploadProblem.POLYGLOT


def test_padding_after_a_jpeg_eoi_is_accepted() -> None:
    # some cameras pad the file with zeros
    assert image_upload_read(data=_jpeg() + bytes(64)).format == "JPEG"


@pytest.mark.parametrize(
    "payload",
    [
        b"%PDF-1.7\n1 0 obj<<>>endobj",
        b"\x7fELF\x02\x01\x01\x00" + bytes(56),
        b"MZ" + bytes(58) + struct.pack("<I", 64) + b"PE\x00\x00" + bytes(20),
    ],
    ids=["pdf", "elf", "pe"],
)
def test_a_document_or_executable_inside_an_image_is_refused(payload: bytes) -> None:
    # given: in a JPEG comment and in a PNG text chunk
    in_jpeg = _jpeg_with_segment(_jpeg_segment(0xFE, payload))
    png = _png()
    in_png = png[:33] + _png_chunk(b"tEXt", b"Comment\x00" + payload) + png[33:]
    # then
    assert _refused(in_jpeg) is UploadProblem.POLYGLOT
    assert _refused(in_png) is UploadProblem.POLYGLOT


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP", "TIFF", "ICO"])
def test_other_image_formats_are_refused(fmt: str) -> None:
    assert _refused(_encoded(_image(), fmt)) is UploadProblem.UNSUPPORTED_FORMAT


@pytest.mark.parametrize(
    "data",
    [
        # a ".jpg" that is a Linux or Windows executable
        b"\x7fELF\x02\x01\x01\x00" + bytes(1000),
        b"MZ\x90\x00\x03\x00\x00\x00" + bytes(1000),
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"PK\x03\x04" + bytes(100),
        # a JPEG's first two bytes only: not the three of its magic
        b"\xff\xd8" + bytes(100),
    ],
    ids=["elf", "mz", "html", "pdf", "svg", "zip", "half-magic"],
)
def test_a_file_that_is_not_an_image_is_refused(data: bytes) -> None:
    assert _refused(data) is UploadProblem.NOT_AN_IMAGE


def test_an_animated_png_is_refused() -> None:
    # given
    frames = [_image(), _image(colour=(10, 200, 10))]
    data = _encoded(frames[0], "PNG", save_all=True, append_images=frames[1:])
    # then
    assert b"acTL" in data
    assert _refused(data) is UploadProblem.ANIMATED


def test_a_cmyk_jpeg_is_refused() -> None:
    assert _refused(_encoded(_image().convert("CMYK"), "JPEG")) is UploadProblem.COLOUR_MODE


def test_a_12_bit_jpeg_is_refused() -> None:
    data = bytearray(_jpeg())
    sof = data.find(b"\xff\xc0")
    data[sof + 4] = 12
    assert _refused(bytes(data)) is UploadProblem.COLOUR_MODE


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9, 0.99])
def test_a_truncated_jpeg_is_refused(keep: float) -> None:
    data = _jpeg()
    assert _refused(data[: int(len(data) * keep)]) is UploadProblem.TRUNCATED


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.98])
def test_a_truncated_png_is_refused(keep: float) -> None:
    data = _png()
    assert _refused(data[: int(len(data) * keep)]) is UploadProblem.TRUNCATED


def test_a_png_with_a_damaged_chunk_is_refused() -> None:
    # given: one byte of the image data changed, so its CRC no longer matches
    data = bytearray(_png())
    idat = data.find(b"IDAT")
    data[idat + 10] ^= 0xFF
    # then
    assert _refused(bytes(data)) is UploadProblem.DAMAGED


def test_a_png_without_ihdr_first_is_refused() -> None:
    png = _png()
    data = png[:8] + _png_chunk(b"tEXt", b"a\x00b") + png[8:]
    assert _refused(data) is UploadProblem.DAMAGED


def test_a_jpeg_with_broken_structure_is_refused() -> None:
    # given: the byte after SOI is no marker
    data = bytearray(_jpeg())
    data[2] = 0x00
    data = b"\xff\xd8\xff" + bytes(data[2:])
    # then
    assert _refused(bytes(data)) in (UploadProblem.DAMAGED, UploadProblem.TRUNCATED)


def test_a_jpeg_without_a_frame_is_refused() -> None:
    assert _refused(b"\xff\xd8\xff\xd9") is UploadProblem.DAMAGED


def _read_or_refused(data: bytes) -> None:
    """Either an RGB image or a refusal with an upload code: never another exception."""
    error: ApplicationError | None = None
    try:
        safe = image_upload_read(data=data)
    except ApplicationError as refused:
        error = refused
    if error is None:
        assert safe.image.mode == "RGB"
    else:
        assert isinstance(error.code, UploadProblem)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_any_bytes_are_read_or_refused_with_a_code(data: bytes) -> None:
    _read_or_refused(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(["JPEG", "PNG"]),
    changes=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=6),
    cut=st.floats(0.05, 1.0),
)
def test_damaged_images_are_read_or_refused_with_a_code(
    fmt: str, changes: list[tuple[float, int]], cut: float
) -> None:
    # given: a valid image with some bytes changed and its end maybe cut off
    data = bytearray(_encoded(_image(), fmt))
    for where, value in changes:
        data[int(where * len(data))] = value
    data = data[: max(int(len(data) * cut), 1)]
    # when / then: never another exception than the refusal
    _read_or_refused(bytes(data))


# --- re-encoding -------------------------------------------------------------------------------


def _jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG's header, up to its first scan."""
    markers, i = [], 2
    while data[i + 1] != 0xDA:
        markers.append(data[i + 1])
        i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return markers


def test_reencoding_strips_every_metadata() -> None:
    # given: a photo with GPS in its EXIF, a colour profile, XMP and a comment
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (41.0, 2.0, 30.0), 3: "E", 4: (28.0, 58.0, 12.0)}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    data = _jpeg(exif=exif.tobytes(), icc_profile=icc, comment=b"secret note", xmp=xmp)
    source = Image.open(io.BytesIO(data))
    assert source.getexif().get_ifd(0x8825)  # the GPS is there to strip
    assert "icc_profile" in source.info
    assert "comment" in source.info
    # when
    jpeg = image_reencode_jpeg(image=image_upload_read(data=data).image)
    # then: only JFIF, tables and the frame; no APP1 (EXIF, XMP), APP2 (ICC) nor COM
    assert set(_jpeg_markers(jpeg)) <= {0xE0, 0xDB, 0xC0, 0xC4}
    out = Image.open(io.BytesIO(jpeg))
    assert not out.getexif()
    assert not {"exif", "icc_profile", "xmp", "comment"} & set(out.info)
    for needle in (b"Exif", b"GPS", b"PhoneMaker", b"secret", b"xmpmeta", b"ICC_PROFILE"):
        assert needle not in jpeg
    # and the picture survives
    assert out.size == (120, 90)
    assert out.getpixel((110, 45))[0] > 160


def test_reencoding_is_itself_a_safe_upload() -> None:
    jpeg = image_reencode_jpeg(image=image_upload_read(data=_png()).image)
    assert image_upload_read(data=jpeg).format == "JPEG"
