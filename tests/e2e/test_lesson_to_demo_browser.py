"""One click from the object-detection lesson to a person-demo result on its photo."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from demos.lessons.services import load_lessons

pytestmark = pytest.mark.e2e


def test_lesson_photo_runs_in_the_person_demo_without_a_download(
    logged_in_page, live_url, models_ready
) -> None:
    load_lessons()
    page = logged_in_page
    page.goto(f"{live_url}/lessons/object-detection/")
    link = page.locator("[data-testid=nms-demo-link]")
    expect(link).to_have_attribute("href", re.compile(r"\?sample=cyclists$"))
    page.select_option("[data-testid=nms-sample]", "apollo-crew")
    expect(link).to_have_attribute("href", re.compile(r"\?sample=apollo-crew$"))
    link.click()

    page.wait_for_url(re.compile(r"/demos/people/\?sample=apollo-crew$"))
    assert "Apollo 11" in page.text_content("[data-testid=sample-chosen]")
    page.select_option("select[name=detector]", "yolox-nano")
    page.click("[data-testid=upload-submit]")

    page.wait_for_url(re.compile(r"/demos/people/[0-9a-f-]{36}/$"))
    # The lesson's 512 px copy of the photo: YOLOX-Nano finds two of the three
    # astronauts at its default threshold.
    assert page.text_content("[data-testid=person-count]").strip() == "2"
    assert "apollo11_crew.jpg" in page.content()
