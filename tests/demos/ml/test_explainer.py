"""The linked view's numbers reproduce what EfficientNet-Lite0 computes: the stem's
written-out dot product + bias is the map's value, the head's pooled channel and
its share of the top logits are the classifier's own numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from demos.ml import explainer, imagenet
from demos.ml.receptive_field import Box
from tests.conftest import SAMPLES_DIR


@pytest.fixture(scope="module")
def model() -> imagenet.EfficientNetLite0:
    return imagenet.build_model()


@pytest.fixture(scope="module")
def cat() -> torch.Tensor:
    return imagenet.preprocess(Image.open(SAMPLES_DIR / "nobody/chelsea.png"))


@pytest.mark.parametrize(
    ("channel", "y", "x"), [(0, 0, 0), (5, 40, 70), (31, 111, 111), (12, 111, 3)]
)
def test_the_stems_dot_product_plus_bias_is_the_maps_value(
    model: imagenet.EfficientNetLite0,
    cat: torch.Tensor,
    channel: int,
    y: int,
    x: int,
) -> None:
    view = explainer.linked_view(model, cat, 0, channel, y, x)
    with torch.inference_mode():
        after_bn = model.features[0][:2](cat)[0, channel, y, x].item()
        after_relu6 = model.features[0](cat)[0, channel, y, x].item()
    dot = view.dot
    assert dot is not None
    # What the page writes out, recomputed from the returned lists alone.
    inputs, kernel = np.array(dot.inputs), np.array(dot.kernel)
    assert inputs.shape == kernel.shape == (3, 3, 3)
    products = (inputs * kernel).sum(axis=(1, 2))
    assert products == pytest.approx(dot.sums, abs=1e-5)
    assert sum(dot.sums) + dot.bias == pytest.approx(dot.pre_activation, abs=1e-5)
    assert dot.pre_activation == pytest.approx(after_bn, abs=1e-4)
    assert dot.value == pytest.approx(min(max(dot.pre_activation, 0), 6), abs=1e-6)
    assert dot.value == pytest.approx(after_relu6, abs=1e-4)
    assert view.value == pytest.approx(after_relu6, abs=1e-6)
    # Photo pixels and the network's inputs agree; padding is None / 0.
    for c in range(3):
        for i in range(3):
            for j in range(3):
                pixel = dot.pixels[c][i][j]
                expected = 0.0 if pixel is None else (pixel - 127) / 128
                assert inputs[c, i, j] == pytest.approx(expected, abs=1e-6)


def test_the_stems_field_is_its_3x3_window_cut_by_the_border(
    model: imagenet.EfficientNetLite0, cat: torch.Tensor
) -> None:
    assert explainer.linked_view(model, cat, 0, 0, 0, 0).field == Box(0, 0, 3, 3)
    corner = explainer.linked_view(model, cat, 0, 0, 111, 111)
    # TensorFlow's SAME pads one pixel after: the window's last row is padding.
    assert corner.field == Box(222, 222, 224, 224)
    assert corner.dot is not None
    assert corner.dot.pixels[0][2] == [None, None, None]


def test_the_heads_channel_feeds_the_classifier(
    model: imagenet.EfficientNetLite0, cat: torch.Tensor
) -> None:
    view = explainer.linked_view(model, cat, 8, 100, 3, 3)
    assert view.shape == (1280, 7, 7)
    assert view.dot is None
    with torch.inference_mode():
        pooled = model.avgpool(model.features(cat)).flatten(1)[0]
        logits = model(cat)[0]
    assert view.channel_mean == pytest.approx(float(pooled[100]), abs=1e-5)
    best = view.top[0]
    assert imagenet.IMAGENET_1K[best["index"]] in {"tabby", "tiger cat", "Egyptian cat"}
    assert best["logit"] == pytest.approx(float(logits[best["index"]]), abs=1e-4)
    weight = float(model.classifier[1].weight[best["index"], 100])
    assert best["contribution"] == pytest.approx(weight * float(pooled[100]), abs=1e-6)
    # Deep in the network one pixel sees most of the photo.
    assert view.field.height > 150


def test_a_channel_or_pixel_outside_the_map_is_refused(
    model: imagenet.EfficientNetLite0, cat: torch.Tensor
) -> None:
    with pytest.raises(ValueError, match="channel"):
        explainer.linked_view(model, cat, 3, 40, 0, 0)
    with pytest.raises(ValueError, match="outside"):
        explainer.linked_view(model, cat, 3, 0, 28, 0)
    with pytest.raises(ValueError, match="stage"):
        explainer.linked_view(model, cat, 9, 0, 0, 0)
