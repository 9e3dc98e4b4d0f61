"""Synthetic passport photos for the photo checks' tests.

Nothing here is a photograph of a person and nothing is downloaded: each face is drawn with
Pillow and numpy from classical proportions (the eyes halfway between crown and chin, the
brows a little above them, the nose's base at 70% and the mouth at 80% of the head), shaded
so that OpenCV's Haar cascades see what they were trained on: an eye band darker than the
cheeks, a lighter nose bridge between the eyes, dark irises in white sclera.

`photo_draw()` draws the good photo; every bad kind is the good photo with one thing changed,
so a test that expects one problem code sees exactly that one.
"""

import io
import random
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SKIN = (224, 182, 150)
HAIR = (58, 40, 30)
CLOTHES = (48, 62, 92)
BACKGROUND = (236, 236, 234)


@dataclass(frozen=True, kw_only=True)
class PhotoSpec:
    """What to draw. The defaults are a compliant 35x45 mm photo at 508 dpi (700 x 900)."""

    width: int = 700
    height: int = 900
    # Crown (top of the hair) to chin, as a share of the image height: ICAO wants 70-80%.
    head_fraction: float = 0.75
    # Horizontal centre of the head, as a share of the image width.
    centre_x: float = 0.5
    eyes_closed: bool = False
    # Dark lenses over both eyes.
    sunglasses: bool = False
    tilt_degrees: float = 0.0
    background: tuple[int, int, int] = BACKGROUND
    busy_background: bool = False
    # Darkens one side of the background as a lamp from the other side would.
    shadow_side: str | None = None
    blur_radius: float = 0.0
    # Multiplies every pixel: above 1 over-exposes, below 1 under-exposes.
    exposure: float = 1.0
    faces: int = 1
    skin: tuple[int, int, int] = SKIN
    seed: int = 9303


def _person_draw(
    *, size: tuple[int, int], cx: float, top: float, head: float, skin: tuple[int, int, int]
) -> Image.Image:
    """One head and shoulders on a transparent layer; `head` is crown-to-chin in pixels."""
    w, h = size
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return (
            round(cx + x0 * head),
            round(top + y0 * head),
            round(cx + x1 * head),
            round(top + y1 * head),
        )

    # Shoulders and clothes, then the neck, both under the head.
    draw.ellipse(box(-0.85, 1.02, 0.85, 2.2), fill=(*CLOTHES, 255))
    draw.rectangle(box(-0.15, 0.8, 0.15, 1.12), fill=_tone(skin, 0.875))
    draw.ellipse(box(-0.15, 1.0, 0.15, 1.18), fill=_tone(skin, 0.875))
    # Hair behind the face: its top is the crown.
    draw.ellipse(box(-0.38, 0.0, 0.38, 0.72), fill=(*HAIR, 255))
    # Ears.
    draw.ellipse(box(-0.40, 0.42, -0.31, 0.62), fill=_tone(skin, 0.94))
    draw.ellipse(box(0.31, 0.42, 0.40, 0.62), fill=_tone(skin, 0.94))
    layer_face = _face_shaded(size=size, cx=cx, top=top, head=head, skin=skin)
    layer.alpha_composite(layer_face)
    draw = ImageDraw.Draw(layer)
    # Fringe over the forehead.
    draw.chord(box(-0.36, 0.02, 0.36, 0.44), 180, 360, fill=(*HAIR, 255))

    for side in (-1, 1):
        ex = side * 0.165
        # Brows.
        draw.line(
            [
                box(ex - 0.08, 0.425, ex + 0.08, 0.425)[:2],
                box(ex, 0.405, ex, 0.405)[:2],
                box(ex + 0.08, 0.425, ex + 0.08, 0.425)[:2],
            ][::side],
            fill=(*HAIR, 255),
            width=max(2, round(head * 0.022)),
            joint="curve",
        )
        # Sclera, iris, pupil, upper lid line.
        draw.ellipse(box(ex - 0.065, 0.478, ex + 0.065, 0.522), fill=(245, 245, 240, 255))
        draw.ellipse(box(ex - 0.024, 0.476, ex + 0.024, 0.524), fill=(70, 45, 30, 255))
        draw.ellipse(box(ex - 0.011, 0.489, ex + 0.011, 0.511), fill=(10, 8, 8, 255))
        draw.arc(
            box(ex - 0.068, 0.474, ex + 0.068, 0.53),
            180,
            360,
            fill=(40, 28, 24, 255),
            width=max(2, round(head * 0.008)),
        )

    # Nose: the shadow down one side and the nostrils.
    draw.line(
        [box(0.03, 0.52, 0, 0)[:2], box(0.045, 0.68, 0, 0)[:2]],
        fill=_tone(skin, 0.85),
        width=max(2, round(head * 0.012)),
    )
    draw.ellipse(box(-0.05, 0.685, -0.02, 0.705), fill=(120, 80, 65, 255))
    draw.ellipse(box(0.02, 0.685, 0.05, 0.705), fill=(120, 80, 65, 255))
    # Mouth: lips and the dark line between them.
    draw.ellipse(box(-0.1, 0.78, 0.1, 0.83), fill=(170, 90, 85, 255))
    draw.line(
        [box(-0.1, 0.805, 0, 0)[:2], box(0.1, 0.805, 0, 0)[:2]],
        fill=(100, 50, 50, 255),
        width=max(1, round(head * 0.006)),
    )
    return layer


