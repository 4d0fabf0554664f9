"""The widgets of lessons 12–15 in a real browser: each fills in from its endpoint,
with no script error or CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import watch_errors

pytestmark = pytest.mark.e2e


def test_vision_tasks_work_out_yolo_and_draw_the_grid(
    browser_page, live_url, course
) -> None:
    page = browser_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/vision-tasks/")
    expect(page.locator("[data-testid=vt-layout]")).to_contain_text("1,470 numbers")
    expect(page.locator("[data-testid=vt-cell]")).to_contain_text("row 2, column 3")
    page.check("[data-testid=vt-task-grid]")
    expect(page.locator("[data-testid=vt-task-text]")).to_contain_text("S = 7")
    page.fill("[data-testid=vt-grid]", "13")
    expect(page.locator("[data-testid=vt-layout]")).to_contain_text("13 × 13")
    assert errors == []


def test_lstm_gates_show_a_run_and_react_to_the_wave(
    browser_page, live_url, course
) -> None:
    page = browser_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/recurrent-networks/")
    status = page.locator("[data-testid=lstm-status]")
    expect(status).to_contain_text("Steps 1–48 read the true wave")
    page.select_option("[data-testid=lstm-kind]", "sine")
    expect(status).to_contain_text("Steps 1–48")
    page.locator("[data-testid=lstm-forget_gate]").click(position={"x": 300, "y": 20})
    expect(page.locator("[data-testid=lstm-step]")).to_contain_text("f = [")
    assert errors == []


def test_training_curves_train_on_the_server_and_finish(
    logged_in_page, live_url, course
) -> None:
    page = logged_in_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/training/")
    page.select_option("[data-testid=train-subset]", "50")
    page.select_option("[data-testid=train-epochs]", "10")
    page.click("[data-testid=train-start]")
    status = page.locator("[data-testid=train-status]")
    expect(status).to_have_attribute("data-state", "done", timeout=60_000)
    expect(status).to_contain_text("Done after 10 epochs")
    assert errors == []


def test_session_inspector_shows_the_students_own_session(
    logged_in_page, live_url, course
) -> None:
    page = logged_in_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/how-login-works/")
    expect(page.locator("[data-testid=session-keys]")).to_contain_text("_auth_user_id")
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    shown = page.text_content("[data-testid=session-cookie-value]")
    assert shown == cookie["value"][:8] + "…"
    assert cookie["value"] not in page.content()
    assert errors == []


def test_convolution_step_by_step_writes_out_each_cell(
    browser_page, live_url, course
) -> None:
    page = browser_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/convolution/")
    formula = page.locator("[data-testid=conv-steps-formula]")
    expect(formula).to_contain_text(
        "1×1 + 0×1 + 1×1 + 0×0 + 1×1 + 0×1 + 1×0 + 0×0 + 1×1 = 4"
    )
    page.click("[data-testid=conv-steps-next]")
    expect(formula).to_contain_text("= 3")
    page.check("[data-testid=conv-steps-rgb]")
    expect(formula).to_contain_text("+ 1 (bias) = 1")
    assert errors == []


def test_the_people_exercise_checks_a_pasted_printout(
    logged_in_page, live_url, course
) -> None:
    from django.contrib.auth import get_user_model

    from tests.demos.lessons.test_people_exercise import (
        INDEXING_BUGS,
        LOOP_BUGS,
        RUN,
        make_run,
        printout,
    )

    page = logged_in_page
    errors = watch_errors(page)
    make_run(
        get_user_model().objects.get(username=page.username),
        [(person.box, person.score) for person in RUN],
    )
    page.goto(f"{live_url}/lessons/object-detection/")
    page.fill("[data-testid=exercise-output]", INDEXING_BUGS["xy-order"]("en"))
    page.click("[data-testid=exercise-check]")
    status = page.locator("[data-testid=exercise-status]")
    expect(status).to_contain_text("Not yet: 0 of 3")
    expect(page.locator("[data-testid=exercise-table]")).to_contain_text("swapped")
    # A Korean printout of the notes' loop bug: named, in Korean.
    page.fill("[data-testid=exercise-output]", LOOP_BUGS["loop-index-zero"]("ko"))
    page.click("[data-testid=exercise-check]")
    expect(status).to_contain_text("같은 박스가 3번 출력되었습니다")
    expect(status).to_have_attribute("data-diagnosis", "loop-index-zero")
    page.fill(
        "[data-testid=exercise-code]",
        "for box in boxes:\n    x1, y1, x2, y2 = boxes[0]\n    crop = img[y1:y2]\n",
    )
    page.click("[data-testid=exercise-check]")
    findings = page.locator("[data-testid=exercise-code-findings]")
    # The page is English, the printout Korean: the message follows the printout.
    expect(findings.locator("[data-key=loop-index-zero]")).to_contain_text(
        "line 2: 반복문 안에서"
    )
    page.fill("[data-testid=exercise-code]", "")
    page.fill("[data-testid=exercise-output]", printout("en"))
    page.click("[data-testid=exercise-check]")
    expect(status).to_contain_text("Right: your loop cut out the same 3 people")
    assert errors == []
