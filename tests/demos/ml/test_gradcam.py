"""Grad-CAM of the digits CNN and torchvision classifiers (demos/ml/gradcam.py) on
the shared model — no copy, no matplotlib — checked against Grad-CAM computed by
hand with torch hooks and against the grad-cam library, and in the digit and
feature-map APIs."""

from __future__ import annotations

import base64
import io

import cv2
import numpy as np
import pytest
import torch
from django.core.cache import cache
from django.test import Client
from PIL import Image
from torch.nn import functional as F

from demos.ml import digits, networks
from demos.ml.gradcam import cam_overlay, class_activation_map


@pytest.fixture(scope="module")
def model() -> digits.DigitsCNN:
    return digits.load_state(digits.DigitsCNN(), digits.CNN_WEIGHTS, digits.CNN_META)


@pytest.fixture(scope="module")
def seven() -> torch.Tensor:
    data = digits.load_digits_split()
    index = int(np.flatnonzero(data.test_labels == 7)[0])
    return digits.digits_to_tensor(data.test_images[index])


def grad_cam_by_hand(
    model: torch.nn.Module, tensor: torch.Tensor, layer: str, index: int
) -> np.ndarray:
    """Selvaraju et al.: weights = mean gradient per channel, ReLU(sum w_k A_k),
    scaled bilinearly to the input, min-max normalised."""
    saved: dict[str, torch.Tensor] = {}

    def keep(module, inputs, output) -> None:
        saved["a"] = output
        output.register_hook(lambda grad: saved.__setitem__("g", grad))

    handle = model.get_submodule(layer).register_forward_hook(keep)
    try:
        model.zero_grad()
        model(tensor)[0, index].backward()
    finally:
        handle.remove()
    weights = saved["g"][0].mean(dim=(1, 2))
    cam = F.relu((weights[:, None, None] * saved["a"][0]).sum(0)).detach().numpy()
    cam = cv2.resize(cam, tensor.shape[-1:-3:-1], interpolation=cv2.INTER_LINEAR)
    cam = cam - cam.min()
    return cam / (cam.max() + 1e-7)


def test_the_map_equals_grad_cam_by_hand(model, seven) -> None:
    index = int(model(seven).argmax())
    assert index == 7
    cam = class_activation_map(model, seven, "relu2", index)
    assert cam.shape == (32, 32) and cam.dtype == np.float32
    assert cam.min() >= 0 and cam.max() <= 1 and cam.max() > 0.99
    expected = grad_cam_by_hand(model, seven.clone(), "relu2", index)
    assert np.allclose(cam, expected, atol=1e-4)


def test_the_map_equals_the_grad_cam_librarys(model, seven) -> None:
    import copy

    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    private = copy.deepcopy(model)
    with GradCAM(model=private, target_layers=[private.relu2]) as library:
        expected = library(
            input_tensor=seven.clone(), targets=[ClassifierOutputTarget(3)]
        )[0]
    assert np.allclose(
        class_activation_map(model, seven, "relu2", 3), expected, atol=1e-4
    )


