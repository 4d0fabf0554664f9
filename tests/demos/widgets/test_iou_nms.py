"""The NMS widget (lesson 10): its defaults end at one box per person on the
default photo, and the nested-box case IoU lets through is shown and explained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from django.test import Client

from demos.lessons.services import load_lessons
from demos.ml.playgrounds import candidate_boxes, inside_share, iou, nms_steps

NMS_URL = "/api/v1/playgrounds/nms/"


def test_inside_share_is_one_for_a_box_inside_another_whose_iou_is_small() -> None:
    big, small = (0, 0, 100, 200), (10, 20, 70, 120)
    assert iou(big, small) == pytest.approx(0.3)
    assert inside_share(big, small) == inside_share(small, big) == 1.0
    assert inside_share((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def test_the_nested_rule_removes_a_box_inside_a_kept_box_that_iou_keeps() -> None:
    boxes = [(0, 0, 100, 200), (10, 20, 70, 120), (200, 0, 300, 200)]
    scores = [0.9, 0.8, 0.7]
    plain = nms_steps(boxes, scores, 0.5)
    assert [s.keep for s in plain] == [0, 1, 2]
    steps = nms_steps(boxes, scores, 0.5, nested_threshold=0.8)
    assert [s.keep for s in steps] == [0, 2]
    assert steps[0].suppressed == (1,) and steps[0].nested == (1,)
    assert steps[0].inside == (1.0, 0.0)


def test_candidates_drop_a_person_cut_by_a_zoomed_views_edge() -> None:
    photo = np.zeros((200, 300, 3), np.uint8)

    def detect(view: np.ndarray) -> list:
        h, w = view.shape[:2]
        # A whole person in the middle, and one touching the view's right edge.
        return [((w * 0.4, h * 0.2, w * 0.6, h * 0.8), 0.9), ((w - 40, 10, w, 90), 0.8)]

    found = candidate_boxes(photo, detect)
    # The right edge is the photo's own edge in "original", "mirrored" (its left)
    # and "zoom-bottom-right"; "zoom-top-left" cut it, so its edge box is dropped.
    assert [c.view for c in found].count("zoom-top-left") == 1
    assert len(found) == 7


@pytest.fixture
def default_detector(models_ready: Path, settings) -> None:
    settings.PERSON_DETECTOR = ""  # the portal's own choice: the person counter


def test_default_run_keeps_one_box_per_rider_on_the_default_photo(
    client: Client, default_detector: None
) -> None:
    response = client.get(NMS_URL)  # the widget's defaults: cyclists, IoU 0.5
    assert response.status_code == 200
    body = response.json()
    assert body["sample"] == "cyclists" and body["note"] == ""
    assert body["nested_threshold"] == 0.8
    assert len(body["truth"]) == 4
    kept = [body["candidates"][i]["box"] for i in body["kept"]]
    assert len(kept) == 4
    # Each annotated rider has its own kept box.
    matched = {max(range(4), key=lambda t: iou(box, body["truth"][t])) for box in kept}
    assert matched == {0, 1, 2, 3}
    assert body["nested_kept"] == []
    removed = [i for step in body["steps"] for i in step["nested"]]
    assert removed, "the nested rule removed the box IoU let through"


def test_plain_iou_nms_keeps_a_nested_box_and_reports_the_pair(
    client: Client, default_detector: None
) -> None:
    body = client.get(NMS_URL, {"drop_nested": "false"}).json()
    assert body["nested_threshold"] is None
    boxes = torch.tensor([c["box"] for c in body["candidates"]], dtype=torch.float64)
    scores = torch.tensor([c["score"] for c in body["candidates"]], dtype=torch.float64)
    assert body["kept"] == torchvision.ops.nms(boxes, scores, 0.5).tolist()
    assert len(body["kept"]) == 5  # four riders and one box inside a rider's
    [[outer, inner, value, share]] = body["nested_kept"]
    assert {outer, inner} <= set(body["kept"])
    assert value < 0.5 < 0.8 < share
    assert value == pytest.approx(
        iou(body["candidates"][outer]["box"], body["candidates"][inner]["box"]),
        abs=1e-3,
    )
    # Each step lists IoU and the share inside for every compared box.
    assert all(len(row) == 3 for step in body["steps"] for row in step["compared"])


def test_the_nested_flag_must_be_a_boolean(client: Client) -> None:
    response = client.get(NMS_URL, {"drop_nested": "maybe"})
    assert response.status_code == 400
    assert "drop_nested" in str(response.json())


@pytest.mark.django_db
def test_lesson_page_offers_the_nested_rule_and_its_explanation(
    client: Client,
) -> None:
    load_lessons()
    html = client.get("/lessons/object-detection/").content.decode()
    assert 'data-testid="nms-nested-rule"' in html and "checked" in html
    assert 'data-nested-share="0.8"' in html and "more than 80 % inside" in html
    assert 'data-testid="nms-nested-show"' in html
    assert "Why a box inside another box survives NMS" in html
