"""The digits CNN in numpy (demos/ml/digits_numpy.py) against the torch model it
was trained as: weights, every layer, logits, Grad-CAM, the activation widget's
stages; and the three widgets that run it import no torch in a fresh process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from torchvision.models.feature_extraction import create_feature_extractor

from demos.common.samples import sample_bytes
from demos.ml import digits, digits_input, digits_numpy, networks
from demos.ml.gradcam import class_activation_map
from demos.widgets import activations as w_activations
from demos.widgets.maps import decode_full_upload
from tests.fresh_process import run_in_fresh_process

ATOL = 1e-4  # float32 sums in another order: differences are about 1e-6


@pytest.fixture(scope="module")
def model() -> digits.DigitsCNN:
    return digits.load_state(digits.DigitsCNN(), digits.CNN_WEIGHTS, digits.CNN_META)


@pytest.fixture(scope="module")
def net() -> digits_numpy.DigitsNet:
    return digits_numpy.load_net()


@pytest.fixture(scope="module")
def test_digits() -> np.ndarray:
    return digits.load_digits_split().test_images[:40]


def test_every_array_of_the_npz_is_the_pth_tensor(net: digits_numpy.DigitsNet) -> None:
    state = torch.load(digits.CNN_WEIGHTS, map_location="cpu", weights_only=True)
    floats = {name: t for name, t in state.items() if t.is_floating_point()}
    assert set(net.state) == set(floats)
    assert set(state) - set(floats) == {
        "bn1.num_batches_tracked",
        "bn2.num_batches_tracked",
    }
    for name, tensor in floats.items():
        assert np.array_equal(net[name], tensor.numpy()), name


def test_the_npz_is_checked_against_its_recorded_hash(tmp_path: Path) -> None:
    meta = json.loads(digits_numpy.META.read_text())
    assert meta["npz_file"] == digits_numpy.NUMPY_WEIGHTS.name
    copy = tmp_path / "digits_cnn.npz"
    shutil.copy(digits_numpy.NUMPY_WEIGHTS, copy)
    with copy.open("r+b") as handle:
        handle.seek(2000)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(digits_numpy.WeightsMismatch, match="train_digits"):
        digits_numpy.load_arrays(copy, digits_numpy.META)


def test_one_list_of_layers_for_torch_numpy_and_the_lesson() -> None:
    children = [name for name, _module in digits.DigitsCNN().named_children()]
    assert children == list(digits_numpy.LAYERS)
    lesson = [layer.name for layer in networks.CNN_MODELS["digits-cnn"].layers]
    assert lesson == list(digits_numpy.FEATURE_LAYERS) == list(digits.FEATURE_LAYERS)
    assert networks.CNN_MODELS["digits-cnn"].cam_layer == digits_numpy.CAM_LAYER


def test_the_input_is_torchs_bilinear_upsampling(test_digits: np.ndarray) -> None:
    ours = digits_input.digits_to_array(test_digits)
    theirs = digits.digits_to_tensor(test_digits).numpy()
    assert ours.shape == theirs.shape == (40, 1, 32, 32)
    assert np.allclose(ours, theirs, atol=1e-6)


def test_every_layer_and_the_logits_match_torch(
    model: digits.DigitsCNN, net: digits_numpy.DigitsNet, test_digits: np.ndarray
) -> None:
    photo = decode_full_upload(sample_bytes("astronaut")).rgb
    inputs = np.concatenate(
        [
            digits_input.digits_to_array(test_digits),
            digits_input.photo_to_digits_array(photo),
        ]
    )
    extractor = create_feature_extractor(model, list(digits_numpy.LAYERS))
    with torch.inference_mode():
        expected = extractor(torch.from_numpy(inputs))
    outputs = net.forward(inputs)
    assert list(outputs) == list(digits_numpy.LAYERS)
    for name in digits_numpy.LAYERS:
        theirs = expected[name].numpy()
        assert outputs[name].shape == theirs.shape, name
        assert np.allclose(outputs[name], theirs, atol=ATOL), name
    labels = digits.load_digits_split().test_labels[:40]
    assert (outputs["fc3"][:40].argmax(axis=1) == labels).mean() > 0.95
    probabilities = net.probabilities(inputs[:1])
    with torch.inference_mode():
        softmax = torch.softmax(model(torch.from_numpy(inputs[:1]))[0], dim=0)
    assert np.allclose(probabilities, softmax.numpy(), atol=1e-6)


def test_grad_cam_of_every_class_matches_autograd(
    model: digits.DigitsCNN, net: digits_numpy.DigitsNet, test_digits: np.ndarray
) -> None:
    for image in test_digits[:4]:
        inputs = digits_input.digits_to_array(image)
        outputs = net.forward(inputs)
        # The torch model split at relu2, so autograd gives d logit / d relu2.
        tensor = torch.from_numpy(inputs).requires_grad_(True)
        head = model.pool1(model.relu1(model.bn1(model.conv1(tensor))))
        relu2 = model.relu2(model.bn2(model.conv2(head)))
        flat = model.flatten(model.pool2(relu2))
        logits = model.fc3(model.relu4(model.fc2(model.relu3(model.fc1(flat)))))
        for digit in range(10):
            (gradient,) = torch.autograd.grad(
                logits[0, digit], relu2, retain_graph=True
            )
            ours = net.cam_gradient(outputs, digit)
            assert np.allclose(ours, gradient[0].numpy(), atol=1e-5), digit
            cam = net.class_activation_map(inputs, digit)
            assert cam.shape == (32, 32)
            expected = class_activation_map(
                model, torch.from_numpy(inputs), "relu2", digit
            )
            assert np.allclose(cam, expected, atol=ATOL), digit


def test_conv1_and_batch_norm_in_both_modes_at_any_size(
    model: digits.DigitsCNN, net: digits_numpy.DigitsNet
) -> None:
    inputs = np.random.default_rng(3).random((1, 1, 97, 128), dtype=np.float32)
    outputs = net.forward(inputs, until="relu1")
    assert list(outputs) == ["conv1", "bn1", "relu1"]
    tensor = torch.from_numpy(inputs)
    with torch.inference_mode():
        conv = model.conv1(tensor)
        bn_eval = model.bn1(conv)
        bn_train = F.batch_norm(
            conv, None, None, model.bn1.weight, model.bn1.bias, training=True
        )
    assert outputs["conv1"].shape == (1, 6, 97, 128)
    assert np.allclose(outputs["conv1"], conv.numpy(), atol=ATOL)
    assert np.allclose(outputs["bn1"], bn_eval.numpy(), atol=ATOL)
    trained = net.batch_norm("bn1", outputs["conv1"], train=True)
    assert np.allclose(trained, bn_train.numpy(), atol=ATOL)


@pytest.mark.parametrize("seed", [0, 7, 2**31 - 1])
def test_the_dropout_mask_is_torchs_for_the_same_seed(seed: int) -> None:
    shape = (1, 6, 128, 128)
    generator = torch.Generator().manual_seed(seed)
    expected = (torch.rand(shape, generator=generator) >= 0.5).numpy()
    ours = digits_numpy.dropout_keep_mask(shape, seed)
    assert np.array_equal(ours, expected)
    assert 0.45 < ours.mean() < 0.55


def test_the_activation_widgets_stages_are_torchs(model: digits.DigitsCNN) -> None:
    channel, seed = 3, 11
    data = w_activations.activation_demo(sample="cat", channel=channel, seed=seed)
    rgb = decode_full_upload(sample_bytes("cat")).rgb
    tensor = torch.from_numpy(
        digits_input.photo_to_digits_array(rgb, w_activations.ACTIVATION_SIZE)
    )
    with torch.inference_mode():
        conv = model.conv1(tensor)
        bn_eval = model.bn1(conv)
        bn_relu = torch.relu(bn_eval)
        bn_train = F.batch_norm(
            conv, None, None, model.bn1.weight, model.bn1.bias, training=True
        )
        keep = torch.rand(bn_relu.shape, generator=torch.Generator().manual_seed(seed))
        dropout_train = bn_relu * (keep >= 0.5) / 0.5
    expected = {
        "conv": conv,
        "relu": torch.relu(conv),
        "bn_train": bn_train,
        "bn_eval": bn_eval,
        "bn_relu": bn_relu,
        "dropout_train": dropout_train,
        "dropout_eval": bn_relu,
    }
    stages = {stage["key"]: stage for stage in data["stages"]}
    assert list(stages) == list(expected)
    for key, value in expected.items():
        values = value[0, channel].numpy()
        stats = stages[key]["stats"]
        assert stats["mean"] == pytest.approx(values.mean(), abs=2e-4), key
        assert stats["std"] == pytest.approx(values.std(), abs=2e-4), key
        assert stats["max"] == pytest.approx(values.max(), abs=2e-4), key
        assert stats["zeros"] == pytest.approx((values == 0).mean(), abs=2e-4), key
    assert data["running_mean"] == pytest.approx(
        float(model.bn1.running_mean[channel]), abs=1e-4
    )


FRESH_WIDGETS = """
import io, sys
import cv2, numpy as np, django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
connection.creation.create_test_db(verbosity=0)
client = Client()
client.force_login(get_user_model().objects.create_user("fresh", password="pw-fresh-1"))
pad = np.full((200, 200), 255, dtype=np.uint8)
cv2.line(pad, (40, 40), (160, 40), 0, 18)
cv2.line(pad, (160, 40), (80, 170), 0, 18)
drawing = io.BytesIO(cv2.imencode(".png", pad)[1].tobytes())
drawing.name = "seven.png"
maps = client.post("/api/v1/feature-maps/",
                   {"sample": "astronaut", "model": "digits-cnn", "layer": "relu2"})
predicted = client.post("/api/v1/digits/predict/", {"image": drawing})
layers = client.get(predicted.json()["maps_url"])
stages = client.get("/api/v1/cnn/activations/", {"channel": 1})
assert [r.status_code for r in (maps, predicted, layers, stages)] == [200] * 4
assert maps.json()["cam"]["label"] in "0123456789", maps.json()
print(predicted.json()["digit"], len(stages.json()["stages"]),
      *(m in sys.modules for m in ("torch", "torchvision", "matplotlib")))
"""


def test_the_three_digits_widgets_import_no_torch(tmp_path: Path) -> None:
    """Feature maps of the digits CNN, draw-a-digit (prediction, Grad-CAM, maps)
    and the activation widget, through their APIs in a new process."""
    last = run_in_fresh_process(FRESH_WIDGETS, cache_dir=tmp_path / "cache")
    assert last == "7 7 False False False"
