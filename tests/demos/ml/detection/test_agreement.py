"""Precision, recall and IoU of detections against a student's own boxes."""

from __future__ import annotations

import pytest

from demos.ml.detection.agreement import agreement


def test_one_found_person_and_one_false_box() -> None:
    result = agreement([[0, 0, 10, 10], [50, 50, 60, 60]], [[0, 0, 10, 12]])
    assert (result.found, result.truth, result.matched) == (2, 1, 1)
    assert result.precision == 0.5 and result.recall == 1.0
    assert result.mean_iou == pytest.approx(100 / 120)


def test_a_missed_person_lowers_recall_only() -> None:
    result = agreement([[0, 0, 10, 10]], [[0, 0, 10, 10], [100, 0, 120, 40]])
    assert result.precision == 1.0 and result.recall == 0.5
    assert result.mean_iou == 1.0


def test_two_boxes_on_one_person_count_once() -> None:
    result = agreement([[0, 0, 10, 10], [0, 0, 10, 11]], [[0, 0, 10, 10]])
    assert result.matched == 1 and result.precision == 0.5


def test_empty_photo_with_no_detections_is_perfect() -> None:
    result = agreement([], [])
    assert (result.precision, result.recall, result.mean_iou) == (1.0, 1.0, 0.0)
