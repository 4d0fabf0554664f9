"""How well a detector's boxes agree with a person's own boxes: precision, recall, IoU.

Pure module: numpy only, never ``django``. The detection lesson's three measures,
computed on the student's own photo once they have drawn the people the detector
missed and removed the boxes that are not people. Boxes are ``(x1, y1, x2, y2)``
pixels of the original photo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# A detected box counts as finding a person when it overlaps their box this much.
MATCH_IOU = 0.5

Box = Sequence[float]


@dataclass(frozen=True)
class Agreement:
    """``matched`` detections found a true person; ``mean_iou`` is over those."""

    found: int
    truth: int
    matched: int
    precision: float  # matched / found (1.0 when nothing was found)
    recall: float  # matched / truth (1.0 when there is nobody)
    mean_iou: float  # 0.0 when nothing matched


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every row of ``a`` (N, 4) with every row of ``b`` (M, 4) → (N, M)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def agreement(
    found: Sequence[Box], truth: Sequence[Box], iou_threshold: float = MATCH_IOU
) -> Agreement:
    """Match detections to true boxes one to one, best IoU first, and score them.

    >>> a = agreement([[0, 0, 10, 10], [50, 50, 60, 60]], [[0, 0, 10, 12]])
    >>> (a.matched, a.precision, a.recall, round(a.mean_iou, 3))
    (1, 0.5, 1.0, 0.833)
    """
    pred = np.asarray(found, dtype=np.float64).reshape(-1, 4)
    true = np.asarray(truth, dtype=np.float64).reshape(-1, 4)
    ious: list[float] = []
    if len(pred) and len(true):
        matrix = iou_matrix(pred, true)
        while True:
            i, j = np.unravel_index(int(np.argmax(matrix)), matrix.shape)
            if matrix[i, j] < iou_threshold:
                break
            ious.append(float(matrix[i, j]))
            matrix[i, :] = -1.0
            matrix[:, j] = -1.0
    matched = len(ious)
    return Agreement(
        found=len(pred),
        truth=len(true),
        matched=matched,
        precision=matched / len(pred) if len(pred) else 1.0,
        recall=matched / len(true) if len(true) else 1.0,
        mean_iou=float(np.mean(ious)) if ious else 0.0,
    )
