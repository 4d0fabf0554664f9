"""CNN lessons API: model list, feature maps, digit predictions, the activations and
autoencoder data, and who sees what."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.cache import cache
from django.test import Client
from PIL import Image

from demos.ml import networks as cnn_models
from demos.models import DemoRun

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttle_counts() -> None:
    """Upload throttling counts live in the cache; each test starts from zero."""
    cache.clear()


MODELS = "/api/v1/cnn-models/"
MAPS = "/api/v1/feature-maps/"
PREDICT = "/api/v1/digits/predict/"


@pytest.fixture
def empty_store(settings, tmp_path: Path) -> Path:
    """A model store with nothing in it: only the embedded digits CNN can run."""
    settings.MODELS_DIR = tmp_path / "models"
    settings.MODELS_DIR.mkdir()
    cnn_models.clear_cache()
    return settings.MODELS_DIR


def png_size(client: Client, url: str) -> tuple[int, int]:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    return image.size


def drawing(*, dark_on_light: bool = True) -> bytes:
    """A 7 drawn with a thick pen in the top-left of a 300x300 pad, as a PNG."""
    pad = np.full((300, 300), 255, dtype=np.uint8)
    cv2.line(pad, (20, 20), (150, 20), 0, 18)
    cv2.line(pad, (150, 20), (70, 190), 0, 18)
    if not dark_on_light:
        pad = 255 - pad
    return cv2.imencode(".png", pad)[1].tobytes()


def upload(data: bytes, name: str = "photo.png") -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def test_anonymous_users_must_log_in() -> None:
    client = Client()
    # 401 (token authentication offered) or 403: either way, nothing is computed.
    assert client.get(MODELS).status_code in (401, 403)
    assert client.post(MAPS, {"sample": "astronaut"}).status_code in (401, 403)
    assert client.post(PREDICT, {}).status_code in (401, 403)


def test_model_list_shows_every_model_with_layers_and_availability(
    logged_in_client: Client, empty_store: Path
) -> None:
    response = logged_in_client.get(MODELS)
    assert response.status_code == 200
    rows = {row["key"]: row for row in response.json()}
    assert set(rows) == {
        "digits-cnn",
        "efficientnet-lite0",
        "resnet18",
        "vgg16",
        "alexnet",
        "mobilenet_v3_large",
        "yolox-nano",
        "fastestdet",
    }
    digits = rows["digits-cnn"]
    assert digits["available"] is True and digits["reason"] == ""
    assert {"name": "conv1", "shape": [6, 32, 32]}.items() <= digits["layers"][
        0
    ].items()
    assert [layer["shape"] for layer in digits["layers"]][-1] == [16, 6, 6]
    resnet = rows["resnet18"]
    assert resnet["available"] is False
    # A student learns who can fix it, never the administrator's command.
    assert "instructor" in resnet["reason"] and resnet["fix"] == ""
    assert resnet["layers"][-1] == {
        "name": "layer4",
        "label": resnet["layers"][-1]["label"],
        "shape": [512, 7, 7],
        "has_filters": False,
    }


def test_staff_see_why_a_model_is_missing_and_the_command(
    staff_user, empty_store: Path
) -> None:
    client = Client()
    client.force_login(staff_user)
    rows = {row["key"]: row for row in client.get(MODELS).json()}
    assert "resnet18" in rows["resnet18"]["reason"]
    assert rows["resnet18"]["fix"] == "python manage.py models pull resnet18"


def test_feature_maps_of_a_sample_for_the_digits_cnn(
    logged_in_client: Client, other_client: Client
) -> None:
    response = logged_in_client.post(
        MAPS,
        {"sample": "astronaut", "model": "digits-cnn", "layer": "conv1", "top_k": 4},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["model"] == "digits-cnn" and body["layer"] == "conv1"
    assert body["shape"] == [6, 32, 32]
    assert len(body["maps"]) == 4
    means = [item["mean"] for item in body["maps"]]
    assert means == sorted(means, reverse=True)  # strongest first
    assert all(
        item["png_url"].startswith("http://testserver/") for item in body["maps"]
    )
    # 6 channels → 2 rows x 3 columns of 32x32 tiles upscaled 2x, 1-pixel gaps.
    assert png_size(logged_in_client, body["grid_url"]) == (3 * 64 + 2, 2 * 64 + 1)
    assert png_size(logged_in_client, body["maps"][0]["png_url"]) == (32, 32)
    assert png_size(logged_in_client, body["input_url"]) == (32, 32)
    assert png_size(logged_in_client, body["filters_url"]) == (3 * 40 + 2, 2 * 40 + 1)
    # Maps of a sample are public: another student and a visitor may open them.
    assert png_size(other_client, body["grid_url"])[0] == 3 * 64 + 2
    assert Client().get(body["strongest_grid_url"]).status_code == 200


def test_each_layer_of_the_digits_cnn_gives_its_declared_shape(
    logged_in_client: Client,
) -> None:
    for layer in cnn_models.CNN_MODELS["digits-cnn"].layers:
        body = logged_in_client.post(
            MAPS, {"sample": "cat", "model": "digits-cnn", "layer": layer.name}
        ).json()
        assert body["shape"] == list(layer.shape)
        assert len(body["maps"]) == layer.shape[0]


def test_an_old_file_stem_name_still_gives_the_catalogue_photo(
    logged_in_client: Client,
) -> None:
    """The CNN widgets once named the cat ``chelsea``: a saved request still works
    and lands on the same cached maps as the catalogue key ``cat``."""
    by_key = logged_in_client.post(
        MAPS, {"sample": "cat", "model": "digits-cnn", "layer": "conv1"}
    ).json()
    by_old_name = logged_in_client.post(
        MAPS, {"sample": "chelsea", "model": "digits-cnn", "layer": "conv1"}
    ).json()
    assert by_old_name["maps_id"] == by_key["maps_id"]
    assert by_old_name["grid_url"] == by_key["grid_url"]
    missing = logged_in_client.post(
        MAPS, {"sample": "chelsea.jpg", "model": "digits-cnn", "layer": "conv1"}
    )
    assert missing.status_code == 400
    assert "cyclists, apollo-crew, astronaut, cat" in missing.json()["detail"]


def test_feature_maps_of_an_upload_are_only_for_its_owner(
    logged_in_client: Client, other_client: Client, sample_image: Path
) -> None:
    response = logged_in_client.post(
        MAPS,
        {
            "image": upload(sample_image.read_bytes(), "grace.jpg"),
            "model": "digits-cnn",
            "layer": "pool2",
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["shape"] == [16, 6, 6]
    assert "/cnn/maps/mine/" in body["grid_url"]
    assert logged_in_client.get(body["grid_url"]).status_code == 200
    assert logged_in_client.get(body["maps"][0]["png_url"]).status_code == 200
    for url in (body["grid_url"], body["maps"][0]["png_url"], body["input_url"]):
        assert other_client.get(url).status_code == 404
        assert Client().get(url).status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sample": "astronaut", "model": "lenet-9", "layer": "conv1"}, "lenet-9"),
        ({"sample": "astronaut", "model": "digits-cnn", "layer": "fc3"}, "fc3"),
        (
            {"sample": "no-such-photo", "model": "digits-cnn", "layer": "conv1"},
            "sample",
        ),
        ({"model": "digits-cnn", "layer": "conv1"}, "exactly one"),
        (
            {
                "sample": "astronaut",
                "model": "digits-cnn",
                "layer": "conv1",
                "top_k": 0,
            },
            "top_k",
        ),
    ],
)
def test_bad_requests_get_400_with_a_reason(
    logged_in_client: Client, data: dict, message: str
) -> None:
    response = logged_in_client.post(MAPS, data)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_an_upload_that_is_not_an_image_gets_400(logged_in_client: Client) -> None:
    response = logged_in_client.post(
        MAPS,
        {
            "image": upload(b"just some text, not a photo", "notes.jpg"),
            "model": "digits-cnn",
            "layer": "conv1",
        },
    )
    assert response.status_code == 400
    assert response.json()["detail"]


def test_an_imagenet_model_without_weights_gets_503_with_the_fix_for_staff(
    logged_in_client: Client, staff_user, empty_store: Path
) -> None:
    data = {"sample": "astronaut", "model": "resnet18", "layer": "layer1"}
    response = logged_in_client.post(MAPS, data)
    assert response.status_code == 503
    assert "instructor" in response.json()["detail"]
    assert "manage.py" not in response.json()["detail"]
    staff = Client()
    staff.force_login(staff_user)
    response = staff.post(MAPS, data)
    assert response.status_code == 503
    assert "models pull resnet18" in response.json()["detail"]


def test_the_detectors_own_eyes_with_the_model_store(
    logged_in_client: Client, models_ready: Path
) -> None:
    cnn_models.clear_cache()
    rows = {row["key"]: row for row in logged_in_client.get(MODELS).json()}
    assert rows["yolox-nano"]["available"] and rows["fastestdet"]["available"]
    for key in ("yolox-nano", "fastestdet"):
        declared = [list(layer.shape) for layer in cnn_models.CNN_MODELS[key].layers]
        assert [layer["shape"] for layer in rows[key]["layers"]] == declared

    body = logged_in_client.post(
        MAPS, {"sample": "cyclists", "model": "yolox-nano", "layer": "dark3"}
    ).json()
    assert body["shape"] == [64, 52, 52]
    assert body["filters_url"] is None  # its first layer sees 12 Focus channels
    assert png_size(logged_in_client, body["input_url"]) == (416, 416)
    assert png_size(logged_in_client, body["grid_url"]) == (8 * 52 + 7, 8 * 52 + 7)

    body = logged_in_client.post(
        MAPS, {"sample": "astronaut", "model": "fastestdet", "layer": "classes"}
    ).json()
    assert body["shape"] == [80, 22, 22]
    assert body["maps"][0]["channel"] == 0  # "person" is the strongest class here
    stem = logged_in_client.post(
        MAPS, {"sample": "astronaut", "model": "fastestdet", "layer": "stem"}
    ).json()
    assert png_size(logged_in_client, stem["filters_url"]) == (5 * 24 + 4, 5 * 24 + 4)


def make_run(owner, media: Path, sample_image: Path) -> DemoRun:
    run = DemoRun(
        owner=owner,
        detector="opencv-hog",
        score_threshold=0.5,
        image_sha256="0" * 64,
        image_width=512,
        image_height=600,
        elapsed_ms=1.0,
    )
    run.public_id = uuid.uuid4()
    run.image_path = f"{run.folder}/image.jpg"
    run.annotated_path = run.thumbnail_path = run.image_path
    run.save()
    (media / run.folder).mkdir(parents=True)
    (media / run.image_path).write_bytes(sample_image.read_bytes())
    return run


def test_maps_of_a_person_demo_run_are_for_its_owner_only(
    user,
    logged_in_client: Client,
    other_client: Client,
    private_media: Path,
    sample_image: Path,
) -> None:
    run = make_run(user, private_media, sample_image)
    data = {"run": str(run.public_id), "model": "digits-cnn", "layer": "conv2"}
    response = logged_in_client.post(MAPS, data)
    assert response.status_code == 200, response.content
    assert response.json()["shape"] == [16, 12, 12]
    assert other_client.post(MAPS, data).status_code == 404


@pytest.mark.parametrize("dark_on_light", [True, False])
def test_a_drawn_digit_is_predicted_with_its_layer_maps(
    logged_in_client: Client, other_client: Client, dark_on_light: bool
) -> None:
    response = logged_in_client.post(
        PREDICT, {"image": upload(drawing(dark_on_light=dark_on_light))}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["digit"] == 7
    assert len(body["probabilities"]) == 10
    assert sum(body["probabilities"]) == pytest.approx(1, abs=1e-3)
    assert max(body["probabilities"]) == body["probabilities"][7]

    maps = logged_in_client.get(body["maps_url"])
    assert maps.status_code == 200
    layers = maps.json()["layers"]
    assert [layer["name"] for layer in layers][:2] == ["conv1", "bn1"]
    assert png_size(logged_in_client, layers[0]["grid_url"]) == (3 * 64 + 2, 2 * 64 + 1)
    assert png_size(logged_in_client, maps.json()["input_url"]) == (32, 32)
    assert other_client.get(body["maps_url"]).status_code == 404
    assert other_client.get(layers[0]["grid_url"]).status_code == 404


def test_a_blank_drawing_gets_400(logged_in_client: Client) -> None:
    blank = cv2.imencode(".png", np.full((280, 280), 255, np.uint8))[1].tobytes()
    response = logged_in_client.post(PREDICT, {"image": upload(blank)})
    assert response.status_code == 400
    assert "No digit" in response.json()["detail"]


def test_predict_without_an_image_gets_400(logged_in_client: Client) -> None:
    response = logged_in_client.post(PREDICT, {})
    assert response.status_code == 400
    assert "image" in response.json()["detail"]


def test_an_api_token_client_can_open_the_images_it_was_given(
    user, sample_image: Path
) -> None:
    from tests.factories import make_api_token

    token = make_api_token(user)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    body = client.post(
        MAPS,
        {
            "image": upload(sample_image.read_bytes()),
            "model": "digits-cnn",
            "layer": "conv1",
        },
    ).json()
    assert png_size(client, body["grid_url"]) == (3 * 64 + 2, 2 * 64 + 1)
    stranger = Client(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert stranger.get(body["grid_url"]).status_code == 404


def test_activations_data_follows_a_map_through_relu_batchnorm_and_dropout(
    client: Client,
) -> None:
    response = client.get("/api/v1/cnn/activations/?sample=astronaut&channel=2")
    assert response.status_code == 200
    data = response.json()
    stages = {stage["key"]: stage for stage in data["stages"]}
    assert list(stages) == [
        "conv",
        "relu",
        "bn_train",
        "bn_eval",
        "bn_relu",
        "dropout_train",
        "dropout_eval",
    ]
    assert stages["relu"]["stats"]["min"] >= 0
    assert stages["relu"]["stats"]["zeros"] >= stages["conv"]["stats"]["zeros"]
    # Train-mode batch norm uses this image's statistics: mean 0, std 1 before γ/β.
    assert stages["bn_train"]["stats"] != stages["bn_eval"]["stats"]
    assert stages["dropout_eval"]["stats"] == stages["bn_relu"]["stats"]
    assert (
        stages["dropout_train"]["stats"]["zeros"] > stages["bn_relu"]["stats"]["zeros"]
    )
    for stage in stages.values():
        assert stage["image"].startswith("data:image/png;base64,")
        assert sum(stage["histogram"]["counts"]) == 128 * 128


def test_activations_answer_with_the_catalogue_key(client: Client) -> None:
    default = client.get("/api/v1/cnn/activations/?channel=1").json()
    assert default["sample"] == "apollo-crew"
    old_name = client.get("/api/v1/cnn/activations/?sample=chelsea&channel=1").json()
    by_key = client.get("/api/v1/cnn/activations/?sample=cat&channel=1").json()
    assert old_name["sample"] == by_key["sample"] == "cat"
    assert old_name["input"] == by_key["input"]


def test_activations_data_rejects_a_bad_channel_or_sample(client: Client) -> None:
    response = client.get("/api/v1/cnn/activations/?channel=9")
    assert "Channel must be between 0 and 5" in response.json()["detail"]
    assert client.get("/api/v1/cnn/activations/?channel=9").status_code == 400
    assert client.get("/api/v1/cnn/activations/?channel=x").status_code == 400
    assert client.get("/api/v1/cnn/activations/?sample=nope").status_code == 400


def test_autoencoder_data_has_reconstructions_and_three_tsne_maps(
    client: Client,
) -> None:
    response = client.get("/api/v1/cnn/autoencoder/")
    assert response.status_code == 200
    data = response.json()
    assert len(data["labels"]) == len(data["digits"]) == 360
    assert len(data["reconstructions"][0]) == 64
    assert set(data["tsne"]) == {"pixels", "autoencoder", "cnn"}
    for points in data["tsne"].values():
        assert len(points) == 360
        assert all(-1 <= value <= 1 for point in points for value in point)
    assert sum(data["errors"]) / len(data["errors"]) < 0.05


def test_activations_and_autoencoder_data_need_no_account_and_may_be_cached(
    client: Client,
) -> None:
    for path in ("/api/v1/cnn/activations/", "/api/v1/cnn/autoencoder/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response["Cache-Control"] == "public, max-age=3600"
    # A refused request is not cached for an hour.
    assert "Cache-Control" not in client.get("/api/v1/cnn/activations/?channel=9")
