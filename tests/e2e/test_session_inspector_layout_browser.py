"""The session inspector's three fact tables fit inside the widget, in a real
browser and in Korean, at desktop width (three columns side by side) and at
phone width (one under another): no column's content runs past the widget's
right edge, where the panel would cut it off. Each width is photographed
(test-artifacts/session-inspector-<width>.png) for a person to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, watch_errors

pytestmark = pytest.mark.e2e

# The right edge of the widget's content box, and the right-most edge of
# anything drawn inside its last fact table (cells, lists, code), in CSS pixels.
EDGES = """(widget) => {
  const box = widget.getBoundingClientRect();
  const padding = parseFloat(getComputedStyle(widget).paddingRight);
  const blocks = widget.querySelectorAll(".session-grid > .facts-block");
  const last = blocks[blocks.length - 1];
  const rights = [last, ...last.querySelectorAll("*")].map(
    (node) => node.getBoundingClientRect().right);
  return {inside: box.right - padding, last: Math.max(...rights),
          tops: [...blocks].map((block) => block.getBoundingClientRect().top)};
}"""


@pytest.mark.parametrize("width", [1280, 390])
def test_the_last_column_lies_inside_the_widget(
    korean_page, live_url, course, width
) -> None:
    page = korean_page
    errors = watch_errors(page)
    page.set_viewport_size({"width": width, "height": 2600})
    page.goto(f"{live_url}/lessons/how-login-works/")
    widget = page.locator("[data-testid=widget-session-inspector]")
    expect(widget.locator("[data-testid=session-keys] li")).to_have_count(3)
    expect(widget.locator("[data-role=middleware] li")).to_have_count(2)
    ARTIFACTS.mkdir(exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / f"session-inspector-{width}.png"))

    edges = widget.evaluate(EDGES)
    assert edges["last"] <= edges["inside"] + 0.5, edges
    tops = edges["tops"]
    if width >= 1280:  # side by side on a desktop, stacked on a phone
        assert len(set(tops)) == 1, tops
    else:
        assert tops == sorted(set(tops)), tops
    assert errors == []
