"""The portal's person counter: PicoDet-S at 640, adaptive tiles, a doubt range.

Pure module: numpy only (the detectors it wraps bring onnxruntime), never
``django``. Chosen on both dev sets in ``bench/choose_default.py`` (the figures are
in ``bench/README.md``):

- one PicoDet-S pass over the whole photo at a 640 input (the 416 weights,
  re-shaped by ``resize.py``) finds about twice as many people under 32x32 px as
  the 416 input;
- on photos at least 1280 px long in which that pass saw small people, the same
  detector also runs on 2x2 overlapping tiles; boxes cut by an inner tile edge are
  dropped and the rest merged with the whole photo's (``tiling.py``);
- boxes of people under 32x32 px get ``small_bonus`` added to their score, so one
  threshold fits small and large people (the count error on crowded scenes falls
  by a tenth);
- ``count_range`` turns the scores into what the portal can promise: boxes at or
  above ``sure`` are counted as certain (``count_low``), those between ``maybe``
  and ``sure`` may be people (``count_high`` counts them too).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from demos.ml.detection.boxes import PersonBox, PersonDetector, to_person_boxes
from demos.ml.detection.tiling import (
    drop_edge_fragments,
    merge_passes,
    needs_tiles,
    tile_grid,
)

SMALL_AREA = 32 * 32  # COCO's "small": under 32x32 px in the photo


@dataclass(frozen=True)
class CountRange:
    """What a run can promise: ``low`` sure people, up to ``high`` with the unsure."""

    low: int
    high: int
    unsure: tuple[PersonBox, ...]


def count_range(boxes: Sequence[PersonBox], sure: float, maybe: float) -> CountRange:
    """Sure count, count with the unsure boxes, and the unsure boxes themselves.

    ``sure`` >= ``maybe`` are score cut-offs (0..1) calibrated on the dev sets:
    ``low`` counts boxes scoring >= ``sure``; ``unsure`` are the boxes scoring in
    ``[maybe, sure)``, in the order given; ``high = low + len(unsure)``.
    """
    if maybe > sure:
        raise ValueError("maybe must not exceed sure")
    low = sum(1 for b in boxes if b.score >= sure)
    unsure = tuple(b for b in boxes if maybe <= b.score < sure)
    return CountRange(low, low + len(unsure), unsure)


class TiledPersonDetector:
    """A detector on the whole photo, on tiles when the photo needs it, sizes fair.

    ``whole`` is any ``PersonDetector`` (the portal passes PicoDet-S at 640); it
    also runs on the tiles. Returns ``PersonBox`` es like every detector: at or
    above ``floor_score`` (after the small-person bonus), clipped, sorted.
    """

    def __init__(
        self,
        whole: PersonDetector,
        key: str,
        *,
        input_size: int,
        grid: tuple[int, int] = (2, 2),
        overlap: float = 0.2,
        min_photo_side: int = 1280,
        small_side: float = 24,
        small_bonus: float = 0.06,
    ) -> None:
        self.whole = whole
        self.key = key
        self.input_size = input_size
        self.grid = grid
        self.overlap = overlap
        self.min_photo_side = min_photo_side
        self.small_side = small_side
        self.small_bonus = small_bonus

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]:
        height, width = rgb.shape[:2]
        # Asked at the floor itself (as calibrated): asking below it for boxes the
        # bonus could lift would decode thousands of near-zero cells for nothing.
        floor = floor_score
        boxes, scores = _arrays(self.whole.detect(rgb, floor))
        if needs_tiles(
            boxes,
            scores,
            width,
            height,
            input_size=self.input_size,
            small_side=self.small_side,
            min_score=0.3,
            min_photo_side=self.min_photo_side,
        ):
            tiled = [_arrays([])]
            for tile in tile_grid(width, height, *self.grid, self.overlap):
                x1, y1, x2, y2 = tile
                found = self.whole.detect(
                    np.ascontiguousarray(rgb[y1:y2, x1:x2]), floor
                )
                tile_boxes, tile_scores = _arrays(found)
                tile_boxes += [x1, y1, x1, y1]
                keep = drop_edge_fragments(tile_boxes, tile, width, height)
                tiled.append((tile_boxes[keep], tile_scores[keep]))
            merged = merge_passes(
                [
                    (boxes, scores),
                    (
                        np.concatenate([b for b, _s in tiled]),
                        np.concatenate([s for _b, s in tiled]),
                    ),
                ]
            )
            boxes, scores = merged.boxes, merged.scores
        area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
        scores = np.minimum(scores + self.small_bonus * (area < SMALL_AREA), 1.0)
        # The passes are already suppressed or merged: no second NMS (IoU 1 keeps all).
        return to_person_boxes(boxes, scores, width, height, floor_score, 1.0)


def _arrays(found: Sequence[PersonBox]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([b.box for b in found], dtype=np.float64).reshape(-1, 4),
        np.array([b.score for b in found], dtype=np.float64),
    )


# The result page's "how it works" panel for the counter: its own code, as it runs.
HOW_IT_WORKS = inspect.getsource(TiledPersonDetector.detect)
