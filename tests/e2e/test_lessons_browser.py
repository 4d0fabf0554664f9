"""A student works through the four playgrounds of lessons 1, 2, 3 and 10 in a real
browser, then marks a lesson done; no script error or CSP violation on the way."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from demos.models import LessonProgress

pytestmark = pytest.mark.e2e


@pytest.fixture
def errors(browser_page) -> list[str]:
    """Uncaught exceptions and console errors (CSP violations are console errors)."""
    found: list[str] = []
    browser_page.on("pageerror", lambda exc: found.append(str(exc)))
    browser_page.on(
        "console", lambda msg: found.append(msg.text) if msg.type == "error" else None
    )
    return found


def test_kernel_playground_filters_a_sample_and_a_typed_kernel(
    browser_page, live_url, course, errors
) -> None:
    page = browser_page
    page.goto(f"{live_url}/lessons/convolution/")
    # (CSP forbids eval, so waits go through locators, not wait_for_function.)
    expect(page.locator("[data-testid=kernel-output]")).to_have_attribute(
        "src", re.compile("^data:image/png")
    )
    expect(page.locator("[data-testid=kernel-grid] td")).to_have_count(9)
    expect(page.locator("[data-testid=kernel-stats]")).to_contain_text("Kernel sum: 0")
    page.select_option("[data-testid=kernel-preset]", "box-blur-5")
    expect(page.locator("[data-testid=kernel-grid] td")).to_have_count(25)
    page.fill("[data-testid=kernel-text]", "0 -1 0\n-1 5 -1\n0 -1 0")
    page.press("[data-testid=kernel-text]", "Enter")  # applied on a complete grid
    expect(page.locator("[data-testid=kernel-stats]")).to_contain_text("Kernel sum: 1")
    assert page.input_value("[data-testid=kernel-preset]") == ""
    assert errors == []


def test_output_size_checks_a_guess_and_animates(
    browser_page, live_url, course, errors
) -> None:
    page = browser_page
    page.goto(f"{live_url}/lessons/stride-padding/")
    page.fill("[data-testid=os-guess]", "3")
    page.click("[data-testid=os-check]")
    page.wait_for_selector("[data-testid=os-verdict].wrong")
    assert "the output is 4 x 4" in page.text_content("[data-testid=os-verdict]")
    page.fill("[data-testid=os-guess]", "4")
    page.click("[data-testid=os-check]")
    page.wait_for_selector("[data-testid=os-verdict].right")
    assert "448" in page.text_content("[data-testid=os-facts]")  # 16*3*3*3 + 16
    assert errors == []


def test_pooling_shows_numbers_of_a_zoomed_patch(
    browser_page, live_url, course, errors
) -> None:
    page = browser_page
    page.goto(f"{live_url}/lessons/pooling/")
    expect(page.locator("[data-testid=pool-patch] td")).to_have_count(64)  # 8x8
    expect(page.locator("[data-testid=pool-patch-max] td")).to_have_count(16)
    expect(page.locator("[data-testid=pool-shapes]")).to_contain_text(
        "64 x 96 → pooled 32 x 48"
    )
    page.select_option("[data-testid=pool-size]", "3")
    expect(page.locator("[data-testid=pool-patch] td")).to_have_count(144)  # 12x12
    page.click("[data-testid=pool-map]", position={"x": 20, "y": 20})
    assert errors == []


def test_iou_and_nms_step_by_step(browser_page, live_url, course, errors) -> None:
    page = browser_page
    page.goto(f"{live_url}/lessons/object-detection/")
    before = page.text_content("[data-testid=iou-value]")
    canvas = page.locator("[data-testid=iou-canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 150, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 230, box["y"] + 140, steps=5)
    page.mouse.up()
    assert page.text_content("[data-testid=iou-value]") != before
    explain = page.locator("[data-testid=nms-explain]")
    expect(explain).to_contain_text("candidate boxes", timeout=60_000)
    page.click("[data-testid=nms-next]")
    expect(explain).to_contain_text("Step 1: keep box #0")
    assert errors == []


def test_a_student_marks_a_lesson_done_and_sees_it_in_the_list(
    logged_in_page, live_url, course
) -> None:
    page = logged_in_page
    page.goto(f"{live_url}/lessons/pooling/")
    page.click("[data-testid=mark-done]")
    page.wait_for_selector("[data-testid=lesson-done-badge]")
    page.goto(f"{live_url}/lessons/")
    assert page.locator("[data-testid=done-pooling]").count() == 1
    assert LessonProgress.objects.filter(user__username=page.username).count() == 1
