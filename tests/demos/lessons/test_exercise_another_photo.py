"""The exercise's last step (the student's function on a second photo: another run
of theirs, else a shipped sample with annotated people) and the hand-off panel with
the same loop for Colab in YOLOv5's and torchvision's conventions."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch
from django.test import Client

from demos.common.samples import all_samples
from demos.lessons.colab_handoff import HANDOFFS
from demos.lessons.exercise_steps import STARTER, STEPS, run_step
from demos.lessons.raw_boxes import StoredPerson
from demos.lessons.selectors import SAMPLE_THRESHOLD, _exercise_photo
from demos.models import ExerciseAttempt
from tests.demos.lessons.test_exercise_steps import SAVE
from tests.demos.lessons.test_people_exercise_data import make_run, url

PAGE = "/lessons/exercises/people-one-by-one/"
STEP_API = "/api/v1/exercises/people-one-by-one/steps/"


def as_function(loop: str) -> str:
    body = "\n".join(f"    {line}" if line.strip() else "" for line in loop.split("\n"))
    call = "save_people(img, boxes, threshold)"
    return f"def save_people(img, boxes, threshold):\n{body}\n\n{call}\n"


def judged(code: str, data: dict) -> dict:
    return json.loads(run_step("another-photo", code, json.dumps(data)))


# --- The second photo --------------------------------------------------------------


@pytest.mark.django_db
def test_with_one_run_the_last_step_gets_a_sample_with_its_annotated_people(
    user, logged_in_client: Client
):
    run = make_run(user)
    other = logged_in_client.get(url(run)).json()["other"]
    sample = all_samples(with_people=True)[0]
    assert other["source"] == "sample" and other["image_url"] == sample.url
    assert other["title"] == str(sample.title)
    assert [p["box"] for p in other["demo_people"]] == sorted(
        list(box) for box in sample.people
    )
    assert all(p["crop_url"] is None for p in other["demo_people"])
    assert {d["label"] for d in other["detections"]} >= {"person", "handbag", "chair"}
    # The student's finished step-5 loop, as a function, passes on the sample too.
    result = judged(as_function(SAVE), other)
    assert result["passed"], result
    assert [tuple(c["rect"]) for c in result["crops"]] == sorted(sample.people)
    assert [c["name"] for c in result["crops"]] == [
        f"person_{n}.jpg" for n in range(1, len(sample.people) + 1)
    ]


@pytest.mark.django_db
def test_a_second_run_of_theirs_is_used_before_a_sample(
    user, other_user, logged_in_client: Client
):
    first = make_run(user)
    make_run(other_user)  # someone else's run is never offered
    second = make_run(user)
    other = logged_in_client.get(url(second)).json()["other"]
    assert other["source"] == "run"
    assert other["image_url"] == f"/demos/people/{first.public_id}/image.jpg"
    assert other["demo_people"][0]["crop_url"] == (
        f"/demos/people/{first.public_id}/crops/1.jpg"
    )
    assert "other" not in other  # one level only
    result = judged(as_function(SAVE), other)
    assert result["passed"], result


def test_a_loop_that_knows_the_first_photo_fails_on_the_second():
    # A hard-coded width (the first photo's) does not clip the sample's boxes.
    sample = all_samples(with_people=True)[0]

    data = _exercise_photo(
        [StoredPerson(box, 0.9) for box in sample.people],
        width=max(b[2] for b in sample.people) + 20,
        height=max(b[3] for b in sample.people),
        threshold=SAMPLE_THRESHOLD,
        seed="s",
    )
    fixed = as_function(
        SAVE.replace("height, width = img.shape[:2]", "height, width = 240, 320")
    )
    result = judged(fixed, data)
    assert not result["passed"]
    assert result["diagnosis"] in {"clipping", "not-a-box"}
    starter = judged(STARTER["another-photo"], data)
    assert starter["diagnosis"] == "no-saves"


def test_another_photo_is_the_last_step():
    assert STEPS[-1] == "another-photo"
    compile(STARTER["another-photo"], "<starter>", "exec")


@pytest.mark.django_db
def test_the_last_steps_verdict_is_stored(user, logged_in_client: Client):
    run = make_run(user)
    for passed, diagnosis in ((False, "clipping"), (True, "")):
        answer = logged_in_client.post(
            STEP_API,
            {
                "run": str(run.public_id),
                "step": "another-photo",
                "passed": passed,
                "diagnosis": diagnosis,
            },
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.content
    attempts = ExerciseAttempt.objects.filter(user=user, step="another-photo")
    assert sorted((a.passed, a.diagnosis) for a in attempts) == [
        (False, "clipping"),
        (True, ""),
    ]


# --- The hand-off to Colab ----------------------------------------------------------


def test_every_handoff_block_is_python_that_compiles():
    assert [h.key for h in HANDOFFS] == ["yolov5", "torchvision"]
    for handoff in HANDOFFS:
        for part in (handoff.setup, handoff.loop, handoff.code):
            compile(part, f"<{handoff.key}>", "exec")
    yolo, tv = HANDOFFS
    assert "torch.hub.load" in yolo.code and "results.xyxy[0]" in yolo.code
    assert "PERSON = 0" in yolo.code and "PERSON = 1" in tv.code
    assert all(key in tv.code for key in ('"boxes"', '"labels"', '"scores"'))


def run_loop(code: str, scope: dict, tmp_path, monkeypatch) -> list[str]:
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "<loop>", "exec"), scope)
    return printed.getvalue().splitlines()


IMG = np.zeros((240, 320, 3), dtype=np.uint8)


def test_the_torchvision_loop_keeps_label_1_at_or_above_the_threshold(
    tmp_path, monkeypatch
):
    from PIL import Image

    output = {  # what a torchvision detector returns for one image
        "boxes": torch.tensor(
            [
                [150.4, 30.2, 241.3, 199.6],  # person
                [-3.2, 10.4, 110.2, 245.0],  # person past the left and bottom edges
                [250.0, 20.0, 300.0, 180.0],  # person at exactly the threshold
                [20.0, 15.0, 115.0, 220.0],  # person below the threshold
                [5.0, 5.0, 60.0, 60.0],  # label 0 (background), never a person
                [100.0, 100.0, 140.0, 160.0],  # a bicycle (2)
            ]
        ),
        "labels": torch.tensor([1, 1, 1, 1, 0, 2]),
        "scores": torch.tensor([0.95, 0.9, 0.5, 0.3, 0.99, 0.97]),
    }
    handoff = HANDOFFS[1]
    lines = run_loop(
        handoff.loop,
        {"img": IMG, "output": output, "Image": Image},
        tmp_path,
        monkeypatch,
    )
    assert lines == [
        "person 1: (0, 10, 110, 240) score 0.90 (230, 110, 3)",
        "person 2: (150, 30, 241, 200) score 0.95 (170, 91, 3)",
        "person 3: (250, 20, 300, 180) score 0.50 (160, 50, 3)",
    ]
    assert sorted(p.name for p in tmp_path.glob("*.jpg")) == [
        "person_1.jpg",
        "person_2.jpg",
        "person_3.jpg",
    ]


def test_the_yolov5_loop_keeps_class_0(tmp_path, monkeypatch):
    from PIL import Image

    class Results:  # results.xyxy[0]: x1, y1, x2, y2, conf, cls
        xyxy = [
            torch.tensor(
                [
                    [150.4, 30.2, 241.3, 199.6, 0.95, 0.0],
                    [5.0, 5.0, 60.0, 60.0, 0.99, 1.0],  # class 1 is a bicycle here
                    [250.0, 20.0, 330.0, 180.0, 0.6, 0.0],
                ]
            )
        ]

    lines = run_loop(
        HANDOFFS[0].loop,
        {"img": IMG, "results": Results(), "Image": Image},
        tmp_path,
        monkeypatch,
    )
    assert lines == [
        "person 1: (150, 30, 241, 200) score 0.95 (170, 91, 3)",
        "person 2: (250, 20, 320, 180) score 0.60 (160, 70, 3)",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_page_shows_step_6_and_the_handoff_in_both_conventions(
    user, logged_in_client: Client, language
):
    run = make_run(user)
    html = logged_in_client.get(
        PAGE, {"run": str(run.public_id)}, HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert 'data-testid="code-another-photo"' in html
    assert 'data-testid="colab-handoff"' in html
    assert "results.xyxy[0]" in html and "output[&quot;labels&quot;]" in html
    if language == "ko":
        assert "다른 사진" in html and "Colab" in html
        assert "The same on another photo" not in html
    else:
        assert "6. The same on another photo" in html
