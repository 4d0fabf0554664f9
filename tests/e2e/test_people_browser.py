"""A student uploads a photo in a real browser and sees the count and the crops."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

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
    # (CSP forbids eval, so no wait_for_function: each crop is awaited by locator.)
    for i in range(3):
        expect(crops.nth(i)).to_have_js_property("complete", True)
        expect(crops.nth(i)).not_to_have_js_property("naturalWidth", 0)

    shown_boxes = "[data-overlay-box]:not([display=none])"
    assert page.locator(shown_boxes).count() == 3
    labels = page.locator(f"{shown_boxes} [data-overlay-label]").all_text_contents()
    numbers = [label.split(" · ")[0] for label in labels]
    assert numbers == [
        page.get_attribute(f"{shown_boxes} >> nth={i}", "data-rank") for i in range(3)
    ]
    assert all(re.fullmatch(r"\d+ · 0\.\d\d", label) for label in labels)
    crop_numbers = page.locator("[data-crop]:visible [data-crop-index]")
    assert crop_numbers.all_text_contents() == numbers
    downloads = page.locator("[data-crop]:visible a[download]")
    assert [downloads.nth(i).get_attribute("download") for i in range(3)] == [
        f"person_{int(n):02d}.jpg" for n in numbers
    ]

    # Moving the slider re-filters at once, without a request to the server.
    requests: list[str] = []
    page.on("request", lambda r: "/static/" not in r.url and requests.append(r.url))
    page.fill("[data-threshold]", "0.7")
    assert page.text_content("[data-testid=person-count]").strip() == "2"
    assert page.locator("[data-crop]:visible").count() == 2
    assert page.locator(shown_boxes).count() == 2
    # One number per person: the boxes still shown keep the numbers they had.
    still = page.locator(f"{shown_boxes} [data-overlay-label]").all_text_contents()
    assert [label.split(" · ")[0] for label in still] == [
        n for n, label in zip(numbers, labels, strict=True) if float(label[-4:]) >= 0.7
    ]
    assert page.locator(
        "[data-crop]:visible [data-crop-index]"
    ).all_text_contents() == [label.split(" · ")[0] for label in still]
    assert "score_threshold=0.7" in page.get_attribute("[data-zip-link]", "href")
    assert "score_threshold=0.7" in page.get_attribute("[data-annotated-link]", "href")
    assert requests == []

    # Hovering a crop highlights its box, and the reverse.
    first_crop = page.locator("[data-crop]:visible").first
    rank = first_crop.get_attribute("data-rank")
    first_crop.hover()
    box = page.locator(f'[data-overlay-box][data-rank="{rank}"]')
    assert "is-highlighted" in box.get_attribute("class")
    page.mouse.move(0, 0)
    assert "is-highlighted" not in box.get_attribute("class")
    box.hover()
    assert "is-highlighted" in first_crop.get_attribute("class")
    assert problems == []


def test_each_side_of_a_comparison_has_its_own_slider(
    logged_in_page, live_url, samples_dir, models_ready
) -> None:
    page = logged_in_page
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{live_url}/demos/people/")
    page.set_input_files(
        "input[name=images]", str(samples_dir / "people" / "apollo11_crew.jpg")
    )
    page.select_option("select[name=detector]", "yolox-nano")
    page.click("[data-testid=upload-submit]")
    page.wait_for_url(re.compile(r"/demos/people/[0-9a-f-]{36}/$"))
    page.select_option("select[name=detector]", "picodet-s-416")
    page.click("[data-testid=compare-submit]")
    page.wait_for_url(re.compile(r"/compare/[0-9a-f-]{36}/$"))

    # Each detector starts at its own default threshold.
    shown = page.locator("[data-threshold-shown]").all_text_contents()
    assert shown == ["0.59", "0.34"]
    sliders = page.locator("[data-threshold]")
    sliders.nth(1).fill("0.99")

    counts = page.locator("[data-testid=person-count]").all_text_contents()
    assert [c.strip() for c in counts] == ["3", "0"]
    shown = page.locator("[data-threshold-shown]").all_text_contents()
    assert shown == ["0.59", "0.99"]
    assert "other_threshold=0.99" in page.url
    sliders.nth(0).fill("0.99")
    counts = page.locator("[data-testid=person-count]").all_text_contents()
    assert [c.strip() for c in counts] == ["0", "0"]
    assert problems == []


def test_counter_draws_unsure_people_dashed_and_says_how_many(
    logged_in_page, live_url, samples_dir, models_ready
) -> None:
    page = logged_in_page
    page.goto(f"{live_url}/demos/people/")
    page.set_input_files(
        "input[name=images]", str(samples_dir / "people" / "apollo11_crew.jpg")
    )
    page.select_option("select[name=detector]", "picodet-s-counter")
    page.click("[data-testid=upload-submit]")
    page.wait_for_url(re.compile(r"/demos/people/[0-9a-f-]{36}/$"))

    text = page.text_content("[data-testid=count-range]")
    match = re.search(r"(\d+) people · (\d+|none) unsure", text)
    assert match is not None
    unsure = page.locator("[data-overlay-box][data-unsure]")
    expected = 0 if match.group(2) == "none" else int(match.group(2))
    assert unsure.count() == expected
    for i in range(unsure.count()):
        outline = unsure.nth(i).locator(".box-outline")
        assert outline.get_attribute("stroke-dasharray")


def test_student_deletes_a_box_draws_a_missed_person_and_sees_the_scores(
    logged_in_page, live_url, samples_dir, models_ready
) -> None:
    page = logged_in_page
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{live_url}/demos/people/")
    page.set_input_files(
        "input[name=images]", str(samples_dir / "people" / "apollo11_crew.jpg")
    )
    page.select_option("select[name=detector]", "yolox-nano")
    page.click("[data-testid=upload-submit]")
    page.wait_for_url(re.compile(r"/demos/people/[0-9a-f-]{36}/$"))
    labels_before = page.locator(
        "[data-overlay-box]:not([display=none]) [data-overlay-label]"
    ).all_text_contents()
    assert page.text_content("[data-testid=truth-count]") == "3"

    # Delete one box: it is not a person (say).
    page.locator("[data-truth-box]").first.click()
    assert page.text_content("[data-testid=truth-count]") == "2"
    # Draw a person the detector missed, in the photo's top-left corner.
    frame = page.locator("[data-testid=truth-overlay]").bounding_box()
    page.mouse.move(frame["x"] + 5, frame["y"] + 5)
    page.mouse.down()
    page.mouse.move(frame["x"] + 40, frame["y"] + 60, steps=4)
    page.mouse.up()
    assert page.text_content("[data-testid=truth-count]") == "3"
    assert page.locator("[data-truth-box]").count() == 3

    page.click("[data-testid=truth-save]")
    page.wait_for_selector("[data-testid=truth-agreement]")

    assert page.text_content("[data-testid=truth-precision]") == "0.67"
    assert page.text_content("[data-testid=truth-recall]") == "0.67"
    assert page.text_content("[data-testid=truth-count]") == "3"  # saved boxes
    # The detections themselves and their numbers are unchanged.
    labels_after = page.locator(
        "[data-overlay-box]:not([display=none]) [data-overlay-label]"
    ).all_text_contents()
    assert labels_after == labels_before
    assert problems == []


def test_on_a_phone_the_photo_comes_first_and_labels_never_cover_each_other(
    browser, logged_in_page, live_url, samples_dir, models_ready
) -> None:
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_url}/demos/people/")
    page.set_input_files(
        "input[name=images]", str(samples_dir / "people" / "composite_1.png")
    )
    page.select_option("select[name=detector]", "picodet-s-counter")
    page.click("[data-testid=upload-submit]")
    page.wait_for_url(re.compile(r"/demos/people/[0-9a-f-]{36}/$"))
    page.fill("[data-threshold]", "0.2")  # many boxes: a crowd of labels

    photo = page.locator("[data-testid=box-overlay]").bounding_box()
    count = page.locator("[data-testid=person-count]").bounding_box()
    assert photo["y"] < count["y"]
    columns = page.eval_on_selector(
        "[data-crop-grid]", "el => getComputedStyle(el).gridTemplateColumns"
    )
    assert len(columns.split()) == 3
    tags = page.eval_on_selector_all(
        "[data-overlay-box]:not([display=none]) .box-tag",
        "els => els.map(e => ['x','y','width','height']"
        ".map(a => Number(e.getAttribute(a))))",
    )
    assert len(tags) >= 2
    for i, (ax, ay, aw, ah) in enumerate(tags):
        for bx, by, bw, bh in tags[i + 1 :]:
            assert not (ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah)
