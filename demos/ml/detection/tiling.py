"""Sliced (tiled) inference for small people: tiles, edge fragments, one merge.

Pure module: numpy only, never ``django``. A detector that sees a photo shrunk to
its 416 px input misses people a few dozen pixels tall; running it again on
overlapping tiles of the photo (each tile fed at the same input size, so people
look bigger) finds many of them. The tiles' boxes and the whole-photo pass's boxes
are then merged into one list.

Conventions: boxes are ``(N, 4)`` float arrays ``(x1, y1, x2, y2)`` in pixels of the
original photo, scores ``(N,)`` in 0..1. A tile is ``(x1, y1, x2, y2)`` ints.

Stages, each testable on its own: ``tile_grid`` (where the tiles go),
``drop_edge_fragments`` (a box cut by an inner tile edge is half a person: the
neighbouring tile or the whole photo sees all of them), ``merge_passes`` (the whole
photo's boxes plus every tile's, fused by weighted boxes over agreeing passes so
that a person found twice counts once), and ``needs_tiles`` (the adaptive rule:
tile only photos big enough for it to matter in which the whole-photo pass saw
small people).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Tile = tuple[int, int, int, int]

# A box within this many pixels of an inner tile edge was cut by it.
EDGE_MARGIN = 3
# Two boxes of different passes overlapping more than this are one person.
MERGE_IOU = 0.5
# Or, when set below 1, when the smaller lies mostly inside the larger. Off by
# default: in a group a child in front of an adult lies inside the adult's box.
MERGE_IOS = 1.01


def tile_grid(
    width: int, height: int, columns: int, rows: int, overlap: float
) -> list[Tile]:
    """``columns x rows`` equal tiles covering a ``width x height`` photo.

    Neighbouring tiles share ``overlap`` (0..0.5) of a tile's side, so a person cut by
    one tile's edge lies whole inside the next. Tiles are listed row by row, left to
    right; the last column/row ends exactly at the photo's edge.

    >>> tile_grid(100, 50, 2, 1, 0.2)
    [(0, 0, 56, 50), (44, 0, 100, 50)]
    """
    if not 0 <= overlap < 1:
        raise ValueError("overlap must be in 0..1")

    def spans(length: int, count: int) -> list[tuple[int, int]]:
        if count <= 1:
            return [(0, length)]
        side = math.ceil(length / (count - (count - 1) * overlap))
        side = min(side, length)
        starts = np.linspace(0, length - side, count)
        return [(round(s), round(s) + side) for s in starts]

    return [
        (x1, y1, x2, y2)
        for y1, y2 in spans(height, rows)
        for x1, x2 in spans(width, columns)
    ]


def drop_edge_fragments(
    boxes: np.ndarray, tile: Tile, width: int, height: int, margin: int = EDGE_MARGIN
) -> np.ndarray:
    """Mask of the tile's boxes to keep: ``False`` for those touching an inner edge.

    ``boxes`` are in photo pixels. An edge of the tile that is also the photo's edge
    cuts nobody, so boxes touching it are kept.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x1, y1, x2, y2 = tile
    cut = np.zeros(len(boxes), dtype=bool)
    if x1 > 0:
        cut |= boxes[:, 0] <= x1 + margin
    if y1 > 0:
        cut |= boxes[:, 1] <= y1 + margin
    if x2 < width:
        cut |= boxes[:, 2] >= x2 - margin
    if y2 < height:
        cut |= boxes[:, 3] >= y2 - margin
    return ~cut


