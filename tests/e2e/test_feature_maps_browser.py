"""The feature-map lesson's linked view and a real transfer run, in a real browser:
click a pixel of a map → its receptive field and the stem's dot product; train on a
small two-class ImageFolder ZIP → done, validation accuracy, a prediction."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.demos.ml.zips import SAMPLES_DIR

pytestmark = pytest.mark.e2e


def collect_errors(page) -> list[str]:
    """Uncaught exceptions and console errors (CSP violations are console errors)."""
    found: list[str] = []
    page.on("pageerror", lambda exc: found.append(str(exc)))
    page.on(
        "console", lambda msg: found.append(msg.text) if msg.type == "error" else None
    )
    return found


def test_clicking_a_map_pixel_shows_its_field_and_dot_product(
    logged_in_page, live_url: str, course: None
) -> None:
    page = logged_in_page
    errors = collect_errors(page)
    page.goto(f"{live_url}/lessons/feature-maps/?sample=cat")
    widget = page.locator("[data-testid=widget-feature-maps]")
    expect(widget.locator("[data-testid=feature-maps-model]")).to_have_value(
        "efficientnet-lite0"
    )
    layer = widget.locator("[data-testid=feature-maps-layer]")
    expect(layer.locator("option").first).to_have_attribute("value", "features.0")
    tile = widget.locator("[data-role=channels] img.is-clickable").first
    expect(tile).to_be_visible(timeout=60_000)
    expect(widget.locator("[data-testid=linked-view]")).to_be_visible()

    box = tile.bounding_box()
    assert box is not None
    # Near the middle of the 112 x 112 stem map (stride 2, SAME padding): pixel
    # (row y, column x) sees input rows 2y..2y+2 and columns 2x..2x+2.
    tile.click(position={"x": box["width"] / 2, "y": box["height"] / 3})
    where = widget.locator("[data-testid=linked-map-caption]")
    expect(where).to_contain_text("features.0", timeout=30_000)
    y, x = map(int, re.search(r"row (\d+), column (\d+)", where.inner_text()).groups())
    assert 30 < y < x < 80
    caption = widget.locator("[data-testid=linked-field-caption]")
    expect(caption).to_contain_text(
        f"rows {2 * y}–{2 * y + 2}, columns {2 * x}–{2 * x + 2}"
    )
    expect(caption).to_contain_text("3×3")
    dot = widget.locator("[data-testid=linked-dot]")
    expect(dot).to_be_visible()
    expect(dot.locator("table.is-kernel")).to_have_count(3)
    expect(dot.locator("table.is-kernel td")).to_have_count(27)
    # Three written-out sums of nine products, then their total plus the bias.
    assert (
        dot.locator(".cnn-dot-channel .cnn-formula").first.inner_text().count("×") == 9
    )
    total = widget.locator("[data-testid=linked-sum]").inner_text()
    relu = widget.locator("[data-testid=linked-relu]").inner_text()
    pre = float(re.search(r"= (-?\d+\.\d+)$", total).group(1))
    value = float(re.search(r"= (-?\d+\.\d+), ", relu).group(1))
    assert value == pytest.approx(min(max(pre, 0.0), 6.0), abs=1e-3)
    expect(widget.locator("[data-testid=linked-top] li")).to_have_count(5)

    # A deep layer: a wide field, no arithmetic, the channel's share of the logits.
    layer.select_option("features.8")
    deep_tile = widget.locator("[data-role=channels] img.is-clickable").first
    expect(widget.locator("[data-testid=feature-maps-shape]")).to_contain_text(
        "1280", timeout=60_000
    )
    deep_tile.click(position={"x": 5, "y": 5})
    expect(widget.locator("[data-testid=linked-map-caption]")).to_contain_text(
        "features.8", timeout=30_000
    )
    expect(dot).to_be_hidden()
    expect(widget.locator("[data-testid=linked-top] .cnn-share")).to_have_count(5)
    assert errors == []


def two_class_zip(path: Path) -> Path:
    """cat vs plane: crops and flips of two sample photos, 8 per class."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for label, name in (
            ("cat", "nobody/chelsea.png"),
            ("plane", "nobody/plane.jpg"),
        ):
            image = Image.open(SAMPLES_DIR / name).convert("RGB")
            width, height = image.size
            for i in range(8):
                left, top = i * width // 40, (7 - i) * height // 40
                crop = image.crop(
                    (
                        left,
                        top,
                        width - (7 - i) * width // 40,
                        height - i * height // 40,
                    )
                )
                if i % 2:
                    crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
                jpeg = io.BytesIO()
                crop.resize((128, 128)).save(jpeg, "JPEG", quality=90)
                archive.writestr(f"{label}/{i}.jpg", jpeg.getvalue())
    path.write_bytes(buffer.getvalue())
    return path


def test_a_transfer_run_trains_and_predicts_a_photo(
    logged_in_page, live_url: str, course: None, tmp_path: Path
) -> None:
    page = logged_in_page
    errors = collect_errors(page)
    page.goto(f"{live_url}/lessons/transfer-learning/")
    run = page.locator("[data-widget=transfer-learning] [data-role=run]")
    form = run.locator("[data-role=run-form]")
    form.locator("input[name=dataset]").set_input_files(
        str(two_class_zip(tmp_path / "cats-vs-planes.zip"))
    )
    form.locator("input[name=epochs]").fill("3")
    form.locator("button[type=submit]").click()
    status = run.locator("[data-role=run-status]")
    expect(status).to_contain_text("Done: validation accuracy", timeout=180_000)
    accuracy = float(re.search(r"accuracy (\d\.\d+)", status.inner_text()).group(1))
    assert accuracy >= 0.75
    expect(run.locator("[data-role=run-epochs] tbody tr")).to_have_count(3)

    photo = tmp_path / "another-cat.jpg"
    Image.open(SAMPLES_DIR / "nobody/chelsea.png").convert("RGB").save(photo)
    predict = run.locator("[data-role=predict-form]")
    predict.locator("input[name=image]").set_input_files(str(photo))
    predict.locator("button[type=submit]").click()
    expect(run.locator("[data-role=prediction]")).to_contain_text("cat", timeout=60_000)
    # The class activation map over the photo, drawn with the photo's shape.
    cam = run.locator("[data-testid=transfer-cam]")
    expect(cam).to_be_visible()
    assert cam.evaluate("c => [c.width, c.height]") == [240, 160]
    expect(run.locator("[data-role=cam-caption]")).to_contain_text("Why “cat”?")
    assert errors == []
