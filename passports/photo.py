"""Checking a passport photo at upload, so the applicant learns at once what to fix.

`photo_check()` reads the upload safely (`passports.uploads`), then checks the photo against
the ICAO rules for the portrait in a machine-readable passport (ICAO Doc 9303 Part 3 and ICAO's
technical report "Portrait Quality (Reference Facial Images for MRTD)", 2018, which take the
geometry and quality of ISO/IEC 19794-5's full frontal image) and the 35x45 mm print format:

- geometry: enough pixels, a 35:45 frame, exactly one face, crown to chin 70-80% of the height,
  the face centred;
- the eyes: both found, open, level;
- the background: light, neutral, plain, without a shadow on one side;
- the quality: sharp, neither over- nor under-exposed.

Every check runs and every problem is reported together, except where an earlier one leaves
nothing to look at (no face: no eye, size or centring checks). When there is none,
`PhotoCheck.jpeg` is the photo re-encoded without any metadata, ready to store.

The face is found with OpenCV's Haar cascades (the only detectors shipped with OpenCV that need
no model download), on a copy scaled to a fixed height so that a check takes the same short
time whatever the upload's resolution. Haar boxes are rough (their size varies by up to 7%), so
the head's size is measured from its pixels where possible; the tolerances below were chosen so
that a compliant photo is not refused for the detector's noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

import cv2
import numpy as np
from django.db import models
from django.utils.translation import gettext_lazy as _
from PIL import Image

from passports.uploads import image_reencode_jpeg, image_upload_read

# --- thresholds, each with where it comes from -----------------------------------------------

# 35x45 mm: the photo most issuers ask for (Turkey, the Schengen states; ICAO Doc 9303 leaves
# the print size to the issuer and fixes the proportions within it). 2% is under one
# millimetre of the 45 mm height, what a hand crop in a photo editor misses by.
PHOTO_ASPECT = 35 / 45
PHOTO_ASPECT_TOLERANCE = 0.02
# The 35x45 mm print at 300 dpi, the least a photo printer or a scanned print gives. At 70%
# crown to chin the eye centres are then about 100 pixels apart (pupils 63 mm apart on a head
# of 230 mm), over the 90 that ISO/IEC 19794-5's token image and ICAO ask for.
PHOTO_MIN_WIDTH = 413
PHOTO_MIN_HEIGHT = 531
# Crown to chin 70-80% of the photo's height: ICAO Doc 9303 Part 3 and the portrait quality
# report (the "head height" of ISO/IEC 19794-5's token frame).
FACE_HEIGHT_MIN = 0.70
FACE_HEIGHT_MAX = 0.80
# Crown to chin. Haar boxes are rough: their height varies by 7% with the background and the
# face, more than the 70-80% window allows. So the crown is found in the pixels, as the first
# row above the face that differs from the background (ICAO's crown includes the hair as it
# lies), and the chin from the box: the alt2 box ends a little above the chin, 0.065 box
# heights on average (0.02-0.09 measured on the drawn faces of tests/passports/photos.py at
# 18 sizes, positions and lightings). Crown to chin so estimated is within 2% of the truth.
CHIN_BELOW_BOX = 0.065
# A row belongs to the head when its colour differs from the background's by more than 20
# grey levels per channel on average: hair, even blond, and skin do; noise and a lighting
# fall-off across the wall do not.
CROWN_MIN_DIFFERENCE = 60.0
# ISO/IEC 19794-5 full frontal geometry: the face's vertical centre line between 45% and 55%
# of the image width.
FACE_CENTRE_TOLERANCE = 0.05
# Roll (head tilted to a shoulder) within 8 degrees: ISO/IEC 19794-5 pose tolerance, measured
# here as the slope of the line between the eye centres.
EYES_MAX_ROLL_DEGREES = 8.0
# Background (ICAO: "plain light-coloured", no pattern, no object):
# - light: a mean grey level of at least 150 of 255 (light grey; mid grey is 128);
# - neutral: a mean HSV saturation under 0.15 (white and light grey are near 0, the light blue
#   some states allow is about 0.3, cream about 0.4);
# - plain: in each background region, the 5th to 95th percentile of grey levels spans under 60.
#   A plain wall with sensor noise spans under 10; a lamp's fall-off across the wall (the
#   drawn shadow) under 50; a pattern, a door frame or a bookshelf 90 and more. Percentiles,
#   not the standard deviation, so that a few hairs at a region's edge do not count.
BACKGROUND_MIN_BRIGHTNESS = 150
BACKGROUND_MAX_SATURATION = 0.15
BACKGROUND_MAX_SPREAD = 60.0
# A shadow cast on the background (ICAO: "no shadows on the background"): the mean grey level
# left of the head differs from the right by more than 12% of full scale (about 30 levels).
SHADOW_MAX_DIFFERENCE = 30.0
# Sharpness (ICAO: the face "in sharp focus"): the variance of the Laplacian of the face scaled
# to 256 pixels wide, per 1000 of the face's own grey level variance, so that contrast (a dim
# photo, dark glasses) does not pass for detail. Sharp drawn faces give 45-140 and sunglasses
# 29; blurred by 2.5 pixels (a face out of focus at 700x900) they give 5. Calibrated on drawn
# faces only: real skin has more texture, so real sharp photos sit higher still.
SHARPNESS_MIN = 15.0
# Exposure (ICAO: "no over- or under-exposure", natural skin tones). The face's brightness
# alone cannot tell a dark skin from a dark photo, so:
# - over-exposed: more than 5% of the face's pixels at 250 or above (blown out, detail lost),
#   or the face's mean grey level above 220 (no skin tone is that light when well exposed);
# - under-exposed: nothing in the photo is bright (its 98th percentile grey level under 130,
#   where a light background alone is at 150 or more), or the face's mean under 40, where no
#   detail of any skin is left. Drawn faces of seven skin tones from very light (mean 185) to
#   very dark (mean 53) pass; the same photos at a third of the light are refused.
FACE_MAX_CLIPPED = 0.05
FACE_MAX_BRIGHTNESS = 220
FACE_MIN_BRIGHTNESS = 40
PHOTO_MIN_HIGHLIGHT = 130
# Eyes open (ICAO: "eyes open and clearly visible"): the white of the eye shows. At least 2%
# of the middle of each eye's box is brighter than the eye region's median (the skin around
# it) by 35 grey levels; a closed lid is skin, with at most a dark lash line.
EYE_OPEN_MIN_SCLERA = 0.02

# Turns tried when no face is found upright, to tell a tilted head from no face: the frontal
# cascade finds faces within about 15 degrees of upright, so these cover 10 to 40 degrees.
TILT_TURNS = (-25.0, 25.0)

# The detector runs on a copy 360 pixels high: a face filling 70% of it is 250 pixels, plenty
# for Haar's 20-24 pixel windows, and a check takes tens of milliseconds.
DETECT_HEIGHT = 360


class PhotoProblem(models.TextChoices):
    """What is wrong with a photo; the label tells the applicant what to do."""

    TOO_SMALL = (
        "photo.too_small",
        _("The photo's resolution is too low: it must be at least 413 x 531 pixels."),
    )
    ASPECT = (
        "photo.aspect",
        _("The photo must be 35 mm wide and 45 mm high: crop it to that shape."),
    )
    NO_FACE = (
        "photo.no_face",
        _("No face was found. Face the camera directly, with your whole face visible."),
    )
    SEVERAL_FACES = (
        "photo.several_faces",
        _("More than one face was found. Only you may be in the photo."),
    )
    FACE_TOO_SMALL = (
        "photo.face_too_small",
        _(
            "Your face is too small in the photo: it should fill 70 to 80 percent of the height, "
            "from the chin to the top of the head."
        ),
    )
    FACE_TOO_LARGE = (
        "photo.face_too_large",
        _(
            "Your face is too large in the photo: it should fill 70 to 80 percent of the height, "
            "from the chin to the top of the head."
        ),
    )
    FACE_NOT_CENTRED = (
        "photo.face_not_centred",
        _("Your face is not in the middle of the photo: centre it from left to right."),
    )
    EYES_NOT_VISIBLE = (
        "photo.eyes_not_visible",
        _(
            "Both of your eyes must be open and clearly visible: look straight at the camera, "
            "with nothing covering your eyes."
        ),
    )
    EYES_NOT_LEVEL = (
        "photo.eyes_not_level",
        _("Your head is tilted: hold it straight so that your eyes are level."),
    )
    BACKGROUND_DARK = (
        "photo.background_dark",
        _("The background is too dark: stand in front of a plain white or light grey wall."),
    )
    BACKGROUND_COLOURED = (
        "photo.background_coloured",
        _("The background is coloured: stand in front of a plain white or light grey wall."),
    )
    BACKGROUND_BUSY = (
        "photo.background_busy",
        _(
            "The background is not plain: stand in front of a plain wall with nothing else "
            "behind you."
        ),
    )
    SHADOW = (
        "photo.shadow",
        _("There is a shadow on the background: light the wall evenly from both sides."),
    )
    BLURRED = (
        "photo.blurred",
        _("The photo is blurred: hold the camera still and make sure your face is in focus."),
    )
    OVEREXPOSED = (
        "photo.overexposed",
        _("The photo is too bright: your face is washed out. Use softer or less light."),
    )
    UNDEREXPOSED = (
        "photo.underexposed",
        _("The photo is too dark: your face is hard to see. Use more light, from the front."),
    )


@dataclass(frozen=True, slots=True)
class PhotoCheck:
    """Every problem found, in the order of the checks; `jpeg` only when there is none."""

    problems: list[PhotoProblem] = field(default_factory=list)
    jpeg: bytes | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class _Box:
    """A rectangle in the photo's own pixels."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def photo_check(*, data: bytes) -> PhotoCheck:
    """The upload checked as a passport photo.

    A file that is not a safe JPEG or PNG raises `ApplicationError` with an `UploadProblem`
    (there is no photo to check); anything else returns a `PhotoCheck` listing every problem."""
    upload = image_upload_read(data=data)
    problems = photo_problems(image=upload.image)
    if problems:
        return PhotoCheck(problems=problems)
    return PhotoCheck(jpeg=image_reencode_jpeg(image=upload.image))


