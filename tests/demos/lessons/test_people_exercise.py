"""The detection lesson's exercise: a student's "every person one by one" printout
held against the person demo's run of their own photo. One test per classic bug
(four loop bugs, four indexing bugs), each with an English and a Korean printout."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.test import Client

from demos.lessons.exercise import (
    RunPerson,
    UnreadableOutput,
    check_people,
    is_korean,
    parse_printed_people,
)
from demos.models import DemoRun, Detection, ExerciseAttempt

URL = "/api/v1/exercises/people-one-by-one/"
WIDTH, HEIGHT = 320, 240
# The run's stored boxes, left to right; at 0.5 the people are A, C and D.
A, B, C, D = (
    (0, 10, 110, 240),
    (20, 15, 115, 220),
    (150, 30, 241, 200),
    (250, 20, 300, 180),
)
RUN = [RunPerson(A, 0.92), RunPerson(B, 0.30), RunPerson(C, 0.77), RunPerson(D, 0.61)]
PEOPLE = [(A, 0.92), (C, 0.77), (D, 0.61)]
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def shape(box, *, swap: bool = False) -> tuple[int, ...]:
    """What ``img[y1:y2, x1:x2].shape`` prints (``img[x1:x2, y1:y2]`` with swap)."""
    img = np.zeros((HEIGHT, WIDTH, 3))
    x1, y1, x2, y2 = (int(v) for v in box)
    return img[x1:x2, y1:y2].shape if swap else img[y1:y2, x1:x2].shape


def line(number: int, box, score: float, lang: str, crop=None, tail: str = "") -> str:
    crop = shape(box) if crop is None else crop
    box = tuple(box)
    if lang == "ko":
        if number % 2:
            return f"사람 {number}: 점수 {score:.2f}, 박스 {box}, 크롭 {crop}{tail}"
        return f"{number}번 사람: 점수 {score:.2f}, 박스 {box}, 크롭 {crop}{tail}"
    return f"person {number}: score {score:.2f}, box {box}, crop {crop}{tail}"


def printout(lang: str, people=PEOPLE, **kwargs) -> str:
    return "\n".join(
        line(number, box, score, lang, **kwargs)
        for number, (box, score) in enumerate(people, start=1)
    )


def check(text: str, run=RUN, threshold: float = 0.5):
    return check_people(
        parse_printed_people(text), run, threshold=threshold, width=WIDTH, height=HEIGHT
    )


# --- The bugs, each printed the way the buggy loop prints it ----------------------

LOOP_BUGS = {
    # for box in boxes: x1, y1, x2, y2 = boxes[0]
    "loop-index-zero": lambda lang: "\n".join(
        line(n, A, 0.92, lang) for n in (1, 2, 3)
    ),
    # return crop inside the loop
    "loop-return": lambda lang: line(1, A, 0.92, lang),
    # cv2.imwrite("person.jpg", crop): one name for everybody
    "loop-same-filename": lambda lang: printout(lang, tail=", saved person.jpg"),
    # the print is after the loop: only the last values are left
    "loop-print-after": lambda lang: line(3, D, 0.61, lang),
}
INDEXING_BUGS = {
    # img[x1:x2, y1:y2]
    "xy-order": lambda lang: "\n".join(
        line(n, box, s, lang, crop=shape(box, swap=True))
        for n, (box, s) in enumerate(PEOPLE, start=1)
    ),
    # int() truncates 240.9 to 240 instead of rounding it to 241
    "int-casts": lambda lang: "\n".join(
        [
            line(1, A, 0.92, lang),
            line(2, (150, 30, 240, 200), 0.77, lang, crop=(170, 90, 3)),
            line(3, D, 0.61, lang),
        ]
    ),
    # the raw box (-5, 10, 110, 250) sliced unclipped: img[10:250, -5:110] is empty
    "clipping": lambda lang: "\n".join(
        [
            line(1, (-5, 10, 110, 250), 0.92, lang, crop=shape((-5, 10, 110, 250))),
            line(2, C, 0.77, lang),
            line(3, D, 0.61, lang),
        ]
    ),
}


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("bug", list(LOOP_BUGS))
def test_each_loop_bug_is_named(bug: str, lang: str) -> None:
    report = check(LOOP_BUGS[bug](lang))
    assert not report.passed
    assert report.diagnosis == bug
    codes = [p.code for p in report.problems]
    assert not any(code.startswith("threshold") for code in codes), codes
    assert "sort-order" not in codes


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("bug", list(INDEXING_BUGS))
def test_each_indexing_bug_is_named_on_the_person(bug: str, lang: str) -> None:
    report = check(INDEXING_BUGS[bug](lang))
    assert not report.passed and report.diagnosis == bug
    assert report.problems == []  # nothing wrong with the list as a whole
    assert any(bug in person.problems for person in report.people)
    assert all(set(person.problems) <= {bug} for person in report.people), report.people


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_greater_than_instead_of_at_or_above_is_named(lang: str) -> None:
    run = [RunPerson(A, 0.92), RunPerson(C, 0.5), RunPerson(D, 0.61)]
    text = printout(lang, people=[(A, 0.92), (D, 0.61)])
    report = check(text, run=run)
    assert report.diagnosis == "threshold-strict"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_lessons_own_output_passes_in_either_language(lang: str) -> None:
    report = check("Some header\n" + printout(lang))
    assert report.passed and report.expected_count == 3 and report.diagnosis == ""
    assert all(person.ok for person in report.people)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_people_are_matched_by_box_not_by_line_order(lang: str) -> None:
    lines = printout(lang).splitlines()
    report = check("\n".join([lines[2], lines[0], lines[1]]))
    assert report.passed


def test_a_numbering_other_than_left_to_right_is_the_sort_order() -> None:
    text = "\n".join(
        [line(1, A, 0.92, "en"), line(2, D, 0.61, "en"), line(3, C, 0.77, "en")]
    )
    report = check(text)
    assert report.diagnosis == "sort-order"
    assert all(person.problems == [] for person in report.people)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_lessons_threshold_on_a_lower_threshold_run_is_named_as_such(
    lang: str,
) -> None:
    # The run was made at 0.28 (B is a person there); the lesson's function keeps 0.5.
    report = check(printout(lang), threshold=0.28)
    assert report.expected_count == 4
    assert [(p.code, p.params) for p in report.problems] == [
        ("threshold-mismatch", {"yours": 0.5, "run": 0.28})
    ]
    # Not blamed on the sort order or the crop sizes of the people printed.
    matched = [person for person in report.people if person.printed_box]
    assert len(matched) == 3 and all(person.ok for person in matched)


def test_a_lower_threshold_than_the_runs_is_named_too() -> None:
    text = printout("en", people=[(A, 0.92), (B, 0.30), (C, 0.77), (D, 0.61)])
    report = check(text)
    assert report.problems[0].code == "threshold-mismatch"
    assert report.problems[0].params == {"yours": 0.3, "run": 0.5}


def test_boxes_that_are_in_no_run_are_refused() -> None:
    text = "person 1: box (5, 5, 50, 50), crop (45, 45, 3)"
    assert check(text).diagnosis == "not-this-run"


def test_a_run_that_found_nobody_had_nothing_to_crop() -> None:
    report = check(printout("en"), run=[])
    assert (report.passed, report.diagnosis) == (False, "nothing-to-crop")


@pytest.mark.parametrize(
    "text",
    [
        "사람 1: 점수 0.92, 박스 (0, 10, 110, 240), 크롭 (230, 110, 3)",
        "1번 사람: box=(0, 10, 110, 240) crop=(230, 110, 3)",
        "1번째 사람 (0, 10, 110, 240) (230, 110, 3)",
        "Person #1 score=0.92 box=[0, 10, 110, 240] shape (230, 110, 3)",
    ],
)
def test_korean_and_loose_formats_are_read(text: str) -> None:
    (person,) = parse_printed_people(text)
    assert person.number == 1 and person.box == (0, 10, 110, 240)
    assert person.crop == (230, 110, 3)


def test_a_korean_printout_is_recognised() -> None:
    assert is_korean(printout("ko")) and not is_korean(printout("en"))


@pytest.mark.parametrize("text", ["", "hello world", "x" * 20_001])
def test_unreadable_output_is_refused(text: str) -> None:
    with pytest.raises(UnreadableOutput):
        parse_printed_people(text)


# --- Through the API, against a run of the student's own ----------------------------


def make_run(owner, boxes_scores, threshold: float = 0.5) -> DemoRun:
    run = DemoRun.objects.create(
        owner=owner,
        detector="opencv-hog",
        score_threshold=threshold,
        image_path="x",
        thumbnail_path="x",
        image_sha256="0" * 64,
        image_width=WIDTH,
        image_height=HEIGHT,
        elapsed_ms=1.0,
    )
    for rank, (box, score) in enumerate(boxes_scores, start=1):
        x1, y1, x2, y2 = box
        Detection.objects.create(
            run=run, rank=rank, x1=x1, y1=y1, x2=x2, y2=y2, score=score
        )
    return run


def all_texts(body: dict) -> str:
    texts = [p["text"] for p in body["problems"]]
    texts += [p["text"] for person in body["people"] for p in person["problems"]]
    return " ".join(texts)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("bug", [*LOOP_BUGS, *INDEXING_BUGS])
def test_the_api_names_each_bug_in_the_printouts_language_and_stores_it(
    logged_in_client: Client, user, bug: str, lang: str
) -> None:
    run = make_run(user, [(r.box, r.score) for r in RUN])
    text = {**LOOP_BUGS, **INDEXING_BUGS}[bug](lang)
    response = logged_in_client.post(URL, {"run": str(run.public_id), "output": text})
    assert response.status_code == 200
    body = response.json()
    assert (body["passed"], body["diagnosis"]) == (False, bug)
    texts = all_texts(body)
    assert bool(HANGUL.search(texts)) is (lang == "ko"), texts
    attempt = ExerciseAttempt.objects.get(user=user)
    assert (attempt.exercise, attempt.passed, attempt.diagnosis) == (
        "people-one-by-one",
        False,
        bug,
    )


@pytest.mark.django_db
def test_the_api_passes_the_right_printout_and_names_the_runs_threshold(
    logged_in_client: Client, user
) -> None:
    run = make_run(user, [(r.box, r.score) for r in RUN])
    body = logged_in_client.post(
        URL, {"run": str(run.public_id), "output": printout("en")}
    ).json()
    assert body["passed"] is True and body["expected_count"] == 3
    assert [p["expected_crop"] for p in body["people"]] == [
        [230, 110, 3],
        [170, 91, 3],
        [160, 50, 3],
    ]
    low = make_run(user, [(r.box, r.score) for r in RUN], threshold=0.28)
    body = logged_in_client.post(
        URL, {"run": str(low.public_id), "output": printout("en")}
    ).json()
    assert body["diagnosis"] == "threshold-mismatch"
    assert "Your threshold is 0.50; this run used 0.28" in body["problems"][0]["text"]
    korean = logged_in_client.post(
        URL, {"run": str(low.public_id), "output": printout("ko")}
    ).json()
    assert "0.50" in korean["problems"][0]["text"]
    assert HANGUL.search(korean["problems"][0]["text"])
    attempts = ExerciseAttempt.objects.filter(user=user).order_by("pk")
    assert [(a.passed, a.diagnosis) for a in attempts] == [
        (True, ""),
        (False, "threshold-mismatch"),
        (False, "threshold-mismatch"),
    ]


@pytest.mark.django_db
def test_an_unreadable_korean_paste_is_refused_in_korean_and_stored(
    logged_in_client: Client, user
) -> None:
    run = make_run(user, [(A, 0.9)])
    response = logged_in_client.post(
        URL,
        {"run": str(run.public_id), "output": "모르겠어요"},
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert response.status_code == 400
    assert "찾지 못했습니다" in response.json()["detail"]
    attempt = ExerciseAttempt.objects.get(user=user)
    assert (attempt.passed, attempt.diagnosis) == (False, "unreadable-output")


@pytest.mark.django_db
def test_another_students_run_is_404_and_anonymous_is_refused(
    logged_in_client: Client, client: Client, other_user
) -> None:
    run = make_run(other_user, [(A, 0.9)])
    data = {"run": str(run.public_id), "output": printout("en", people=[(A, 0.9)])}
    assert logged_in_client.post(URL, data).status_code == 404
    assert client.post(URL, data).status_code == 401
    assert ExerciseAttempt.objects.count() == 0


@pytest.mark.django_db
def test_the_lesson_page_offers_the_students_runs(
    logged_in_client: Client, user
) -> None:
    from demos.lessons.services import load_lessons

    load_lessons()
    html = logged_in_client.get("/lessons/object-detection/").content.decode()
    assert 'data-testid="exercise-no-runs"' in html
    run = make_run(user, [(A, 0.9)])
    html = logged_in_client.get("/lessons/object-detection/").content.decode()
    assert f'value="{run.public_id}"' in html and "1 person" in html


@pytest.mark.django_db
def test_the_api_reads_the_pasted_code_for_bugs_without_running_it(
    logged_in_client: Client, user
) -> None:
    run = make_run(user, [(r.box, r.score) for r in RUN])
    code = (
        "for box in boxes:\n"
        "    x1, y1, x2, y2 = boxes[0]\n"
        "    print(img[y1:y2, x1:x2].shape)\n"
        "    return\n"
    )
    body = logged_in_client.post(
        URL,
        {
            "run": str(run.public_id),
            "output": LOOP_BUGS["loop-index-zero"]("ko"),
            "code": code,
        },
    ).json()
    assert body["diagnosis"] == "loop-index-zero"
    found = body["code"]
    assert found["parsed"] is True
    keys = [(p["key"], p["line"]) for p in found["problems"]]
    assert keys[:2] == [("loop-index-zero", 2), ("loop-return", 4)]
    assert HANGUL.search(found["problems"][0]["text"])  # a Korean printout
    plain = logged_in_client.post(
        URL, {"run": str(run.public_id), "output": printout("en"), "code": "def f(:"}
    ).json()
    assert plain["passed"] is True and plain["code"] == {
        "parsed": False,
        "problems": [],
    }
    none = logged_in_client.post(
        URL, {"run": str(run.public_id), "output": printout("en")}
    ).json()
    assert none["code"] is None


def test_a_long_run_of_spaces_is_answered_at_once_as_no_box(
    logged_in_client: Client, user
) -> None:
    # "person 1 box" + 20,000 spaces used to hold a worker for ~6 s (issue 21).
    run = make_run(user, [(A, 0.92)])
    text = "person 1 box" + " " * (20_000 - 12)
    response = logged_in_client.post(URL, {"run": str(run.public_id), "output": text})
    assert response.status_code == 200
    body = response.json()
    assert body["passed"] is False  # no box could be read on that line


@pytest.mark.django_db
def test_checks_are_throttled_per_student(
    logged_in_client: Client, user, other_user, settings
) -> None:
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {
        "DEFAULT_THROTTLE_RATES": {"checks": "3/min"}
    }
    run = make_run(user, [(A, 0.92)])
    body = {"run": str(run.public_id), "output": printout("en", people=[(A, 0.92)])}
    answers = [logged_in_client.post(URL, body).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    # A classmate behind the same address still has their own allowance.
    classmate = Client()
    classmate.force_login(other_user)
    theirs = make_run(other_user, [(A, 0.92)])
    body = {"run": str(theirs.public_id), "output": printout("en", people=[(A, 0.92)])}
    assert classmate.post(URL, body).status_code == 200


def test_the_default_check_rate_is_generous_for_one_student() -> None:
    from django.conf import settings

    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["checks"]
    count, period = rate.split("/")
    assert int(count) >= 10 and period.startswith("m")
