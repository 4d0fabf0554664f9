"""Data-augmentation grids: N random variants of one photo, each labelled.

Pure module (numpy, OpenCV, torch/torchvision; never ``django``). Each tile applies a
random subset of the classic training augmentations through
``torchvision.transforms.v2.functional`` — the kernels that ``v2.RandomHorizontalFlip``,
``v2.RandomResizedCrop``, ``v2.RandomRotation``, ``v2.ColorJitter``,
``v2.GaussianBlur`` and ``v2.RandomErasing`` call. The random parameters come from our
own ``numpy.random.Generator`` seeded per request rather than from torch's global RNG,
so that (a) every tile can say exactly what was applied, (b) the same seed gives the
same grid, and (c) concurrent requests never disturb each other's randomness.

Images are ``H x W x 3`` ``uint8`` RGB arrays; tiles are square. torch and
torchvision are imported when a grid is first drawn, not with this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from portal.lib.errors import BadInput

if TYPE_CHECKING:
    import torch

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
    ``apply_plan`` passes to the torchvision kernel.
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


def square_base(rgb: np.ndarray, size: int) -> torch.Tensor:
    """Centre-crop ``rgb`` to a square and resize to ``size``: a ``3 x size x size``
    uint8 tensor, the starting point of every tile."""
    import torch

    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InvalidAugmentationRequest("Expected an RGB image.")
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = rgb[top : top + side, left : left + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    resized = cv2.resize(square, (size, size), interpolation=interpolation)
    return torch.from_numpy(np.ascontiguousarray(resized)).permute(2, 0, 1)


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


def apply_plan(base: torch.Tensor, plan: TilePlan) -> np.ndarray:
    """Apply ``plan`` to ``base`` (3 x S x S uint8 tensor) → S x S x 3 uint8 RGB."""
    import torch
    from torchvision.transforms.v2 import functional as F

    size = base.shape[-1]
    image = base
    for op in plan.ops:
        p = op.params
        if op.key == "resized-crop":
            top, left, h, w = (int(v) for v in p)
            image = F.resized_crop(image, top, left, h, w, [size, size], antialias=True)
        elif op.key == "hflip":
            image = F.horizontal_flip(image)
        elif op.key == "vflip":
            image = F.vertical_flip(image)
        elif op.key in ("rotate", "rotate-large"):
            # fill=0 as in v2.RandomRotation (fill=None blends the corners).
            image = F.rotate(
                image, p[0], interpolation=F.InterpolationMode.BILINEAR, fill=0
            )
        elif op.key == "color-jitter":
            image = F.adjust_brightness(image, p[0])
            image = F.adjust_contrast(image, p[1])
            image = F.adjust_saturation(image, p[2])
            image = F.adjust_hue(image, p[3])
        elif op.key == "grayscale":
            image = F.rgb_to_grayscale(image, num_output_channels=3)
        elif op.key == "blur":
            kernel = 2 * math.ceil(2 * p[0]) + 1
            image = F.gaussian_blur(image, [kernel, kernel], [p[0], p[0]])
        elif op.key == "erase":
            top, left, h, w, noise_seed = (int(v) for v in p)
            noise = np.random.default_rng(noise_seed).integers(
                0, 256, size=(3, h, w), dtype=np.uint8
            )
            image = F.erase(image, top, left, h, w, torch.from_numpy(noise))
    return image.permute(1, 2, 0).contiguous().numpy()


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
