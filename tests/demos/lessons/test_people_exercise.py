"""The detection lesson's exercise: a student's "every person one by one" printout
held against the person demo's crops of their own photo."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client

from demos.lessons.exercise import (
    UnreadableOutput,
    check_people,
    parse_printed_people,
)
from demos.models import DemoRun, Detection

URL = "/api/v1/exercises/people-one-by-one/"
BOXES = [(0, 10, 110, 240), (150, 30, 241, 200)]  # the lesson's worked example


def printout(boxes, *, swap=False, scores=(0.92, 0.77)) -> str:
    lines = []
    pairs = zip(boxes, scores[: len(boxes)], strict=True)
    for number, ((x1, y1, x2, y2), score) in enumerate(pairs, start=1):
        crop = np.zeros((240, 320, 3))[y1:y2, x1:x2].shape
        if swap:
            crop = np.zeros((240, 320, 3))[x1:x2, y1:y2].shape
        box = (x1, y1, x2, y2)
        lines.append(f"person {number}: score {score:.2f}, box {box}, crop {crop}")
    return "\n".join(lines)


def test_the_lessons_own_output_parses_and_passes() -> None:
    text = printout(BOXES)
    assert "crop (230, 110, 3)" in text  # what the lesson's loop prints
    people = parse_printed_people("Some header\n" + text)
    assert [p.number for p in people] == [1, 2]
    report = check_people(people, BOXES, width=320, height=240)
    assert report.passed and report.expected_count == 2
    assert all(check.ok for check in report.people)


def test_swapped_x_and_y_are_named() -> None:
    report = check_people(
        parse_printed_people(printout(BOXES, swap=True)), BOXES, width=320, height=240
    )
    assert not report.passed
    assert "xy-order" in report.people[0].problems


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("person 1: box (0.4, 10.2, 110.0, 240.0), crop (230, 110, 3)", "int-casts"),
        ("person 1: box (-5, 10, 110, 250), crop (230, 110, 3)", "clipping"),
        ("person 1: box (150, 30, 241, 200), crop (170, 91, 3)", "sort-order"),
        ("person 1: box (0, 10, 110, 240)", "no-crop"),
        ("person 1: box (0, 10, 110, 240), crop (225, 110, 3)", "crop-size"),
        ("person 1: box (0, 10, 111, 240), crop (230, 111, 3)", "int-casts"),
    ],
)
def test_each_classic_bug_is_recognised(line: str, problem: str) -> None:
    report = check_people(parse_printed_people(line), BOXES, width=320, height=240)
    assert problem in report.people[0].problems
    assert report.people[1].problems == ["missing"]
    assert report.problems == ["threshold-low-count"]


def test_too_many_people_points_at_the_threshold() -> None:
    text = printout(BOXES) + "\nperson 3: box (20, 15, 115, 220), crop (205, 95, 3)"
    report = check_people(parse_printed_people(text), BOXES, width=320, height=240)
    assert report.problems == ["threshold-high-count"]
    assert report.people[-1].problems == ["extra"]


@pytest.mark.parametrize("text", ["", "hello world", "x" * 20_001])
def test_unreadable_output_is_refused(text: str) -> None:
    with pytest.raises(UnreadableOutput):
        parse_printed_people(text)


# --- Through the API, against a run of the student's own ----------------------------


def make_run(owner, boxes_scores) -> DemoRun:
    run = DemoRun.objects.create(
        owner=owner,
        detector="opencv-hog",
        score_threshold=0.5,
        image_path="x",
        thumbnail_path="x",
        image_sha256="0" * 64,
        image_width=320,
        image_height=240,
        elapsed_ms=1.0,
    )
    for rank, (box, score) in enumerate(boxes_scores, start=1):
        x1, y1, x2, y2 = box
        Detection.objects.create(
            run=run, rank=rank, x1=x1, y1=y1, x2=x2, y2=y2, score=score
        )
    return run


@pytest.mark.django_db
def test_the_api_checks_against_the_runs_persons_at_its_threshold(
    logged_in_client: Client, user
) -> None:
    # The third box (score 0.30) is under the run's threshold: not a person to print.
    run = make_run(
        user, [(BOXES[0], 0.92), ((20, 15, 115, 220), 0.30), (BOXES[1], 0.77)]
    )
    response = logged_in_client.post(
        URL, {"run": str(run.public_id), "output": printout(BOXES)}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["passed"] is True and body["expected_count"] == 2
    assert [p["expected_crop"] for p in body["people"]] == [[230, 110, 3], [170, 91, 3]]

    wrong = logged_in_client.post(
        URL,
        {"run": str(run.public_id), "output": printout(BOXES, swap=True)},
        HTTP_ACCEPT_LANGUAGE="ko",
    ).json()
    assert wrong["passed"] is False
    problem = wrong["people"][0]["problems"][0]
    assert problem["key"] == "xy-order" and "img[y1:y2, x1:x2]" in problem["text"]


@pytest.mark.django_db
def test_another_students_run_is_404_and_anonymous_is_refused(
    logged_in_client: Client, client: Client, other_user
) -> None:
    run = make_run(other_user, [(BOXES[0], 0.9)])
    data = {"run": str(run.public_id), "output": printout(BOXES[:1])}
    assert logged_in_client.post(URL, data).status_code == 404
    assert client.post(URL, data).status_code == 401


@pytest.mark.django_db
def test_the_lesson_page_offers_the_students_runs(
    logged_in_client: Client, user
) -> None:
    from demos.lessons.services import load_lessons

    load_lessons()
    html = logged_in_client.get("/lessons/object-detection/").content.decode()
    assert 'data-testid="exercise-no-runs"' in html
    run = make_run(user, [(BOXES[0], 0.9)])
    html = logged_in_client.get("/lessons/object-detection/").content.decode()
    assert f'value="{run.public_id}"' in html and "1 person" in html


@pytest.mark.django_db
def test_a_long_run_of_spaces_is_answered_at_once_as_no_box(
    logged_in_client: Client, user
) -> None:
    # "person 1 box" + 20,000 spaces used to hold a worker for ~6 s (issue 21).
    run = make_run(user, [(BOXES[0], 0.92)])
    text = "person 1 box" + " " * (20_000 - 12)
    response = logged_in_client.post(URL, {"run": str(run.public_id), "output": text})
    assert response.status_code == 200
    assert response.json()["people"][0]["problems"][0]["key"] == "no-box"


@pytest.mark.django_db
def test_checks_are_throttled_per_student(
    logged_in_client: Client, user, other_user, settings
) -> None:
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {
        "DEFAULT_THROTTLE_RATES": {"checks": "3/min"}
    }
    run = make_run(user, [(BOXES[0], 0.92)])
    body = {"run": str(run.public_id), "output": printout(BOXES[:1])}
    answers = [logged_in_client.post(URL, body).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    # A classmate behind the same address still has their own allowance.
    classmate = Client()
    classmate.force_login(other_user)
    theirs = make_run(other_user, [(BOXES[0], 0.92)])
    body = {"run": str(theirs.public_id), "output": printout(BOXES[:1])}
    assert classmate.post(URL, body).status_code == 200


def test_the_default_check_rate_is_generous_for_one_student() -> None:
    from django.conf import settings

    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["checks"]
    count, period = rate.split("/")
    assert int(count) >= 10 and period.startswith("m")
