"""The lessons' "PyTorch | Keras" code tabs in a real browser (static/js/lessons.js):
the PyTorch code shows first, the Keras tab swaps it for the notes' Keras version
with the NHWC note, arrow keys move between the tabs, and the Korean page says it in
Korean (photographed to test-artifacts/keras-tab-ko.png)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, watch_errors

pytestmark = pytest.mark.e2e


def test_the_keras_tab_shows_the_notes_version(browser_page, live_url, course) -> None:
    page = browser_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/draw-a-digit/")
    section = page.locator("[data-testid=lesson-code]")
    section.locator("summary").click()
    tabs = section.get_by_role("tab")
    expect(tabs).to_have_text(["PyTorch", "Keras"])
    pytorch_panel = section.locator("[role=tabpanel][data-framework=pytorch]")
    keras_panel = section.locator("[role=tabpanel][data-framework=keras]")
    expect(pytorch_panel).to_contain_text("nn.Conv2d(1, 6, 5, padding=2)")
    expect(keras_panel).to_be_hidden()

    section.get_by_role("tab", name="Keras").click()
    expect(keras_panel).to_be_visible()
    expect(pytorch_panel).to_be_hidden()
    expect(keras_panel).to_contain_text("keras.layers.Conv2D(75, (3, 3), strides=1")
    expect(keras_panel.locator(".keras-note")).to_contain_text("NHWC")
    expect(section.get_by_role("tab", name="Keras")).to_have_attribute(
        "aria-selected", "true"
    )
    # The copy button still copies the block it sits on.
    expect(keras_panel.locator(".copy-code")).to_have_count(1)

    section.get_by_role("tab", name="Keras").press("ArrowLeft")
    expect(pytorch_panel).to_be_visible()
    expect(section.get_by_role("tab", name="PyTorch")).to_be_focused()
    assert errors == []


def test_the_korean_keras_tab(browser, live_url, course) -> None:
    context = browser.new_context(
        locale="ko-KR", viewport={"width": 1100, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/training/")
    section = page.locator("[data-testid=lesson-code]")
    section.locator("summary").click()
    expect(section.get_by_role("tablist")).to_have_attribute(
        "aria-label", "같은 코드를 PyTorch 또는 Keras로"
    )
    section.get_by_role("tab", name="Keras").click()
    keras_panel = section.locator("[role=tabpanel][data-framework=keras]")
    expect(keras_panel).to_contain_text("EarlyStopping")
    expect(keras_panel.locator(".keras-note")).to_contain_text("채널 마지막")
    ARTIFACTS.mkdir(exist_ok=True)
    section.get_by_role("tab", name="Keras").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "keras-tab-ko.png"))
    assert errors == []
    context.close()
