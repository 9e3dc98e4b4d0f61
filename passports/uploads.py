"""Reading an uploaded image safely: passport photos now, visa uploads later.

`image_upload_read()` decides what the bytes are from their magic numbers, never from the
file's name or the browser's content type (both are the sender's to choose). It takes JPEG and
PNG only and walks their structure before Pillow decodes a pixel, so that it can refuse:

- an upload that is too large, before anything else is done with it;
- a decompression bomb: the dimensions are read from the JPEG frame header or the PNG IHDR,
  and an image declaring more than `max_pixels` is refused without allocating it;
- a polyglot, a file that is also something else: bytes after the JPEG's end of image or the
  PNG's IEND, a ZIP local header or end of central directory anywhere, an ELF or PE
  executable or a PDF header anywhere. A browser or unzip tool that later gets these bytes
  would read the other file;
- an animated PNG, a CMYK or 12-bit JPEG (decoders disagree on them), a truncated or corrupt
  file.

It returns the decoded image in RGB, turned upright from its EXIF orientation and converted to
sRGB when it carried another colour profile. `image_reencode_jpeg()` writes a JPEG from the
pixels alone, so no EXIF (GPS included), ICC profile, XMP or comment leaves with it.

Refusals raise `ApplicationError` with an `UploadProblem`, whose label is the message.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageCms, ImageOps

from consulate.kernel.errors import ApplicationError

# A passport photo at 600 dpi is under 2 MB; a phone's photo up to about 12 MB. 15 MB leaves
# room for visa uploads (scans) without letting a request hold much more in memory.
UPLOAD_MAX_BYTES = 15 * 1024 * 1024
# 40 million pixels: a 48 MP phone photo binned to 12 MP and an A4 scan at 600 dpi (35 MP)
# fit; decoding one costs at most 120 MB of RGB. Pillow's own bomb limit (89 MP) is higher.
UPLOAD_MAX_PIXELS = 40_000_000
# Either side above this is no photo or scan we want, whatever the pixel count.
UPLOAD_MAX_SIDE = 12_000

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class UploadProblem(models.TextChoices):
    """Why an upload was refused; the label is what the person is told to do."""

    EMPTY = "uploads.empty", _("The file is empty. Choose the photo again.")
    TOO_LARGE = (
        "uploads.too_large",
        _("The file is too large. Upload a smaller JPEG or PNG image."),
    )
    UNSUPPORTED_FORMAT = (
        "uploads.unsupported_format",
        _("This image format is not accepted. Save the image as JPEG or PNG and upload it again."),
    )
    NOT_AN_IMAGE = (
        "uploads.not_an_image",
        _("The file is not an image. Upload a JPEG or PNG image."),
    )
    TOO_MANY_PIXELS = (
        "uploads.too_many_pixels",
        _("The image has too many pixels. Reduce its size and upload it again."),
    )
    POLYGLOT = (
        "uploads.polyglot",
        _(
            "The file contains other data besides the image. Save the image again as a plain "
            "JPEG or PNG and upload that."
        ),
    )
    ANIMATED = "uploads.animated", _("Animated images are not accepted. Upload a still image.")
    COLOUR_MODE = (
        "uploads.colour_mode",
        _(
            "The image uses a colour mode for printing (CMYK) or an unusual depth. Save it as an "
            "RGB JPEG or PNG and upload it again."
        ),
    )
    TRUNCATED = (
        "uploads.truncated",
        _("The image is incomplete: its end is missing. Upload the whole file again."),
    )
    DAMAGED = "uploads.damaged", _("The image is damaged and cannot be read. Save it again.")


@dataclass(frozen=True, slots=True)
class SafeImage:
    """A decoded upload that passed every check. `image` is RGB, upright, sRGB."""

    image: Image.Image
    format: str  # "JPEG" or "PNG", from the bytes
    size_bytes: int

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


def _refuse(problem: UploadProblem, **details: int) -> ApplicationError:
    """The refusal; `details` are the limits the caller set, for a page to show."""
    return ApplicationError(problem, problem.label, field="file", details=details)


def image_upload_read(
    *,
    data: bytes,
    max_bytes: int = UPLOAD_MAX_BYTES,
    max_pixels: int = UPLOAD_MAX_PIXELS,
) -> SafeImage:
    """The upload decoded, or `ApplicationError(UploadProblem.…)` saying why not.

    Cheap checks first: size, magic bytes, structure and declared dimensions; Pillow decodes
    only what passed them."""
    if not data:
        raise _refuse(UploadProblem.EMPTY)
    if len(data) > max_bytes:
        raise _refuse(UploadProblem.TOO_LARGE, max_bytes=max_bytes)
    if data.startswith(JPEG_MAGIC):
        fmt = "JPEG"
        width, height = _jpeg_walk(data)
    elif data.startswith(PNG_MAGIC):
        fmt = "PNG"
        width, height = _png_walk(data)
    elif _image_format_other(data):
        raise _refuse(UploadProblem.UNSUPPORTED_FORMAT)
    else:
        raise _refuse(UploadProblem.NOT_AN_IMAGE)
    if (
        width < 1
        or height < 1
        or width > UPLOAD_MAX_SIDE
        or height > UPLOAD_MAX_SIDE
        or width * height > max_pixels
    ):
        raise _refuse(
            UploadProblem.TOO_MANY_PIXELS, max_pixels=max_pixels, max_side=UPLOAD_MAX_SIDE
        )
    _polyglot_scan(data)
    image = _decode(data=data, fmt=fmt, size=(width, height))
    return SafeImage(image=image, format=fmt, size_bytes=len(data))


def image_reencode_jpeg(*, image: Image.Image, quality: int = 92) -> bytes:
    """`image` as a baseline JPEG written from its pixels alone: no EXIF (so no GPS, camera or
    date), no ICC profile, no XMP, no comment. The pixels are copied into a new image because
    Pillow carries `info` (comments, profiles) from the source image into some writers."""
    rgb = image.convert("RGB")
    bare = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    out = io.BytesIO()
    bare.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


# --- structure -------------------------------------------------------------------------------

# Frame headers that carry the dimensions: SOF0-3, 5-7, 9-11, 13-15 (not DHT C4, JPG C8, DAC CC).
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
# Markers without a length: TEM and RST0-7 (SOI and EOI are handled on their own).
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def _jpeg_walk(data: bytes) -> tuple[int, int]:
    """The frame's (width, height); refuses a truncated file, bytes after EOI, CMYK or 12-bit."""
    end, size = _jpeg_end(data, 0)
    rest = data[end:]
    # Phones append further JPEGs after the first one's EOI (MPF: a depth map, an HDR gain
    # map); those are walked the same way. Anything else after EOI is another file.
    while rest.strip(b"\x00"):
        if not rest.startswith(JPEG_MAGIC):
            raise _refuse(UploadProblem.POLYGLOT)
        end, _size = _jpeg_end(rest, 0)
        rest = rest[end:]
    return size


