"""/api/v1/lessons/ and the widget endpoints under /api/v1/playgrounds/."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from django.test import Client
from PIL import Image

from demos.lessons.services import load_lessons
from demos.ml.playgrounds import KERNELS, edge_feature_map
from demos.models import LessonProgress
from demos.widgets.kit import load_sample_rgb
from tests.factories import make_api_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(db) -> None:
    load_lessons()


def decode_data_url(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


# --- Lessons --------------------------------------------------------------------------


def test_anyone_lists_the_course_in_order_without_pagination(
    client: Client, course: None
) -> None:
    response = client.get("/api/v1/lessons/")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 15
    assert body[0] == {
        "slug": "convolution",
        "title": "Convolution",
        "order": 1,
        "done": False,
    }
    assert [item["order"] for item in body] == list(range(1, 16))


def test_titles_follow_the_request_language(client: Client, course: None) -> None:
    body = client.get("/api/v1/lessons/", HTTP_ACCEPT_LANGUAGE="ko").json()
    assert body[0]["title"] == "합성곱(Convolution)"


def test_marking_done_over_the_api_is_per_user_and_idempotent(
    logged_in_client: Client, other_client: Client, user, course: None
) -> None:
    for _ in range(2):
        response = logged_in_client.post("/api/v1/lessons/pooling/done/")
        assert response.status_code == 200
        assert response.json() == {"slug": "pooling", "done": True}
    assert LessonProgress.objects.filter(user=user).count() == 1
    mine = {
        i["slug"]: i["done"] for i in logged_in_client.get("/api/v1/lessons/").json()
    }
    theirs = {i["slug"]: i["done"] for i in other_client.get("/api/v1/lessons/").json()}
    assert mine["pooling"] is True and sum(mine.values()) == 1
    assert not any(theirs.values())


def test_delete_unmarks_a_lesson(logged_in_client: Client, user, course: None) -> None:
    logged_in_client.post("/api/v1/lessons/pooling/done/")
    response = logged_in_client.delete("/api/v1/lessons/pooling/done/")
    assert response.status_code == 200
    assert response.json() == {"slug": "pooling", "done": False}
    assert not LessonProgress.objects.filter(user=user).exists()


def test_anonymous_cannot_mark_a_lesson_done(client: Client, course: None) -> None:
    response = client.post("/api/v1/lessons/pooling/done/")
    assert response.status_code == 401  # with a WWW-Authenticate: Token challenge
    assert LessonProgress.objects.count() == 0


def test_token_clients_can_mark_lessons_done(user, course: None) -> None:
    token = make_api_token(user)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post("/api/v1/lessons/object-detection/done/")
    assert response.status_code == 200
    assert LessonProgress.objects.filter(user=user).count() == 1


def test_unknown_lesson_is_404(logged_in_client: Client, course: None) -> None:
    response = logged_in_client.post("/api/v1/lessons/nope/done/")
    assert response.status_code == 404


def test_the_api_root_links_to_the_lessons(client: Client) -> None:
    assert client.get("/api/v1/").json()["lessons"].endswith("/api/v1/lessons/")


# --- Kernel playground ----------------------------------------------------------------


def test_preset_kernel_on_a_sample_matches_cv2_filter2d(client: Client) -> None:
    response = client.post(
        "/api/v1/playgrounds/kernel/",
        {"sample": "cat", "preset": "sobel-x", "grey": "true"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["width"], body["height"]) == (451, 300)
    gray = cv2.cvtColor(load_sample_rgb("cat"), cv2.COLOR_RGB2GRAY)
    output = decode_data_url(body["output_url"])[:, :, 0]
    assert np.array_equal(output, cv2.filter2D(gray, -1, KERNELS["sobel-x"]))
    assert body["kernel_sum"] == 0
    assert body["response_min"] < 0 < body["negative_share"] < 1


def test_typed_identity_kernel_returns_the_photo_unchanged(client: Client) -> None:
    response = client.post(
        "/api/v1/playgrounds/kernel/",
        {"sample": "astronaut", "kernel": "0 0 0\n0 1 0\n0 0 0"},
    )
    assert response.status_code == 200
    body = response.json()
    assert np.array_equal(
        decode_data_url(body["output_url"]), decode_data_url(body["input_url"])
    )
    assert np.array_equal(
        decode_data_url(body["input_url"]), load_sample_rgb("astronaut")
    )


def test_an_uploaded_photo_is_shrunk_and_filtered(
    client: Client, sample_image: Path
) -> None:
    with sample_image.open("rb") as handle:
        response = client.post(
            "/api/v1/playgrounds/kernel/",
            {"image": handle, "kernel": "1/9 1/9 1/9; 1/9 1/9 1/9; 1/9 1/9 1/9"},
        )
    assert response.status_code == 200
    body = response.json()
    assert (body["width"], body["height"]) == (437, 512)  # 512x600 shrunk to 512
    assert decode_data_url(body["output_url"]).shape == (512, 437, 3)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sample": "cat", "kernel": "1 2; 3 4"}, "odd"),
        ({"sample": "cat", "kernel": "1 2 3; 4 5"}, "square"),
        ({"sample": "cat", "kernel": "a b c"}, "numbers"),
        ({"sample": "cat"}, "kernel"),
        ({"sample": "nowhere", "preset": "identity"}, "sample"),
    ],
)
def test_bad_kernel_requests_get_a_400_saying_why(
    client: Client, fields: dict, message: str
) -> None:
    response = client.post("/api/v1/playgrounds/kernel/", fields)
    assert response.status_code == 400
    assert message in str(response.json()).lower()


def test_a_non_image_upload_is_refused(client: Client, samples_dir: Path) -> None:
    with (samples_dir / "bad" / "html.jpg").open("rb") as handle:
        response = client.post(
            "/api/v1/playgrounds/kernel/", {"image": handle, "preset": "identity"}
        )
    assert response.status_code == 400


# --- Output size --------------------------------------------------------------------


def test_output_size_for_the_resnet_stem_with_a_right_guess(client: Client) -> None:
    response = client.get(
        "/api/v1/playgrounds/output-size/",
        {
            "n": 224,
            "k": 7,
            "stride": 2,
            "padding": 3,
            "in_channels": 3,
            "out_channels": 64,
            "guess": 112,
        },
    )
    assert response.status_code == 200
    body = response.json()
    layer = torch.nn.Conv2d(3, 64, 7, stride=2, padding=3)
    assert body["out"] == 112 == layer(torch.zeros(1, 3, 224, 224)).shape[-1]
    assert body["params"] == sum(p.numel() for p in layer.parameters()) == 9472
    assert body["mult_adds"] == 64 * 112 * 112 * 3 * 7 * 7
    assert body["flops"] == 2 * body["mult_adds"]
    assert body["is_guess_right"] is True
    assert body["animation_n"] == 12  # too big to draw: a 12x12 stand-in
    assert body["animation_out"] == 6


def test_a_wrong_guess_is_called_wrong_and_small_inputs_animate_as_is(
    client: Client,
) -> None:
    body = client.get(
        "/api/v1/playgrounds/output-size/",
        {"n": 7, "k": 3, "stride": 2, "padding": 1, "dilation": 1, "guess": 3},
    ).json()
    assert body["out"] == 4 and body["is_guess_right"] is False
    assert (body["animation_n"], body["animation_out"]) == (7, 4)


def test_a_kernel_larger_than_the_input_is_a_400(client: Client) -> None:
    response = client.get(
        "/api/v1/playgrounds/output-size/", {"n": 4, "k": 3, "dilation": 3}
    )
    assert response.status_code == 400
    assert "covers 7 pixels" in response.json()["detail"]


# --- Pooling --------------------------------------------------------------------


@pytest.mark.parametrize(("size", "stride"), [(2, None), (3, 2)])
def test_pooling_returns_the_feature_map_and_torch_equal_pools(
    client: Client, size: int, stride: int | None
) -> None:
    params = {"sample": "cat", "size": size} | ({"stride": stride} if stride else {})
    response = client.get("/api/v1/playgrounds/pooling/", params)
    assert response.status_code == 200
    body = response.json()
    fmap = np.array(body["feature_map"])
    assert fmap.shape == (64, 96)
    assert np.array_equal(fmap, edge_feature_map(load_sample_rgb("cat"), 96))
    tensor = torch.tensor(fmap, dtype=torch.float32)[None, None]
    expected_max = F.max_pool2d(tensor, size, stride or size)[0, 0].numpy()
    expected_avg = F.avg_pool2d(tensor, size, stride or size)[0, 0].numpy()
    assert np.array_equal(np.array(body["max_pooled"]), expected_max)
    assert np.allclose(np.array(body["avg_pooled"]), expected_avg, atol=0.05)


# --- NMS ------------------------------------------------------------------------


def check_nms(body: dict) -> None:
    assert body["nested_threshold"] is None  # plain IoU NMS, as torchvision's
    boxes = torch.tensor([c["box"] for c in body["candidates"]], dtype=torch.float64)
    scores = torch.tensor([c["score"] for c in body["candidates"]], dtype=torch.float64)
    expected = torchvision.ops.nms(boxes, scores, body["iou_threshold"]).tolist()
    assert body["kept"] == expected
    assert [step["keep"] for step in body["steps"]] == body["kept"]
    gone = [i for step in body["steps"] for i in step["suppressed"]]
    assert sorted(gone + body["kept"]) == list(range(len(body["candidates"])))
    assert all(c["score"] >= body["score_threshold"] for c in body["candidates"])


def test_nms_steps_on_real_yolox_boxes_keep_one_box_per_cyclist(
    client: Client, models_ready: Path, settings
) -> None:
    settings.PERSON_DETECTOR = "yolox-nano"
    response = client.get(
        "/api/v1/playgrounds/nms/", {"sample": "cyclists", "drop_nested": "false"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["detector"] == "yolox-nano" and body["note"] == ""
    assert body["score_threshold"] == 0.59  # the detector's own default
    assert len(body["candidates"]) > 5  # four looks at the photo: duplicates
    check_nms(body)
    # Four riders; the one half hidden behind two others scores just under
    # YOLOX-Nano's default (0.59, chosen on coco128-person in bench/).
    assert 3 <= len(body["kept"]) <= 5
    assert body["image_url"] == "/static/img/samples/cyclists.jpg"
    assert len(body["truth"]) == 4


def test_nms_with_the_hog_detector_lowers_the_score_threshold_to_show_boxes(
    client: Client, settings
) -> None:
    settings.PERSON_DETECTOR = "opencv-hog"
    body = client.get(
        "/api/v1/playgrounds/nms/",
        {"sample": "apollo-crew", "iou_threshold": 0.3, "drop_nested": "false"},
    ).json()
    assert body["detector"] == "opencv-hog"
    assert body["score_threshold"] < 0.5
    assert len(body["candidates"]) >= 4
    check_nms(body)


def test_nms_without_a_detector_falls_back_to_example_boxes_and_says_so(
    client: Client, settings, tmp_path: Path
) -> None:
    settings.MODELS_DIR = tmp_path / "no-models"
    settings.PERSON_DETECTOR = "yolox-nano"
    response = client.get(
        "/api/v1/playgrounds/nms/",
        {"sample": "apollo-crew", "score_threshold": 0.1, "drop_nested": "false"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["detector"] == "fallback"
    assert "yolox" in body["note"].lower()
    assert len(body["candidates"]) == 9  # three per annotated person
    check_nms(body)
    assert len(body["kept"]) == 3


def test_nms_refuses_an_unknown_sample(client: Client) -> None:
    assert client.get("/api/v1/playgrounds/nms/", {"sample": "x"}).status_code == 400
