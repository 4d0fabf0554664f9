"""demos/cnn/networks.py: the lessons' model table, runners and availability."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from django.utils import translation

from demos.ml import networks as cnn_models
from demos.ml.feature_maps import layer_shapes
from models_store import loading
from models_store.registry import REGISTRY, get_spec

TORCH_KEYS = [k for k, s in cnn_models.CNN_MODELS.items() if s.family != "onnx"]
IMAGENET_KEYS = [k for k in TORCH_KEYS if k != "digits-cnn"]
ONNX_KEYS = [k for k, s in cnn_models.CNN_MODELS.items() if s.family == "onnx"]


@pytest.fixture(autouse=True)
def fresh_models() -> None:
    cnn_models.clear_cache()


@pytest.fixture
def photo() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)


def test_every_lesson_model_is_a_registry_model_with_one_family() -> None:
    assert list(cnn_models.CNN_MODELS) == [
        "digits-cnn",
        "efficientnet-lite0",
        "resnet18",
        "vgg16",
        "alexnet",
        "mobilenet_v3_large",
        "yolox-nano",
        "fastestdet",
    ]
    for key, spec in cnn_models.CNN_MODELS.items():
        assert spec.model is get_spec(key)
    families = ("digits-cnn", "vgg16", "efficientnet-lite0")
    assert {k: cnn_models.CNN_MODELS[k].family for k in families} == {
        "digits-cnn": "digits",
        "vgg16": "torchvision",
        "efficientnet-lite0": "torchvision",
    }
    assert [cnn_models.CNN_MODELS[k].family for k in ONNX_KEYS] == ["onnx", "onnx"]


def test_the_committed_digits_cnn_gives_the_catalogue_shapes(photo) -> None:
    spec = cnn_models.CNN_MODELS["digits-cnn"]
    run = cnn_models.get_cnn_model("digits-cnn").run(photo)
    assert run.input_preview.shape == (32, 32, 3)
    assert {name: maps.shape for name, maps in run.maps.items()} == {
        layer.name: layer.shape for layer in spec.layers
    }
    assert cnn_models.layer_shapes("digits-cnn") == {
        layer.name: layer.shape for layer in spec.layers
    }


@pytest.mark.parametrize("key", IMAGENET_KEYS)
def test_imagenet_catalogue_shapes_match_a_forward_pass(key: str) -> None:
    spec = cnn_models.CNN_MODELS[key]
    with torch.device("meta"):
        if spec.model.family == "torch":  # defined in this project (demos/ml)
            from demos.ml.imagenet import EfficientNetLite0

            model = EfficientNetLite0().eval()
        else:
            model = loading.torchvision_architecture(spec.model).eval()
    names = [layer.name for layer in spec.layers]
    real = layer_shapes(model, spec.input_shape, names)
    assert cnn_models.layer_shapes(key) == real
    first_filters = model.get_parameter(spec.layers[0].filters)
    assert real[names[0]][0] == first_filters.shape[0]


@pytest.mark.parametrize("key", ONNX_KEYS)
def test_onnx_catalogue_shapes_match_the_files_extra_outputs(
    key: str, models_ready: Path, photo: np.ndarray
) -> None:
    spec = cnn_models.CNN_MODELS[key]
    loaded = cnn_models.get_cnn_model(key)
    run = loaded.run(photo)
    side = spec.input_shape[1]
    assert run.input_preview.shape == (side, side, 3)
    assert {name: maps.shape for name, maps in run.maps.items()} == {
        layer.name: layer.shape for layer in spec.layers
    }
    assert run.top5 is None


def test_fastestdet_stem_filters_come_from_the_onnx_graph(models_ready: Path) -> None:
    loaded = cnn_models.get_cnn_model("fastestdet")
    assert loaded.filters("stem").shape == (24, 3, 3, 3)
    assert loaded.filters("stage2") is None


def test_an_imagenet_runner_gives_maps_top5_and_first_layer_filters(
    photo: np.ndarray,
) -> None:
    spec = cnn_models.CNN_MODELS["mobilenet_v3_large"]
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v3_large(weights=None)
    runner = cnn_models.TorchCnn(
        spec, model, cnn_models.imagenet_input, spec.model.categories
    )
    run = runner.run(photo)
    assert run.input_preview.shape == (224, 224, 3)
    for layer in spec.layers:
        assert run.maps[layer.name].shape == layer.shape
    assert len(run.top5) == 5
    categories = REGISTRY["mobilenet_v3_large"].categories
    assert all(label in categories for label, _ in run.top5)
    probabilities = [p for _, p in run.top5]
    assert probabilities == sorted(probabilities, reverse=True)
    assert runner.filters("features.0").shape == (16, 3, 3, 3)
    assert runner.filters("features.3") is None


def test_sixteen_concurrent_first_requests_share_one_model_and_agree(
    photo: np.ndarray,
) -> None:
    barrier = threading.Barrier(16)
    results: list[tuple[object, dict[str, np.ndarray]]] = []
    errors: list[BaseException] = []

    def first_use() -> None:
        barrier.wait()
        try:
            model = cnn_models.get_cnn_model("digits-cnn")
            results.append((model, model.run(photo).maps))
        except BaseException as exc:  # noqa: BLE001 — asserted below
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({id(model) for model, _ in results}) == 1
    reference = results[0][1]
    for _, maps in results[1:]:
        assert maps.keys() == reference.keys()
        assert all(np.array_equal(maps[k], reference[k]) for k in reference)


def test_an_imagenet_model_without_its_file_is_unavailable_with_the_fix(
    settings, tmp_path: Path
) -> None:
    settings.MODELS_DIR = tmp_path / "models"
    status = cnn_models.availability("resnet18")
    assert not status.available
    assert status.fix == "python manage.py models pull resnet18"
    with pytest.raises(cnn_models.CnnModelUnavailable, match="models pull resnet18"):
        cnn_models.get_cnn_model("resnet18")
    assert cnn_models.availability("digits-cnn").available  # bundled: always ready


def test_unknown_models_and_layers_are_bad_input() -> None:
    with pytest.raises(cnn_models.UnknownCnnModel, match="digits-cnn"):
        cnn_models.get_spec("lenet-99")
    with pytest.raises(cnn_models.UnknownLayer, match="conv1"):
        cnn_models.get_spec("digits-cnn").layer("conv9")


def test_listing_the_models_reports_declared_shapes_and_availability(
    settings, tmp_path: Path
) -> None:
    settings.MODELS_DIR = tmp_path / "models"
    with translation.override("en"):  # the labels are translated: read them in English
        rows = {row["key"]: row for row in cnn_models.list_models()}
    assert rows["digits-cnn"]["available"] and not rows["vgg16"]["available"]
    assert rows["vgg16"]["layers"][0] == {
        "name": "features.0",
        "label": "conv1_1: 64 filters 3x3",
        "shape": [64, 224, 224],
        "has_filters": True,
    }