def _jpeg_end(data: bytes, pos: int) -> tuple[int, tuple[int, int]]:
    """Walks one JPEG from its SOI at `pos`: the offset after its EOI and its (width, height)."""
    n = len(data)
    i = pos + 2
    size: tuple[int, int] | None = None
    while True:
        if i + 2 > n:
            raise _refuse(UploadProblem.TRUNCATED)
        if data[i] != 0xFF:
            raise _refuse(UploadProblem.DAMAGED)
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker == 0xD9:
            if size is None:
                raise _refuse(UploadProblem.DAMAGED)
            return i + 2, size
        if marker in _JPEG_STANDALONE:
            i += 2
            continue
        if i + 4 > n:
            raise _refuse(UploadProblem.TRUNCATED)
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if length < 2:
            raise _refuse(UploadProblem.DAMAGED)
        if i + 2 + length > n:
            raise _refuse(UploadProblem.TRUNCATED)
        if marker in _JPEG_SOF:
            if length < 8:
                raise _refuse(UploadProblem.DAMAGED)
            precision, height, width, components = struct.unpack(">BHHB", data[i + 4 : i + 10])
            # 4 components is CMYK or YCCK: Adobe writes them inverted and decoders disagree.
            # 12-bit JPEGs decode in few libraries. Neither comes from a camera or a phone.
            if precision != 8 or components not in (1, 3):
                raise _refuse(UploadProblem.COLOUR_MODE)
            size = (width, height)
        i += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            if size is None:
                raise _refuse(UploadProblem.DAMAGED)
            i = _jpeg_scan_skip(data, i)


