"""Data-augmentation grids: N random variants of one photo, each labelled.

Pure module (numpy and OpenCV; never ``django``, never torch). Each tile applies a
random subset of the classic training augmentations — the kernels that
``v2.RandomHorizontalFlip``, ``v2.RandomResizedCrop``, ``v2.RandomRotation``,
``v2.ColorJitter``, ``v2.GaussianBlur`` and ``v2.RandomErasing`` call in
``torchvision.transforms.v2.functional``. Those kernels are the reference: each one
here repeats torchvision's arithmetic in numpy (the same float32 steps, casts and
rounding), so that the web worker draws a grid without importing torch (~600 MB).
The tests compare every kernel with torchvision's: flips, erasing and grayscale are
identical; the others differ by at most a grey level or two on a few pixels (float
sums in another order; torch's fixed-point antialiased resize).

The random parameters come from our own ``numpy.random.Generator`` seeded per request
rather than from torch's global RNG, so that (a) every tile can say exactly what was
applied, (b) the same seed gives the same grid, and (c) concurrent requests never
disturb each other's randomness.

Images are ``H x W x 3`` ``uint8`` RGB arrays; tiles are square.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from portal.lib.errors import BadInput

MAX_TILES = 24
MIN_TILE_SIZE, MAX_TILE_SIZE = 48, 256
# Rotations beyond this turn digits into other digits or non-digits (6 ↔ 9 at 180°).
DIGIT_SAFE_DEGREES = 15.0
_GAP = 4
_BACKGROUND = (255, 255, 255)

# Probability that each augmentation is applied to a tile (like RandomApply(p=...)).
PROBABILITIES = {
    "resized-crop": 0.6,
    "hflip": 0.4,
    "vflip": 0.1,
    "rotate": 0.3,
    "color-jitter": 0.6,
    "grayscale": 0.15,
    "blur": 0.2,
    "erase": 0.25,
}
# Keys of augmentations that change what a handwritten digit means.
WRONG_FOR_DIGITS = frozenset({"hflip", "vflip", "rotate-large"})


class InvalidAugmentationRequest(BadInput):
    """A tile count or size outside the allowed range (→ 400)."""


@dataclass(frozen=True)
class AppliedOp:
    """One augmentation chosen for a tile, with the parameters drawn for it.

    ``key`` names it (``"hflip"``, ``"rotate"``, ...; a rotation past
    ``DIGIT_SAFE_DEGREES`` is ``"rotate-large"``); ``detail`` gives its numbers in a
    language-neutral form (``"-37°"``, ``"52%"``); ``params`` are what
    ``apply_plan`` passes to the kernel.
    """

    key: str
    detail: str = ""
    params: tuple[float, ...] = ()

    @property
    def wrong_for_digits(self) -> bool:
        return self.key in WRONG_FOR_DIGITS


@dataclass(frozen=True)
class TilePlan:
    """The random draws for one tile: which augmentations, with which parameters."""

    index: int  # 1-based, as drawn on the tile
    ops: tuple[AppliedOp, ...]

    @property
    def wrong_for_digits(self) -> bool:
        return any(op.wrong_for_digits for op in self.ops)


@dataclass(frozen=True)
class AugmentedTile:
    plan: TilePlan
    image: np.ndarray  # tile_size x tile_size x 3 uint8

    @property
    def index(self) -> int:
        return self.plan.index

    @property
    def ops(self) -> tuple[AppliedOp, ...]:
        return self.plan.ops

    @property
    def wrong_for_digits(self) -> bool:
        return self.plan.wrong_for_digits


@dataclass(frozen=True)
class AugmentationGrid:
    """All tiles and the composed grid image (white gaps of 4 px around tiles)."""

    image: np.ndarray
    tiles: tuple[AugmentedTile, ...]
    columns: int
    tile_size: int
    seed: int

    @property
    def rows(self) -> int:
        return math.ceil(len(self.tiles) / self.columns)

    def tile_box(self, index: int) -> tuple[int, int, int, int]:
        """``(x1, y1, x2, y2)`` of tile ``index`` (1-based) in the grid image."""
        return tile_box(index, columns=self.columns, tile_size=self.tile_size)


def tile_box(index: int, *, columns: int, tile_size: int) -> tuple[int, int, int, int]:
    """``(x1, y1, x2, y2)`` of tile ``index`` (1-based) in a grid of ``columns``."""
    row, column = divmod(index - 1, columns)
    x1 = _GAP + column * (tile_size + _GAP)
    y1 = _GAP + row * (tile_size + _GAP)
    return x1, y1, x1 + tile_size, y1 + tile_size


def grid_size(count: int, *, columns: int, tile_size: int) -> tuple[int, int]:
    """``(width, height)`` in pixels of a grid of ``count`` tiles."""
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    return columns * (tile_size + _GAP) + _GAP, rows * (tile_size + _GAP) + _GAP


def square_base(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop ``rgb`` to a square and resize to ``size``: a ``size x size x 3``
    uint8 array, the starting point of every tile."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InvalidAugmentationRequest("Expected an RGB image.")
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = rgb[top : top + side, left : left + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    resized = cv2.resize(square, (size, size), interpolation=interpolation)
    return np.ascontiguousarray(resized)


def _crop_box(rng: np.random.Generator, size: int) -> tuple[int, int, int, int]:
    """RandomResizedCrop's sampling: area share in [0.35, 1], aspect in [3/4, 4/3]."""
    for _ in range(10):
        scale = rng.uniform(0.35, 1.0)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        w = round(math.sqrt(scale * size * size * ratio))
        h = round(math.sqrt(scale * size * size / ratio))
        if 0 < w <= size and 0 < h <= size:
            top = int(rng.integers(0, size - h + 1))
            left = int(rng.integers(0, size - w + 1))
            return top, left, h, w
    return 0, 0, size, size


