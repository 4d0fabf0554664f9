"""Decode uploaded photos safely, re-encode them, cut crops and draw numbered boxes.

Pure module: numpy, Pillow and OpenCV only, never ``django``. Callers pass the size
and pixel caps as an ``ImageLimits`` (views build it from settings). Every refusal is a
``BadInput`` subclass whose message can be shown to the user as it is.

Conventions: images are ``H x W x 3`` ``uint8`` arrays in RGB order; boxes are
``(x1, y1, x2, y2)`` integer pixels of the original (EXIF-rotated) image, ``x2``/``y2``
exclusive, so a box's size is ``x2 - x1`` by ``y2 - y1``.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from portal.lib.errors import TranslatedBadInput, gettext_noop

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
# A 30:1 strip is no photo; it would also become a 1-pixel sliver after resizing.
MAX_ASPECT_RATIO = 30.0
# Box colours (RGB), distinct on photos and for common colour blindness (Okabe-Ito).
_PALETTE = (
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (0, 114, 178),
    (213, 94, 0),
    (204, 121, 167),
)


class ImageRefused(TranslatedBadInput):
    """Base of the refusals below: an English msgid plus its %-format parameters,
    translated by ``str()`` in the request's language (``portal.lib.errors``)."""


class InvalidImage(ImageRefused):
    """Empty, not an image, truncated or corrupt, or too small to analyse."""


class UnsupportedFormat(ImageRefused):
    """A real image (or SVG) in a format outside the allow-list JPEG, PNG, WEBP, GIF."""


class ImageTooLarge(ImageRefused):
    """Too many bytes, too many pixels, a side too long or an extreme aspect ratio."""


@dataclass(frozen=True)
class ImageLimits:
    """Caps checked before any pixel is decoded: bytes, pixels, side lengths.

    ``max_decode_bytes`` bounds the memory one decode allocates (Pillow's own
    buffer at the file's mode, plus the RGB working copy); ``max_working_pixels``
    is the size photos are decoded *to*: larger ones are decoded at a reduced size
    (JPEG's DCT scaling via ``draft``, else ``reduce``), so a tiny file declaring
    40 megapixels costs what an ordinary photo costs.
    """

    max_bytes: int
    max_pixels: int
    max_side: int
    min_side: int
    max_decode_bytes: int = 256 * 2**20
    max_working_pixels: int = 16_000_000


@dataclass(frozen=True)
class DecodedImage:
    """An upload decoded to upright RGB; ``sha256`` is of the uploaded bytes."""

    rgb: np.ndarray
    format: str
    sha256: str

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def _looks_like_markup(data: bytes) -> bool:
    head = data[:1024].lstrip().lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def _open(data: bytes) -> Image.Image:
    """Open lazily (header only) and map Pillow's failures to our exceptions."""
    try:
        with warnings.catch_warnings():
            # Our own pixel cap (below) is the rule; Pillow's warning is noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(
            gettext_noop("The image has far too many pixels to be processed safely.")
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if _looks_like_markup(data):
            raise UnsupportedFormat(
                gettext_noop(
                    "SVG and other markup files are not accepted; "
                    "upload a JPEG, PNG, WEBP or GIF photo."
                )
            ) from exc
        raise InvalidImage(
            gettext_noop(
                "This file is not an image we can read; "
                "upload a JPEG, PNG, WEBP or GIF photo."
            )
        ) from exc


def _check_header(image: Image.Image, limits: ImageLimits) -> None:
    width, height = image.size
    size = {"width": width, "height": height}
    if width * height > limits.max_pixels:
        raise ImageTooLarge(
            gettext_noop(
                "The image has %(pixels).1f megapixels; "
                "the limit is %(limit).0f megapixels."
            ),
            pixels=width * height / 1e6,
            limit=limits.max_pixels / 1e6,
        )
    if max(width, height) > limits.max_side:
        raise ImageTooLarge(
            gettext_noop(
                "The image is %(width)dx%(height)d pixels; "
                "no side may be longer than %(limit)d pixels."
            ),
            limit=limits.max_side,
            **size,
        )
    if min(width, height) < limits.min_side:
        raise InvalidImage(
            gettext_noop(
                "The image is only %(width)dx%(height)d pixels; "
                "each side must be at least %(limit)d pixels."
            ),
            limit=limits.min_side,
            **size,
        )
    if max(width, height) / min(width, height) > MAX_ASPECT_RATIO:
        raise ImageTooLarge(
            gettext_noop(
                "The image is %(width)dx%(height)d pixels, an extreme aspect ratio; "
                "upload a photo at most %(limit)d times longer than wide."
            ),
            limit=int(MAX_ASPECT_RATIO),
            **size,
        )