def _jpeg_scan_skip(data: bytes, i: int) -> int:
    """The offset of the marker that ends the entropy-coded data starting at `i`. Inside it,
    0xFF is followed by 0x00 (a stuffed byte) or an RST marker; any other byte is a marker."""
    n = len(data)
    while True:
        j = data.find(b"\xff", i)
        if j < 0 or j + 1 >= n:
            raise _refuse(UploadProblem.TRUNCATED)
        following = data[j + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            i = j + 1
            continue
        return j


def _png_walk(data: bytes) -> tuple[int, int]:
    """IHDR's (width, height), every chunk's CRC checked; refuses APNG and bytes after IEND."""
    n = len(data)
    i = len(PNG_MAGIC)
    size: tuple[int, int] | None = None
    while True:
        if i + 12 > n:
            raise _refuse(UploadProblem.TRUNCATED)
        length, kind = struct.unpack(">I4s", data[i : i + 8])
        if length > n or i + 12 + length > n:
            raise _refuse(UploadProblem.TRUNCATED)
        body = data[i + 8 : i + 8 + length]
        (crc,) = struct.unpack(">I", data[i + 8 + length : i + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise _refuse(UploadProblem.DAMAGED)
        if size is None:
            if kind != b"IHDR" or length != 13:
                raise _refuse(UploadProblem.DAMAGED)
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if colour not in (0, 2, 3, 4, 6) or depth not in (1, 2, 4, 8, 16):
                raise _refuse(UploadProblem.DAMAGED)
            size = (width, height)
        elif kind in (b"acTL", b"fcTL", b"fdAT"):
            raise _refuse(UploadProblem.ANIMATED)
        i += 12 + length
        if kind == b"IEND":
            if data[i:]:
                raise _refuse(UploadProblem.POLYGLOT)
            return size


def _image_format_other(data: bytes) -> bool:
    """GIF, BMP, WebP, TIFF, HEIC/AVIF, JPEG 2000, ICO: images, but not ones we take."""
    return (
        data.startswith((b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"\x00\x00\x01\x00"))
        or (data.startswith(b"RIFF") and data[8:12] == b"WEBP")
        or data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif")
        or data.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n")
    )


def _polyglot_scan(data: bytes) -> None:
    """Another file's header anywhere in the upload. Each signature is checked beyond its magic
    bytes (a ZIP header's fields, an ELF's class and byte order, a PE's offset to "PE\\0\\0"), so
    that four bytes that happen to occur in compressed image data do not refuse a photo."""
    for at in _find_all(data, b"PK\x03\x04"):
        # version needed (<= 6.3) and a compression method that exists
        version, _flags, method = struct.unpack("<HHH", data[at + 4 : at + 10].ljust(6, b"\xff"))
        if version <= 63 and method in (0, 1, 6, 8, 9, 12, 14, 93, 95, 98, 99):
            raise _refuse(UploadProblem.POLYGLOT)
    for at in _find_all(data, b"PK\x05\x06"):
        record = data[at + 4 : at + 22]
        if len(record) == 18:
            disk, cd_disk, here, total = struct.unpack("<HHHH", record[:8])
            if disk == cd_disk == 0 and here == total:
                raise _refuse(UploadProblem.POLYGLOT)
    for at in _find_all(data, b"\x7fELF"):
        if data[at + 4 : at + 5] in (b"\x01", b"\x02") and data[at + 5 : at + 6] in (
            b"\x01",
            b"\x02",
        ):
            raise _refuse(UploadProblem.POLYGLOT)
    for at in _find_all(data, b"MZ"):
        header = data[at : at + 64]
        if len(header) == 64:
            (pe_offset,) = struct.unpack("<I", header[60:64])
            if 64 <= pe_offset < 4096 and data[at + pe_offset : at + pe_offset + 4] == b"PE\0\0":
                raise _refuse(UploadProblem.POLYGLOT)
    for at in _find_all(data, b"%PDF-"):
        if data[at + 5 : at + 6].isdigit():
            raise _refuse(UploadProblem.POLYGLOT)


def _find_all(data: bytes, needle: bytes) -> list[int]:
    found = []
    at = data.find(needle)
    while at >= 0:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


def _decode(*, data: bytes, fmt: str, size: tuple[int, int]) -> Image.Image:
    # The declared size was checked; Pillow's own bomb check stays on as a second fence, as
    # an error rather than a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[fmt])
            if image.size != size:
                raise _refuse(UploadProblem.DAMAGED)
            image.load()
        except ApplicationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _refuse(UploadProblem.TOO_MANY_PIXELS) from error
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as error:
            truncated = "truncated" in str(error).lower()
            raise _refuse(
                UploadProblem.TRUNCATED if truncated else UploadProblem.DAMAGED
            ) from error
    # (an APNG was refused by its chunks; a JPEG with appended MPF images opens as the first)
    profile = image.info.get("icc_profile")
    try:
        upright: Image.Image = ImageOps.exif_transpose(image) or image
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, struct.error):
        # EXIF that does not parse: the pixels are fine, only their orientation is unknown
        upright = image
    return _rgb(_srgb(upright, profile=profile))


def _srgb(image: Image.Image, *, profile: bytes | None) -> Image.Image:
    """Pixels in sRGB: a photo from a phone may be Display P3 or Adobe RGB, and its profile
    is dropped on re-encoding, so the colours are converted while the profile is known."""
    if not profile or image.mode not in ("RGB", "RGBA", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(
            image.convert(mode), source, ImageCms.createProfile("sRGB"), outputMode=mode
        )
    except (ImageCms.PyCMSError, OSError):
        # a broken profile: the pixels as they are are the best reading of the photo
        return image
    return converted if converted is not None else image


def _rgb(image: Image.Image) -> Image.Image:
    """RGB; transparency (PNG) becomes white, as a photo printed on white paper would look."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        white.alpha_composite(rgba)
        return white.convert("RGB")
    if image.mode == "I;16" or image.mode.startswith("I"):
        # 16-bit greyscale PNG: scaled down to 8 bits before converting
        return image.point(lambda value: value / 256).convert("L").convert("RGB")
    return image.convert("RGB")
