"""Screenshots of the course widgets (``widget-*.png``), in Debian's chromium.

Usage: start the portal (`make run WEIGHTS_DIR=../shared/weights`), then
`.venv/bin/python docs/take_widget_screenshots.py [BASE_URL]`. It signs up a
throw-away student, uploads a sample photo and saves PNGs under docs/screenshots/:
one picture of each new course widget in the state that shows what it does.
(docs/take_screenshots.py takes the README's page shots.)
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright
from take_screenshots import ARGS, BASE, OUT, sign_up  # same folder (run as a script)

SAMPLE = Path(__file__).resolve().parents[2] / "shared/samples/people/apollo11_crew.jpg"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ko-KR")
        sign_up(page)
        page.goto(f"{BASE}/demos/people/")
        page.set_input_files("input[type=file]", str(SAMPLE))
        page.click("[data-testid=upload-submit]")
        page.wait_for_url("**/demos/people/*-*/")
        # A tall window: a widget is shot whole, clear of the sticky site header.
        page.set_viewport_size({"width": 1280, "height": 2600})
        widget_shots(page)
        browser.close()


def shoot(page, testid: str, name: str) -> None:
    widget = page.locator(f"[data-testid={testid}]")
    widget.scroll_into_view_if_needed()
    widget.screenshot(path=str(OUT / f"widget-{name}.png"))


def draw_seven(page) -> None:
    canvas = page.locator("[data-testid=digit-canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()

    def at(x: float, y: float) -> tuple[float, float]:
        return box["x"] + x * box["width"] / 280, box["y"] + y * box["height"] / 280

    page.mouse.move(*at(50, 50))
    page.mouse.down()
    page.mouse.move(*at(220, 50), steps=12)
    page.mouse.move(*at(120, 250), steps=16)
    page.mouse.up()


def widget_shots(page) -> None:
    """The widgets of issue 12, each in the state that shows what it does."""
    page.goto(f"{BASE}/lessons/training/")
    page.select_option("[data-testid=train-subset]", "50")
    page.select_option("[data-testid=train-epochs]", "40")
    page.click("[data-testid=train-start]")
    page.locator("[data-testid=train-status][data-state=done]").wait_for(
        timeout=120_000
    )
    page.select_option("[data-testid=train-dropout]", "0.5")
    page.check("[data-testid=train-augment]")
    page.click("[data-testid=train-start]")
    page.locator("[data-testid=train-status][data-state=done]").wait_for(
        timeout=120_000
    )
    shoot(page, "widget-training-curves", "training-curves")

    page.goto(f"{BASE}/lessons/recurrent-networks/")
    page.locator("[data-testid=lstm-status][data-ready]").wait_for()
    page.locator("[data-testid=lstm-forget_gate]").click(position={"x": 400, "y": 20})
    shoot(page, "widget-lstm-gates", "lstm-gates")

    page.goto(f"{BASE}/lessons/vision-tasks/")
    page.locator("[data-testid=vt-layout]").filter(has_text="1").wait_for()
    page.check("[data-testid=vt-task-grid]")
    page.wait_for_timeout(500)
    shoot(page, "widget-vision-tasks", "vision-tasks")

    page.goto(f"{BASE}/lessons/how-login-works/")
    page.locator("[data-testid=session-keys] li").first.wait_for()
    shoot(page, "widget-session-inspector", "session-inspector")

    page.goto(f"{BASE}/lessons/convolution/")
    page.locator("[data-testid=conv-steps-formula] code").first.wait_for()
    for _ in range(4):
        page.click("[data-testid=conv-steps-next]")
    shoot(page, "widget-conv-steps", "conv-steps")
    page.check("[data-testid=conv-steps-rgb]")
    page.locator("[data-testid=conv-steps-formula]").filter(has_text="+ 1").wait_for()
    shoot(page, "widget-conv-steps", "conv-steps-rgb")

    page.goto(f"{BASE}/lessons/pooling/")
    page.locator(".quiz-question").first.wait_for()
    page.locator(".quiz-question input[type=radio]").first.check()
    page.click("[data-testid=quiz-submit]")
    page.locator("[data-testid=quiz-status][data-passed]").wait_for()
    shoot(page, "lesson-quiz", "quiz")

    page.goto(f"{BASE}/lessons/draw-a-digit/")
    draw_seven(page)
    page.locator("[data-testid=digit-cam]").wait_for(timeout=60_000)
    page.wait_for_timeout(800)
    shoot(page, "widget-draw-digit", "grad-cam")


if __name__ == "__main__":
    main()