def photo_problems(*, image: Image.Image) -> list[PhotoProblem]:
    """The checks of `photo_check()` on a decoded RGB image."""
    problems: list[PhotoProblem] = []
    width, height = image.size
    if width < PHOTO_MIN_WIDTH or height < PHOTO_MIN_HEIGHT:
        problems.append(PhotoProblem.TOO_SMALL)
    if abs(width / height - PHOTO_ASPECT) > PHOTO_ASPECT * PHOTO_ASPECT_TOLERANCE:
        problems.append(PhotoProblem.ASPECT)

    rgb = np.asarray(image.convert("RGB"))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    faces = _faces_find(grey)
    if not faces:
        # The frontal cascade misses a head tilted by more than about 15 degrees: looked for
        # again turned upright, it is a tilted head, which says better what to do.
        tilted = any(len(_faces_find(grey, turn=turn)) == 1 for turn in TILT_TURNS)
        problems.append(PhotoProblem.EYES_NOT_LEVEL if tilted else PhotoProblem.NO_FACE)
        return problems
    if len(faces) > 1:
        problems.append(PhotoProblem.SEVERAL_FACES)
        return problems
    face = faces[0]

    exposure = _exposure_problem(grey, face)
    sharp = _sharpness(grey, face) >= SHARPNESS_MIN
    background = _background(rgb, face)
    # An under-exposed photo has a dark background too; the exposure message says what to do.
    background_problems = [] if exposure is PhotoProblem.UNDEREXPOSED else background.problems

    # The crown is found only against a plain background; on a busy one the size waits for
    # the background to be fixed rather than guess.
    if background.crown is not None:
        head = (face.y + face.h * (1 + CHIN_BELOW_BOX) - background.crown) / height
        if head < FACE_HEIGHT_MIN:
            problems.append(PhotoProblem.FACE_TOO_SMALL)
        elif head > FACE_HEIGHT_MAX:
            problems.append(PhotoProblem.FACE_TOO_LARGE)
    if abs(face.cx / width - 0.5) > FACE_CENTRE_TOLERANCE:
        problems.append(PhotoProblem.FACE_NOT_CENTRED)
    # Eyes are looked at only in a photo sharp and exposed enough to show them: otherwise
    # "eyes not visible" would be a second, misleading message for the same fault.
    if sharp and not exposure:
        problems.extend(_eye_problems(grey, face))
    problems.extend(background_problems)
    if not sharp:
        problems.append(PhotoProblem.BLURRED)
    if exposure:
        problems.append(exposure)
    return problems


