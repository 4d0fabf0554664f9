"""demos/ml/detection/detectors.py: detectors built once from verified files, or
explained."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from demos.common.imaging import ImageLimits, decode_image
from demos.ml.detection import detectors
from demos.ml.detection.counting import TiledPersonDetector
from demos.ml.detection.decoders import OnnxFastestDetDetector, OnnxYoloxDetector
from demos.ml.detection.fusion import FusedPersonDetector
from demos.ml.detection.hog import HogPersonDetector
from demos.ml.detection.torch_detector import TorchvisionPersonDetector
from models_store import store
from models_store.download import ChecksumMismatch, sha256_of
from models_store.registry import REGISTRY, UnknownModel, register
from portal.lib.errors import BadInput, ServiceUnavailable
from tests.conftest import WEIGHTS_DIR

LIMITS = ImageLimits(15 * 1024 * 1024, 40_000_000, 10_000, 16)


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Each test builds detectors and hashes files as if the process were new."""
    detectors.clear_cache()
    store.clear_digest_cache()
    yield
    detectors.clear_cache()


def test_default_detector_is_the_counter_when_its_part_is_ready(models_ready) -> None:
    assert detectors.default_detector_key() == "picodet-s-counter"
    counter = detectors.get_detector("picodet-s-counter")
    assert isinstance(counter, TiledPersonDetector)
    assert counter.whole.input_size == 640 and counter.small_bonus == 0.06


def test_the_fused_detector_shares_its_parts_with_the_single_ones(
    models_ready,
) -> None:
    fused = detectors.get_detector("yolox-picodet-wbf")
    assert isinstance(fused, FusedPersonDetector)
    assert [part.key for part in fused.parts] == ["yolox-nano", "picodet-s-416"]
    assert fused.parts[0] is detectors.get_detector("yolox-nano")  # shared cache


def test_default_detector_is_yolox_when_only_its_file_is_ready(
    settings, empty_store
) -> None:
    empty_store.mkdir(parents=True)
    shutil.copy(WEIGHTS_DIR / "yolox-nano" / "yolox_nano.onnx", empty_store)
    assert detectors.default_detector_key() == "yolox-nano"
    with pytest.raises(detectors.DetectorUnavailable) as caught:
        detectors.get_detector("yolox-picodet-wbf")
    assert "PicoDet-S 416" in str(caught.value)
    assert "models pull picodet-s-416" in str(caught.value)
    with pytest.raises(detectors.DetectorUnavailable):
        detectors.get_detector("picodet-s-counter")


def test_default_detector_falls_back_to_hog_without_files(empty_store) -> None:
    assert detectors.default_detector_key() == "opencv-hog"
    assert isinstance(detectors.get_detector("opencv-hog"), HogPersonDetector)


def test_setting_overrides_the_default_detector(settings, models_ready) -> None:
    settings.PERSON_DETECTOR = "fastestdet"
    assert detectors.default_detector_key() == "fastestdet"


def test_onnx_detectors_are_built_once_per_process(models_ready) -> None:
    yolox = detectors.get_detector("yolox-nano")
    assert isinstance(yolox, OnnxYoloxDetector) and yolox.key == "yolox-nano"
    assert detectors.get_detector("yolox-nano") is yolox
    assert isinstance(detectors.get_detector("fastestdet"), OnnxFastestDetDetector)
    detectors.clear_cache()
    assert detectors.get_detector("yolox-nano") is not yolox


def test_concurrent_first_calls_share_one_detector(models_ready, settings) -> None:
    results: list[object] = []

    def build() -> None:
        results.append(detectors.get_detector("fastestdet"))

    threads = [threading.Thread(target=build) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(r) for r in results}) == 1


def test_missing_detector_is_unavailable_with_the_fixing_command(empty_store) -> None:
    with pytest.raises(detectors.DetectorUnavailable) as caught:
        detectors.get_detector("yolox-nano")
    assert isinstance(caught.value, ServiceUnavailable)
    assert "python manage.py models pull yolox-nano" in str(caught.value)
    assert "models import" in str(caught.value)


