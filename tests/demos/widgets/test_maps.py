"""demos/widgets/maps.py: cached feature-map runs, digits, the activations widget."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from demos.common.samples import sample_bytes
from demos.ml import digits
from demos.ml import networks as cnn_models
from demos.widgets import activations as w_activations
from demos.widgets import autoencoder_tsne as w_autoencoder_tsne
from demos.widgets import draw_digit as w_draw_digit
from demos.widgets import maps as w_maps
from portal.lib.errors import BadInput


@pytest.fixture(autouse=True)
def fresh_models() -> None:
    cnn_models.clear_cache()


def seven() -> bytes:
    """A thick 7 on a white 300x300 pad, as a PNG."""
    pad = np.full((300, 300), 255, dtype=np.uint8)
    cv2.line(pad, (20, 20), (150, 20), 0, 18)
    cv2.line(pad, (150, 20), (70, 190), 0, 18)
    return cv2.imencode(".png", pad)[1].tobytes()


def test_a_samples_maps_are_computed_once_then_read_from_the_cache(
    monkeypatch,
) -> None:
    first = w_maps.render_feature_maps(
        model_key="digits-cnn", layer="conv2", sample="astronaut"
    )
    assert first.scope == w_maps.PUBLIC and first.shape == [16, 12, 12]
    assert len(first.maps) == 16
    means = [item["mean"] for item in first.maps]
    assert means == sorted(means, reverse=True)  # strongest first
    folder = w_maps.run_dir(first.scope, first.digest, None)
    assert (folder / "run.json").exists() and (folder / "conv1.filters.png").exists()

    def no_model(key: str) -> None:
        raise AssertionError("the cached run must not run the model again")

    monkeypatch.setattr(cnn_models, "get_cnn_model", no_model)
    again = w_maps.render_feature_maps(
        model_key="digits-cnn", layer="conv2", sample="astronaut", top_k=3
    )
    assert again.digest == first.digest and again.maps == first.maps[:3]


def test_an_upload_needs_an_owner() -> None:
    with pytest.raises(BadInput, match="Log in"):
        w_maps.render_feature_maps(
            model_key="digits-cnn", layer="conv1", image_bytes=seven()
        )


def test_a_drawn_seven_is_read_as_seven_with_every_layer_cached() -> None:
    prediction = w_draw_digit.predict_digit(image_bytes=seven(), owner_id=5)
    assert prediction.digit == 7
    assert prediction.probabilities[7] == max(prediction.probabilities)
    assert sum(prediction.probabilities) == pytest.approx(1, abs=1e-3)
    maps = w_draw_digit.digit_maps(digest=prediction.digest, owner_id=5)
    assert maps["digit"] == 7
    shapes = {layer["name"]: layer["shape"] for layer in maps["layers"]}
    spec = cnn_models.CNN_MODELS["digits-cnn"]
    assert shapes == {layer.name: list(layer.shape) for layer in spec.layers}
    with pytest.raises(FileNotFoundError):
        w_draw_digit.digit_maps(digest=prediction.digest, owner_id=6)


def test_the_activations_widget_shows_the_networks_own_conv_and_batch_norm() -> None:
    data = w_activations.activation_demo(sample="astronaut", channel=2)
    stages = {stage["key"]: stage for stage in data["stages"]}
    assert data["channels"] == 6 and data["channel"] == 2
    # The same numbers as running the committed network's layers by hand.
    model = digits.load_state(digits.DigitsCNN(), digits.CNN_WEIGHTS, digits.CNN_META)
    decoded = w_maps.decode_full_upload(sample_bytes("astronaut"))
    grey = cv2.cvtColor(decoded.rgb, cv2.COLOR_RGB2GRAY)
    side = min(grey.shape)
    top, left = (grey.shape[0] - side) // 2, (grey.shape[1] - side) // 2
    grey = cv2.resize(
        grey[top : top + side, left : left + side],
        (w_activations.ACTIVATION_SIZE,) * 2,
        interpolation=cv2.INTER_AREA,
    )
    x = torch.from_numpy(grey.astype(np.float32) / 255.0)[None, None]
    with torch.inference_mode():
        conv = model.conv1(x)[0, 2].numpy()
        bn_eval = model.bn1(model.conv1(x))[0, 2].numpy()
    assert stages["conv"]["stats"]["mean"] == pytest.approx(conv.mean(), abs=1e-4)
    assert stages["conv"]["stats"]["max"] == pytest.approx(conv.max(), abs=1e-4)
    assert stages["bn_eval"]["stats"]["std"] == pytest.approx(bn_eval.std(), abs=1e-4)
    assert stages["bn_relu"]["stats"]["min"] == 0
    assert stages["dropout_eval"]["stats"] == stages["bn_relu"]["stats"]
    running_mean = float(model.bn1.running_mean[2])
    assert data["running_mean"] == pytest.approx(running_mean, abs=1e-4)


def test_the_activations_widget_refuses_a_channel_the_layer_lacks() -> None:
    with pytest.raises(BadInput, match="between 0 and 5"):
        w_activations.activation_demo(sample="astronaut", channel=6)


def test_the_autoencoder_demo_reconstructs_the_test_digits() -> None:
    w_autoencoder_tsne.autoencoder_demo.cache_clear()
    data = w_autoencoder_tsne.autoencoder_demo()
    count = len(data["labels"])
    assert count == 360
    assert len(data["digits"]) == len(data["reconstructions"]) == count
    assert len(data["digits"][0]) == 64 and data["code_size"] == 8
    assert set(data["tsne"]) == {"pixels", "autoencoder", "cnn"}
    assert np.mean(data["errors"]) < 0.05


def test_a_cached_run_file_is_json_with_every_layer(tmp_path) -> None:
    result = w_maps.render_feature_maps(
        model_key="digits-cnn", layer="pool2", sample="cat"
    )
    folder = w_maps.run_dir(result.scope, result.digest, None)
    summary = json.loads((folder / "run.json").read_text())
    assert list(summary["layers"]) == [
        layer.name for layer in cnn_models.CNN_MODELS["digits-cnn"].layers
    ]
    grid = w_maps.map_file(result.scope, result.digest, "pool2.grid.png", None)
    image = cv2.imread(str(grid))
    assert image is not None and image.shape[2] == 3
