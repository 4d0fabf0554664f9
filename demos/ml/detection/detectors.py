"""Person detectors by registry key, built once per process through the one loader.

``get_detector(key)`` wraps what ``models_store.loading`` hands out (an ONNX session,
a torchvision module) in the detector classes of ``decoders``, ``hog``,
``torch_detector`` and ``fusion`` (``demos.ml.detection``) and keeps the wrapper in
the loader's cache, so two threads never build the same detector twice and a file
imported later is picked up (the cache key includes the file's path).
torch and onnxruntime are imported only when a detector is first built.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from demos.ml.detection.boxes import PersonDetector
from demos.ml.detection.decoders import (
    OnnxFastestDetDetector,
    OnnxPicoDetDetector,
    OnnxYoloxDetector,
)
from demos.ml.detection.device import TorchDeviceUnavailable, choose_torch_device
from demos.ml.detection.fusion import FusedPersonDetector
from demos.ml.detection.hog import HogPersonDetector
from demos.ml.detection.torch_detector import TorchvisionPersonDetector
from models_store import loading, store
from models_store.download import WeightsUnavailable
from models_store.registry import (
    FALLBACK_DETECTOR,
    PERSON_DETECTION,
    ModelSpec,
    UnknownModel,
    get_spec,
)
from models_store.store import ModelState
from portal.lib.errors import ServiceUnavailable

__all__ = [
    "DetectorUnavailable",
    "ModelState",  # re-exported: callers list detector_choices() without store
    "clear_cache",
    "default_detector_key",
    "detector_choices",
    "get_detector",
    "is_fallback",
    "torch_device",
]

_ONNX_CLASSES = {
    "yolox": OnnxYoloxDetector,
    "fastestdet": OnnxFastestDetDetector,
    "picodet": OnnxPicoDetDetector,
}


class DetectorUnavailable(ServiceUnavailable):
    """The detector's file is missing or corrupt; the message says how to fix it."""


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


def _build(spec: ModelSpec) -> PersonDetector:
    if spec.family == "opencv":
        return HogPersonDetector()
    if spec.family == "fusion" and spec.pipeline == "tiled":
        return _counter(spec)
    if spec.family == "fusion":
        return FusedPersonDetector(
            [get_detector(part) for part in spec.parts],
            spec.key,
            flip=spec.flip,
            iou_threshold=spec.fusion_iou,
        )
    if spec.family == "onnx":
        decoder = spec.decoder
        if decoder not in _ONNX_CLASSES:
            raise ValueError(f"{spec.key}: unknown ONNX decoder {decoder!r}")
        return _ONNX_CLASSES[decoder](  # type: ignore[return-value]
            session=loading.onnx_session(spec.key),
            key=spec.key,
            input_size=spec.input_size,
            person_class=spec.person_label or 0,
        )
    if spec.family == "torchvision":
        device = torch_device()
        model = loading.torch_module(spec.key, device=device)
        return TorchvisionPersonDetector(
            model, spec.key, spec.person_label or 1, device=device
        )
    raise ValueError(f"{spec.key}: unknown model family {spec.family!r}")


def _counter(spec: ModelSpec) -> PersonDetector:
    """The person counter: its one part's file re-shaped to the spec's input size."""
    from demos.ml.detection.counting import TiledPersonDetector
    from demos.ml.detection.resize import picodet_session

    (part,) = spec.parts
    path = store.ready_path(part)
    size = int(spec.input_size or 416)
    session = loading.cached(
        ("picodet-session", str(path), size),
        lambda: picodet_session(path, size, loading.threads()),
    )
    whole = OnnxPicoDetDetector(
        session=session, key=spec.key, input_size=size, person_class=0
    )
    return TiledPersonDetector(
        whole,
        spec.key,
        input_size=size,
        small_bonus=spec.small_bonus,
        min_photo_side=spec.tile_min_photo_side or 2 * size,
    )


def get_detector(key: str) -> PersonDetector:
    """The detector for a registry key, built on first use and cached per process.

    Raises ``UnknownModel`` (→ 400) for an unknown key or a non-detector, and
    ``DetectorUnavailable`` (→ 503) when its file is missing or corrupt.
    """
    spec = get_spec(key)
    if spec.task != PERSON_DETECTION:
        raise UnknownModel(_("%(key)s is not a person detector.") % {"key": key})
    path: Path | None = None
    try:
        if spec.is_fusion:
            state = store.model_state(key)
            if not state.is_available:
                raise WeightsUnavailable(
                    _("%(name)s is unavailable: %(reason)s Fix: `%(fix)s`.")
                    % {"name": spec.name, "reason": state.reason, "fix": state.fix}
                )
            # Its parts are cached on their own; the wrapper is cheap to rebuild.
            parts = tuple(str(store.ready_path(part)) for part in spec.parts)
            return loading.cached(("detector", key, parts), lambda: _build(spec))
        if not spec.is_builtin:
            path = store.ready_path(key)
        return loading.cached(("detector", key, str(path)), lambda: _build(spec))
    except WeightsUnavailable as exc:
        raise DetectorUnavailable(str(exc)) from exc


def default_detector_key() -> str:
    """PERSON_DETECTOR setting if set, else the first preferred detector whose files
    are all ready (the fused detector, then YOLOX-Nano), else opencv-hog."""
    return store.default_person_detector()


def is_fallback(key: str) -> bool:
    """True for OpenCV's HOG, the detector the portal serves when no file is ready."""
    return key == FALLBACK_DETECTOR


def detector_choices() -> list[ModelState]:
    """Every person detector with its availability, reason and fix (UI and API)."""
    return store.all_states(PERSON_DETECTION)


def clear_cache() -> None:
    """Drop every built model and detector (tests; a server never needs this)."""
    loading.clear_cache()
