"""Teachable Machine's flow on the transfer-learning page, in a real browser: a
student adds two classes, gives each a few photos, removes one, trains, watches the
epochs come in and predicts a new photo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.demos.ml.zips import SAMPLES_DIR
from tests.e2e.conftest import watch_errors

pytestmark = pytest.mark.e2e


def photos_of(sample: str, folder: Path, count: int) -> list[str]:
    """``count`` different crops of one sample photo, as files a student picks."""
    image = Image.open(SAMPLES_DIR / sample).convert("RGB")
    width, height = image.size
    folder.mkdir()
    paths = []
    for i in range(count):
        left, top = i * width // (4 * count), i * height // (4 * count)
        path = folder / f"{i}.jpg"
        image.crop((left, top, width - left, height - top)).save(path)
        paths.append(str(path))
    return paths


def test_a_student_trains_on_two_classes_of_their_own_photos(
    logged_in_page, live_url: str, course: None, tmp_path: Path
) -> None:
    page = logged_in_page
    errors = watch_errors(page)
    page.goto(f"{live_url}/lessons/transfer-learning/")
    run = page.locator("[data-widget=transfer-learning] [data-role=run]")
    photos = run.locator("[data-testid=transfer-photos]")
    expect(photos).to_be_visible()  # the default source

    for name, sample, count in (
        ("cat", "nobody/chelsea.png", 6),
        ("plane", "nobody/plane.jpg", 5),
    ):
        photos.locator("[data-role=class-name]").fill(name)
        photos.locator("[data-role=add-class]").click()
        card = photos.locator(f"li.transfer-class[data-class-name={name}]")
        camera = card.locator("input[data-role=add-camera]")
        expect(camera).to_have_attribute("capture", "environment")
        card.locator("input[data-role=add-files]").set_input_files(
            photos_of(sample, tmp_path / name, count)
        )
        thumbs = card.locator("[data-role=thumbs] img")
        expect(thumbs).to_have_count(count, timeout=30_000)
        expect(card.locator("[data-role=class-count]")).to_have_text(f"{count} photos")

    cat = photos.locator("li.transfer-class[data-class-name=cat]")
    cat.get_by_role("button", name="Remove photo 6 of cat").click()
    expect(cat.locator("[data-role=thumbs] img")).to_have_count(5)
    expect(cat.locator("[data-role=class-count]")).to_have_text("5 photos")

    form = run.locator("[data-role=run-form]")
    form.locator("select[name=model]").select_option("mobilenet_v2")
    form.locator("input[name=epochs]").fill("2")
    form.locator("button[type=submit]").click()
    status = run.locator("[data-role=run-status]")
    expect(status).to_contain_text("Done: validation accuracy", timeout=180_000)
    assert re.search(r"accuracy \d\.\d+", status.inner_text())
    expect(run.locator("[data-role=run-epochs] tbody tr")).to_have_count(2)
    expect(run.locator("[data-role=confusion] th[scope=col]")).to_have_text(
        ["cat", "plane"]
    )

    photo = tmp_path / "another-plane.jpg"
    Image.open(SAMPLES_DIR / "nobody/plane.jpg").convert("RGB").save(photo)
    predict = run.locator("[data-role=predict-form]")
    predict.locator("input[name=image]").set_input_files(str(photo))
    predict.locator("button[type=submit]").click()
    expect(run.locator("[data-role=prediction]")).to_contain_text(
        re.compile(r"(cat|plane) \d"), timeout=60_000
    )
    assert errors == []


def test_too_few_photos_are_explained_before_anything_is_sent(
    logged_in_page, live_url: str, course: None, tmp_path: Path
) -> None:
    page = logged_in_page
    page.goto(f"{live_url}/lessons/transfer-learning/")
    run = page.locator("[data-widget=transfer-learning] [data-role=run]")
    photos = run.locator("[data-testid=transfer-photos]")
    photos.locator("[data-role=class-name]").fill("cat")
    photos.locator("[data-role=add-class]").click()
    run.locator("[data-role=run-form] button[type=submit]").click()
    expect(run.locator("[data-role=run-status]")).to_have_text(
        "Add at least 2 classes with at least 2 photos each."
    )
