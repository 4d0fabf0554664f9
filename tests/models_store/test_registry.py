"""models_store/registry.py: the facts match torchvision and the shared weights."""

from __future__ import annotations

import sys

import pytest

from models_store.download import sha256_of
from models_store.registry import (
    COUNTING_DETECTOR,
    DEFAULT_DETECTOR,
    FALLBACK_DETECTOR,
    FUSED_DETECTOR,
    PREFERRED_DETECTORS,
    REGISTRY,
    UnknownModel,
    get_spec,
    specs,
)
from portal.lib.errors import BadInput
from tests.conftest import REPO_DIR, WEIGHTS_DIR

TORCHVISION_WEIGHTS = {
    "fasterrcnn_resnet50_fpn_v2": "detection.FasterRCNN_ResNet50_FPN_V2_Weights",
    "fasterrcnn_mobilenet_v3_large_fpn": (
        "detection.FasterRCNN_MobileNet_V3_Large_FPN_Weights"
    ),
    "retinanet_resnet50_fpn_v2": "detection.RetinaNet_ResNet50_FPN_V2_Weights",
    "ssdlite320_mobilenet_v3_large": "detection.SSDLite320_MobileNet_V3_Large_Weights",
    "fcos_resnet50_fpn": "detection.FCOS_ResNet50_FPN_Weights",
    "resnet18": "ResNet18_Weights",
    "vgg16": "VGG16_Weights",
    "alexnet": "AlexNet_Weights",
    "mobilenet_v3_large": "MobileNet_V3_Large_Weights",
}


@pytest.mark.parametrize("key", sorted(TORCHVISION_WEIGHTS))
def test_torchvision_specs_match_the_installed_torchvision(key: str) -> None:
    import torchvision.models

    module_path, _, enum_name = TORCHVISION_WEIGHTS[key].rpartition(".")
    module = torchvision.models
    for part in filter(None, module_path.split(".")):
        module = getattr(module, part)
    weights = getattr(module, enum_name)
    published = weights.COCO_V1 if spec_is_detector(key) else weights.IMAGENET1K_V1
    spec = get_spec(key)
    assert spec.url == published.url
    assert spec.params == published.meta["num_params"]
    assert spec.gflops == published.meta["_ops"]
    assert spec.categories == tuple(published.meta["categories"])
    assert spec.sha256_is_prefix and spec.url.endswith(f"-{spec.sha256}.pth")
    metrics = next(iter(published.meta["_metrics"].values()))
    if spec_is_detector(key):
        assert spec.box_ap == metrics["box_map"]
        assert spec.person_label == 1 and spec.categories[1] == "person"
    else:
        assert spec.top1 == metrics["acc@1"]
    builder_module, _, builder = spec.builder.rpartition(".")
    assert callable(getattr(sys.modules[builder_module], builder))


def spec_is_detector(key: str) -> bool:
    return get_spec(key).task == "person-detection"


@pytest.mark.parametrize(
    ("key", "relative"),
    [
        ("yolox-nano", "yolox-nano/yolox_nano.onnx"),
        ("fastestdet", "fastestdet/FastestDet.onnx"),
    ],
)
def test_onnx_specs_match_the_shared_files(key: str, relative: str) -> None:
    spec = get_spec(key)
    path = WEIGHTS_DIR / relative
    assert spec.filename == path.name
    assert spec.size_bytes == path.stat().st_size
    assert not spec.sha256_is_prefix and spec.matches_sha256(sha256_of(path))
    assert spec.categories[0] == "person" and len(spec.categories) == 80
    assert spec.url.startswith("https://github.com/") and spec.url.endswith(path.name)


@pytest.mark.parametrize(
    ("key", "side", "box_ap"),
    [("picodet-s-416", 416, 30.6), ("picodet-s-320", 320, 27.1)],
)
def test_picodet_specs_match_the_shared_files_and_published_figures(
    key: str, side: int, box_ap: float
) -> None:
    spec = get_spec(key)
    path = WEIGHTS_DIR / "picodet-s" / f"picodet_s_{side}_coco.onnx"
    assert spec.filename == path.name and spec.size_bytes == path.stat().st_size
    assert spec.matches_sha256(sha256_of(path)) and not spec.sha256_is_prefix
    assert spec.url == (
        f"https://paddledet.bj.bcebos.com/deploy/third_engine/{path.name}"
    )
    assert spec.license.startswith("Apache-2.0")
    assert spec.input_size == side and spec.params == 990_000
    assert spec.box_ap == box_ap and spec.decoder == "picodet"
    assert spec.categories[0] == "person" and spec.person_label == 0