def test_the_overlay_is_the_librarys_overlay(model, seven) -> None:
    from pytorch_grad_cam.utils.image import show_cam_on_image

    grey = np.rint(seven[0, 0].numpy() * 255).astype(np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    cam = class_activation_map(model, seven, "relu2", 7)
    big = cv2.resize(rgb, (160, 160), interpolation=cv2.INTER_NEAREST)
    mask = cv2.resize(cam, (160, 160), interpolation=cv2.INTER_LINEAR)
    expected = show_cam_on_image(
        big.astype(np.float32) / 255, np.clip(mask, 0, 1), use_rgb=True
    )
    assert np.array_equal(cam_overlay(rgb, cam, side=160), expected)


def test_another_thread_running_the_model_meanwhile_is_not_seen(model, seven) -> None:
    """The hook keeps only its own thread's output: a concurrent forward pass of the
    shared model (another request) neither breaks nor changes the map."""
    import threading

    expected = class_activation_map(model, seven, "relu2", 7)
    noise = torch.rand(1, 1, 32, 32)
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            with torch.inference_mode():
                model(noise)

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        maps = [class_activation_map(model, seven, "relu2", 7) for _ in range(20)]
    finally:
        stop.set()
        thread.join()
    assert all(np.allclose(m, expected, atol=1e-6) for m in maps)


def test_the_digit_grad_cam_imports_no_matplotlib() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, torch; from demos.ml import digits;"
        "from demos.ml.gradcam import class_activation_map, cam_overlay;"
        "m = digits.load_state(digits.DigitsCNN(), digits.CNN_WEIGHTS,"
        " digits.CNN_META);"
        "cam = class_activation_map(m, torch.zeros(1, 1, 32, 32), 'relu2', 3);"
        "cam_overlay(__import__('numpy').zeros((32, 32, 3), 'uint8'), cam);"
        "print('matplotlib' in sys.modules, 'pytorch_grad_cam' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "False"]


def test_the_shared_model_keeps_no_hooks_and_no_gradients(model, seven) -> None:
    model.zero_grad(set_to_none=True)  # the by-hand test above used backward()
    class_activation_map(model, seven, "relu2", 7)
    assert not model.relu2._forward_hooks and not model.relu2._backward_hooks
    assert all(p.grad is None for p in model.parameters())
    assert not model.training


def test_the_overlay_is_the_input_blended_with_the_map(seven) -> None:
    grey = np.rint(seven[0, 0].numpy() * 255).astype(np.uint8)
    cam = np.zeros((32, 32), np.float32)
    cam[:, 16:] = 1.0
    overlay = cam_overlay(np.repeat(grey[:, :, None], 3, axis=2), cam, side=160)
    assert overlay.shape == (160, 160, 3) and overlay.dtype == np.uint8
    left, right = overlay[:, :60].astype(int), overlay[:, 100:].astype(int)
    assert right[..., 0].mean() > left[..., 0].mean()  # hot (red) on the right


def drawn_seven() -> io.BytesIO:
    pad = np.full((200, 200), 255, dtype=np.uint8)
    cv2.line(pad, (40, 40), (160, 40), 0, 18)
    cv2.line(pad, (160, 40), (80, 170), 0, 18)
    handle = io.BytesIO()
    Image.fromarray(pad).save(handle, format="PNG")
    handle.seek(0)
    handle.name = "seven.png"
    return handle


@pytest.mark.django_db
def test_the_digit_prediction_explains_itself(
    logged_in_client: Client, model: digits.DigitsCNN
) -> None:
    cache.clear()
    response = logged_in_client.post(
        "/api/v1/digits/predict/", {"image": drawn_seven()}
    )
    assert response.status_code == 200
    body = response.json()
    cam = np.array(body["cam"])
    assert cam.shape == (32, 32) and cam.min() >= 0 and cam.max() <= 1
    assert body["cam_overlay_url"].startswith("data:image/png;base64,")
    png = base64.b64decode(body["cam_overlay_url"].split(",", 1)[1])
    assert Image.open(io.BytesIO(png)).size == (160, 160)
    # The map (numpy in the web worker) is torch's Grad-CAM of the predicted digit
    # on its own input.
    pixels = np.array(body["pixels"], dtype=np.float32)
    tensor = digits.digits_to_tensor(pixels)
    with torch.inference_mode():
        assert body["digit"] == int(model(tensor)[0].argmax())
    expected = class_activation_map(model, tensor, "relu2", body["digit"])
    assert np.allclose(cam, expected, atol=1e-3)


@pytest.mark.django_db
def test_feature_maps_of_the_digits_cnn_come_with_grad_cam(
    logged_in_client: Client,
) -> None:
    cache.clear()
    response = logged_in_client.post(
        "/api/v1/feature-maps/",
        {"sample": "astronaut", "model": "digits-cnn", "layer": "conv1"},
    )
    assert response.status_code == 200
    cam = response.json()["cam"]
    assert cam["label"] in [str(d) for d in range(10)]
    assert cam["overlay_url"].startswith("data:image/png;base64,")


def test_an_imagenet_backbone_is_explained_at_its_last_stage(samples_dir) -> None:
    import torchvision

    torch.manual_seed(0)
    spec = networks.CNN_MODELS["resnet18"]
    categories = [f"class {i}" for i in range(1000)]
    loaded = networks.TorchCnn(
        spec,
        torchvision.models.resnet18(weights=None),
        networks.imagenet_input,
        categories,
    )
    photo = np.asarray(
        Image.open(samples_dir / "nobody" / "chelsea.png").convert("RGB")
    )
    result = loaded.explain(photo)
    assert spec.cam_layer == "layer4"
    assert result.cam.shape == (224, 224) and result.label in categories
    assert result.overlay.shape == (160, 160, 3)


def test_detectors_have_no_class_activation_map() -> None:
    assert networks.CNN_MODELS["yolox-nano"].cam_layer == ""