# --- the face ----------------------------------------------------------------------------------


@cache
def _cascade(name: str) -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)  # type: ignore[attr-defined]
    if cascade.empty():
        raise RuntimeError(f"OpenCV's Haar cascade {name} is missing")
    return cascade


def _faces_find(grey: np.ndarray, *, turn: float = 0.0) -> list[_Box]:
    """Faces in the photo, turned by `turn` degrees first (counter-clockwise; the boxes are
    then in the turned copy's pixels). The cascade runs on a copy DETECT_HEIGHT high with its
    histogram equalised (as the cascades' training faces were), with a minimum size of a sixth
    of that height: anything smaller is no passport photo's face, only a false detection in a
    patterned background or a face far behind."""
    scale = DETECT_HEIGHT / grey.shape[0]
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if turn:
        h, w = small.shape
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), turn, 1.0)
        small = cv2.warpAffine(small, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    small = cv2.equalizeHist(small)
    least = DETECT_HEIGHT // 6
    found = _cascade("haarcascade_frontalface_alt2.xml").detectMultiScale(
        small, scaleFactor=1.05, minNeighbors=4, minSize=(least, least)
    )
    return [_Box(x / scale, y / scale, w / scale, h / scale) for x, y, w, h in found]


def _eye_problems(grey: np.ndarray, face: _Box) -> list[PhotoProblem]:
    """Both eyes found in the upper half of the face, open, and level."""
    # The eye band of the face box, scaled so the face is 240 pixels wide: eyes are then
    # 40-60 pixels, where haarcascade_eye is most reliable.
    top, bottom = round(face.y + 0.15 * face.h), round(face.y + 0.6 * face.h)
    left, right = round(face.x), round(face.x + face.w)
    band = grey[max(top, 0) : bottom, max(left, 0) : right]
    if band.size == 0:
        return [PhotoProblem.EYES_NOT_VISIBLE]
    scale = 240 / band.shape[1]
    band_small = cv2.resize(band, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    # Equalised, as the cascade's training eyes were: on a dark skin the eye socket's contrast
    # to the cheek is small in grey levels, and the cascade would miss open eyes. Openness is
    # judged on the grey levels as they are, where a lid stays darker than a sclera.
    found = _cascade("haarcascade_eye.xml").detectMultiScale(
        cv2.equalizeHist(band_small),
        scaleFactor=1.05,
        minNeighbors=5,
        minSize=(24, 24),
        maxSize=(110, 110),
    )
    half = band_small.shape[1] / 2
    # The largest detection on each side of the face's centre line is that side's eye.
    eyes: dict[str, tuple[int, int, int, int]] = {}
    for x, y, w, h in sorted(found, key=lambda box: box[2] * box[3]):
        side = "left" if x + w / 2 < half else "right"
        eyes[side] = (x, y, w, h)
    # Closed eyes mostly escape the eye cascade; when it does find one, the sclera decides.
    if len(eyes) < 2 or not all(_eye_open(band_small, eye) for eye in eyes.values()):
        return [PhotoProblem.EYES_NOT_VISIBLE]
    (lx, ly, lw, lh), (rx, ry, rw, rh) = eyes["left"], eyes["right"]
    roll = math.degrees(math.atan2((ry + rh / 2) - (ly + lh / 2), (rx + rw / 2) - (lx + lw / 2)))
    if abs(roll) > EYES_MAX_ROLL_DEGREES:
        return [PhotoProblem.EYES_NOT_LEVEL]
    return []


def _eye_open(band: np.ndarray, eye: tuple[int, int, int, int]) -> bool:
    """Sclera shows: the middle of the eye's box has pixels clearly brighter than the skin
    around it (its median). A lid over the eye is skin, with at most a dark lash line."""
    x, y, w, h = eye
    box = band[y + h // 4 : y + 3 * h // 4, x + w // 8 : x + 7 * w // 8].astype(np.float32)
    if box.size == 0:
        return False
    skin = float(np.median(band[y : y + h, x : x + w]))
    return float(np.mean(box > skin + 35)) >= EYE_OPEN_MIN_SCLERA


# --- quality -----------------------------------------------------------------------------------


def _face_pixels(grey: np.ndarray, face: _Box) -> np.ndarray:
    """The inner face (cheeks, eyes, nose, mouth): the middle of the box, without the hair and
    background at its corners."""
    return grey[
        max(round(face.y + 0.2 * face.h), 0) : round(face.y + 0.95 * face.h),
        max(round(face.x + 0.2 * face.w), 0) : round(face.x + 0.8 * face.w),
    ]


def _sharpness(grey: np.ndarray, face: _Box) -> float:
    """The variance of the Laplacian of the inner face scaled to 256 pixels wide, divided by
    the face's own grey level variance: detail relative to contrast, so that a dim but sharp
    photo is not called blurred (its exposure has its own check)."""
    inner = _face_pixels(grey, face)
    if inner.size == 0:
        return 0.0
    scale = 256 / inner.shape[1]
    inner = cv2.resize(inner, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    contrast = float(inner.astype(np.float64).var())
    if contrast < 1.0:
        return 0.0
    return 1000 * float(cv2.Laplacian(inner, cv2.CV_64F).var()) / contrast


def _exposure_problem(grey: np.ndarray, face: _Box) -> PhotoProblem | None:
    inner = _face_pixels(grey, face)
    if inner.size == 0:
        return None
    mean = float(inner.mean())
    if mean > FACE_MAX_BRIGHTNESS or float(np.mean(inner >= 250)) > FACE_MAX_CLIPPED:
        return PhotoProblem.OVEREXPOSED
    if mean < FACE_MIN_BRIGHTNESS or float(np.percentile(grey, 98)) < PHOTO_MIN_HIGHLIGHT:
        return PhotoProblem.UNDEREXPOSED
    return None


@dataclass(frozen=True, slots=True)
class _Background:
    problems: list[PhotoProblem]
    # The crown's row, when the background above the head is plain enough to find it.
    crown: float | None


def _background(rgb: np.ndarray, face: _Box) -> _Background:
    """The background's problems and the crown.

    The background is looked at above the head and beside it, from the top of the photo down
    to the forehead; the two sides are compared for a shadow."""
    height, width = rgb.shape[:2]
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    margin_x, margin_y = round(0.02 * width), round(0.02 * height)
    colour = _background_colour(rgb)
    crown = _crown_find(rgb, face, colour)
    # Without a crown (a busy background) the top of the head is taken from the box.
    crown_row = crown if crown is not None else face.y - 0.33 * face.h
    # Beside the head down to its forehead, halfway from the crown to the eyes: lower, a
    # tilted head's ears and hair reach further out than any margin allows for.
    side_bottom = round((crown_row + face.y + 0.45 * face.h) / 2)
    # With its hair a head is at most about 0.8 times as wide as it is high from crown to chin
    # (the skull alone about 0.75); the box's width is no measure of it, as it shrinks to the
    # inner face on a dark skin against dark hair.
    half_head = 0.42 * (face.y + face.h * (1 + CHIN_BELOW_BOX) - crown_row)
    left_end = round(face.cx - half_head)
    right_start = round(face.cx + half_head)
    # Above the head: up to its highest point, which is off the middle on a tilted head.
    head_top = _head_top_find(rgb, colour, x0=left_end, x1=right_start, y1=round(face.cy))
    top_bottom = round(min(crown_row, head_top if head_top is not None else crown_row) - margin_y)
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    hsv_pixels: list[np.ndarray] = []
    centre = round(face.cx)
    spreads = []
    regions = [
        (left, margin_y, side_bottom, margin_x, left_end),
        (right, margin_y, side_bottom, right_start, width - margin_x),
        (left, margin_y, top_bottom, margin_x, centre),
        (right, margin_y, top_bottom, centre, width - margin_x),
    ]
    for side, y0, y1, x0, x1 in regions:
        if y1 - y0 < 8 or x1 - x0 < 8:
            continue
        side.append(grey[y0:y1, x0:x1].ravel())
        low, high = np.percentile(grey[y0:y1, x0:x1], [5, 95])
        spreads.append(float(high - low))
        hsv_pixels.append(cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2HSV)[..., 1].ravel())
    if not spreads:
        # the head fills the photo: the size check says so
        return _Background(problems=[], crown=crown)
    problems = []
    pixels = np.concatenate(left + right)
    if float(pixels.mean()) < BACKGROUND_MIN_BRIGHTNESS:
        problems.append(PhotoProblem.BACKGROUND_DARK)
    if float(np.concatenate(hsv_pixels).mean()) / 255 > BACKGROUND_MAX_SATURATION:
        problems.append(PhotoProblem.BACKGROUND_COLOURED)
    if max(spreads) > BACKGROUND_MAX_SPREAD:
        problems.append(PhotoProblem.BACKGROUND_BUSY)
        crown = None
    elif (
        left
        and right
        and abs(float(np.concatenate(left).mean()) - float(np.concatenate(right).mean()))
        > SHADOW_MAX_DIFFERENCE
    ):
        problems.append(PhotoProblem.SHADOW)
    return _Background(problems=problems, crown=crown)


def _background_colour(rgb: np.ndarray) -> np.ndarray:
    """The median colour of the photo's top corners, which the head does not reach."""
    height, width = rgb.shape[:2]
    corner_h, corner_w = max(round(0.05 * height), 1), max(round(0.1 * width), 1)
    corners = np.concatenate(
        [
            rgb[:corner_h, :corner_w].reshape(-1, 3),
            rgb[:corner_h, width - corner_w :].reshape(-1, 3),
        ]
    ).astype(np.float32)
    return np.median(corners, axis=0)


def _crown_find(rgb: np.ndarray, face: _Box, colour: np.ndarray) -> float | None:
    """The first row from the top, in a band over the middle of the face, whose colour
    differs from the background's."""
    x0, x1 = max(round(face.cx - 0.15 * face.w), 0), round(face.cx + 0.15 * face.w)
    band = rgb[: max(round(face.cy), 1), x0:x1].astype(np.float32)
    if band.size == 0:
        return None
    difference = np.abs(band - colour).sum(axis=2).mean(axis=1)
    rows = np.flatnonzero(difference > CROWN_MIN_DIFFERENCE)
    return float(rows[0]) if rows.size else None


def _head_top_find(
    rgb: np.ndarray, colour: np.ndarray, *, x0: int, x1: int, y1: int
) -> float | None:
    """The first row from the top in which 2% of the head's width differs from the
    background: the head's highest point wherever it is."""
    band = rgb[: max(y1, 1), max(x0, 0) : max(x1, 0)].astype(np.float32)
    if band.size == 0:
        return None
    unlike = np.abs(band - colour).sum(axis=2) > CROWN_MIN_DIFFERENCE
    rows = np.flatnonzero(unlike.mean(axis=1) > 0.02)
    return float(rows[0]) if rows.size else None
