"""PORTAL_TORCH_DEVICE: torchvision detectors run on cuda when asked and present.

No GPU here: these tests pin the choice logic (auto → cpu without CUDA, cuda
without CUDA → a clear 503) and that a loaded detector runs on the chosen device.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from demos.common.imaging import ImageLimits, decode_image
from demos.ml.detection import detectors
from demos.ml.detection.device import TorchDeviceUnavailable, choose_torch_device
from demos.ml.detection.torch_detector import TorchvisionPersonDetector
from models_store import store
from portal.lib.errors import ServiceUnavailable
from tests.demos.ml.detection.test_detectors import (  # noqa: F401  (fixtures)
    fresh_caches,
    random_ssdlite_file,
    ssdlite_spec,
)

LIMITS = ImageLimits(15 * 1024 * 1024, 40_000_000, 10_000, 16)
NO_CUDA = not torch.cuda.is_available()


def test_auto_picks_cuda_when_available_and_cpu_otherwise() -> None:
    assert choose_torch_device("auto", cuda_available=True) == "cuda"
    assert choose_torch_device("auto", cuda_available=False) == "cpu"
    assert choose_torch_device("", cuda_available=False) == "cpu"


def test_cpu_is_always_cpu_and_a_cuda_index_is_kept() -> None:
    assert choose_torch_device("cpu", cuda_available=True) == "cpu"
    assert choose_torch_device("CUDA:1", cuda_available=True) == "cuda:1"


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
def test_auto_is_cpu_on_this_machine_without_a_gpu() -> None:
    assert choose_torch_device("auto") == "cpu"


def test_cuda_without_cuda_is_a_clear_service_unavailable() -> None:
    with pytest.raises(TorchDeviceUnavailable) as caught:
        choose_torch_device("cuda", cuda_available=False)
    assert isinstance(caught.value, ServiceUnavailable)
    message = str(caught.value)
    assert "PORTAL_TORCH_DEVICE" in message and "CUDA is not available" in message


def test_an_unknown_device_name_is_refused() -> None:
    with pytest.raises(ValueError, match="auto, cpu, cuda or cuda:N"):
        choose_torch_device("gpu", cuda_available=True)


def test_settings_refuse_an_unknown_device_at_startup() -> None:
    env = {
        **os.environ,
        "PORTAL_TORCH_DEVICE": "gpu",
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[4],
        check=False,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "PORTAL_TORCH_DEVICE must be auto, cpu, cuda or cuda:N" in result.stderr


def test_default_setting_is_auto(settings) -> None:
    assert settings.TORCH_DEVICE == "auto"


@pytest.mark.usefixtures("empty_store", "ssdlite_spec")
def test_loaded_torchvision_detector_runs_on_the_auto_device(
    settings, request, sample_image
) -> None:
    settings.TORCH_DEVICE = "auto"
    store.import_path(request.getfixturevalue("random_ssdlite_file"), record=False)
    detector = detectors.get_detector("test-ssdlite")
    assert isinstance(detector, TorchvisionPersonDetector)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert detector.device == expected
    assert next(detector.model.parameters()).device.type == expected
    rgb = decode_image(sample_image.read_bytes(), LIMITS).rgb
    for box in detector.detect(rgb, 0.05):  # outputs came back as plain numbers
        assert isinstance(box.x1, int) and isinstance(box.score, float)


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
@pytest.mark.usefixtures("empty_store", "ssdlite_spec")
def test_requesting_cuda_without_a_gpu_makes_the_detector_unavailable(
    settings, request
) -> None:
    settings.TORCH_DEVICE = "cuda"
    store.import_path(request.getfixturevalue("random_ssdlite_file"), record=False)
    with pytest.raises(ServiceUnavailable, match="CUDA is not available"):
        detectors.get_detector("test-ssdlite")
