"""Build each person detector once per process, from a verified file, on first use.

Detectors are cached in a dict behind a lock, keyed by (registry key, file path), so a
file imported later is picked up and two threads never build the same model twice.
Nothing loads in ``AppConfig.ready()``: ``migrate`` and most tests never pay for torch.
Torch models load with ``torch.load(..., map_location="cpu", weights_only=True)`` (no
pickle code execution), go to ``eval()``, and run under ``torch.inference_mode()``.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from demos.people.detection import (
    HogPersonDetector,
    OnnxFastestDetDetector,
    OnnxYoloxDetector,
    PersonDetector,
    TorchDeviceUnavailable,
    TorchvisionPersonDetector,
    choose_torch_device,
)
from models_store import store
from models_store.download import WeightsUnavailable
from models_store.registry import (
    DEFAULT_DETECTOR,
    FALLBACK_DETECTOR,
    PERSON_DETECTION,
    ModelSpec,
    UnknownModel,
    get_spec,
)
from models_store.store import ModelState
from portal.errors import ServiceUnavailable

__all__ = [
    "DetectorUnavailable",
    "ModelState",  # re-exported: callers list detector_choices() without store
    "clear_cache",
    "default_detector_key",
    "detector_choices",
    "get_detector",
    "torch_device",
]

_cache: dict[tuple[str, str], PersonDetector] = {}
_lock = threading.Lock()


class DetectorUnavailable(ServiceUnavailable):
    """The detector's file is missing or corrupt; the message says how to fix it."""


def _threads() -> int:
    return max(1, int(getattr(settings, "TORCH_THREADS", 1)))


def torch_device() -> str:
    """The device torch detectors run on, from ``TORCH_DEVICE`` (default ``auto``).

    Raises ``DetectorUnavailable`` (→ 503) when CUDA is asked for but absent.
    """
    requested = getattr(settings, "TORCH_DEVICE", "auto")
    try:
        return choose_torch_device(requested)
    except TorchDeviceUnavailable as exc:
        # Same fact as the pure module's message, in the user's language.
        raise DetectorUnavailable(
            _(
                "PORTAL_TORCH_DEVICE is %(device)s but CUDA is not available on this "
                "machine (no GPU, or torch was built without CUDA). Set "
                "PORTAL_TORCH_DEVICE=auto or cpu, or run this worker on a GPU host."
            )
            % {"device": requested}
        ) from exc


def _build_torchvision_model(spec: ModelSpec, path: Path, device: str = "cpu") -> Any:
    import torch

    module_name, _sep, function_name = (spec.builder or "").rpartition(".")
    builder = getattr(importlib.import_module(module_name), function_name)
    kwargs = dict(spec.meta.get("builder_kwargs", {}))
    if spec.task == PERSON_DETECTION:
        kwargs.setdefault("weights_backbone", None)
    model = builder(weights=None, num_classes=len(spec.categories), **kwargs)
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state_dict)
    # Loaded on the CPU (map_location) first, then moved: works for any device.
    return model.to(device).eval()


def _build(spec: ModelSpec, path: Path | None) -> PersonDetector:
    if spec.family == "opencv":
        return HogPersonDetector()
    assert path is not None
    threads = _threads()
    if spec.family == "onnx":
        decoder = spec.meta.get("decoder")
        onnx_classes = {
            "yolox": OnnxYoloxDetector,
            "fastestdet": OnnxFastestDetDetector,
        }
        if decoder not in onnx_classes:
            raise ValueError(f"{spec.key}: unknown ONNX decoder {decoder!r}")
        return onnx_classes[decoder](
            path,
            key=spec.key,
            input_size=spec.input_size,
            threads=threads,
            person_class=spec.person_label or 0,
        )
    if spec.family == "torchvision":
        import torch

        device = torch_device()
        torch.set_num_threads(threads)
        model = _build_torchvision_model(spec, path, device)
        return TorchvisionPersonDetector(
            model, spec.key, spec.person_label or 1, device=device
        )
    raise ValueError(f"{spec.key}: unknown model family {spec.family!r}")


def get_detector(key: str) -> PersonDetector:
    """The detector for a registry key, built on first use and cached per process.

    Raises ``UnknownModel`` (→ 400) for an unknown key or a non-detector, and
    ``DetectorUnavailable`` (→ 503) when its file is missing or corrupt.
    """
    spec = get_spec(key)
    if spec.task != PERSON_DETECTION:
        raise UnknownModel(_("%(key)s is not a person detector.") % {"key": key})
    path: Path | None = None
    if not spec.is_builtin:
        try:
            path = store.ready_path(key)
        except WeightsUnavailable as exc:
            raise DetectorUnavailable(str(exc)) from exc
    cache_key = (key, str(path))
    detector = _cache.get(cache_key)
    if detector is not None:
        return detector
    with _lock:
        detector = _cache.get(cache_key)
        if detector is None:
            detector = _build(spec, path)
            _cache[cache_key] = detector
    return detector


def default_detector_key() -> str:
    """PERSON_DETECTOR setting if set, else yolox-nano if ready, else opencv-hog."""
    configured = getattr(settings, "PERSON_DETECTOR", "")
    if configured:
        return configured
    if store.model_state(DEFAULT_DETECTOR).state == "ready":
        return DEFAULT_DETECTOR
    return FALLBACK_DETECTOR


def detector_choices() -> list[ModelState]:
    """Every person detector with its availability, reason and fix (UI and API)."""
    return store.all_states(PERSON_DETECTION)


def clear_cache() -> None:
    """Drop every built detector (tests; a server never needs this)."""
    with _lock:
        _cache.clear()
