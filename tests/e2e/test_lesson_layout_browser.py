"""A Korean student reads a lesson in a real browser: typeset formulas (KaTeX markup
laid out by the lesson's own stylesheet, not inline styles), the widget right after
the paragraph it illustrates, two widgets on one page, an SVG diagram; no script
error and no CSP violation on the way (issue 19)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import watch_errors

pytestmark = pytest.mark.e2e
SHOTS = Path("/tmp/j19c")


@pytest.fixture
def korean(browser, live_url, course) -> Iterator:
    context = browser.new_context(
        locale="ko-KR", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.errors = watch_errors(page)  # type: ignore[attr-defined]
    yield page
    context.close()


def test_formulas_are_typeset_and_laid_out_under_the_csp(korean, live_url) -> None:
    page = korean
    page.goto(f"{live_url}/lessons/training/")
    display = page.locator(".lesson-body .katex-display").first
    expect(display).to_be_visible()
    assert page.locator(".lesson-body .katex").count() >= 8
    # A fraction is laid out: its numerator sits above its denominator (the
    # positions come from /lessons/training/math.css; without it they overlap).
    fraction = page.locator(".lesson-body .katex-html .mfrac").first
    fraction.scroll_into_view_if_needed()
    if SHOTS.exists():
        page.screenshot(path=str(SHOTS / "katex-training-ko.png"))
    parts = fraction.locator(":scope > .vlist-t > .vlist-r:first-child > .vlist > span")
    denominator, numerator = parts.nth(0).bounding_box(), parts.nth(2).bounding_box()
    assert denominator and numerator
    assert numerator["y"] < denominator["y"] - 5, (numerator, denominator)
    paragraphs = page.locator("[data-testid=lesson-body] p").all_text_contents()
    assert not [text for text in paragraphs if "$" in text]
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_widget_stands_after_its_paragraph(korean, live_url) -> None:
    page = korean
    page.goto(f"{live_url}/lessons/object-detection/")
    nms = page.get_by_role("heading", name="NMS: 물체 하나에 박스 하나")
    widget = page.locator("[data-testid=lesson-widget]")
    exercise = page.get_by_role("heading", name="따라 하는 연습", exact=False)
    expect(widget).to_have_count(1)
    expect(page.locator("[data-testid=iou-value]")).not_to_be_empty()  # its script ran
    top = [item.bounding_box()["y"] for item in (nms, widget, exercise)]  # type: ignore[index]
    assert top == sorted(top), top
    widget.scroll_into_view_if_needed()
    if SHOTS.exists():
        page.screenshot(path=str(SHOTS / "inline-widget-ko.png"))
    assert page.errors == []  # type: ignore[attr-defined]


def test_two_widgets_and_a_diagram_on_their_pages(korean, live_url) -> None:
    page = korean
    page.goto(f"{live_url}/lessons/vision-tasks/")
    expect(page.locator("[data-testid=lesson-widget]")).to_have_count(2)
    expect(page.locator("[data-widget=vision-tasks]")).to_be_visible()
    expect(page.locator("[data-testid=iou-value]")).not_to_be_empty()
    page.goto(f"{live_url}/lessons/classic-architectures/")
    diagram = page.locator("img[src$='resnet-residual-block.ko.svg']")
    diagram.scroll_into_view_if_needed()
    expect(diagram).to_be_visible()
    box = diagram.bounding_box()
    assert box and box["width"] > 300  # the SVG loaded and has its size
    if SHOTS.exists():
        page.screenshot(path=str(SHOTS / "diagram-ko.png"))
    assert page.errors == []  # type: ignore[attr-defined]
