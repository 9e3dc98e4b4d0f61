"""The seal as a Data Matrix (zxing-cpp), and the seal's bytes out of whatever a reader has:
a photo or scan (PNG, JPEG...), a PDF with the seal as an image in it, or the bytes alone."""

from __future__ import annotations

import io
import warnings

import numpy as np
import zxingcpp
from django.utils.translation import gettext_lazy as _
from PIL import Image

from consulate.kernel.seal.errors import SealError, SealErrorCode
from consulate.kernel.seal.vds import MAGIC, MAX_SEAL_BYTES

# A file handed to the verifier: a scan of an A4 page at 600 dpi fits well within these.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 50_000_000
MAX_PDF_IMAGES = 50


def seal_datamatrix_png(data: bytes, *, module_px: int = 4) -> bytes:
    """`data` as a Data Matrix (byte mode, so any byte reads back as itself), a PNG with
    `module_px` pixels a module and the quiet zone around it."""
    if not 1 <= module_px <= 64 or not data or len(data) > MAX_SEAL_BYTES:
        raise SealError(SealErrorCode.TOO_LARGE, _("This is far too long to be a seal."))
    symbol = zxingcpp.create_barcode(bytes(data), zxingcpp.BarcodeFormat.DataMatrix)
    pixels = np.asarray(symbol.to_image(scale=module_px, add_quiet_zones=True))
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", optimize=True)
    return out.getvalue()


def seal_datamatrix_read(image_bytes: bytes) -> bytes:
    """The bytes in the first Data Matrix found in the picture `image_bytes`; `SealError` when
    the picture cannot be read or holds none."""
    image = _image_open(image_bytes)
    return _datamatrix_in(image)


def seal_extract(data: bytes) -> bytes:
    """The seal's bytes from a file: the bytes themselves (starting with 0xDC), a PDF (each
    image in it tried in turn) or a picture. `SealError` when none holds a Data Matrix."""
    if len(data) > MAX_FILE_BYTES:
        raise SealError(SealErrorCode.TOO_LARGE, _("The file is too large to hold a seal."))
    if data[:1] == bytes((MAGIC,)):
        return data
    if data[:5] == b"%PDF-":
        return _seal_in_pdf(data)
    return seal_datamatrix_read(data)


def _seal_in_pdf(data: bytes) -> bytes:
    from pypdf import PdfReader

    # A damaged or hostile file makes pypdf and Pillow raise nearly anything (their own
    # errors, zlib's, struct's, IndexError, NotImplementedError for a rare filter): to a
    # verifier, each is a file without a readable seal, never a crash.
    try:
        images = (
            embedded for page in PdfReader(io.BytesIO(data)).pages for embedded in page.images
        )
        for tried, embedded in enumerate(images, start=1):
            if tried > MAX_PDF_IMAGES:
                break
            try:
                return _datamatrix_in(_image_checked(embedded.image))
            except Exception:  # noqa: S112 - an image without a seal; the next may have it
                continue
    except Exception:
        raise _no_barcode() from None
    raise _no_barcode()


def _image_open(image_bytes: bytes) -> Image.Image:
    if not image_bytes or len(image_bytes) > MAX_FILE_BYTES:
        raise _no_barcode()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(image_bytes))
            _image_checked(image)
            image.load()
    except Exception:  # see _seal_in_pdf: whatever Pillow raises, this is no picture of a seal
        raise _no_barcode() from None
    return image


def _image_checked(image: Image.Image | None) -> Image.Image:
    if image is None or image.width * image.height > MAX_IMAGE_PIXELS:
        raise _no_barcode()
    return image


def _datamatrix_in(image: Image.Image) -> bytes:
    try:
        found = zxingcpp.read_barcodes(
            image.convert("L"), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.DataMatrix)
        )
    except Exception:  # see _seal_in_pdf
        raise _no_barcode() from None
    if not found:
        raise _no_barcode()
    return bytes(found[0].bytes)


def _no_barcode() -> SealError:
    return SealError(SealErrorCode.NO_BARCODE, _("No seal could be found in this file."))
