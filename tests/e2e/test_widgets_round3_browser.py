"""Widgets you act on, round 3 (issue 19), in a real browser and in Korean: NMS
ending at one box per rider with the nested-box case shown; vision tasks drawing
no made-up masks; the session inspector's tampered cookie (AnonymousUser) and
log-out-elsewhere; the t-SNE perplexity control. Each widget is photographed
(test-artifacts/round3-*.png) for a person to look at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, watch_errors
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def lessons(course) -> None:
    """Every test here opens a lesson."""


def shoot(page, testid: str, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    widget = page.locator(f"[data-testid={testid}]")
    widget.scroll_into_view_if_needed()
    widget.screenshot(path=str(ARTIFACTS / f"round3-{name}.png"))


def pixel(canvas, x: float, y: float) -> list[int]:
    return canvas.evaluate(
        "(c, [x, y]) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data)",
        [x, y],
    )


def test_nms_ends_at_one_box_per_rider_and_shows_the_nested_pair(
    korean_page, live_url, models_ready, settings
) -> None:
    settings.PERSON_DETECTOR = ""  # the portal's own choice: the person counter
    page = korean_page
    errors = watch_errors(page)
    with page.expect_response("**/api/v1/playgrounds/nms/**") as answer:
        page.goto(f"{live_url}/lessons/object-detection/")
    body = answer.value.json()
    assert len(body["kept"]) == 4 and body["nested_threshold"] == 0.8
    expect(page.locator("[data-testid=nms-nested-rule]")).to_be_checked()
    page.click("[data-testid=nms-next]")
    page.locator("[data-role=all]").click()
    explain = page.locator("[data-testid=nms-explain]")
    expect(explain).to_contain_text(re.compile(r"중 4개를 남겼습니다"))
    expect(explain).to_contain_text("표시된 사람은 4명")
    shoot(page, "widget-iou-nms", "nms-default")

    with page.expect_response("**drop_nested=false**") as plain:
        page.click("[data-testid=nms-nested-show]")
    [[outer, inner, value, share]] = plain.value.json()["nested_kept"]
    expect(page.locator("[data-testid=nms-nested-rule]")).not_to_be_checked()
    said = page.locator("[data-testid=nms-nested-explain]")
    expect(said).to_contain_text(f"박스 #{inner}는 박스 #{outer} 안에")
    expect(said).to_contain_text(f"IoU는 {value:.2f}뿐입니다")
    expect(said).to_contain_text("포함 규칙")
    expect(explain).to_contain_text("사람마다 박스 하나가 아닙니다")
    # The nested box is drawn filled in purple over a darkened photo.
    canvas = page.locator("[data-testid=nms-canvas]")
    box = plain.value.json()["candidates"][inner]["box"]
    r, g, b, _ = pixel(canvas, (box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    assert r > g and b > g  # purple tint
    shoot(page, "widget-iou-nms", "nms-nested")

    with page.expect_response("**drop_nested=true**"):
        page.click("[data-testid=nms-nested-fix]")
    expect(page.locator("[data-testid=nms-nested-rule]")).to_be_checked()
    expect(explain).to_contain_text(re.compile(r"중 4개를 남겼습니다"))
    assert errors == []


def test_vision_tasks_draw_boxes_not_masks_and_label_people_in_korean(
    korean_page, live_url
) -> None:
    page = korean_page
    errors = watch_errors(page)
    with page.expect_response("**/api/v1/playgrounds/vision-tasks/**") as answer:
        page.goto(f"{live_url}/lessons/vision-tasks/")
    body = answer.value.json()
    canvas = page.locator("[data-testid=vt-canvas]")
    scale = 512 / body["width"]
    x1, y1, x2, y2 = (v * scale for v in body["people"][0]["box"])
    centre = ((x1 + x2) / 2, (y1 + y2) / 2)
    before = pixel(canvas, *centre)
    explainer = page.locator("[data-testid=vt-mask-explainer]")
    expect(explainer).to_be_hidden()
    page.locator("input[name=task][value=segmentation]").check()
    expect(explainer).to_be_visible()
    expect(explainer).to_contain_text("설명을 위한 그림")
    expect(page.locator("[data-testid=vt-task-text]")).to_contain_text(
        "이 서버에는 분할 모델이 없으므로 마스크를 그리지 않습니다"
    )
    assert pixel(canvas, *centre) == before  # the photo, not a coloured mask
    shoot(page, "widget-vision-tasks", "vision-tasks-segmentation")
    assert errors == []


def test_session_inspector_tampers_a_copy_and_logs_out_elsewhere(
    korean_page, live_url, browser
) -> None:
    page = korean_page
    errors = watch_errors(page)
    # A second browser of the same student, to be logged out from the first.
    other = browser.new_context(locale="ko-KR")
    elsewhere = other.new_page()
    elsewhere.goto(f"{live_url}/accounts/login/")
    elsewhere.fill("input[name=username]", page.username)
    elsewhere.fill("input[name=password]", DEFAULT_PASSWORD)
    elsewhere.click("form.form button[type=submit]")
    elsewhere.wait_for_url(f"{live_url}/")

    page.goto(f"{live_url}/lessons/how-login-works/")
    value = page.locator("[data-testid=session-cookie-value]")
    expect(value).to_have_text(re.compile(r"^[a-z0-9]{8}…$"))
    shown = value.inner_text()
    expect(page.locator("[data-testid=session-js-cookies]")).to_contain_text(
        "sessionid은 없습니다"
    )
    expect(page.locator("[data-testid=session-cookie-shape]")).to_contain_text(
        "무작위 32글자"
    )
    page.fill("[data-testid=session-tamper-position]", "3")
    new = "a" if shown[2] != "a" else "b"
    page.fill("[data-testid=session-tamper-character]", new)
    expect(page.locator("[data-testid=session-tamper-chars] .changed")).to_have_text(
        new
    )
    page.click("[data-testid=session-tamper-send]")
    result = page.locator("[data-testid=session-tamper-result]")
    expect(result).to_contain_text("request.user = AnonymousUser")
    expect(result).to_contain_text(f"request.user = {page.username}")
    steps = page.locator("[data-testid=session-tamper-steps] li")
    expect(steps).to_have_count(2)
    expect(steps.nth(1)).to_contain_text("request.user = AnonymousUser")
    shoot(page, "widget-session-inspector", "session-tampered")
    # The student's own session is untouched.
    page.reload()
    expect(page.locator("[data-testid=session-cookie-value]")).to_have_text(shown)

    page.click("[data-testid=session-logout-elsewhere-send]")
    done = page.locator("[data-testid=session-logout-elsewhere-result]")
    expect(done).to_contain_text("세션 세대 0 → 1")
    expect(done).to_contain_text("request.user = AnonymousUser")
    expect(page.locator("[data-testid=session-cookie-value]")).not_to_have_text(shown)
    shoot(page, "widget-session-inspector", "session-elsewhere")
    # This browser is still logged in; the other one is not.
    page.reload()
    expect(page.locator("[data-testid=session-tamper]")).to_be_visible()
    elsewhere.goto(f"{live_url}/lessons/how-login-works/")
    expect(elsewhere.locator("[data-testid=login-required]")).to_be_visible()
    other.close()
    assert errors == []


def test_tsne_perplexity_control_swaps_the_map(korean_page, live_url) -> None:
    page = korean_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/autoencoders-tsne/")
    scatter = page.locator("[data-testid=tsne-scatter]")
    expect(scatter).to_have_attribute("data-perplexity", "30", timeout=60_000)
    agreement = page.locator("[data-testid=tsne-agreement]")
    expect(agreement).to_contain_text("퍼플렉서티 30")
    shoot(page, "widget-autoencoder-tsne", "tsne-30")
    at_30 = scatter.screenshot()
    with page.expect_response("**/api/v1/cnn/tsne/?perplexity=5"):
        page.check("[data-testid=tsne-perplexity-5]")
    expect(scatter).to_have_attribute("data-perplexity", "5")
    expect(agreement).to_contain_text("퍼플렉서티 5")
    assert scatter.screenshot() != at_30
    shoot(page, "widget-autoencoder-tsne", "tsne-5")
    page.check("[data-testid=tsne-perplexity-50]")
    expect(scatter).to_have_attribute("data-perplexity", "50")
    shoot(page, "widget-autoencoder-tsne", "tsne-50")
    assert errors == []