def plan_tile(rng: np.random.Generator, *, size: int, index: int) -> TilePlan:
    """Draw which augmentations tile ``index`` gets and their parameters.

    Like a v2 transform's ``make_params``: nothing is applied yet, so the plan can be
    shown (and translated) without the image. At least one augmentation is chosen.
    Order: geometry (crop, flips, rotation), colour, then erasing — the order of a
    typical training pipeline.
    """
    chosen = {key for key, p in PROBABILITIES.items() if rng.random() < p}
    if not chosen:
        chosen = {str(rng.choice(sorted(PROBABILITIES)))}
    ops: list[AppliedOp] = []
    if "resized-crop" in chosen:
        top, left, h, w = _crop_box(rng, size)
        share = (w * h) / (size * size)
        ops.append(AppliedOp("resized-crop", f"{share:.0%}", (top, left, h, w)))
    if "hflip" in chosen:
        ops.append(AppliedOp("hflip"))
    if "vflip" in chosen:
        ops.append(AppliedOp("vflip"))
    if "rotate" in chosen:
        # Whole degrees (and rounded factors below) so the label is exactly what ran.
        angle = float(round(rng.uniform(-60.0, 60.0))) + 0.0
        key = "rotate-large" if abs(angle) > DIGIT_SAFE_DEGREES else "rotate"
        ops.append(AppliedOp(key, f"{angle:+.0f}°", (angle,)))
    if "color-jitter" in chosen:
        b, c, s = (round(float(rng.uniform(0.6, 1.4)), 2) for _ in range(3))
        hue = round(float(rng.uniform(-0.05, 0.05)), 2) + 0.0
        detail = f"B×{b:.2f} C×{c:.2f} S×{s:.2f} H{hue:+.2f}"
        ops.append(AppliedOp("color-jitter", detail, (b, c, s, hue)))
    if "grayscale" in chosen:
        ops.append(AppliedOp("grayscale"))
    if "blur" in chosen:
        sigma = round(float(rng.uniform(0.5, 2.5)), 1)
        ops.append(AppliedOp("blur", f"σ={sigma:.1f}", (sigma,)))
    if "erase" in chosen:
        h = int(rng.integers(size // 6, size // 2))
        w = int(rng.integers(size // 6, size // 2))
        top = int(rng.integers(0, size - h + 1))
        left = int(rng.integers(0, size - w + 1))
        noise_seed = int(rng.integers(0, 2**31))
        ops.append(AppliedOp("erase", f"{w}×{h}px", (top, left, h, w, noise_seed)))
    return TilePlan(index=index, ops=tuple(ops))


# --- Kernels: torchvision.transforms.v2.functional's arithmetic on H x W x 3 uint8 ---
# Each is named after the torchvision kernel it follows (float32 where torch
# computes in float32, the same casts and rounding); tests/demos/ml/
# test_augmentation_kernels.py compares every one with torchvision's output.


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Clamp to [0, 255], then truncate: torch's ``clamp_(0, 255).to(uint8)``."""
    return np.clip(values, 0, 255).astype(np.uint8)


def _grayscale_float(image: np.ndarray) -> np.ndarray:
    """``_rgb_to_grayscale_image`` before its cast: float32 luma (ITU-R 601-2)."""
    rgb = image.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return r * np.float32(0.2989) + g * np.float32(0.587) + b * np.float32(0.114)


def _blend(
    image: np.ndarray, other: np.ndarray | np.float32, ratio: float
) -> np.ndarray:
    """``_blend``: ``image * ratio + other * (1 - ratio)``, clamped, then cast."""
    out = image.astype(np.float32) * np.float32(ratio)
    out += np.float32(1.0 - ratio) * np.asarray(other, dtype=np.float32)
    return _to_uint8(out)


def rgb_to_grayscale(image: np.ndarray) -> np.ndarray:
    """``rgb_to_grayscale(num_output_channels=3)``: luma truncated to uint8."""
    gray = _grayscale_float(image).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def adjust_brightness(image: np.ndarray, factor: float) -> np.ndarray:
    return _to_uint8(image.astype(np.float32) * np.float32(factor))


def adjust_contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the mean of the (floored) grayscale image."""
    mean = np.float32(np.floor(_grayscale_float(image)).mean(dtype=np.float64))
    return _blend(image, mean, factor)


def adjust_saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the (floored) grayscale image."""
    gray = np.floor(_grayscale_float(image))[..., None]
    return _blend(image, gray, factor)


def _rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """``_rgb_to_hsv`` (Pillow's formulas) on float32 RGB in [0, 1]."""
    r, g = rgb[..., 0], rgb[..., 1]
    maxc, minc = rgb.max(axis=-1), rgb.min(axis=-1)
    eqc = maxc == minc
    spread = maxc - minc
    one = np.float32(1.0)
    s = spread / np.where(eqc, one, maxc)
    divisor = np.where(eqc, one, spread)
    rc, gc, bc = ((maxc[..., None] - rgb) / divisor[..., None]).transpose(2, 0, 1)
    maxc_is_r = maxc == r
    maxc_is_g = (maxc == g) & ~maxc_is_r
    maxc_is_b = ~maxc_is_r & ~maxc_is_g
    h = (
        (bc - gc) * maxc_is_r
        + (rc + np.float32(2.0) - bc) * maxc_is_g
        + (gc + np.float32(4.0) - rc) * maxc_is_b
    )
    h = np.fmod(h * np.float32(1.0 / 6.0) + one, one)
    return np.stack((h, s, maxc), axis=-1).astype(np.float32)


def _hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """``_hsv_to_rgb``: the six-sector formula, choosing among v, p, q, t."""
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    h6 = h * np.float32(6.0)
    i = np.floor(h6)
    f = h6 - i
    sector = i.astype(np.int32) % 6
    one = np.float32(1.0)
    q = np.clip((one - s * f) * v, 0.0, 1.0)
    t = np.clip((s * f + (one - s)) * v, 0.0, 1.0)
    p = np.clip((one - s) * v, 0.0, 1.0)
    vpqt = np.stack((v, p, q, t), axis=0)
    select = np.array([[0, 2, 1, 1, 3, 0], [3, 0, 0, 2, 1, 1], [1, 1, 3, 0, 0, 2]])
    rows, cols = np.indices(h.shape)
    return np.stack(
        [vpqt[select[c][sector], rows, cols] for c in range(3)], axis=-1
    ).astype(np.float32)


def adjust_hue(image: np.ndarray, factor: float) -> np.ndarray:
    """Shift the hue in HSV; uint8 ↔ float as ``to_dtype(scale=True)`` does."""
    rgb = image.astype(np.float32) * np.float32(1.0 / 255.0)
    hsv = _rgb_to_hsv(rgb)
    hsv[..., 0] = np.mod(hsv[..., 0] + np.float32(factor), np.float32(1.0))
    out = _hsv_to_rgb(hsv) * np.float32(255.0 + 1.0 - 1e-3)
    return out.astype(np.uint8)


def horizontal_flip(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[:, ::-1])


def vertical_flip(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[::-1])


def _gaussian_kernel1d(size: int, sigma: float) -> np.ndarray:
    """``_get_gaussian_kernel1d``: softmax of ``-(x / sigma)²`` on a linspace."""
    lim = (size - 1) / (2.0 * math.sqrt(2.0))
    x = np.linspace(-lim, lim, size, dtype=np.float32)
    logits = -((x / np.float32(sigma)) ** 2)
    weights = np.exp(logits - logits.max())
    return (weights / weights.sum()).astype(np.float32)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``gaussian_blur`` with kernel size ``2 * ceil(2 sigma) + 1``: reflect padding
    (torch's ``reflect`` is OpenCV's ``BORDER_REFLECT_101``), float32, rounded."""
    size = 2 * math.ceil(2 * sigma) + 1
    k = _gaussian_kernel1d(size, sigma)
    kernel = np.outer(k, k).astype(np.float32)
    out = cv2.filter2D(
        image.astype(np.float32), -1, kernel, borderType=cv2.BORDER_REFLECT_101
    )
    return _to_uint8(np.round(out))


def rotate(image: np.ndarray, angle: float) -> np.ndarray:
    """``rotate(interpolation=BILINEAR, fill=0)``: counter-clockwise by ``angle``
    degrees about the image centre, sampled as ``grid_sample(align_corners=False)``
    with zeros outside, times the sampled in-image mask (torch's fill blend)."""
    angle = angle % 360
    height, width = image.shape[:2]
    if angle == 0:
        return image.copy()
    if angle == 180:
        return np.ascontiguousarray(np.rot90(image, 2))
    if height == width and angle in (90, 270):
        return np.ascontiguousarray(np.rot90(image, 1 if angle == 90 else 3))
    theta = math.radians(angle)
    cos, sin = np.float32(math.cos(theta)), np.float32(math.sin(theta))
    xs = np.arange(width, dtype=np.float32) - np.float32((width - 1) * 0.5)
    ys = np.arange(height, dtype=np.float32)[:, None] - np.float32((height - 1) * 0.5)
    src_x = cos * xs - sin * ys + np.float32((width - 1) * 0.5)
    src_y = sin * xs + cos * ys + np.float32((height - 1) * 0.5)
    values = np.concatenate(
        [image.astype(np.float32), np.ones((height, width, 1), np.float32)], axis=2
    )
    sampled = _bilinear_zeros(values, src_x, src_y)
    out = sampled[..., :3] * sampled[..., 3:]
    return _to_uint8(np.round(out))


def _bilinear_zeros(values: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``values`` (H x W x C) at ``(x, y)``, zeros outside."""
    height, width = values.shape[:2]
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    out = np.zeros(x.shape + values.shape[2:], np.float32)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = x0 + dx, y0 + dy
            inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
            picked = values[np.clip(yi, 0, height - 1), np.clip(xi, 0, width - 1)]
            out += np.where(inside[..., None], picked, 0) * (wx * wy)
    return out


def _resample_weights(in_size: int, out_size: int) -> np.ndarray:
    """``out_size x in_size`` antialiased linear weights (Pillow's ``ImagingResample``,
    which ``interpolate(antialias=True)`` follows): a triangle as wide as the scale
    when shrinking, plain bilinear (``align_corners=False``) when enlarging."""
    scale = in_size / out_size
    support = max(scale, 1.0)
    weights = np.zeros((out_size, in_size))
    for i in range(out_size):
        centre = (i + 0.5) * scale
        lo = max(int(centre - support + 0.5), 0)
        hi = min(int(centre + support + 0.5), in_size)
        taps = np.arange(lo, hi)
        w = np.clip(1.0 - np.abs((taps - centre + 0.5) / support), 0.0, None)
        weights[i, lo:hi] = w / w.sum()
    return weights


def resized_crop(
    image: np.ndarray, top: int, left: int, height: int, width: int, size: int
) -> np.ndarray:
    """``resized_crop(..., [size, size], antialias=True)``: crop, then resample
    horizontally and vertically (rounded to uint8 in between, as torch's uint8
    path and Pillow do)."""
    crop = image[top : top + height, left : left + width].astype(np.float64)
    across = _resample_weights(width, size) @ crop  # (size, w) @ (h, w, 3)
    across = np.clip(np.round(across), 0, 255)
    down = (_resample_weights(height, size) @ across.reshape(height, -1)).reshape(
        size, size, 3
    )
    return np.clip(np.round(down), 0, 255).astype(np.uint8)


def erase(
    image: np.ndarray, top: int, left: int, height: int, width: int, value: np.ndarray
) -> np.ndarray:
    """``erase``: the box replaced by ``value`` (height x width x 3)."""
    out = image.copy()
    out[top : top + height, left : left + width] = value
    return out


def apply_plan(base: np.ndarray, plan: TilePlan) -> np.ndarray:
    """Apply ``plan`` to ``base`` (S x S x 3 uint8) → S x S x 3 uint8 RGB."""
    size = base.shape[0]
    image = base
    for op in plan.ops:
        p = op.params
        if op.key == "resized-crop":
            top, left, h, w = (int(v) for v in p)
            image = resized_crop(image, top, left, h, w, size)
        elif op.key == "hflip":
            image = horizontal_flip(image)
        elif op.key == "vflip":
            image = vertical_flip(image)
        elif op.key in ("rotate", "rotate-large"):
            # fill=0 as in v2.RandomRotation (fill=None blends the corners).
            image = rotate(image, p[0])
        elif op.key == "color-jitter":
            image = adjust_brightness(image, p[0])
            image = adjust_contrast(image, p[1])
            image = adjust_saturation(image, p[2])
            image = adjust_hue(image, p[3])
        elif op.key == "grayscale":
            image = rgb_to_grayscale(image)
        elif op.key == "blur":
            image = gaussian_blur(image, p[0])
        elif op.key == "erase":
            top, left, h, w, noise_seed = (int(v) for v in p)
            # Drawn channels-first, as the torch version drew its noise tensor.
            noise = np.random.default_rng(noise_seed).integers(
                0, 256, size=(3, h, w), dtype=np.uint8
            )
            image = erase(image, top, left, h, w, noise.transpose(1, 2, 0))
    return image


def _check_request(count: int, tile_size: int) -> None:
    if not 1 <= count <= MAX_TILES:
        raise InvalidAugmentationRequest(
            f"Choose between 1 and {MAX_TILES} augmented images."
        )
    if not MIN_TILE_SIZE <= tile_size <= MAX_TILE_SIZE:
        raise InvalidAugmentationRequest(
            f"Tile size must be between {MIN_TILE_SIZE} and {MAX_TILE_SIZE} pixels."
        )


def augmentation_plan(
    *, count: int = 8, seed: int = 0, tile_size: int = 160
) -> tuple[TilePlan, ...]:
    """The plans of tiles ``1..count``; tile ``i`` depends only on ``seed`` and ``i``
    (and ``tile_size``), so the same seed gives the same tiles whatever ``count``."""
    _check_request(count, tile_size)
    return tuple(
        plan_tile(np.random.default_rng([seed, index]), size=tile_size, index=index)
        for index in range(1, count + 1)
    )


def _draw_index(tile: np.ndarray, index: int) -> np.ndarray:
    """Number the tile in its top-left corner (digits only: no font file needed)."""
    out = tile.copy()
    text = str(index)
    scale = max(0.4, tile.shape[0] / 320)
    (w, h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(out, (0, 0), (w + 8, h + baseline + 6), (20, 24, 40), -1)
    cv2.putText(
        out,
        text,
        (4, h + 3),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return out


def augmentation_grid(
    rgb: np.ndarray,
    *,
    count: int = 8,
    seed: int = 0,
    tile_size: int = 160,
    columns: int = 4,
) -> AugmentationGrid:
    """``count`` random augmentations of ``rgb`` (any size, H x W x 3 uint8).

    The input is centre-cropped to a square and resized to ``tile_size`` first; the
    grid image's size is ``grid_size(count, columns=columns, tile_size=tile_size)``
    with ``min(columns, count)`` columns and each tile numbered from 1.
    """
    plans = augmentation_plan(count=count, seed=seed, tile_size=tile_size)
    base = square_base(rgb, tile_size)
    tiles = tuple(AugmentedTile(plan, apply_plan(base, plan)) for plan in plans)
    columns = max(1, min(columns, count))
    width, height = grid_size(count, columns=columns, tile_size=tile_size)
    canvas = np.full((height, width, 3), _BACKGROUND, dtype=np.uint8)
    for tile in tiles:
        x1, y1, x2, y2 = tile_box(tile.index, columns=columns, tile_size=tile_size)
        canvas[y1:y2, x1:x2] = _draw_index(tile.image, tile.index)
    return AugmentationGrid(
        image=canvas, tiles=tiles, columns=columns, tile_size=tile_size, seed=seed
    )


def draw_digit(digit: str = "6", size: int = 160) -> np.ndarray:
    """A white handwritten-style ``digit`` on black (like MNIST), ``size`` square RGB.

    Drawn with OpenCV's Hershey script font, so no font file or dataset is needed.
    """
    if len(digit) != 1 or not digit.isdigit():
        raise InvalidAugmentationRequest("Choose a single digit 0-9.")
    canvas = np.zeros((size, size), np.uint8)
    font = cv2.FONT_HERSHEY_SCRIPT_SIMPLEX
    scale = size / 40
    thickness = max(2, size // 14)
    (w, h), _ = cv2.getTextSize(digit, font, scale, thickness)
    origin = ((size - w) // 2, (size + h) // 2)
    cv2.putText(canvas, digit, origin, font, scale, 255, thickness, cv2.LINE_AA)
    return cv2.cvtColor(canvas, cv2.COLOR_GRAY2RGB)
