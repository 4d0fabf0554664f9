"""The in-browser exercise's steps, judged here with CPython exactly as Pyodide runs
them in the student's browser: each step's starter code, a right answer, and the
loop and indexing bugs, each named by its stable code."""

from __future__ import annotations

import json

import pytest

from demos.lessons.exercise_steps import (
    STARTER,
    STEPS,
    Photo,
    judge,
    run_code,
    run_step,
)
from demos.lessons.raw_boxes import StoredPerson, raw_detections

WIDTH, HEIGHT = 320, 240
# A touches the left and bottom edges (its raw box goes past them); B is below the
# threshold; D scores exactly the threshold. By score C comes first, not A.
STORED = [
    ((0, 10, 110, 240), 0.77),
    ((20, 15, 115, 220), 0.30),
    ((150, 30, 241, 200), 0.92),
    ((250, 20, 300, 180), 0.5),
]
DEMO = [(0, 10, 110, 240), (150, 30, 241, 200), (250, 20, 300, 180)]


@pytest.fixture(scope="module")
def data() -> dict:
    raw = raw_detections(
        [StoredPerson(box, score) for box, score in STORED],
        width=WIDTH,
        height=HEIGHT,
        threshold=0.5,
        seed="test-run",
    )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "threshold": 0.5,
        "detections": [d.as_dict() for d in raw],
    }


def verdict(step: str, code: str, data: dict) -> dict:
    return json.loads(run_step(step, code, json.dumps(data)))


LOOP = STARTER["loop"].replace("____", "boxes")
FILTER = STARTER["filter"].replace(
    "    # skip every other box with an if and continue.\n",
    "    if label != PERSON or score < threshold:\n        continue\n",
)
CLIP = STARTER["clip"].replace(
    "x1, y1, x2, y2 = int(x1), int(y1), int(x2), int(y2)",
    "x1, x2 = (min(max(round(v), 0), width) for v in (x1, x2))\n"
    "    y1, y2 = (min(max(round(v), 0), height) for v in (y1, y2))",
)
SAVE = (
    STARTER["save"]
    .replace(
        "for x1, y1, x2, y2 in people:",
        "for n, (x1, y1, x2, y2) in enumerate(sorted(people), 1):",
    )
    .replace('"person.jpg"', 'f"person_{n}.jpg"')
)


def test_the_stand_in_image_slices_like_numpy():
    img = Photo(WIDTH, HEIGHT)
    assert img.shape == (240, 320, 3)
    assert img[10:240, 0:110].shape == (230, 110, 3)
    assert img[0:999, 300:999].shape == (240, 20, 3)  # a stop past the edge is cut
    assert img[0:100, -3:110].shape == (
        100,
        0,
        3,
    )  # a negative start counts from the end
    with pytest.raises(TypeError):
        img[0:100, 0.5:10]  # noqa: B018


def test_the_worked_example_runs_as_given_and_passes(data):
    result = verdict("worked", STARTER["worked"], data)
    assert result["passed"], result
    assert "boxes; the first:" in result["run"]["printed"]
    assert len(result["crops"]) == 1 and result["crops"][0]["source"] == 0


def test_the_blank_left_unfilled_is_named(data):
    assert verdict("loop", STARTER["loop"], data)["diagnosis"] == "blank"


def test_the_loop_over_boxes_crops_every_box_once(data):
    result = verdict("loop", LOOP, data)
    assert result["passed"], result
    assert sorted(c["source"] for c in result["crops"]) == list(
        range(len(data["detections"]))
    )


def test_boxes_0_inside_the_loop_is_loop_index_zero(data):
    code = LOOP.replace(
        "x1, y1, x2, y2, score, label = box", "x1, y1, x2, y2, score, label = boxes[0]"
    )
    result = verdict("loop", code, data)
    assert result["diagnosis"] == "loop-index-zero"
    assert result["problems"][0]["params"]["times"] == len(data["detections"])


