"""The person counter: the doubt range, the small-person bonus, adaptive tiles."""

from __future__ import annotations

import numpy as np
import pytest

from demos.ml.detection.boxes import PersonBox
from demos.ml.detection.counting import TiledPersonDetector, count_range


class FakeDetector:
    """Returns fixed boxes for the whole photo and counts every call's size."""

    key = "fake"

    def __init__(self, boxes: list[PersonBox]) -> None:
        self.boxes = boxes
        self.calls: list[tuple[int, int]] = []

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]:
        self.calls.append(rgb.shape[:2])
        if len(self.calls) > 1:  # a tile: nobody new
            return []
        return [b for b in self.boxes if b.score >= floor_score]


def test_range_counts_sure_boxes_and_lists_the_unsure_ones() -> None:
    boxes = [
        PersonBox(0, 0, 10, 20, 0.9),
        PersonBox(20, 0, 30, 20, 0.4),
        PersonBox(40, 0, 50, 20, 0.2),
    ]
    result = count_range(boxes, sure=0.5, maybe=0.3)
    assert (result.low, result.high) == (1, 2)
    assert result.unsure == (boxes[1],)


def test_range_refuses_maybe_above_sure() -> None:
    with pytest.raises(ValueError, match="maybe"):
        count_range([], sure=0.3, maybe=0.5)


def test_small_people_get_the_bonus_and_large_ones_keep_their_score() -> None:
    whole = FakeDetector(
        [PersonBox(0, 0, 100, 200, 0.5), PersonBox(300, 10, 310, 30, 0.35)]
    )
    counter = TiledPersonDetector(whole, "counter", input_size=640, small_bonus=0.06)
    found = counter.detect(np.zeros((480, 640, 3), np.uint8), 0.3)
    assert [(b.box, b.score) for b in found] == [
        ((0, 0, 100, 200), 0.5),
        ((300, 10, 310, 30), pytest.approx(0.41)),
    ]
    assert whole.calls == [(480, 640)]  # a small photo is never tiled


def test_big_photo_with_small_people_is_also_run_on_four_tiles() -> None:
    whole = FakeDetector([PersonBox(1000, 1000, 1030, 1060, 0.8)])
    counter = TiledPersonDetector(whole, "counter", input_size=640)
    found = counter.detect(np.zeros((3000, 4000, 3), np.uint8), 0.3)
    assert len(whole.calls) == 5
    assert len(found) == 1  # the whole photo's person, kept by the merge


def test_big_photo_of_large_people_costs_one_pass() -> None:
    whole = FakeDetector([PersonBox(1000, 500, 2000, 2900, 0.8)])
    counter = TiledPersonDetector(whole, "counter", input_size=640)
    counter.detect(np.zeros((3000, 4000, 3), np.uint8), 0.3)
    assert len(whole.calls) == 1
