"""Checking a visa applicant's upload before anything keeps it: `upload_check()`.

What a file is comes from its first bytes, never from its name or the browser's content type
(both are the sender's to choose). A photo must be a JPEG or PNG image; a document may be a
PDF, a JPEG or a PNG. Then, cheap checks first:

- size: nothing empty, nothing over the kind's limit (`DOCUMENT_MAX_BYTES`, and for a photo
  passports' `UPLOAD_MAX_BYTES`), before the bytes are parsed;
- images: passports' `image_upload_read()` (dimensions read from the header and refused above
  `UPLOAD_MAX_PIXELS` before a pixel is decoded; polyglots such as an image that is also a ZIP;
  animation, CMYK, damage), then re-encoded from the pixels alone, so EXIF (GPS, camera, date),
  colour profiles, XMP and comments stay behind. A photo is stored as JPEG, as passports store
  theirs. A document keeps its format: a JPEG as JPEG, a PNG as PNG (lossless: a scan of text
  stays sharp, which JPEG would blur around the letters);
- PDFs: `%PDF-` at offset 0 (the specification lets readers look in the first 1024 bytes; a
  file that starts with something else is how a PDF hides in another format, so we do not);
  nothing but white space after the last `%%EOF`; no ZIP or executable inside; parsed by pypdf
  in strict mode with its decompression limits lowered (`_PDF_LIMITS`): content streams are
  never decoded, only the object and cross-reference streams pypdf needs to find the objects;
  every object the cross-reference table lists then walked for scripts, launch, submit and
  other-file actions (a link to another PDF too: on Windows a `\\server` path leaks the
  user's password hash), attachments, media and XFA forms (`_PDF_FORBIDDEN`); not encrypted;
  between 1 and `PDF_MAX_PAGES` pages. The PDF is kept byte for byte as it came: rewriting it
  would break the digital signature of a bank statement or a certificate, and the officer
  sees what the applicant sent. (Objects an incremental update replaced are no longer in the
  table and are not walked; no viewer shows them without being asked to.);
- last, the virus check (`visas.scan.scan()`) on the bytes as they were uploaded.

Refusals raise `ApplicationError(VisaError.UPLOAD_REFUSED, message, field="file")`; the message
tells the applicant what is wrong and what to do; `details["reason"]` names the refusal for
programs and tests (an `UploadRefusal` value, or passports' `UploadProblem` value for images).
The file's name is not used to decide anything.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from PIL import Image
from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from consulate.kernel.errors import ApplicationError
from passports.uploads import (
    JPEG_MAGIC,
    PNG_MAGIC,
    UPLOAD_MAX_BYTES,
    UPLOAD_MAX_PIXELS,
    image_reencode_jpeg,
    image_upload_read,
)

from .error_codes import VisaError
from .reference.models import ItemKind
from .scan import ScannerUnavailable, scan

CONTENT_PDF = "application/pdf"
CONTENT_JPEG = "image/jpeg"
CONTENT_PNG = "image/png"

# A phone's photo of a page is 2-5 MB, a 20-page scan at 300 dpi 3-8 MB.
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_BYTES = UPLOAD_MAX_BYTES
# A passport, a bank statement for six months or a contract: more is not one checklist item.
PDF_MAX_PAGES = 50
# More objects than a 10 MB file honestly holds; walking them stays well under a second.
PDF_MAX_OBJECTS = 200_000
PDF_MAX_NODES = 2_000_000

# pypdf decodes a stream in one piece, so its limits are what keeps a small file from
# inflating into gigabytes. Only object and cross-reference streams are decoded here; 10 MB of
# them is far more than a document of 50 pages needs.
_PDF_LIMITS: dict[str, Any] = {
    "maximum_declared_stream_length": DOCUMENT_MAX_BYTES,
    "array_based_stream_maximum_output_length": 10_000_000,
    "jbig2_maximum_output_length": 10_000_000,
    "lzw_maximum_output_length": 10_000_000,
    "run_length_maximum_output_length": 10_000_000,
    "zlib_maximum_output_length": 10_000_000,
    "zlib_maximum_recovery_input_length": 1_000_000,
    "image_maximum_buffer_size": 10_000_000,
    "page_tree_maximum_entries": 10_000,
    "page_tree_maximum_depth": 32,
}


class UploadRefusal(models.TextChoices):
    """Why an upload was refused; the label is what the applicant is told."""

    EMPTY = "empty", _("The file is empty. Choose the file again.")
    TOO_LARGE = (
        "too_large",
        _("The file is too large. The limit is %(megabytes)s MB. Make it smaller and try again."),
    )
    NOT_ACCEPTED = (
        "not_accepted",
        _("This type of file is not accepted. Upload a PDF, JPEG or PNG file."),
    )
    PHOTO_NOT_IMAGE = (
        "photo_not_image",
        _("The photo must be a JPEG or PNG image. Upload your photo as JPEG or PNG."),
    )
    PROGRAM = (
        "program",
        _("This file is a program, not a document. Upload a PDF, JPEG or PNG file."),
    )
    PDF_HEADER = (
        "pdf_header",
        _("This file does not start like a PDF. Save the document again as PDF and upload it."),
    )
    PDF_DAMAGED = (
        "pdf_damaged",
        _("The PDF is damaged. We cannot read it. Save the document again as PDF and upload it."),
    )
    PDF_POLYGLOT = (
        "pdf_polyglot",
        _(
            "The PDF contains other data after the document or inside it. Save the document "
            "again as PDF and upload it."
        ),
    )
    PDF_ENCRYPTED = (
        "pdf_encrypted",
        _("The PDF is protected with a password. Remove the password, save it and upload it."),
    )
    PDF_ACTIVE = (
        "pdf_active",
        _(
            "The PDF contains a script or an action that runs a program, opens another file "
            "or sends data. We do not accept this. Print the document to a new PDF, or scan "
            "it, and upload that file."
        ),
    )
    PDF_ATTACHMENT = (
        "pdf_attachment",
        _(
            "The PDF contains attached files or media. We do not accept this. Print the document "
            "to a new PDF and upload that file."
        ),
    )
    PDF_XFA = (
        "pdf_xfa",
        _(
            "The PDF is a special interactive form (XFA). We do not accept this. Print the form "
            "to a new PDF and upload that file."
        ),
    )
    PDF_NO_PAGES = "pdf_no_pages", _("The PDF has no pages. Upload the document again.")
    PDF_TOO_MANY_PAGES = (
        "pdf_too_many_pages",
        _("The PDF has too many pages. The limit is %(pages)s pages. Upload fewer pages."),
    )
    PDF_TOO_COMPLEX = (
        "pdf_too_complex",
        _(
            "The PDF is too large when it is opened. Make it smaller, for example scan with a "
            "lower resolution, and upload it again."
        ),
    )
    INFECTED = (
        "infected",
        _(
            "This file was flagged by the virus check. We did not keep it. Check your device "
            "for viruses. Then upload a clean copy of the document."
        ),
    )
    SCAN_UNAVAILABLE = (
        "scan_unavailable",
        _("We cannot check files for viruses at the moment. Please try again later."),
    )


@dataclass(frozen=True, slots=True)
class CheckedUpload:
    """A file that passed every check: what is stored, its type and pages, its SHA-256."""

    content: bytes  # the re-encoded image, or the PDF's bytes as uploaded
    content_type: str  # CONTENT_PDF, CONTENT_JPEG or CONTENT_PNG
    pages: int | None  # a PDF's page count; None for an image
    sha256: str  # hex digest of `content`


def upload_check(*, data: bytes, filename: str, kind: str) -> CheckedUpload:
    """`data` checked as an upload of `kind` ("photo" or "document"), or
    `ApplicationError(VisaError.UPLOAD_REFUSED)` saying why not (see the module's docstring).

    Pure: no database, no side effect but the call to the virus scanner. `filename` is the
    sender's and decides nothing."""
    if kind not in ItemKind.values:
        raise ValueError(f"unknown upload kind {kind!r}")
    max_bytes = PHOTO_MAX_BYTES if kind == ItemKind.PHOTO else DOCUMENT_MAX_BYTES
    if not data:
        raise _refuse(UploadRefusal.EMPTY)
    if len(data) > max_bytes:
        raise _refuse(UploadRefusal.TOO_LARGE, megabytes=max_bytes // (1024 * 1024))
    if data.startswith((JPEG_MAGIC, PNG_MAGIC)):
        checked = _image_check(data=data, kind=kind, max_bytes=max_bytes)
    elif kind == ItemKind.PHOTO:
        raise _refuse(_not_accepted(data, UploadRefusal.PHOTO_NOT_IMAGE))
    else:
        checked = _pdf_check(data)
    _virus_check(data)
    return checked


def _refuse(refusal: UploadRefusal, **values: int) -> ApplicationError:
    message = refusal.label % values if values else refusal.label
    return ApplicationError(
        VisaError.UPLOAD_REFUSED,
        message,
        field="file",
        details={"reason": refusal.value, **values},
    )


def _checked(content: bytes, content_type: str, pages: int | None = None) -> CheckedUpload:
    return CheckedUpload(
        content=content,
        content_type=content_type,
        pages=pages,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _not_accepted(data: bytes, otherwise: UploadRefusal) -> UploadRefusal:
    """The refusal for bytes that are neither JPEG nor PNG (nor, for a document, PDF)."""
    if _is_program(data):
        return UploadRefusal.PROGRAM
    if otherwise == UploadRefusal.NOT_ACCEPTED and b"%PDF-" in data[:1024]:
        return UploadRefusal.PDF_HEADER
    return otherwise


def _is_program(data: bytes) -> bool:
    """Windows (MZ), Linux (ELF), macOS (Mach-O, fat) executables and scripts (#!)."""
    return data.startswith(
        (
            b"MZ",
            b"\x7fELF",
            b"#!",
            b"\xca\xfe\xba\xbe",
            b"\xfe\xed\xfa\xce",
            b"\xfe\xed\xfa\xcf",
            b"\xce\xfa\xed\xfe",
            b"\xcf\xfa\xed\xfe",
        )
    )


def _virus_check(data: bytes) -> None:
    """The scanner last, on the bytes as uploaded; a scanner that cannot answer refuses."""
    try:
        result = scan(data)
    except ScannerUnavailable as error:
        raise _refuse(UploadRefusal.SCAN_UNAVAILABLE) from error
    if not result.clean:
        raise _refuse(UploadRefusal.INFECTED)


# --- images ----------------------------------------------------------------------------------


def _image_check(*, data: bytes, kind: str, max_bytes: int) -> CheckedUpload:
    """Read by passports' reader (its refusals keep their message under our code), then
    re-encoded: a photo and a JPEG as JPEG, a PNG document as PNG."""
    try:
        safe = image_upload_read(data=data, max_bytes=max_bytes, max_pixels=UPLOAD_MAX_PIXELS)
    except ApplicationError as error:
        raise ApplicationError(
            VisaError.UPLOAD_REFUSED,
            error.message,
            field="file",
            details={**error.details, "reason": error.code.value},
        ) from error
    if kind == ItemKind.DOCUMENT and safe.format == "PNG":
        return _checked(_image_reencode_png(safe.image), CONTENT_PNG)
    return _checked(image_reencode_jpeg(image=safe.image), CONTENT_JPEG)


def _image_reencode_png(image: Image.Image) -> bytes:
    """`image` as a PNG written from its pixels alone: no text chunks, EXIF, ICC or time.
    (Pillow's default compression: `optimize` would cost seconds on a 35 MP scan.)"""
    rgb = image.convert("RGB")
    bare = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    out = io.BytesIO()
    bare.save(out, "PNG")
    return out.getvalue()


# --- PDFs ------------------------------------------------------------------------------------

_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d[\r\n%\s]")
_PDF_EOF = b"%%EOF"

# Names that mean a PDF does something by itself or carries another file, as a dictionary key
# or a value (an action's /S, an annotation's /Subtype, a stream's /Type). pypdf has already
# decoded `#xx` escapes, so `/J#61vaScript` is `/JavaScript` here.
_PDF_ACTIVE = {
    "/JS",
    "/JavaScript",
    "/Launch",
    "/SubmitForm",
    "/ImportData",
    "/GoToR",  # opens another file (see the module's docstring)
    "/GoToE",  # goes to an embedded file
}
_PDF_ATTACHED = {
    "/EmbeddedFile",
    "/EmbeddedFiles",
    "/EF",
    "/FileAttachment",
    "/RichMedia",
    "/RichMediaContent",
    "/RichMediaExecute",
}
_PDF_FORM = {"/XFA"}
_PDF_FORBIDDEN = {
    **dict.fromkeys(_PDF_ACTIVE, UploadRefusal.PDF_ACTIVE),
    **dict.fromkeys(_PDF_ATTACHED, UploadRefusal.PDF_ATTACHMENT),
    **dict.fromkeys(_PDF_FORM, UploadRefusal.PDF_XFA),
}


def _pdf_check(data: bytes) -> CheckedUpload:
    """The PDF's own checks, cheapest first; the PDF is kept as it came."""
    if not _PDF_HEADER.match(data):
        raise _refuse(_not_accepted(data, UploadRefusal.NOT_ACCEPTED))
    _pdf_envelope_check(data)
    with apply_configuration(**_PDF_LIMITS):
        pages = _pdf_parse_check(data)
    return _checked(data, CONTENT_PDF, pages)


def _pdf_envelope_check(data: bytes) -> None:
    """Nothing but white space after the last `%%EOF`, and no ZIP or executable inside. (The
    header at offset 0 keeps any other format's header out of the start.)"""
    end = data.rfind(_PDF_EOF)
    if end < 0:
        raise _refuse(UploadRefusal.PDF_DAMAGED)
    if data[end + len(_PDF_EOF) :].strip(b" \t\r\n\f\x00"):
        raise _refuse(UploadRefusal.PDF_POLYGLOT)
    if _zip_or_program_inside(data):
        raise _refuse(UploadRefusal.PDF_POLYGLOT)


def _zip_or_program_inside(data: bytes) -> bool:
    """A ZIP's end of central directory (what unzip looks for, at the end) or local header, or
    a PE or ELF executable header, checked beyond their magic bytes as passports' image check
    does, so that compressed bytes that happen to match do not refuse a scan."""
    for at in _find_all(data, b"PK\x05\x06"):
        record = data[at + 4 : at + 12]
        if len(record) == 8:
            disk, cd_disk, here, total = struct.unpack("<HHHH", record)
            if disk == cd_disk == 0 and here == total:
                return True
    for at in _find_all(data, b"PK\x03\x04"):
        version, _flags, method = struct.unpack("<HHH", data[at + 4 : at + 10].ljust(6, b"\xff"))
        if version <= 63 and method in (0, 1, 6, 8, 9, 12, 14, 93, 95, 98, 99):
            return True
    for at in _find_all(data, b"MZ"):
        header = data[at : at + 64]
        if len(header) == 64:
            (pe_offset,) = struct.unpack("<I", header[60:64])
            if 64 <= pe_offset < 4096 and data[at + pe_offset : at + pe_offset + 4] == b"PE\0\0":
                return True
    return any(
        data[at + 4 : at + 5] in (b"\x01", b"\x02") and data[at + 5 : at + 6] in (b"\x01", b"\x02")
        for at in _find_all(data, b"\x7fELF")
    )


def _find_all(data: bytes, needle: bytes) -> list[int]:
    found = []
    at = data.find(needle)
    while at >= 0:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


def _pdf_parse_check(data: bytes) -> int:
    """Parsed strictly; every object walked; the page count. Runs under `_PDF_LIMITS`."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=True)
        if reader.is_encrypted:
            raise _refuse(UploadRefusal.PDF_ENCRYPTED)
        _pdf_objects_check(reader)
        pages = len(reader.pages)
    except ApplicationError:
        raise
    except (LimitReachedError, MemoryError, RecursionError) as error:
        raise _refuse(UploadRefusal.PDF_TOO_COMPLEX) from error
    except Exception as error:
        # pypdf raises PdfReadError for what it recognises as broken and, on bytes crafted
        # to confuse it, whatever Python raises (KeyError, ValueError, struct.error …): every
        # one of them means a file we cannot vouch for.
        raise _refuse(UploadRefusal.PDF_DAMAGED) from error
    if pages < 1:
        raise _refuse(UploadRefusal.PDF_NO_PAGES)
    if pages > PDF_MAX_PAGES:
        raise _refuse(UploadRefusal.PDF_TOO_MANY_PAGES, pages=PDF_MAX_PAGES)
    return pages


def _pdf_objects_check(reader: PdfReader) -> None:
    """Every object the cross-reference table lists (those in object streams too: what any
    reader of the file can reach) and the trailer, searched for `_PDF_FORBIDDEN` names.
    Stream dictionaries are searched; stream contents are not decoded."""
    numbers = {(number, gen) for gen, table in reader.xref.items() for number in table}
    numbers |= {(number, 0) for number in reader.xref_objStm}
    if len(numbers) > PDF_MAX_OBJECTS:
        raise _refuse(UploadRefusal.PDF_TOO_COMPLEX)
    walked = _pdf_tree_check(reader.trailer, limit=PDF_MAX_NODES)
    for number, gen in sorted(numbers):
        if number == 0:
            continue
        found = reader.get_object(IndirectObject(number, gen, reader))
        walked += _pdf_tree_check(found, limit=PDF_MAX_NODES - walked)


def _pdf_tree_check(root: object, *, limit: int) -> int:
    """One object and its direct children searched; the number of nodes walked, refused past
    `limit` (which bounds the walk over the whole file). References are not followed: each
    referenced object is walked on its own."""
    stack = [root]
    walked = 0
    while stack:
        node = stack.pop()
        walked += 1
        if walked > limit:
            raise _refuse(UploadRefusal.PDF_TOO_COMPLEX)
        if isinstance(node, DictionaryObject):
            for key, value in node.items():
                _pdf_name_check(key)
                stack.append(value)
        elif isinstance(node, ArrayObject):
            stack.extend(node)
        elif isinstance(node, NameObject):
            _pdf_name_check(node)
    return walked


def _pdf_name_check(name: str) -> None:
    refusal = _PDF_FORBIDDEN.get(str(name))
    if refusal is not None:
        raise _refuse(refusal)