def test_a_return_inside_the_loop_and_the_show_after_it_are_named(data):
    returned = (
        "def crop_all():\n"
        + "".join("    " + line + "\n" for line in LOOP.splitlines())
        + "        return\ncrop_all()\n"
    )
    assert verdict("loop", returned, data)["diagnosis"] == "loop-return"
    after = LOOP.replace(
        "    show(crop, names[int(label)])\n", "show(crop, names[int(label)])\n"
    )
    assert verdict("loop", after, data)["diagnosis"] == "loop-print-after"


def test_the_filter_step_names_the_missing_label_and_threshold_filters(data):
    starter = verdict("filter", STARTER["filter"], data)
    assert [p["code"] for p in starter["problems"]][:2] == [
        "label-filter",
        "threshold-low",
    ]
    assert "handbag" in starter["problems"][0]["params"]["labels"]
    assert verdict("filter", FILTER, data)["passed"]
    strict = FILTER.replace("score < threshold", "score <= threshold")
    assert verdict("filter", strict, data)["diagnosis"] == "threshold-strict"


def test_the_clip_step_catches_the_negative_index_and_swapped_axes(data):
    starter = verdict("clip", STARTER["clip"], data)
    assert starter["diagnosis"] == "clipping"
    result = verdict("clip", CLIP, data)
    assert result["passed"], result
    assert sorted(tuple(c["rect"]) for c in result["crops"]) == DEMO
    swapped = CLIP.replace("img[y1:y2, x1:x2]", "img[x1:x2, y1:y2]")
    assert verdict("clip", swapped, data)["diagnosis"] == "xy-order"
    floats = FILTER.replace(
        "img[int(y1):int(y2), int(x1):int(x2)]", "img[y1:y2, x1:x2]"
    )
    assert verdict("clip", floats, data)["diagnosis"] == "int-casts"


def test_the_save_step_wants_distinct_names_left_to_right(data):
    starter = verdict("save", STARTER["save"], data)
    assert starter["diagnosis"] == "loop-same-filename"
    assert starter["problems"][0]["params"]["file"] == "person.jpg"
    result = verdict("save", SAVE, data)
    assert result["passed"], result
    assert [c["name"] for c in result["crops"]] == [
        "person_1.jpg",
        "person_2.jpg",
        "person_3.jpg",
    ]
    assert [tuple(c["rect"]) for c in result["crops"]] == DEMO
    unsorted = SAVE.replace("enumerate(sorted(people), 1)", "enumerate(people, 1)")
    assert verdict("save", unsorted, data)["diagnosis"] == "sort-order"


def test_an_error_in_the_students_code_is_reported_with_its_line(data):
    result = verdict("worked", "x = 1\nprint(boxes[999])\n", data)
    assert result["diagnosis"] == "error"
    assert result["problems"][0]["params"]["line"] == 2
    assert "IndexError" in result["problems"][0]["params"]["error"]


def test_every_step_has_starter_code_and_an_unknown_step_is_refused(data):
    assert set(STARTER) == set(STEPS)
    with pytest.raises(ValueError):
        judge("nope", run_code("", data), data)


def test_korean_file_names_with_the_number_pass_and_nameless_ones_are_named(data):
    korean = SAVE.replace('f"person_{n}.jpg"', 'f"사람{n:02d}.png"')
    assert verdict("save", korean, data)["passed"]
    nameless = SAVE.replace('f"person_{n}.jpg"', 'f"person_{x1}.jpg"')
    assert verdict("save", nameless, data)["diagnosis"] == "numbering"
    assert verdict("save", "pass\n", data)["diagnosis"] == "no-saves"
    assert verdict("loop", "for box in boxes:\n    pass\n", data)["diagnosis"] == (
        "no-crops"
    )


def test_a_loop_over_only_some_boxes_says_how_many_it_missed(data):
    half = LOOP.replace("for box in boxes:", "for box in boxes[:5]:")
    result = verdict("loop", half, data)
    assert result["diagnosis"] == "loop-count"
    assert result["problems"][0]["params"] == {
        "got": 5,
        "want": len(data["detections"]),
    }