def _face_shaded(
    *, size: tuple[int, int], cx: float, top: float, head: float, skin: tuple[int, int, int]
) -> Image.Image:
    """The face's oval with light from the front: bright in the middle, darker at the edges,
    and darker eye sockets, which is the contrast the Haar features look for."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (xs - cx) / (0.33 * head)
    v = (ys - (top + 0.58 * head)) / (0.42 * head)
    r2 = u * u + v * v
    shade = 1.0 - 0.28 * np.clip(r2, 0, 1) ** 1.5
    for side in (-1, 1):
        eu = (xs - (cx + side * 0.165 * head)) / (0.11 * head)
        ev = (ys - (top + 0.49 * head)) / (0.07 * head)
        shade -= 0.22 * np.exp(-(eu * eu + ev * ev))
    # The nose bridge catches the light.
    bu = (xs - cx) / (0.04 * head)
    bv = (ys - (top + 0.56 * head)) / (0.12 * head)
    shade += 0.08 * np.exp(-(bu * bu + bv * bv))
    rgb = np.clip(np.array(skin, np.float32)[None, None, :] * shade[..., None], 0, 255)
    alpha = np.where(r2 <= 1.0, 255, 0).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb.astype(np.uint8), alpha]), "RGBA")


def _tone(skin: tuple[int, int, int], factor: float) -> tuple[int, int, int, int]:
    """A shade of the skin (the neck in shadow, the ears, the lids), opaque."""
    r, g, b = (round(channel * factor) for channel in skin)
    return (r, g, b, 255)


def _background_draw(spec: PhotoSpec) -> Image.Image:
    image = Image.new("RGB", (spec.width, spec.height), spec.background)
    if spec.busy_background:
        rng = random.Random(spec.seed)
        draw = ImageDraw.Draw(image)
        for _ in range(120):
            x, y = rng.randrange(spec.width), rng.randrange(spec.height)
            s = rng.randrange(20, 120)
            level = rng.randrange(90, 256)
            draw.rectangle((x, y, x + s, y + s // 2), fill=(level, level, level))
    if spec.shadow_side:
        arr = np.asarray(image, np.float32)
        ramp = np.linspace(0.55, 1.0, spec.width, dtype=np.float32)
        if spec.shadow_side == "right":
            ramp = ramp[::-1]
        arr *= ramp[None, :, None]
        image = Image.fromarray(arr.astype(np.uint8), "RGB")
    return image


def photo_draw(spec: PhotoSpec | None = None) -> Image.Image:
    """The photo `spec` describes, as an RGB Pillow image."""
    spec = spec or PhotoSpec()
    image = _background_draw(spec)
    head = spec.head_fraction * spec.height
    if spec.faces == 0:
        people = []
    elif spec.faces == 1:
        people = [(spec.centre_x * spec.width, head)]
    else:
        # Several people side by side, each small enough to fit.
        head = min(head, spec.width / spec.faces * 1.1)
        people = [((i + 0.5) * spec.width / spec.faces, head) for i in range(spec.faces)]
    for cx, head_px in people:
        top = (spec.height - head_px) * 0.42
        person = _person_draw(size=image.size, cx=cx, top=top, head=head_px, skin=spec.skin)
        if spec.eyes_closed:
            _eyes_close(person, cx=cx, top=top, head=head_px, skin=spec.skin)
        if spec.sunglasses:
            _sunglasses_draw(person, cx=cx, top=top, head=head_px)
        if spec.tilt_degrees:
            person = person.rotate(
                spec.tilt_degrees,
                resample=Image.Resampling.BICUBIC,
                center=(cx, top + 0.5 * head_px),
            )
        image.paste(person, (0, 0), person)
    # A camera's slight softness and sensor noise: drawn edges are sharper than any lens.
    image = image.filter(ImageFilter.GaussianBlur(0.8))
    arr = np.asarray(image, np.float32)
    arr += np.random.default_rng(spec.seed).normal(0, 2.0, arr.shape).astype(np.float32)
    if spec.exposure != 1.0:
        arr = arr * spec.exposure
    image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    if spec.blur_radius:
        image = image.filter(ImageFilter.GaussianBlur(spec.blur_radius))
    return image


def _eyes_close(
    person: Image.Image, *, cx: float, top: float, head: float, skin: tuple[int, int, int]
) -> None:
    """Lids over both eyes: skin where the sclera was, and a dark lash line."""
    draw = ImageDraw.Draw(person)
    for side in (-1, 1):
        ex = cx + side * 0.165 * head
        draw.ellipse(
            (ex - 0.072 * head, top + 0.47 * head, ex + 0.072 * head, top + 0.53 * head),
            fill=_tone(skin, 0.89),
        )
        draw.arc(
            (ex - 0.068 * head, top + 0.44 * head, ex + 0.068 * head, top + 0.515 * head),
            20,
            160,
            fill=(40, 28, 24, 255),
            width=max(2, round(head * 0.008)),
        )


def _sunglasses_draw(person: Image.Image, *, cx: float, top: float, head: float) -> None:
    draw = ImageDraw.Draw(person)
    for side in (-1, 1):
        ex = cx + side * 0.165 * head
        draw.rounded_rectangle(
            (ex - 0.09 * head, top + 0.455 * head, ex + 0.09 * head, top + 0.55 * head),
            radius=round(0.03 * head),
            fill=(25, 25, 30, 255),
        )
    draw.line(
        [(cx - 0.075 * head, top + 0.48 * head), (cx + 0.075 * head, top + 0.48 * head)],
        fill=(25, 25, 30, 255),
        width=max(2, round(head * 0.01)),
    )


def photo_bytes(spec: PhotoSpec | None = None, *, fmt: str = "JPEG", **save: object) -> bytes:
    """The photo encoded as an upload would arrive."""
    out = io.BytesIO()
    photo_draw(spec).save(out, fmt, **save)
    return out.getvalue()


def spec_vary(**changes: object) -> PhotoSpec:
    """The good photo with some things changed."""
    return replace(PhotoSpec(), **changes)  # type: ignore[arg-type]
