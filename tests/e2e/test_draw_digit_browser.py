"""A student draws a 7 on the lesson 5 canvas with the mouse and sees it read."""

from __future__ import annotations

import pytest

from demos.lessons.services import load_lessons

pytestmark = pytest.mark.e2e


def test_student_draws_a_digit_and_sees_the_prediction(
    logged_in_page, live_url: str
) -> None:
    load_lessons()
    page = logged_in_page
    page.goto(f"{live_url}/lessons/draw-a-digit/")
    canvas = page.locator("[data-testid=digit-canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None

    def at(x: float, y: float) -> tuple[float, float]:
        # Canvas coordinates 0..280 → page pixels (the canvas may be scaled by CSS).
        return box["x"] + x * box["width"] / 280, box["y"] + y * box["height"] / 280

    # A big, off-centre 7: the top bar, then the diagonal, in one stroke.
    page.mouse.move(*at(40, 40))
    page.mouse.down()
    page.mouse.move(*at(200, 40), steps=12)
    page.mouse.move(*at(110, 260), steps=16)
    page.mouse.up()

    prediction = page.locator("[data-testid=digit-prediction]")
    # The first prediction of a process imports torch and grad-cam: allow for it.
    prediction.filter(has_text="7").wait_for(timeout=60_000)
    assert prediction.inner_text().strip() == "7"
    page.locator("[data-testid=digit-layers] img").first.wait_for()
    cam = page.locator("[data-testid=digit-cam]")
    assert cam.is_visible() and cam.get_attribute("src").startswith("data:image/png")
    assert (
        page.locator("[data-testid=digit-layers] li").count() == 9
    )  # input + 8 layers

    page.click("[data-testid=digit-clear]")
    assert prediction.inner_text().strip() == ""
