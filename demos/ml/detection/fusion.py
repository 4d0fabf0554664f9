"""Weighted boxes fusion of several detectors' boxes of one photo.

Pure module: numpy and (imported on first use) ``ensemble-boxes``, never
``django``. Inputs and outputs are ``PersonBox`` lists in original pixels with
0..1 scores; WBF itself works on 0..1 normalised xyxy coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from demos.ml.detection.boxes import (
    PersonBox,
    PersonDetector,
    mirror_boxes,
    to_person_boxes,
)

# Boxes of two detectors overlapping more than this are one person (WBF's usual 0.55).
FUSION_IOU = 0.55


def fuse_person_boxes(
    box_sets: Sequence[Sequence[PersonBox]],
    width: int,
    height: int,
    floor_score: float,
    weights: Sequence[float] | None = None,
    iou_threshold: float = FUSION_IOU,
) -> list[PersonBox]:
    """Merge several detectors' boxes of one photo with weighted boxes fusion.

    ``box_sets[i]`` are detector ``i``'s boxes (original pixels, 0..1 scores).
    Boxes (of any detector) overlapping by more than ``iou_threshold`` become
    one box: its corners are the score-weighted mean of theirs, its score their mean
    score times (number of detectors that found it) / (number of detectors), so a
    person every detector sees keeps its score and one only a single detector
    reports is halved (two detectors). Returns sorted boxes >= ``floor_score``.
    """
    from ensemble_boxes import weighted_boxes_fusion

    scale = np.array([width, height, width, height], dtype=np.float64)
    fused, scores, _labels = weighted_boxes_fusion(
        [
            np.array([b.box for b in s], dtype=np.float64).reshape(-1, 4) / scale
            for s in box_sets
        ],  # WBF wants 0..1 coordinates
        [[b.score for b in s] for s in box_sets],
        [[0] * len(s) for s in box_sets],  # one class: person
        weights=list(weights) if weights is not None else None,
        iou_thr=iou_threshold,
        skip_box_thr=floor_score,
    )
    return to_person_boxes(
        np.asarray(fused).reshape(-1, 4) * scale, scores, width, height, floor_score
    )


class FusedPersonDetector:
    """Several detectors on the same photo, their boxes merged by ``fuse_person_boxes``.

    With ``flip``, each part also runs on the mirrored photo (test-time
    augmentation): twice the time, one more vote per part.
    """

    def __init__(
        self,
        parts: Sequence[PersonDetector],
        key: str,
        *,
        flip: bool = False,
        iou_threshold: float = FUSION_IOU,
    ) -> None:
        self.parts = list(parts)
        self.key = key
        self.flip = flip
        self.iou_threshold = iou_threshold

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]:
        height, width = rgb.shape[:2]
        box_sets = [part.detect(rgb, floor_score) for part in self.parts]
        if self.flip:
            mirrored = np.ascontiguousarray(rgb[:, ::-1])
            box_sets += [
                mirror_boxes(part.detect(mirrored, floor_score), width)
                for part in self.parts
            ]
        return fuse_person_boxes(
            box_sets, width, height, floor_score, iou_threshold=self.iou_threshold
        )
