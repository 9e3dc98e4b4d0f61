"""The fingerprint device at the counter, behind one interface.

A real scanner's driver is wrapped as a `FingerprintDevice` and named in
`CONSULATE_FINGERPRINT_DEVICE` (a dotted path); development and the tests use the simulator,
which draws a ridge pattern and reports a quality score. The service records whatever the
device returns and refuses a capture under `FINGERPRINT_MIN_QUALITY`."""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import io
import math
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageDraw

from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user

# The lowest quality score (0-100, higher is better, as NFIQ 2 reports it) a capture is kept at:
# NFIQ 2 guidance treats scores under about 35 as poor for enrolment; we ask for 40.
FINGERPRINT_MIN_QUALITY = 40


@dataclass(frozen=True)
class Capture:
    png: bytes
    quality: int
    device: str


class FingerprintDevice(Protocol):
    name: str

    def capture(self, *, finger: str) -> Capture: ...


class SimulatedFingerprintDevice:
    """Draws concentric ridges (a whorl) and scores them. The score is `quality` if set, else
    derived from the finger's name: the same finger always scores the same, well above the
    minimum. Tests set `quality` to make a poor capture."""

    name = "simulator"

    def __init__(self, quality: int | None = None) -> None:
        self.quality = quality

    def capture(self, *, finger: str) -> Capture:
        size = 256
        image = Image.new("L", (size, size), 255)
        draw = ImageDraw.Draw(image)
        seed = hashlib.sha256(finger.encode()).digest()
        cx = size // 2 + seed[0] % 21 - 10
        cy = size // 2 + seed[1] % 21 - 10
        for radius in range(6, size // 2, 7):
            wobble = 1 + (seed[radius % 32] % 5) / 40
            draw.ellipse(
                (cx - radius, cy - radius * wobble, cx + radius, cy + radius * wobble),
                outline=40,
                width=3,
            )
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        quality = self.quality if self.quality is not None else 60 + seed[2] % 35
        return Capture(png=buffer.getvalue(), quality=max(0, min(100, math.floor(quality))),
                       device=self.name)  # fmt: skip


@functools.cache
def fingerprint_device() -> FingerprintDevice:
    """The configured device, made once per process."""
    path = getattr(
        settings, "CONSULATE_FINGERPRINT_DEVICE", "passports.devices.SimulatedFingerprintDevice"
    )
    device: FingerprintDevice = import_string(path)()
    return device


def index_fingers_capture(
    *, device: FingerprintDevice | None, refused: enum.Enum
) -> dict[str, Capture]:
    """Both index fingers from `device` (the configured one when None), each at least
    `FINGERPRINT_MIN_QUALITY`; else `ApplicationError(refused)` naming the poor fingers, and
    nothing is kept. One way for every visit that takes fingerprints (passports, visas)."""
    from .models import Finger

    device = device or fingerprint_device()
    captures = {finger: device.capture(finger=finger) for finger in Finger.values}
    poor = [
        finger for finger, capture in captures.items() if capture.quality < FINGERPRINT_MIN_QUALITY
    ]
    if poor:
        raise ApplicationError(
            refused,
            _(
                "The fingerprint is not clear enough (%(fingers)s): clean the finger and the "
                "scanner, and capture again."
            )
            % {"fingers": ", ".join(str(Finger(finger).label) for finger in poor)},
        )
    return captures


def fingerprints_keep(
    *, model: Any, captures: dict[str, Capture], acting_user: Any, **owner: Any
) -> None:
    """Keep each capture of `index_fingers_capture` as a row of `model` (a passport's or a
    visa's fingerprint: the image encrypted by the model's field), tied to `owner`
    (`application=...`)."""
    for finger, capture in captures.items():
        row = model(
            **owner,
            finger=finger,
            image=base64.b64encode(capture.png).decode("ascii"),
            quality=capture.quality,
            device=capture.device[:60],
            captured_by_id=acting_user.pk,
        )
        set_acting_user(row, acting_user)
        row.save()
