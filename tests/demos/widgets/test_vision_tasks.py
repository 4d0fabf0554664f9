"""Lesson 14's widget: /api/v1/playgrounds/vision-tasks/ — YOLOv1's output layout,
responsible cell, targets and confidence, checked against torch and torchvision."""

from __future__ import annotations

import pytest
import torch
import torchvision
from django.test import Client

from demos.common.samples import SAMPLES
from demos.ml.playgrounds import InvalidLayerShape
from demos.ml.yolo_by_hand import yolo_report

URL = "/api/v1/playgrounds/vision-tasks/"


def test_the_lessons_worked_example_comes_out_as_in_the_text() -> None:
    report = yolo_report()  # S=7, B=2, C=20, a 100x80 box centred at (200, 150)
    out = torch.zeros(1, 7 * 7 * (2 * 5 + 20)).view(1, 7, 7, 30)
    assert report.total_outputs == out.numel() == 1470
    assert report.per_cell == out.shape[-1] == 30
    assert report.candidate_boxes == 98
    assert (report.cell_row, report.cell_col) == (2, 3)
    assert report.x == pytest.approx(0.125)
    assert report.y == pytest.approx(0.34375)
    assert report.w == pytest.approx(100 / 448)
    assert report.h == pytest.approx(80 / 448)
    assert report.iou == 1.0 and report.class_score == pytest.approx(0.9)


def test_confidence_is_pr_object_times_torchvision_iou() -> None:
    report = yolo_report(predicted_centre=(220, 160), predicted_size=(90, 100))
    expected = torchvision.ops.box_iou(
        torch.tensor([report.true_box]), torch.tensor([report.predicted_box])
    ).item()
    assert report.iou == pytest.approx(expected)
    assert report.confidence == pytest.approx(1.0 * expected)
    assert report.class_score == pytest.approx(0.9 * expected)


def test_a_centre_outside_the_image_is_refused() -> None:
    with pytest.raises(InvalidLayerShape):
        yolo_report(centre=(448, 10))


def test_the_api_answers_for_a_sample_with_every_annotated_person(
    client: Client,
) -> None:
    response = client.get(
        URL,
        {"sample": "apollo-crew", "grid": 13, "boxes_per_cell": 5, "classes": 80},
    )
    assert response.status_code == 200
    body = response.json()
    yolo = body["yolo"]
    assert yolo["total_outputs"] == 13 * 13 * (5 * 5 + 80)
    assert yolo["candidate_boxes"] == 13 * 13 * 5
    # The default predicted box is shifted by (16, 8) from the true one.
    iou = torchvision.ops.box_iou(
        torch.tensor([yolo["true_box"]]), torch.tensor([yolo["predicted_box"]])
    ).item()
    assert yolo["confidence"] == pytest.approx(iou) and 0 < iou < 1
    people = SAMPLES["apollo-crew"].people
    assert [p["box"] for p in body["people"]] == [list(b) for b in people]
    assert body["image_url"] == "/static/img/samples/apollo11_crew.jpg"
    first = body["people"][0]
    x1, y1, x2, y2 = people[0]
    cx = (x1 + x2) / 2 * 448 / body["width"]
    assert first["cell"][1] == int(cx // (448 / 13))
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in people]
    assert body["localisation"] == areas.index(max(areas))


@pytest.mark.parametrize(
    "params",
    [{"grid": 0}, {"sample": "cat"}, {"class_probability": 2}, {"cx": "nan"}],
)
def test_bad_settings_are_a_400(client: Client, params: dict) -> None:
    assert client.get(URL, params).status_code == 400


def test_a_centre_past_the_image_edge_is_a_400_saying_why(client: Client) -> None:
    response = client.get(URL, {"image_size": 224, "cx": 300})
    assert response.status_code == 400
    assert "inside the image" in response.json()["detail"]


# --- Honest masks: none drawn, what one is explained; labels in the page's language


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lang", "person", "no_masks"),
    [
        ("en", "person {number}", "no segmentation model on this server"),
        ("ko", "사람 {number}", "이 서버에는 분할 모델이 없습니다"),
    ],
)
def test_the_page_explains_masks_without_drawing_any(
    client: Client, lang: str, person: str, no_masks: str
) -> None:
    from demos.lessons.services import load_lessons

    load_lessons()
    html = client.get(
        "/lessons/vision-tasks/", HTTP_ACCEPT_LANGUAGE=lang
    ).content.decode()
    widget = html.split('data-testid="widget-vision-tasks"')[1]
    # Up to the next part of the lesson (its text, or the NMS widget it places).
    for boundary in ('data-testid="lesson-body"', 'data-testid="lesson-widget"'):
        widget = widget.split(boundary)[0]
    assert f'data-label-person="{person}"' in widget
    assert no_masks in widget
    # What one mask is: a table of 0/1 pixels, said to be an illustration.
    table = widget.split('data-testid="vt-mask-explainer"')[1].split("</table>")[0]
    assert table.count("<td") == 64 and table.count('class="on"') == 26
    assert "person 1" not in widget  # no English labels baked in


def test_the_widget_script_draws_no_made_up_mask() -> None:
    from pathlib import Path

    script = Path("static/js/widgets/vision-tasks.js").read_text()
    assert "ellipse(" not in script
    assert 'label("Person")' in script and "${data.label}" not in script