def test_unknown_or_non_detector_keys_are_bad_input(models_ready) -> None:
    for key in ("nope", "resnet18"):
        with pytest.raises(UnknownModel) as caught:
            detectors.get_detector(key)
        assert isinstance(caught.value, BadInput)


def test_detector_choices_list_every_detector_with_availability(models_ready) -> None:
    states = {s.key: s for s in detectors.detector_choices()}
    assert list(states)[:3] == ["opencv-hog", "yolox-nano", "fastestdet"]
    assert states["yolox-nano"].is_available and states["opencv-hog"].is_available
    unavailable = states["fcos_resnet50_fpn"]
    assert not unavailable.is_available
    assert unavailable.fix == "python manage.py models pull fcos_resnet50_fpn"
    assert "resnet18" not in states


def test_detector_through_the_store_counts_a_photo(models_ready, sample_image) -> None:
    rgb = decode_image(sample_image.read_bytes(), LIMITS).rgb
    boxes = detectors.get_detector("yolox-nano").detect(rgb, 0.05)
    threshold = REGISTRY["yolox-nano"].default_threshold
    assert len([b for b in boxes if b.score >= threshold]) == 1


# ------------------------------------------------ torchvision path, end to end


@pytest.fixture(scope="session")
def random_ssdlite_file(tmp_path_factory) -> Path:
    """A randomly initialised SSDlite320 saved as a state dict, like torchvision's."""
    import torch
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    torch.manual_seed(0)
    model = ssdlite320_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=91
    )
    path = tmp_path_factory.mktemp("made") / "ssdlite_random.pth"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture
def ssdlite_spec(random_ssdlite_file: Path, registered) -> object:
    digest = sha256_of(random_ssdlite_file)
    spec = replace(
        REGISTRY["ssdlite320_mobilenet_v3_large"],
        key="test-ssdlite",
        name="SSDlite (random weights, test)",
        filename=f"ssdlite_random-{digest[:8]}.pth",
        url=None,
        sha256=digest,
        sha256_is_prefix=False,
        size_bytes=random_ssdlite_file.stat().st_size,
    )
    register(spec)
    registered.append(spec.key)
    return spec


def test_torchvision_detector_loads_from_an_imported_file_and_runs(
    empty_store, ssdlite_spec, random_ssdlite_file, sample_image
) -> None:
    imported = store.import_path(random_ssdlite_file, record=False)
    assert [s.key for s in imported] == ["test-ssdlite"]
    assert store.model_state("test-ssdlite").state == "ready"
    detector = detectors.get_detector("test-ssdlite")
    assert isinstance(detector, TorchvisionPersonDetector)
    assert not detector.model.training  # eval mode
    rgb = decode_image(sample_image.read_bytes(), LIMITS).rgb
    boxes = detector.detect(rgb, 0.05)
    for b in boxes:
        assert 0 <= b.x1 < b.x2 <= rgb.shape[1] and 0 <= b.y1 < b.y2 <= rgb.shape[0]
        assert b.score >= 0.05
    assert detectors.get_detector("test-ssdlite") is detector


def test_torchvision_file_with_the_wrong_hash_is_refused(
    empty_store, ssdlite_spec, random_ssdlite_file, tmp_path
) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    tampered = folder / ssdlite_spec.filename
    data = bytearray(random_ssdlite_file.read_bytes())
    data[-100] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatch, match="test-ssdlite"):
        store.import_path(folder, record=False)
    with pytest.raises(detectors.DetectorUnavailable, match="not in the model store"):
        detectors.get_detector("test-ssdlite")
    # Even copied into the store by hand, a wrong file never loads.
    empty_store.mkdir(exist_ok=True)
    (empty_store / ssdlite_spec.filename).write_bytes(bytes(data))
    with pytest.raises(detectors.DetectorUnavailable, match="SHA-256"):
        detectors.get_detector("test-ssdlite")
