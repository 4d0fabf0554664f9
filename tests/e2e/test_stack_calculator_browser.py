"""Lesson 7's build-a-stack calculator in a real browser: presets, swapping a 5×5 for
two 3×3, adding a 1×1 reduction, half-typed numbers that send nothing, a real mistake
that gets the server's sentence, and the Korean page (photographed to
test-artifacts/stack-calculator-ko.png for a person to look at)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, watch_errors

pytestmark = pytest.mark.e2e

CALCULATE = "/api/v1/stack-calculator/"


def calculations(page) -> list[int]:
    """Statuses of the calculator's POSTs, in order, as the page gets them."""
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: statuses.append(r.status) if r.url.endswith(CALCULATE) else None,
    )
    return statuses


def layer(widget, number: int):
    return widget.locator("tbody tr[data-index]").nth(number - 1)


def test_swap_a_5x5_for_two_3x3_and_add_a_1x1_reduction(
    logged_in_page, live_url, course
) -> None:
    page = logged_in_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/classic-architectures/")
    widget = page.locator("[data-testid=widget-stack-calculator]")
    widget.scroll_into_view_if_needed()
    total = widget.locator("[data-testid=stack-total-params]")
    verdict = widget.locator("[data-testid=stack-verdict]")

    # The first preset: two 3x3 against one 5x5 (25 C² vs 18 C², C = 64).
    expect(total).to_have_text("73,728")
    expect(widget.locator("[data-testid=stack-reference]")).to_contain_text("102,400")
    expect(verdict).to_contain_text("Parameters: 1.39× fewer than the reference")
    expect(widget.locator("[data-testid=stack-note]")).to_contain_text("18·C²")

    # Inception's 5x5 branch: drop the 1x1, keep the plain 5x5 as the reference...
    widget.get_by_role("button", name="1×1 reduction before a 5×5 (Inception)").click()
    expect(total).to_have_text("15,920")
    layer(widget, 1).get_by_role("button", name="Remove this layer").click()
    expect(total).to_have_text("153,632")
    widget.get_by_role("button", name="Keep as reference").click()
    expect(verdict).to_contain_text("Parameters: the same as the reference")
    # ...then add the reduction back with one click: 192 / 4 = 48 channels.
    layer(widget, 1).get_by_role("button", name="Add a 1×1 reduction before").click()
    expect(layer(widget, 1).locator("[name=out_channels]")).to_have_value("48")
    expect(total).to_have_text("47,696")  # 192·48 + 48 + 25·48·32 + 32
    expect(verdict).to_contain_text("3.22× fewer than the reference")

    # Swap the 5x5 for two 3x3: same receptive field, fewer weights again.
    layer(widget, 2).get_by_role("button", name="Split into 3×3s").click()
    expect(widget.locator("tbody tr[data-index]")).to_have_count(3)
    expect(widget.locator("tbody [name=kernel]")).to_have_count(3)
    expect(layer(widget, 3).locator("[data-role=field]")).to_have_text("5×5")
    expect(total).to_have_text("32,368")  # 9,264 + 9·48·32 + 32 + 9·32·32 + 32
    assert errors == []


def test_half_typed_numbers_send_nothing_and_a_real_mistake_is_explained(
    logged_in_page, live_url, course
) -> None:
    page = logged_in_page
    page.goto(f"{live_url}/lessons/classic-architectures/")
    widget = page.locator("[data-testid=widget-stack-calculator]")
    total = widget.locator("[data-testid=stack-total-params]")
    expect(total).to_have_text("73,728")
    statuses = calculations(page)

    channels = layer(widget, 1).locator("[name=out_channels]")
    channels.fill("")
    expect(widget.locator("[data-testid=stack-status]")).to_contain_text(
        "Finish the numbers"
    )
    channels.press_sequentially("32", delay=80)
    expect(total).to_have_text(f"{9 * 64 * 32 + 9 * 32 * 64:,}")  # 36,864
    assert statuses and all(status == 200 for status in statuses)

    # Out of range: nothing is sent while typing; leaving the field asks the server.
    status = widget.locator("[data-testid=stack-status]")
    kernel = layer(widget, 2).locator("[name=kernel]")
    kernel.fill("12")
    kernel.press("Enter")
    expect(status).to_contain_text(
        "Layer 2: kernel: Ensure this value is less than or equal to 11."
    )
    kernel.fill("3")
    kernel.press("Enter")
    expect(status).to_be_empty()

    # A 2x2 max pooling with 2 pixels of padding: PyTorch refuses it, so do we.
    widget.get_by_role("button", name="2×2 max pooling").click()
    padding = layer(widget, 3).locator("[name=padding]")
    padding.fill("2")
    padding.press("Enter")
    expect(status).to_contain_text(
        "Layer 3: a pooling window of 2×2 takes at most 1 pixels of padding."
    )
    expect(widget).to_have_class("panel stack-calc is-stale")
    padding.fill("1")
    padding.press("Enter")
    expect(status).to_be_empty()
    expect(widget.locator("tfoot [data-role=total-shape]")).to_have_text("64 × 29 × 29")


def test_the_korean_calculator(browser, live_url, course) -> None:
    context = browser.new_context(
        locale="ko-KR", viewport={"width": 1280, "height": 1400}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/classic-architectures/")
    widget = page.locator("[data-testid=widget-stack-calculator]")
    widget.scroll_into_view_if_needed()
    expect(widget.locator("[data-testid=stack-verdict]")).to_contain_text(
        "파라미터: 기준보다 1.39배 적음"
    )
    expect(widget.get_by_role("button", name="기준으로 두기")).to_be_visible()
    expect(widget.locator("h3")).to_have_text(
        "층 쌓기: 파라미터, 곱셈-누적(MAC), 수용 영역"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "stack-calculator-ko.png"))
    assert errors == []
    context.close()