# Bytes per pixel of Pillow's in-memory buffer by mode: a 1-bit image is stored a
# byte per pixel, RGB in four. Unknown modes count as four.
_STORAGE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2}
# Bytes per working pixel after the load: the RGB image (4) and the array (3) plus
# the buffer numpy copies from (3).
_WORKING_BYTES = 10


def _reduction_factor(pixels: int, working_pixels: int) -> int:
    """Smallest integer factor that brings ``pixels`` down to ``working_pixels``."""
    factor = 1
    while pixels / (factor * factor) > working_pixels:
        factor += 1
    return factor


def decode_cost(mode: str, size: tuple[int, int], limits: ImageLimits) -> int:
    """Bytes a decode of an image of ``mode`` and ``size`` allocates at its peak.

    Pillow's buffer at the loaded size, plus the RGB working copy at the working
    size (after ``reduce``). Used before any pixel is decoded.
    """
    width, height = size
    pixels = width * height
    factor = _reduction_factor(pixels, limits.max_working_pixels)
    working = (width // factor) * (height // factor)
    return pixels * _STORAGE_BYTES.get(mode, 4) + working * _WORKING_BYTES


def _draft_to_working_size(image: Image.Image, limits: ImageLimits) -> None:
    """JPEG only: decode at 1/2, 1/4 or 1/8 scale when the photo is larger than
    the working size (DCT scaling: the full-size pixels are never allocated)."""
    width, height = image.size
    factor = _reduction_factor(width * height, limits.max_working_pixels)
    if image.format in ("JPEG", "MPO") and factor > 1:
        image.draft(image.mode, (-(-width // factor), -(-height // factor)))


def _check_decode_cost(image: Image.Image, limits: ImageLimits) -> None:
    cost = decode_cost(image.mode, image.size, limits)
    if cost > limits.max_decode_bytes:
        raise ImageTooLarge(
            gettext_noop(
                "Decoding this %(width)dx%(height)d image would take %(cost)d MB of "
                "memory; the limit is %(limit)d MB. Upload a smaller photo or a JPEG."
            ),
            width=image.size[0],
            height=image.size[1],
            cost=cost // 2**20,
            limit=limits.max_decode_bytes // 2**20,
        )


def _reduce_to_working_size(image: Image.Image, limits: ImageLimits) -> Image.Image:
    """Shrink by an integer factor to at most ``max_working_pixels``, before the
    RGB conversion (so the 3-4 bytes per pixel are paid at the small size)."""
    width, height = image.size
    factor = _reduction_factor(width * height, limits.max_working_pixels)
    if factor == 1:
        return image
    try:
        return image.reduce(factor)  # box average; 8- and 32-bit modes
    except ValueError:
        # 1-bit, palette and 16-bit modes: nearest keeps palette indices valid.
        size = (max(1, width // factor), max(1, height // factor))
        return image.resize(size, Image.Resampling.NEAREST)


def _wide_to_uint8(image: Image.Image) -> Image.Image:
    """16-bit / 32-bit / float greyscale → 8-bit L by scaling, not clipping."""
    values = np.asarray(image)
    if image.mode.startswith("I;16") or (image.mode == "I" and values.max() > 255):
        scaled = values.astype(np.float64) / 257.0
    elif image.mode == "F" and values.max() <= 1.0:
        scaled = values.astype(np.float64) * 255.0
    else:
        scaled = values.astype(np.float64)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode → RGB; transparency is flattened onto white."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        image = _wide_to_uint8(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


# EXIF orientation → the transpose that makes the photo upright (as Pillow's
# ``ImageOps.exif_transpose``, which also rewrites the EXIF block and so fails on
# a malformed tag such as an XResolution stored as text).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; as stored if EXIF is unreadable.

    Only the pixels are kept, so the rest of the EXIF block is never parsed again.
    """
    try:
        orientation = image.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - broken EXIF must not cost the photo
        return image
    method = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return image.transpose(method) if method is not None else image


def decode_image(data: bytes, limits: ImageLimits) -> DecodedImage:
    """Decode uploaded bytes to an upright ``H x W x 3`` ``uint8`` RGB array.

    Checks, in order: empty file, byte cap, format (JPEG/PNG/WEBP/GIF; SVG and
    others refused), pixel cap, side limits and decode cost (``decode_cost``)
    read from the header *before* decoding, then a full decode (truncated files
    refused). Images above ``limits.max_working_pixels`` come back reduced by an
    integer factor (JPEG decoded at that scale directly). EXIF orientation is
    applied; CMYK, 16-bit, palette, greyscale and alpha images become RGB; a GIF
    or an MPO (a phone's JPEG with a second image) contributes its first frame.
    Trailing bytes after the image (polyglots) are ignored because only decoded
    pixels survive.

    Any other failure inside Pillow on a hostile file (a ``TypeError`` from a
    malformed tag, say) is that file's fault too: ``InvalidImage``, never a 500.
    """
    try:
        return _decode(data, limits)
    except (ImageRefused, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - every decoder bug is a refused file
        raise InvalidImage(
            gettext_noop(
                "This file is not an image we can read; "
                "upload a JPEG, PNG, WEBP or GIF photo."
            )
        ) from exc


def _decode(data: bytes, limits: ImageLimits) -> DecodedImage:
    if not data:
        raise InvalidImage(gettext_noop("The file is empty."))
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(
            gettext_noop("The file is %(size).1f MB; the limit is %(limit).1f MB."),
            size=len(data) / (1024 * 1024),
            limit=limits.max_bytes / (1024 * 1024),
        )
    image = _open(data)
    fmt = (image.format or "").upper()
    if fmt == "MPO":  # a phone's JPEG with a depth map or second image: frame 1
        fmt = "JPEG"
    if fmt not in ALLOWED_FORMATS:
        raise UnsupportedFormat(
            gettext_noop(
                "%(format)s images are not accepted; "
                "upload a JPEG, PNG, WEBP or GIF photo."
            ),
            format=fmt or "?",
        )
    _check_header(image, limits)
    _draft_to_working_size(image, limits)
    _check_decode_cost(image, limits)
    try:
        image.seek(0)  # first frame of an animation
        image.load()
        working = _reduce_to_working_size(image, limits)
        if working is not image:
            image.close()  # the full-size buffer goes before the RGB copy is made
        upright = _upright(working)
        rgb = _to_rgb(upright)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidImage(
            gettext_noop(
                "The image is corrupt or truncated; upload the complete file again."
            )
        ) from exc
    finally:
        image.close()
    array = np.array(rgb, dtype=np.uint8)  # a writable copy, unlike np.asarray
    return DecodedImage(rgb=array, format=fmt, sha256=hashlib.sha256(data).hexdigest())


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    """Re-encode an RGB array as a baseline JPEG with no EXIF, GPS or comments."""
    buffer = io.BytesIO()
    Image.fromarray(_as_rgb_uint8(rgb), "RGB").save(
        buffer, "JPEG", quality=quality, optimize=True
    )
    return buffer.getvalue()


def encode_png(rgb: np.ndarray) -> bytes:
    """Re-encode an RGB array as a PNG with no metadata chunks."""
    buffer = io.BytesIO()
    Image.fromarray(_as_rgb_uint8(rgb), "RGB").save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def _as_rgb_uint8(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 array, got {rgb.shape} {rgb.dtype}")
    return np.ascontiguousarray(rgb)


def crop_box(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Copy of the pixels inside ``box`` = (x1, y1, x2, y2); size (y2-y1, x2-x1, 3).

    The box must lie inside the image and be non-empty (detectors clip theirs), so
    the crop's pixel size always equals the box's: no padding, no drawing.
    """
    x1, y1, x2, y2 = (int(v) for v in box)
    height, width = rgb.shape[:2]
    if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
        raise ValueError(f"box {box} is empty or outside the {width}x{height} image")
    return rgb[y1:y2, x1:x2].copy()


def _ascii(label: str) -> str:
    # OpenCV's Hershey fonts draw ASCII only; labels here are numbers and scores.
    return label.encode("ascii", "replace").decode("ascii")


def _dashed_rectangle(
    out: np.ndarray,
    box: tuple[int, int, int, int],
    colour: tuple[int, int, int],
    thickness: int,
) -> None:
    """Outline ``box`` (inclusive corners) with dashes ``4 x thickness`` long."""
    x1, y1, x2, y2 = box
    dash, gap = 4 * thickness, 3 * thickness
    corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2), (x1, y1)]
    for (ax, ay), (bx, by) in zip(corners, corners[1:], strict=False):
        length = max(abs(bx - ax), abs(by - ay))
        for start in range(0, max(length, 1), dash + gap):
            end = min(start + dash, length)
            t0, t1 = start / max(length, 1), end / max(length, 1)
            cv2.line(
                out,
                (round(ax + (bx - ax) * t0), round(ay + (by - ay) * t0)),
                (round(ax + (bx - ax) * t1), round(ay + (by - ay) * t1)),
                colour,
                thickness,
                cv2.LINE_AA,
            )


def draw_boxes(
    rgb: np.ndarray,
    boxes: Sequence[tuple[int, int, int, int]],
    labels: Sequence[str],
    dashed: Sequence[bool] | None = None,
    colours: Sequence[int] | None = None,
) -> np.ndarray:
    """Copy of ``rgb`` with each box outlined and its label on a filled tag.

    ``dashed[i]`` outlines box ``i`` with dashes (an unsure person);
    ``colours[i]`` picks its palette entry (default: its position), so a person
    keeps its colour when other boxes are hidden.

    Line width and font size scale with the image's shorter side, so numbers stay
    readable on a 300 px thumbnail and on a 4000 px photo. Tags sit above the box,
    or inside it when the box touches the top edge. Labels should be ASCII.
    """
    if len(boxes) != len(labels):
        raise ValueError("boxes and labels must have the same length")
    out = np.ascontiguousarray(rgb.copy())
    height, width = out.shape[:2]
    short = min(height, width)
    thickness = max(2, round(short / 250))
    font_scale = max(0.5, short / 700)
    font_thickness = max(1, round(font_scale * 1.6))
    font = cv2.FONT_HERSHEY_SIMPLEX
    for index, (box, label) in enumerate(zip(boxes, labels, strict=True)):
        x1, y1, x2, y2 = (int(v) for v in box)
        slot = colours[index] if colours is not None else index
        colour = _PALETTE[slot % len(_PALETTE)]
        if dashed is not None and dashed[index]:
            _dashed_rectangle(out, (x1, y1, x2 - 1, y2 - 1), colour, thickness)
        else:
            cv2.rectangle(
                out, (x1, y1), (x2 - 1, y2 - 1), colour, thickness, cv2.LINE_AA
            )
        text = _ascii(label)
        if not text:
            continue
        (text_w, text_h), baseline = cv2.getTextSize(
            text, font, font_scale, font_thickness
        )
        pad = max(2, thickness)
        tag_h = text_h + baseline + 2 * pad
        tag_w = text_w + 2 * pad
        tag_x = min(max(0, x1), max(0, width - tag_w))
        tag_y = y1 - tag_h if y1 - tag_h >= 0 else max(0, y1)
        cv2.rectangle(
            out, (tag_x, tag_y), (tag_x + tag_w, tag_y + tag_h), colour, cv2.FILLED
        )
        # Dark text on the light palette colours, white on the dark ones.
        luminance = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
        ink = (0, 0, 0) if luminance > 140 else (255, 255, 255)
        cv2.putText(
            out,
            text,
            (tag_x + pad, tag_y + pad + text_h),
            font,
            font_scale,
            ink,
            font_thickness,
            cv2.LINE_AA,
        )
    return out


def make_thumbnail(rgb: np.ndarray, max_side: int = 320) -> np.ndarray:
    """Copy scaled down (never up) so the longer side is at most ``max_side``."""
    height, width = rgb.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return rgb.copy()
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
