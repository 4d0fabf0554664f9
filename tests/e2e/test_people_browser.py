"""A student uploads a photo in a real browser and sees the count and the crops."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def test_student_uploads_a_photo_and_sees_count_and_crops(
    logged_in_page, live_url, samples_dir, models_ready
) -> None:
    page = logged_in_page
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(f"{live_url}/demos/people/")
    page.set_input_files(
        "input[name=images]", str(samples_dir / "people" / "apollo11_crew.jpg")
    )
    assert "apollo11_crew.jpg" in page.text_content("[data-file-list]")
    page.select_option("select[name=detector]", "yolox-nano")
    page.click("[data-testid=upload-submit]")
    page.wait_for_url(re.compile(r"/demos/people/[0-9a-f-]{36}/$"))

    assert page.text_content("[data-testid=person-count]").strip() == "3"
    crops = page.locator("[data-crop]:visible img")
    assert crops.count() == 3
    page.wait_for_function(
        "[...document.querySelectorAll('[data-crop]:not([hidden]) img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )

    # Moving the slider re-filters at once, without a request to the model.
    page.fill("[data-threshold]", "0.7")
    assert page.text_content("[data-testid=person-count]").strip() == "2"
    assert page.locator("[data-crop]:visible").count() == 2
    page.wait_for_selector("[data-annotated-canvas]:not([hidden])")
    assert "score_threshold=0.7" in page.get_attribute("[data-zip-link]", "href")
    assert problems == []