def overlaps(box: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IoU and IoS (intersection over the smaller area) of one box with each row."""
    lt = np.maximum(box[:2], others[:, :2])
    rb = np.minimum(box[2:], others[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(others[:, 2:] - others[:, :2], axis=1)
    iou = inter / np.maximum(area + areas - inter, 1e-9)
    ios = inter / np.maximum(np.minimum(area, areas), 1e-9)
    return iou, ios


@dataclass(frozen=True)
class Merged:
    """Merged boxes ``(N, 4)``, scores ``(N,)`` and how many passes found each."""

    boxes: np.ndarray
    scores: np.ndarray
    votes: np.ndarray


def merge_passes(
    passes: Sequence[tuple[np.ndarray, np.ndarray]],
    weights: Sequence[float] | None = None,
    iou_threshold: float = MERGE_IOU,
    ios_threshold: float = MERGE_IOS,
) -> Merged:
    """Greedy non-maximum *merging* of several passes' boxes of one photo.

    ``passes[i] = (boxes (N_i, 4), scores (N_i,))``. Boxes are taken in falling
    score order; each starts a cluster that swallows every remaining box overlapping
    it by IoU > ``iou_threshold`` or IoS > ``ios_threshold``. The cluster's box is
    the score-weighted mean of the corners of the members overlapping its first box
    by IoU > ``iou_threshold`` (boxes swallowed by IoS only are dropped); its score
    is the sum over passes of each pass's best member score times that pass's
    weight, divided by the weights' total — a person every pass sees keeps its
    score, one a single pass reports keeps that pass's share (the weighted boxes
    fusion rule). ``votes`` counts the distinct passes in a cluster.
    """
    weights = list(weights) if weights is not None else [1.0] * len(passes)
    if len(weights) != len(passes):
        raise ValueError("one weight per pass")
    rows = [
        (
            np.asarray(b, dtype=np.float64).reshape(-1, 4),
            np.asarray(s, dtype=np.float64).reshape(-1),
            i,
        )
        for i, (b, s) in enumerate(passes)
    ]
    boxes = np.concatenate([b for b, _s, _i in rows])
    scores = np.concatenate([s for _b, s, _i in rows])
    source = np.concatenate([np.full(len(s), i) for _b, s, i in rows]).astype(int)
    order = np.argsort(-scores, kind="stable")
    boxes, scores, source = boxes[order], scores[order], source[order]
    alive = np.ones(len(boxes), dtype=bool)
    total = float(sum(weights))
    out_boxes, out_scores, out_votes = [], [], []
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        rest = np.flatnonzero(alive)
        iou, ios = overlaps(boxes[i], boxes[rest])
        alive[rest[(iou > iou_threshold) | (ios > ios_threshold)]] = False
        members = np.union1d(rest[iou > iou_threshold], [i])
        alive[i] = False
        best: dict[int, float] = {}
        for m in members:
            best[source[m]] = max(best.get(source[m], 0.0), scores[m])
        w = scores[members]
        out_boxes.append((boxes[members] * w[:, None]).sum(0) / max(w.sum(), 1e-12))
        out_scores.append(sum(weights[p] * s for p, s in best.items()) / total)
        out_votes.append(len(best))
    return Merged(
        np.asarray(out_boxes, dtype=np.float64).reshape(-1, 4),
        np.asarray(out_scores, dtype=np.float64),
        np.asarray(out_votes, dtype=np.int64),
    )


def needs_tiles(
    boxes: np.ndarray,
    scores: np.ndarray,
    width: int,
    height: int,
    *,
    input_size: int,
    small_side: float,
    min_score: float,
    min_photo_side: int,
) -> bool:
    """The adaptive rule: is a tiled pass worth its cost on this photo?

    Only when the photo's long side is at least ``min_photo_side`` (smaller photos
    gain no pixels from tiles that the whole-photo pass did not see) **and** the
    whole-photo pass found someone scoring ``min_score`` or more whose box's
    shorter side is under ``small_side`` pixels at the network's ``input_size``
    — where one small person stands, more usually do. A photo without small
    people costs one pass, as before.
    """
    if max(width, height) < min_photo_side:
        return False
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    scale = input_size / max(width, height)
    sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * scale
    return bool(np.any((scores >= min_score) & (sides < small_side)))
