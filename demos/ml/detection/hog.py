"""OpenCV's HOG + linear SVM pedestrian detector and its margin ↔ score mapping.

Pure module: numpy and OpenCV, never ``django``; needs no file. Input is an
``H x W x 3`` uint8 RGB photo; the SVM margin (about -1..+2) maps onto a 0..1
score so one threshold slider fits every detector; boxes come back as
``PersonBox`` in original pixels.
"""

from __future__ import annotations

import math
import threading

import cv2
import numpy as np

from demos.ml.detection.boxes import PersonBox, to_person_boxes

# HOG's linear SVM gives a margin (about -1..+2; 0 is the classic cut-off). A logistic
# maps it monotonically onto 0..1 so one threshold slider fits every detector:
# margin 0 → 0.29, 0.3 → 0.5, 0.5 → 0.65, 1.0 → 0.89.
HOG_MARGIN_CENTRE = 0.3
HOG_MARGIN_SLOPE = 3.0


def hog_margin_to_score(margin: np.ndarray) -> np.ndarray:
    """SVM margin → 0..1: ``1 / (1 + exp(-3 * (margin - 0.3)))`` (monotonic)."""
    margin = np.asarray(margin, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-HOG_MARGIN_SLOPE * (margin - HOG_MARGIN_CENTRE)))


def hog_score_to_margin(score: float) -> float:
    """Inverse of ``hog_margin_to_score``: the SVM ``hitThreshold`` for a score."""
    score = min(max(score, 1e-6), 1 - 1e-6)
    return HOG_MARGIN_CENTRE + math.log(score / (1 - score)) / HOG_MARGIN_SLOPE


def fits_hog_window(shape: tuple[int, ...], window: tuple[int, int]) -> bool:
    """Whether an ``H x W (x C)`` image can hold one ``(width, height)`` HOG window.

    ``detectMultiScale`` only ever shrinks the image, so a smaller image has no
    window to score; worse, OpenCV 4.x crashes the process (segfault or abort) on
    images 64-94 px tall. The guard refuses before the native call.
    """
    height, width = shape[:2]
    return width >= window[0] and height >= window[1]


class HogPersonDetector:
    """OpenCV's built-in HOG + linear SVM pedestrian detector (Dalal & Triggs, 2005).

    Needs no file. It finds upright, mostly full-body people at least 64x128 px
    (after the photo is scaled to at most ``max_side``); portraits and seated people
    are usually missed, which is the point of comparing it with YOLOX.
    """

    key = "opencv-hog"

    def __init__(self, max_side: int = 800, iou_threshold: float = 0.3) -> None:
        self.max_side = max_side
        # Raw HOG windows overlap more than CNN boxes, so NMS is stricter here.
        self.iou_threshold = iou_threshold
        self._local = threading.local()  # HOGDescriptor is not safe across threads

    def _hog(self) -> cv2.HOGDescriptor:
        hog = getattr(self._local, "hog", None)
        if hog is None:
            hog = cv2.HOGDescriptor()
            hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())  # type: ignore[attr-defined]
            self._local.hog = hog
        return hog

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]:
        height, width = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))
        small = (
            cv2.resize(
                rgb,
                (max(1, round(width * scale)), max(1, round(height * scale))),
                interpolation=cv2.INTER_AREA,
            )
            if scale < 1
            else rgb
        )
        if not fits_hog_window(small.shape, tuple(self._hog().winSize)):  # type: ignore[arg-type]
            return []
        # groupThreshold=0: keep raw windows with their margins; we run NMS ourselves.
        rects, margins = self._hog().detectMultiScale(
            small,
            hitThreshold=hog_score_to_margin(floor_score),
            winStride=(8, 8),
            padding=(16, 16),
            scale=1.05,
            groupThreshold=0,
        )
        if len(rects) == 0:
            return []
        corners = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        boxes = np.concatenate([corners[:, :2], corners[:, :2] + corners[:, 2:]], 1)
        boxes /= scale
        scores = hog_margin_to_score(np.asarray(margins).reshape(-1))
        return to_person_boxes(
            boxes, scores, width, height, floor_score, self.iou_threshold
        )
