"""Widgets the student acts on (issue 19), in a real browser: lesson 12's optimiser,
StepLR and early-stopping marker with the momentum stepper, the kernel playground
applying only complete kernels, and overlapping pooling windows. The Korean pages
are also photographed (test-artifacts/act-*.png) for a person to look at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, watch_errors

pytestmark = pytest.mark.e2e


def shoot(page, testid: str, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    widget = page.locator(f"[data-testid={testid}]")
    widget.scroll_into_view_if_needed()
    widget.screenshot(path=str(ARTIFACTS / f"act-{name}.png"))


# Lesson 12: training curves


def test_the_notes_preset_trains_with_momentum_and_marks_early_stopping(
    logged_in_page, live_url, course
) -> None:
    page = logged_in_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/training/")
    step_size = page.locator("[data-testid=train-step-size]")
    expect(step_size).to_be_disabled()  # no schedule until it is switched on
    page.select_option("[data-testid=train-subset]", "50")
    page.select_option("[data-testid=train-epochs]", "20")
    page.select_option("[data-testid=train-optimizer]", "momentum")
    page.select_option("[data-testid=train-patience]", "2")
    page.click("[data-testid=train-preset]")
    expect(page.locator("[data-testid=train-schedule]")).to_be_checked()
    expect(step_size).to_be_enabled()
    expect(step_size).to_have_value("7")
    expect(page.locator("[data-testid=train-lr]")).to_have_value("0.001")
    with page.expect_response("**/api/v1/training-runs/") as answer:
        page.click("[data-testid=train-start]")
    assert answer.value.status == 202, answer.value.text()
    settings = answer.value.json()["settings"]
    assert settings["optimizer"] == "momentum"
    assert (settings["lr_step_size"], settings["lr_gamma"]) == (7, 0.1)
    assert (settings["learning_rate"], settings["patience"]) == (0.001, 2)
    status = page.locator("[data-testid=train-status]")
    expect(status).to_have_attribute("data-state", "done", timeout=60_000)
    expect(status).to_contain_text("Done after 20 epochs")
    expect(page.locator("[data-testid=train-stopping]")).to_contain_text(
        "With patience 2, early stopping would"
    )
    assert errors == []


def test_without_the_switch_no_schedule_is_sent(
    logged_in_page, live_url, course
) -> None:
    page = logged_in_page
    page.goto(f"{live_url}/lessons/training/")
    page.check("[data-testid=train-schedule]")
    page.uncheck("[data-testid=train-schedule]")
    expect(page.locator("[data-testid=train-gamma]")).to_be_disabled()
    page.select_option("[data-testid=train-subset]", "20")
    page.select_option("[data-testid=train-epochs]", "10")
    page.select_option("[data-testid=train-optimizer]", "adamw")
    with page.expect_response("**/api/v1/training-runs/") as answer:
        page.click("[data-testid=train-start]")
    body = answer.value.json()
    assert answer.value.status == 202
    assert body["settings"]["lr_step_size"] == 0
    assert body["settings"]["optimizer"] == "adamw"
    expect(page.locator("[data-testid=train-status]")).to_have_attribute(
        "data-state", "done", timeout=60_000
    )


def test_the_momentum_stepper_walks_the_lessons_numbers(
    browser_page, live_url, course
) -> None:
    page = browser_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/training/")
    text = page.locator("[data-testid=momentum-text]")
    expect(text).to_contain_text("Step 0: plain gradient descent w = 1.000")
    expect(page.locator("[data-testid=momentum-back]")).to_be_disabled()
    for _ in range(3):
        page.click("[data-testid=momentum-next]")
    expect(text).to_have_text(
        "Step 3: plain gradient descent w = 0.512; "
        "momentum w = 0.062 (velocity v = 3.980)."
    )
    page.click("[data-testid=momentum-back]")
    expect(text).to_contain_text("Step 2: plain gradient descent w = 0.640")
    page.click("[data-testid=momentum-reset]")
    expect(text).to_contain_text("Step 0:")
    assert errors == []


def test_korean_training_curves_widget(korean_page, live_url, course) -> None:
    page = korean_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/training/")
    page.select_option("[data-testid=train-subset]", "50")
    page.select_option("[data-testid=train-epochs]", "30")
    page.select_option("[data-testid=train-patience]", "3")
    page.click("[data-testid=train-preset]")
    page.select_option("[data-testid=train-lr]", "0.01")
    page.select_option("[data-testid=train-step-size]", "15")
    page.click("[data-testid=train-start]")
    expect(page.locator("[data-testid=train-status]")).to_have_attribute(
        "data-state", "done", timeout=90_000
    )
    expect(page.locator("[data-testid=train-stopping]")).to_contain_text("조기 종료")
    for _ in range(4):
        page.click("[data-testid=momentum-next]")
    expect(page.locator("[data-testid=momentum-text]")).to_contain_text("4단계")
    shoot(page, "widget-training-curves", "training-curves-ko")
    assert errors == []


# Lesson 1: the kernel playground


def kernel_requests(page) -> list[str]:
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(r.url) if "/playgrounds/kernel/" in r.url else None,
    )
    return sent


def type_kernel(page, text: str) -> None:
    box = page.locator("[data-testid=kernel-text]")
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    box.press_sequentially(text)


def test_a_half_typed_kernel_is_never_sent_and_enter_applies_the_grid(
    browser_page, live_url, course
) -> None:
    page = browser_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/convolution/")
    stats = page.locator("[data-testid=kernel-stats]")
    expect(stats).to_contain_text("Kernel sum: 0")  # the first preset is applied
    sent = kernel_requests(page)
    status = page.locator("[data-testid=kernel-status]")
    type_kernel(page, "1 1 1\n1 1 1\n1 1")
    expect(status).to_contain_text("The kernel is not complete yet")
    expect(page.locator("[data-testid=kernel-grid] td", has_text="?")).to_have_count(0)
    expect(page.locator("[data-testid=kernel-grid] tr")).to_have_count(3)
    assert sent == []  # nothing sent while typing, no error shown
    page.keyboard.type(" 1")
    expect(status).to_contain_text("The grid is complete")
    assert sent == []
    page.keyboard.press("Enter")  # on a complete grid: apply, no new row
    expect(stats).to_contain_text("Kernel sum: 9")
    expect(stats).to_contain_text("not 1: a flat patch comes out 9 times as bright")
    expect(stats).to_contain_text("are shown white (saturated)")
    assert len(sent) == 1
    assert page.input_value("[data-testid=kernel-text]") == "1 1 1\n1 1 1\n1 1 1"
    assert errors == []


def test_leaving_the_box_applies_and_an_unfinished_grid_only_gets_a_hint(
    browser_page, live_url, course
) -> None:
    page = browser_page
    page.goto(f"{live_url}/lessons/convolution/")
    stats = page.locator("[data-testid=kernel-stats]")
    expect(stats).to_contain_text("Kernel sum: 0")
    sent = kernel_requests(page)
    type_kernel(page, "0 0 0\n0 0.5 0\n0 0")
    page.locator("[data-testid=kernel-output]").click()  # blur
    status = page.locator("[data-testid=kernel-status]")
    expect(status).to_contain_text("The kernel is not complete yet")
    assert sent == []
    page.locator("[data-testid=kernel-text]").press_sequentially(" 0")
    page.locator("[data-testid=kernel-output]").click()
    expect(stats).to_contain_text("Kernel sum: 0.5")
    expect(stats).to_contain_text("less than 1: flat areas come out darker")
    assert len(sent) == 1


def test_korean_kernel_playground_explains_saturation(
    korean_page, live_url, course
) -> None:
    page = korean_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/convolution/")
    stats = page.locator("[data-testid=kernel-stats]")
    expect(stats).to_contain_text("0")
    type_kernel(page, "1 1 1\n1 1 1\n1 1 1")
    page.keyboard.press("Enter")
    expect(stats).to_contain_text("커널 합: 9")
    expect(stats).to_contain_text("가중치의 합이 1이 아니라 9입니다")
    expect(page.locator("[data-testid=kernel-status]")).to_have_text("")
    expect(page.locator("[data-testid=kernel-output]")).to_have_attribute(
        "src", re.compile("^data:image/png")
    )
    shoot(page, "widget-kernel-playground", "kernel-playground-ko")
    assert errors == []


# Lesson 3: pooling windows drawn as they are


def cells(page, testid: str, css: str = "td") -> list[str]:
    return page.locator(f"[data-testid={testid}] {css}").all_text_contents()


def test_overlapping_pooling_windows_are_drawn_overlapping(
    browser_page, live_url, course
) -> None:
    page = browser_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/pooling/")
    patch = page.locator("[data-testid=pool-patch]")
    expect(patch.locator("td.win0").first).to_be_visible()  # 2x2, stride 2: blocks
    expect(patch.locator("td.cover2")).to_have_count(0)
    page.select_option("[data-testid=pool-size]", "3")
    page.select_option("[data-testid=pool-stride]", "1")
    expect(page.locator("[data-testid=pool-shapes]")).to_contain_text("stride 1")
    expect(patch.locator("td")).to_have_count(36)  # 4 windows of 3 every 1: 6x6
    # Inner cells are read by up to 9 windows: shaded by how many, not split up.
    expect(patch.locator("td.cover4").first).to_be_visible()
    expect(patch.locator("td.win0")).to_have_count(0)
    caption = page.locator("[data-testid=pool-caption]")
    expect(caption).to_contain_text("so they overlap")
    for row, col in [(0, 0), (0, 1), (2, 3)]:
        number = page.locator(
            f"[data-testid=pool-patch-max] tr:nth-child({row + 1}) "
            f"td:nth-child({col + 1})"
        )
        number.click()
        expect(number).to_have_class(re.compile(r"\bsel\b"))
        chosen = patch.locator("td.sel")
        expect(chosen).to_have_count(9)  # the whole 3x3 window, drawn where it is
        # It is the window the number came from: its maximum is that number.
        numbers = [int(v) for v in chosen.all_text_contents()]
        assert max(numbers) == int(number.text_content())
        # Its top-left cell sits `stride` cells right of the previous window's.
        first = page.locator("[data-testid=pool-patch] td.sel-top.sel-left")
        assert first.evaluate("td => [td.parentElement.rowIndex, td.cellIndex]") == [
            row,
            col,
        ]
    assert errors == []


def test_a_stride_larger_than_the_window_leaves_cells_unread(
    browser_page, live_url, course
) -> None:
    page = browser_page
    page.goto(f"{live_url}/lessons/pooling/")
    page.select_option("[data-testid=pool-stride]", "3")  # 2x2 windows every 3
    expect(page.locator("[data-testid=pool-caption]")).to_contain_text(
        "read by no window"
    )
    expect(page.locator("[data-testid=pool-patch] td.outside").first).to_be_visible()


def test_korean_pooling_widget_with_overlap(korean_page, live_url, course) -> None:
    page = korean_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/pooling/")
    page.select_option("[data-testid=pool-size]", "3")
    page.select_option("[data-testid=pool-stride]", "2")
    expect(page.locator("[data-testid=pool-caption]")).to_contain_text("서로 겹칩니다")
    page.locator("[data-testid=pool-patch-max] tr:nth-child(2) td:nth-child(3)").click()
    expect(page.locator("[data-testid=pool-caption]")).to_contain_text("(")
    shoot(page, "widget-pooling", "pooling-ko")
    assert errors == []
