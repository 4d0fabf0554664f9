"""The in-browser exercise's data: the student's own run with the detector's raw-like
output (every class, floats, scores below the threshold, boxes past the edges,
duplicates) whose lesson clean-up gives back exactly the demo's people."""

from __future__ import annotations

import pytest
from django.test import Client

from demos.lessons.raw_boxes import (
    COCO80,
    StoredPerson,
    expected_people,
    raw_detections,
)
from demos.models import DemoRun, Detection

WIDTH, HEIGHT = 320, 240
# Left to right; A touches the left and bottom edges; B is below the threshold;
# D scores exactly the threshold.
STORED = [
    ((0, 10, 110, 240), 0.92),
    ((20, 15, 115, 220), 0.30),
    ((150, 30, 241, 200), 0.77),
    ((250, 20, 300, 180), 0.5),
]


def url(run: DemoRun) -> str:
    return f"/api/v1/exercises/people-one-by-one/runs/{run.public_id}/"


def make_run(owner) -> DemoRun:
    run = DemoRun.objects.create(
        owner=owner,
        detector="picodet-s",
        score_threshold=0.5,
        image_path="x",
        thumbnail_path="x",
        image_sha256="0" * 64,
        image_width=WIDTH,
        image_height=HEIGHT,
        elapsed_ms=1.0,
    )
    for rank, ((x1, y1, x2, y2), score) in enumerate(STORED, start=1):
        Detection.objects.create(
            run=run, rank=rank, x1=x1, y1=y1, x2=x2, y2=y2, score=score
        )
    return run


def raw(seed: str = "s"):
    people = [StoredPerson(box, score) for box, score in STORED]
    return raw_detections(people, width=WIDTH, height=HEIGHT, threshold=0.5, seed=seed)


def test_the_lessons_clean_up_of_the_raw_boxes_gives_back_the_demos_people():
    for seed in ("a", "b", "c", "d"):
        kept = expected_people(raw(seed), width=WIDTH, height=HEIGHT, threshold=0.5)
        assert kept == [box for box, score in STORED if score >= 0.5]


def test_raw_boxes_have_what_every_classic_bug_needs():
    found = raw()
    people = [d for d in found if d.label == "person"]
    assert {d.label for d in found} >= {"person", "handbag", "chair"}
    assert any(d.score < 0.5 for d in people)  # below the threshold
    assert any(d.box[0] < 0 or d.box[3] > HEIGHT for d in people)  # past an edge
    assert any(d.box[2] > WIDTH for d in people)
    assert any(not float(v).is_integer() for d in people for v in d.box)  # floats
    # A duplicate of each kept person, a few pixels off, below the threshold.
    assert len(people) == len(STORED) + 3 + 1
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    assert [d.box for d in found] != sorted(d.box for d in found)  # not left to right


def test_raw_boxes_are_the_same_on_every_reload_and_differ_between_runs():
    assert raw("run-1") == raw("run-1")
    assert raw("run-1") != raw("run-2")


def test_coco80_numbers_person_0_and_has_80_classes():
    assert len(COCO80) == 80 and COCO80[0] == "person" and COCO80[56] == "chair"


@pytest.mark.django_db
def test_owner_gets_the_photo_the_raw_boxes_and_the_demos_people(
    user, logged_in_client: Client
):
    run = make_run(user)
    response = logged_in_client.get(url(run))
    assert response.status_code == 200
    body = response.json()
    assert body["image_url"] == f"/demos/people/{run.public_id}/image.jpg"
    assert (body["width"], body["height"], body["threshold"]) == (WIDTH, HEIGHT, 0.5)
    assert body["derived"] is True
    labels = {(d["label"], d["label_id"]) for d in body["detections"]}
    assert ("person", 0) in labels and ("handbag", 26) in labels
    assert [p["box"] for p in body["demo_people"]] == [
        [0, 10, 110, 240],
        [150, 30, 241, 200],
        [250, 20, 300, 180],
    ]
    assert body["demo_people"][0]["crop_url"] == (
        f"/demos/people/{run.public_id}/crops/1.jpg"
    )
    # What the browser gets (two decimals) still cleans up to the demo's people.
    kept = []
    for d in body["detections"]:
        if d["label"] == "person" and d["score"] >= body["threshold"]:
            x1, y1, x2, y2 = d["box"]
            kept.append(
                [
                    round(min(max(x1, 0), WIDTH)),
                    round(min(max(y1, 0), HEIGHT)),
                    round(min(max(x2, 0), WIDTH)),
                    round(min(max(y2, 0), HEIGHT)),
                ]
            )
    assert sorted(kept) == [p["box"] for p in body["demo_people"]]


@pytest.mark.django_db
def test_another_student_and_staff_get_404_for_the_data(user, other_user, staff_user):
    run = make_run(user)
    for someone in (other_user, staff_user):
        client = Client()
        client.force_login(someone)
        assert client.get(url(run)).status_code == 404


@pytest.mark.django_db
def test_anonymous_visitor_is_refused_the_data(user):
    run = make_run(user)
    assert Client().get(url(run)).status_code in (401, 403)