def test_the_fused_detector_is_made_of_yolox_and_picodet_and_has_no_file() -> None:
    spec = get_spec(FUSED_DETECTOR)
    assert spec.family == "fusion" and spec.is_fusion
    assert spec.parts[0] == "yolox-nano" and spec.parts[1].startswith("picodet-s-")
    assert not spec.is_builtin and not spec.is_downloadable and spec.filename is None
    assert PREFERRED_DETECTORS == (COUNTING_DETECTOR, FUSED_DETECTOR, DEFAULT_DETECTOR)


def test_the_counter_runs_picodet_at_640_with_a_calibrated_doubt_range() -> None:
    spec = get_spec(COUNTING_DETECTOR)
    assert spec.is_fusion and spec.parts == ("picodet-s-416",)
    assert spec.input_size == 640
    sure, count, maybe = (
        spec.sure_threshold,
        spec.default_threshold,
        spec.maybe_threshold,
    )
    assert spec.doubt_range == (sure, maybe)
    assert 0 < maybe < count < sure < 1


def test_person_detectors_cover_four_families_with_thresholds() -> None:
    detectors = specs("person-detection")
    assert {s.family for s in detectors} == {
        "opencv",
        "onnx",
        "torchvision",
        "fusion",
    }
    assert len(detectors) == 12
    assert all(0 < s.default_threshold < 1 for s in detectors)
    assert {s.key for s in specs("classification")} == {
        "efficientnet-lite0",
        "resnet18",
        "vgg16",
        "alexnet",
        "mobilenet_v3_large",
    }


def test_defaults_are_yolox_then_hog() -> None:
    assert DEFAULT_DETECTOR == "yolox-nano" and FALLBACK_DETECTOR == "opencv-hog"
    assert get_spec(FALLBACK_DETECTOR).is_builtin
    assert not get_spec(DEFAULT_DETECTOR).is_builtin


def test_unknown_key_is_bad_input_naming_the_known_ones() -> None:
    with pytest.raises(UnknownModel) as caught:
        get_spec("yolo-v99")
    assert isinstance(caught.value, BadInput)
    assert "yolo-v99" in str(caught.value) and "yolox-nano" in str(caught.value)


def test_prefix_specs_match_digests_that_start_with_their_prefix() -> None:
    spec = REGISTRY["resnet18"]
    assert spec.matches_sha256("f37072fd" + "0" * 56)
    assert not spec.matches_sha256("0" * 64)


@pytest.mark.parametrize(
    ("key", "task", "params"),
    [("digits-cnn", "digits", 82_870), ("digits-autoencoder", "autoencoder", 4_744)],
)
def test_the_digits_models_are_bundled_specs_of_their_committed_files(
    key: str, task: str, params: int
) -> None:
    import json

    spec = get_spec(key)
    assert spec.task == task and spec.family == "torch"
    assert spec.is_bundled and not spec.is_builtin and not spec.is_downloadable
    assert spec.url is None and spec.bundled_path.is_file()
    assert spec.bundled_path == REPO_DIR / "demos" / "ml" / "weights" / spec.filename
    recorded = json.loads((REPO_DIR / str(spec.sha256_sidecar)).read_text())
    assert recorded["file"] == spec.filename and recorded["params"] == params
    assert spec.params == params
    assert spec.fix_command == "python manage.py train_digits"


def test_every_file_spec_is_either_downloadable_or_bundled() -> None:
    for spec in specs():
        if spec.is_builtin or spec.is_fusion:
            continue
        assert spec.is_downloadable != spec.is_bundled, spec.key
        if spec.is_downloadable:
            assert spec.url and spec.sha256, spec.key
