"""The "people one by one" exercise in a real browser: Pyodide (served by the portal,
no CDN) runs the student's code in a Web Worker on their own run's raw boxes; the
page draws the crops the code made beside the demo's and names the loop bug."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from demos.models import DemoRun, Detection, ExerciseAttempt

WIDTH, HEIGHT = 320, 240
STORED = [
    ((0, 10, 110, 240), 0.77),
    ((20, 15, 115, 220), 0.30),
    ((150, 30, 241, 200), 0.92),
    ((250, 20, 300, 180), 0.5),
]
PYTHON_START_MS = 120_000  # Pyodide's first start in a 2-core container
PYODIDE = Path(__file__).resolve().parents[2] / "static/vendor/pyodide"


@pytest.fixture(autouse=True)
def pyodide_installed() -> None:
    if not (PYODIDE / "pyodide.asm.wasm").exists():
        pytest.fail("Pyodide is not in static/vendor/pyodide/: run `make pyodide`")


@pytest.fixture
def exercise_run(logged_in_page, settings) -> DemoRun:
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.get(username=logged_in_page.username)
    folder = settings.MEDIA_ROOT / "runs" / "e2e"
    folder.mkdir(parents=True)
    photo = Image.new("RGB", (WIDTH, HEIGHT), (200, 220, 240))
    for (x1, y1, x2, y2), _ in STORED:
        photo.paste((40 + x1 % 200, 90, 60), (x1, y1, x2, y2))
    photo.save(folder / "photo.jpg")
    run = DemoRun.objects.create(
        owner=owner,
        detector="picodet-s",
        score_threshold=0.5,
        image_path="runs/e2e/photo.jpg",
        thumbnail_path="runs/e2e/photo.jpg",
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


def open_exercise(page, live_url: str, run: DemoRun) -> None:
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(f"{live_url}/lessons/exercises/people-one-by-one/?run={run.public_id}")
    status = page.get_by_test_id("exercise-python-status")
    status.locator("xpath=self::*[@data-passed]").wait_for(timeout=PYTHON_START_MS)
    assert status.get_attribute("data-passed") == "1", (status.inner_text(), errors)


def run_step(page, step: str, code: str | None = None) -> None:
    if code is not None:
        page.get_by_test_id(f"code-{step}").fill(code)
    page.get_by_test_id(f"run-{step}").click()
    page.get_by_test_id(f"verdict-{step}").locator(
        "xpath=self::*[@data-passed]"
    ).wait_for(timeout=30_000)


def test_worked_example_and_the_blank_run_as_python_in_the_browser(
    logged_in_page, live_url, exercise_run
):
    page = logged_in_page
    open_exercise(page, live_url, exercise_run)
    # Step 1 runs as given: box 0 (the highest score) cropped and drawn.
    run_step(page, "worked")
    assert page.get_by_test_id("verdict-worked").get_attribute("data-passed") == "1"
    assert "boxes; the first:" in page.get_by_test_id("printed-worked").inner_text()
    assert page.get_by_test_id("yours-worked").locator("canvas").count() == 1
    assert page.get_by_test_id("demo-worked").locator("img").count() == 3
    # Step 2 with the blank left: named; filled with boxes: every raw box cropped.
    run_step(page, "loop")
    blank = page.get_by_test_id("verdict-loop").get_attribute("data-diagnosis")
    assert blank == "blank"
    code = page.get_by_test_id("code-loop").input_value().replace("____", "boxes")
    run_step(page, "loop", code)
    verdict = page.get_by_test_id("verdict-loop")
    assert verdict.get_attribute("data-passed") == "1", page.get_by_test_id(
        "feedback-loop"
    ).inner_text()
    crops = page.get_by_test_id("yours-loop").locator("li")
    assert crops.count() == 4 + 3 + 1 + 2  # people, duplicates, a faint one, 2 things
    steps = set(
        ExerciseAttempt.objects.filter(exercise="people-one-by-one").values_list(
            "step", "passed", "diagnosis"
        )
    )
    assert {("worked", True, ""), ("loop", False, "blank"), ("loop", True, "")} <= steps


def test_boxes_0_inside_the_loop_is_diagnosed_in_korean(
    logged_in_page, live_url, exercise_run
):
    page = logged_in_page
    page.context.add_cookies(
        [{"name": "django_language", "value": "ko", "url": live_url}]
    )
    open_exercise(page, live_url, exercise_run)
    code = (
        "for box in boxes:\n"
        "    x1, y1, x2, y2, score, label = boxes[0]\n"
        "    crop = img[int(y1):int(y2), int(x1):int(x2)]\n"
        "    show(crop)\n"
    )
    run_step(page, "loop", code)
    verdict = page.get_by_test_id("verdict-loop")
    assert verdict.get_attribute("data-diagnosis") == "loop-index-zero"
    feedback = page.get_by_test_id("feedback-loop").inner_text()
    assert "10번" in feedback and "boxes[0]" in feedback
    assert "2번째 줄" in feedback or "줄 2" in feedback  # the code check's line
    assert ExerciseAttempt.objects.filter(
        step="loop", passed=False, diagnosis="loop-index-zero"
    ).exists()


def test_a_student_who_freezes_orders_the_given_lines_instead(
    logged_in_page, live_url, exercise_run
):
    from demos.lessons.exercise_steps import PARSONS

    page = logged_in_page
    open_exercise(page, live_url, exercise_run)
    page.get_by_test_id("parsons-loop").click()
    lines = page.get_by_test_id("parsons-lines-loop")
    assert lines.locator("[data-line]").count() == 6  # four lines, two distractors
    assert page.get_by_test_id("code-loop").input_value() == ""
    for line in PARSONS["loop"]["lines"]:
        lines.locator(f'[data-line="{line}"]').click()
    assert (
        page.get_by_test_id("code-loop").input_value()
        == "\n".join(PARSONS["loop"]["lines"]) + "\n"
    )
    run_step(page, "loop")
    assert page.get_by_test_id("verdict-loop").get_attribute("data-passed") == "1"


def test_an_endless_loop_is_stopped_and_python_starts_again(
    logged_in_page, live_url, exercise_run
):
    page = logged_in_page
    open_exercise(page, live_url, exercise_run)
    page.get_by_test_id("code-worked").fill("while True:\n    pass\n")
    page.get_by_test_id("run-worked").click()
    verdict = page.get_by_test_id("verdict-worked")
    verdict.locator("xpath=self::*[@data-diagnosis='timeout']").wait_for(timeout=30_000)
    assert "10 seconds" in page.get_by_test_id("feedback-worked").inner_text()
    page.get_by_test_id("step-worked").get_by_role("button", name="Start over").click()
    page.get_by_test_id("run-worked").click()
    verdict.locator("xpath=self::*[@data-passed='1']").wait_for(timeout=PYTHON_START_MS)


def test_the_finished_loop_runs_on_a_sample_photo_then_the_colab_handoff(
    logged_in_page, live_url, exercise_run
):
    from demos.common.samples import all_samples
    from tests.demos.lessons.test_exercise_steps import SAVE

    sample = all_samples(with_people=True)[0]
    page = logged_in_page
    open_exercise(page, live_url, exercise_run)
    run_step(page, "save", SAVE)
    assert page.get_by_test_id("verdict-save").get_attribute("data-passed") == "1"
    # Step 6 starts from the student's own loop, inside a function.
    carried = page.get_by_test_id("code-another-photo").input_value()
    assert carried.startswith("def save_people(img, boxes, threshold):\n")
    assert 'f"person_{n}.jpg"' in carried
    caption = page.get_by_test_id("other-photo-caption").inner_text()
    from django.utils import translation

    with translation.override("en"):
        assert str(sample.title) in caption  # only one run: a sample photo
    assert page.get_by_test_id("demo-another-photo").locator("canvas").count() == len(
        sample.people
    )
    run_step(page, "another-photo")
    verdict = page.get_by_test_id("verdict-another-photo")
    assert verdict.get_attribute("data-passed") == "1", page.get_by_test_id(
        "feedback-another-photo"
    ).inner_text()
    yours = page.get_by_test_id("yours-another-photo").locator("canvas")
    assert yours.count() == len(sample.people)
    assert ExerciseAttempt.objects.filter(step="another-photo", passed=True).exists()
    handoff = page.get_by_test_id("colab-handoff")
    assert handoff.is_visible()
    assert "results.xyxy[0]" in page.get_by_test_id("handoff-yolov5").inner_text()
    assert 'output["labels"]' in page.get_by_test_id("handoff-torchvision").inner_text()
