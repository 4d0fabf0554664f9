"""Lessons 7-9 API: /api/v1/architectures/, /api/v1/transfer-learning/ and
/api/v1/augmentations/ (the widgets' data is public, the rest needs a login)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import translation
from PIL import Image

pytestmark = pytest.mark.django_db


def png_size(content: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    return image.size


def translated(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


def test_comparison_lists_six_architectures_with_layers(client: Client) -> None:
    response = client.get("/api/v1/architectures/comparison/")
    data = response.json()
    assert response.status_code == 200
    assert [m["key"] for m in data["models"]] == [
        "lenet5",
        "alexnet",
        "vgg16",
        "googlenet",
        "resnet18",
        "resnet50",
    ]
    resnet50 = data["models"][-1]
    assert resnet50["params"] == resnet50["published_params"] == 25_557_032
    assert resnet50["gmacs"] == 4.089
    assert resnet50["layers"][4]["name"] == "layer1"
    assert data["blocks"]["basic"]["params"] == 1_180_672
    assert data["blocks"]["bottleneck"]["params"] == 70_400
    assert "GFLOPs = 2 × GMACs" in data["convention"]


def test_comparison_notes_follow_the_language(client: Client) -> None:
    data = client.get(
        "/api/v1/architectures/comparison/", HTTP_ACCEPT_LANGUAGE="ko"
    ).json()
    note = (
        "Only 3×3 convolutions, stacked in five stages: simple and heavy. Nine "
        "tenths of its 138 M parameters sit in the classifier, most MACs in the "
        "convolutions."
    )
    assert data["models"][2]["note"] == translated("ko", note)


def test_transfer_learning_counts_trainable_parameters_for_anyone(
    client: Client,
) -> None:
    data = client.get("/api/v1/transfer-learning/").json()
    counts = {s["key"]: s for s in data["strategies"]}
    assert data["num_classes"] == 33
    assert counts["feature-extractor"]["trainable"] == 2048 * 33 + 33
    assert counts["fine-tune-all"]["frozen"] == 0
    assert counts["fine-tune-last-stage"]["trainable_blocks"] == ["layer4", "fc"]
    assert len(data["cases"]) == 4


def test_samples_list_the_shipped_photos_and_the_digit(client: Client) -> None:
    samples = client.get("/api/v1/augmentations/samples/").json()["samples"]
    keys = [s["key"] for s in samples]
    assert "digit-6" in keys
    assert len(keys) >= 2
    photo = samples[0]
    assert photo["url"].startswith("/static/img/samples/")
    assert finders.find(photo["url"].removeprefix("/static/"))


def test_plan_labels_every_tile(client: Client) -> None:
    data = client.get("/api/v1/augmentations/plan/?seed=3&count=5").json()
    assert data["count"] == 5
    assert [tile["index"] for tile in data["tiles"]] == [1, 2, 3, 4, 5]
    assert all(tile["ops"] and tile["ops"][0]["label"] for tile in data["tiles"])
    assert (data["width"], data["height"]) == (4 * 164 + 4, 2 * 164 + 4)


def test_plan_refuses_too_many_tiles(client: Client) -> None:
    response = client.get("/api/v1/augmentations/plan/?count=500")
    assert response.status_code == 400
    assert "count" in response.json()["detail"]


def test_api_lists_architectures_for_logged_in_users(
    logged_in_client: Client,
) -> None:
    response = logged_in_client.get("/api/v1/architectures/")
    rows = {row["key"]: row for row in response.json()}
    assert response.status_code == 200
    assert rows["vgg16"]["params"] == 138_357_544
    assert rows["alexnet"]["published_gmacs"] == 0.714
    assert "layers" not in rows["vgg16"]


def test_api_detail_has_the_layer_table(logged_in_client: Client) -> None:
    data = logged_in_client.get("/api/v1/architectures/googlenet/").json()
    assert data["params"] == 6_624_904
    assert any(row["name"] == "inception3a" for row in data["layers"])
    assert logged_in_client.get("/api/v1/architectures/nope/").status_code == 404


def test_api_needs_a_login(client: Client) -> None:
    assert client.get("/api/v1/architectures/").status_code in (401, 403)


def test_api_transfer_learning(logged_in_client: Client) -> None:
    data = logged_in_client.get("/api/v1/transfer-learning/").json()
    assert data["strategies"][0]["trainable"] == 67_617


def test_api_augmentation_returns_the_grid_and_labels(
    logged_in_client: Client, sample_image: Path
) -> None:
    with sample_image.open("rb") as photo:
        response = logged_in_client.post(
            "/api/v1/augmentations/", {"image": photo, "count": 2, "seed": 4}
        )
    data = response.json()
    assert response.status_code == 200
    assert len(data["tiles"]) == 2
    png = base64.b64decode(data["grid_png"].removeprefix("data:image/png;base64,"))
    assert png_size(png) == (data["width"], data["height"]) == (2 * 164 + 4, 168)


def test_api_augmentation_bad_upload_is_400(
    logged_in_client: Client, samples_dir: Path
) -> None:
    with (samples_dir / "bad" / "empty.jpg").open("rb") as bad:
        response = logged_in_client.post("/api/v1/augmentations/", {"image": bad})
    assert response.status_code == 400
    assert response.json()["detail"]


def test_comparison_is_not_read_as_an_architecture_key(client: Client) -> None:
    response = client.get("/api/v1/architectures/comparison/")
    assert response.status_code == 200
    assert set(response.json()) == {"models", "blocks", "convention"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/architectures/comparison/",
        "/api/v1/transfer-learning/",
        "/api/v1/augmentations/samples/",
        "/api/v1/augmentations/plan/",
    ],
)
def test_the_widgets_data_needs_no_account(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_plan_defaults_to_eight_tiles_from_seed_zero(client: Client) -> None:
    data = client.get("/api/v1/augmentations/plan/").json()
    assert (data["seed"], data["count"]) == (0, 8)
