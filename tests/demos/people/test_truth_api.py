"""PUT /api/v1/detections/<id>/truth/: your own boxes, scored against the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from demos.models import DemoRun
from demos.people import services

pytestmark = pytest.mark.django_db


def make_run(owner, samples_dir: Path) -> DemoRun:
    return services.create_demo_run(
        owner=owner,
        data=(samples_dir / "people/apollo11_crew.jpg").read_bytes(),
        original_name="apollo11_crew.jpg",
        detector_key="yolox-nano",
        score_threshold=None,
    )


def shown_boxes(run: DemoRun) -> list[list[int]]:
    return [d.box for d in run.detections.all() if d.score >= run.score_threshold]


def test_adding_a_missed_person_scores_recall_and_keeps_the_detections(
    api, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)
    detections_before = list(run.detections.values_list("rank", "score"))
    truth = [*shown_boxes(run), [0, 0, 40, 90]]

    response = api.put(
        f"/api/v1/detections/{run.public_id}/truth/", {"boxes": truth}, format="json"
    )

    body = response.json()
    assert response.status_code == 200
    assert body["boxes"] == truth and body["count"] == 4
    assert body["detected"] == 3 and body["matched"] == 3
    assert body["precision"] == 1.0 and body["recall"] == 0.75
    assert body["mean_iou"] == 1.0
    run.refresh_from_db()
    assert run.truth_boxes == truth
    assert list(run.detections.values_list("rank", "score")) == detections_before


def test_removing_a_false_box_lowers_precision(
    api, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)
    truth = shown_boxes(run)[1:]

    body = api.put(
        f"/api/v1/detections/{run.public_id}/truth/", {"boxes": truth}, format="json"
    ).json()

    assert body["precision"] == pytest.approx(2 / 3) and body["recall"] == 1.0


def test_box_outside_the_photo_is_refused_and_nothing_stored(
    api, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)

    response = api.put(
        f"/api/v1/detections/{run.public_id}/truth/",
        {"boxes": [[10, 10, 20, 20], [500, 400, 700, 470]]},
        format="json",
    )

    assert response.status_code == 400
    assert "Box 2" in response.json()["detail"]
    run.refresh_from_db()
    assert run.truth_boxes is None


def test_malformed_boxes_are_a_400(api, user, samples_dir, models_ready) -> None:
    run = make_run(user, samples_dir)

    response = api.put(
        f"/api/v1/detections/{run.public_id}/truth/",
        {"boxes": [[1, 2, 3]]},
        format="json",
    )

    assert response.status_code == 400
    assert "boxes" in response.json()["detail"]


def test_other_user_cannot_correct_someone_elses_run(
    other_api, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)

    response = other_api.put(
        f"/api/v1/detections/{run.public_id}/truth/",
        {"boxes": []},
        format="json",
    )

    assert response.status_code == 404
    run.refresh_from_db()
    assert run.truth_boxes is None


def test_result_page_shows_precision_recall_and_iou_once_corrected(
    api, logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)
    page = f"/demos/people/{run.public_id}/"
    assert (
        'data-testid="truth-agreement"'
        not in logged_in_client.get(page).content.decode()
    )
    truth = [*shown_boxes(run), [0, 0, 40, 90]]
    api.put(
        f"/api/v1/detections/{run.public_id}/truth/", {"boxes": truth}, format="json"
    )

    html = logged_in_client.get(page, HTTP_ACCEPT_LANGUAGE="ko").content.decode()

    assert 'data-testid="truth-precision">1.00<' in html
    assert 'data-testid="truth-recall">0.75<' in html
    assert "내 박스 기준 재현율" in html
