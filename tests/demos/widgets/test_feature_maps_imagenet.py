"""The feature-map widget's ImageNet CNN: EfficientNet-Lite0 from its wheel, top 5
in the page's language, and Grad-CAM of a chosen class over the whole photo."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from tests.fresh_process import run_in_fresh_process

pytestmark = pytest.mark.django_db

MODELS = "/api/v1/cnn-models/"
MAPS = "/api/v1/feature-maps/"
CATS = {"tabby", "tiger cat", "Egyptian cat"}


@pytest.fixture(autouse=True)
def fresh_throttle_counts() -> None:
    cache.clear()


def test_every_model_says_what_it_learnt_from(logged_in_client: Client) -> None:
    rows = {row["key"]: row for row in logged_in_client.get(MODELS).json()}
    assert all(row["dataset"] for row in rows.values())
    assert rows["efficientnet-lite0"]["dataset"] == "ImageNet-1k"
    assert rows["efficientnet-lite0"]["available"] is True  # no download needed
    assert rows["resnet18"]["dataset"] == "ImageNet-1k"
    assert rows["yolox-nano"]["dataset"] == "COCO"
    assert rows["digits-cnn"]["dataset"] == "digits"


def test_the_cat_photo_is_a_cat_and_grad_cam_covers_the_whole_photo(
    logged_in_client: Client,
) -> None:
    response = logged_in_client.post(
        MAPS,
        {"sample": "cat", "model": "efficientnet-lite0", "layer": "features.3"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["shape"] == [40, 28, 28]
    assert body["top5"][0]["label"] in CATS
    grid = body["cam"]["grid"]
    # The cat (chelsea.jpg) is 451 x 300: a grid with the photo's shape, values 0..1.
    assert (len(grid), len(grid[0])) == (19, 28)
    assert all(0.0 <= v <= 1.0 for row in grid for v in row)
    assert max(max(row) for row in grid) > 0.9  # bilinear scaling softens the peak
    assert body["cam"]["label"] == body["top5"][0]["label"]


def test_grad_cam_of_another_top5_class_and_only_those(
    logged_in_client: Client,
) -> None:
    data = {"sample": "cyclists", "model": "efficientnet-lite0", "layer": "features.8"}
    top5 = logged_in_client.post(MAPS, data).json()["top5"]
    second = top5[1]
    body = logged_in_client.post(MAPS, {**data, "cam_class": second["index"]}).json()
    assert body["cam"]["label"] == second["label"]
    assert body["cam"]["index"] == second["index"]
    outside = next(i for i in range(1000) if i not in {t["index"] for t in top5})
    refused = logged_in_client.post(MAPS, {**data, "cam_class": outside})
    assert refused.status_code == 400
    assert "top 5" in refused.json()["detail"]


def test_class_names_in_korean_where_curated(logged_in_client: Client) -> None:
    data = {"sample": "cat", "model": "efficientnet-lite0", "layer": "features.0"}
    body = logged_in_client.post(MAPS, data, HTTP_ACCEPT_LANGUAGE="ko").json()
    korean = {"얼룩무늬 고양이(태비)", "호랑이무늬 고양이", "이집트 고양이"}
    assert body["top5"][0]["label"] in korean
    assert body["cam"]["label"] in korean


def test_grad_cam_of_the_imagenet_cnn_imports_no_matplotlib(tmp_path: Path) -> None:
    code = (
        "import django, sys; django.setup();"
        "from demos.widgets import maps;"
        "r = maps.render_feature_maps(model_key='efficientnet-lite0',"
        " layer='features.8', sample='astronaut');"
        "assert r.cam['grid'];"
        "print('matplotlib' in sys.modules, 'pytorch_grad_cam' in sys.modules)"
    )
    last = run_in_fresh_process(code, cache_dir=tmp_path / "cache")
    assert last == "False False"
