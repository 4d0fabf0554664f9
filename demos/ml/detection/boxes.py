"""Person boxes and the box maths every detector shares.

In the style of torchvision's ``ops/boxes.py``: plain functions on arrays.

Pure module: numpy only, never ``django``. Boxes are ``(x1, y1, x2, y2)`` ("xyxy")
in pixels of the original ``H x W`` image: arrays are ``(N, 4)`` float, a
``PersonBox`` holds ints (``x2``/``y2`` exclusive). Scores are ``(N,)`` in 0..1.
``to_person_boxes`` chains threshold → NMS → clip → round → drop empty → sort
(left to right by ``x1``, then ``y1``); every detector ends with it, so each
returns all boxes at or above the caller's ``floor_score`` (a threshold slider can
filter later without re-running the model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# IoU above which the lower-scoring of two person boxes is dropped (YOLOX's default).
NMS_IOU = 0.45


@dataclass(frozen=True)
class PersonBox:
    """One detected person: integer pixel box in the original image and a 0..1 score."""

    x1: int
    y1: int
    x2: int
    y2: int
    score: float

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1


class PersonDetector(Protocol):
    """What the web layer calls; ``key`` is the registry key (e.g. ``yolox-nano``)."""

    key: str

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]: ...


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one ``(4,)`` xyxy box with each row of an ``(N, 4)`` array → ``(N,)``."""
    inter_w = np.clip(
        np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None
    )
    inter_h = np.clip(
        np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None
    )
    inter = inter_w * inter_h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = NMS_IOU
) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, highest score first.

    ``boxes``: ``(N, 4)`` float xyxy; ``scores``: ``(N,)``. A box is dropped when its
    IoU with an already kept, higher-scoring box exceeds ``iou_threshold``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        order = rest[box_iou(boxes[best], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip ``(N, 4)`` xyxy boxes to ``[0, width] x [0, height]`` (a copy)."""
    clipped = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    clipped[:, [0, 2]] = np.clip(clipped[:, [0, 2]], 0, width)
    clipped[:, [1, 3]] = np.clip(clipped[:, [1, 3]], 0, height)
    return clipped


def sort_boxes(boxes: list[PersonBox]) -> list[PersonBox]:
    """Left to right by ``x1``, ties top to bottom by ``y1``, then by higher score."""
    return sorted(boxes, key=lambda b: (b.x1, b.y1, -b.score))


def to_person_boxes(
    boxes: np.ndarray,
    scores: np.ndarray,
    width: int,
    height: int,
    floor_score: float,
    iou_threshold: float = NMS_IOU,
) -> list[PersonBox]:
    """Threshold at ``floor_score`` → NMS → clip → round to ints → drop empty → sort.

    ``boxes`` are float xyxy already in original-image pixels, ``scores`` in 0..1.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    mask = scores >= floor_score
    boxes, scores = boxes[mask], scores[mask]
    keep = nms(boxes, scores, iou_threshold)
    clipped = np.rint(clip_boxes(boxes[keep], width, height)).astype(np.int64)
    result = [
        PersonBox(int(x1), int(y1), int(x2), int(y2), round(float(score), 4))
        for (x1, y1, x2, y2), score in zip(clipped, scores[keep], strict=True)
        if x2 > x1 and y2 > y1
    ]
    return sort_boxes(result)


def mirror_boxes(boxes: Sequence[PersonBox], width: int) -> list[PersonBox]:
    """Boxes found on a horizontally flipped photo, mapped back: ``x → width - x``."""
    return [PersonBox(width - b.x2, b.y1, width - b.x1, b.y2, b.score) for b in boxes]
