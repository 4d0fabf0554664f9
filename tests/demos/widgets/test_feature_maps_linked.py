"""The linked view's API: click a pixel of a feature map of EfficientNet-Lite0 and
get its receptive field, the stem's dot product and the classes; owner rules like
the feature-map API (samples for anyone logged in, uploads and runs owner-only)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.cache import cache
from django.test import Client
from PIL import Image

from tests.conftest import SAMPLES_DIR

pytestmark = pytest.mark.django_db

MAPS = "/api/v1/feature-maps/"
LINKED = "/api/v1/feature-maps/linked/"
CATS = {"tabby", "tiger cat", "Egyptian cat"}


@pytest.fixture(autouse=True)
def fresh_throttle_counts() -> None:
    cache.clear()


def cat_upload() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.open(SAMPLES_DIR / "nobody/chelsea.png").convert("RGB").save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "cat.png"
    return buffer


def maps_of(client: Client, **source) -> dict:
    response = client.post(
        MAPS, {"model": "efficientnet-lite0", "layer": "features.0", **source}
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_the_stems_written_out_sum_is_the_value_on_the_map(
    logged_in_client: Client,
) -> None:
    maps = maps_of(logged_in_client, sample="cat")
    response = logged_in_client.post(
        LINKED,
        {
            "maps_id": maps["maps_id"],
            "layer": "features.0",
            "channel": 7,
            "y": 50,
            "x": 60,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["shape"] == [32, 112, 112]
    # Stride 2, SAME padding: pixel (50, 60) sees input rows 100..102, cols 120..122.
    assert body["field"] == {"top": 100, "left": 120, "bottom": 103, "right": 123}
    dot = body["dot"]
    inputs, kernel = np.array(dot["inputs"]), np.array(dot["kernel"])
    assert inputs.shape == kernel.shape == (3, 3, 3)
    assert np.array(dot["pixels"]).shape == (3, 3, 3)
    pre = float((inputs * kernel).sum()) + dot["bias"]
    assert pre == pytest.approx(dot["pre_activation"], abs=1e-4)
    assert min(max(pre, 0.0), 6.0) == pytest.approx(body["value"], abs=1e-4)
    assert body["top"][0]["label"] in CATS
    assert body["feeds_classifier"] is False


def test_the_same_pixel_from_the_sample_name_or_the_cached_maps_agrees(
    logged_in_client: Client,
) -> None:
    maps = maps_of(logged_in_client, sample="cat")
    point = {"layer": "features.3", "channel": 2, "y": 10, "x": 12}
    cached = logged_in_client.post(LINKED, {"maps_id": maps["maps_id"], **point})
    direct = logged_in_client.post(LINKED, {"sample": "cat", **point})
    assert cached.status_code == direct.status_code == 200
    assert cached.json()["value"] == pytest.approx(direct.json()["value"], abs=1e-5)
    assert cached.json()["dot"] is None
    field = cached.json()["field"]
    assert field["bottom"] - field["top"] == 67  # stride 8, three stages deep


def test_a_head_channel_shows_its_share_of_each_top_logit(
    logged_in_client: Client,
) -> None:
    body = logged_in_client.post(
        LINKED,
        {"sample": "cat", "layer": "features.8", "channel": 3, "y": 3, "x": 3},
        HTTP_ACCEPT_LANGUAGE="ko",
    ).json()
    assert body["feeds_classifier"] is True
    assert all("contribution" in row for row in body["top"])
    assert body["top"][0]["label"] in {
        "얼룩무늬 고양이(태비)",
        "호랑이무늬 고양이",
        "이집트 고양이",
    }


def test_an_upload_is_its_owners_alone(logged_in_client: Client, other_user) -> None:
    maps = maps_of(logged_in_client, image=cat_upload())
    assert maps["maps_id"].startswith("mine/")
    point = {"layer": "features.0", "channel": 0, "y": 0, "x": 0}
    mine = logged_in_client.post(LINKED, {"maps_id": maps["maps_id"], **point})
    assert mine.status_code == 200
    stranger = Client()
    stranger.force_login(other_user)
    refused = stranger.post(LINKED, {"maps_id": maps["maps_id"], **point})
    assert refused.status_code == 404
    assert "show the feature maps again" in refused.json()["detail"]
    assert Client().post(LINKED, {"sample": "cat", **point}).status_code == 401


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"layer": "features.0", "channel": 32, "y": 0, "x": 0}, "channel"),
        ({"layer": "features.0", "channel": 0, "y": 112, "x": 0}, "outside"),
        ({"layer": "features.9", "channel": 0, "y": 0, "x": 0}, "no layer"),
        (
            {"layer": "conv1", "channel": 0, "y": 0, "x": 0, "model": "resnet18"},
            "EfficientNet-Lite0",
        ),
    ],
)
def test_a_point_outside_the_network_is_a_clear_error(
    logged_in_client: Client, fields: dict, message: str
) -> None:
    response = logged_in_client.post(LINKED, {"sample": "cat", **fields})
    assert response.status_code == 400
    assert message in str(response.json())


def test_exactly_one_source(logged_in_client: Client) -> None:
    point = {"layer": "features.0", "channel": 0, "y": 0, "x": 0}
    response = logged_in_client.post(LINKED, point)
    assert response.status_code == 400
    assert "exactly one" in str(response.json())
    stale = logged_in_client.post(LINKED, {"maps_id": "sample/" + "0" * 40, **point})
    assert stale.status_code == 404


@pytest.mark.parametrize(
    ("lang", "title", "step"),
    [
        ("en", "Linked view: one pixel, followed through the network", "3. Pooling"),
        ("ko", "연결된 보기: 픽셀 하나를 네트워크 끝까지 따라가기", "3. 풀링"),
    ],
)
def test_the_lesson_page_carries_the_linked_view_in_the_pages_language(
    logged_in_client: Client, lang: str, title: str, step: str
) -> None:
    from demos.lessons.services import load_lessons

    load_lessons()
    response = logged_in_client.get("/lessons/feature-maps/", HTTP_ACCEPT_LANGUAGE=lang)
    html = response.content.decode()
    assert title in html and step in html
    assert 'data-linked-api="/api/v1/feature-maps/linked/"' in html
