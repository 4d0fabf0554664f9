"""A finished transfer run's network for new photos on ONNX Runtime: top classes
and the class activation map, without torch (pure: numpy, Pillow; onnxruntime is
imported by ``models_store.sessions`` when a session is built; never Django).

The training process (which has torch) exports the run with
``demos.ml.transfer.export_onnx`` into the run's folder:

* ``predict.onnx``: input ``input`` (``1 x 3 x S x S``, the output of
  ``preprocess``), outputs ``logits`` (``1 x classes``) and ``features``, the last
  feature map (``1 x 1280 x h x w``, what global average pooling reads);
* ``predict.npz``: what the predictor needs besides the graph: ``classes``,
  ``model``, ``size``, ``mean`` and ``std`` (per channel, on 0..1 pixels),
  ``fc_weight`` (``classes x 1280``, the head's linear layer), ``version`` and
  ``onnx_sha256``. Written last: a folder without it has no export.

Class activation map in closed form, as ``efficientnet_onnx`` does for ImageNet:
the head is global average pooling, then dropout (a no-op in eval) and one linear
layer, so ``d logit_c / d A_k,ij = W_c,k / (h w)``; Grad-CAM's map at the last
feature map is ``ReLU(sum_k W_c,k A_k) / (h w)``, divided by its maximum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from models_store.download import sha256_of

ONNX_NAME = "predict.onnx"
ARRAYS_NAME = "predict.npz"
EXPORT_VERSION = 1  # bump when the graph's outputs or the arrays change
OUTPUTS = ("logits", "features")


class ExportMissing(RuntimeError):
    """The run's folder holds no (intact, current) export."""


def preprocess(
    image: Image.Image,
    size: int,
    mean: Sequence[float] | np.ndarray,
    std: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """An image → ``3 x size x size`` float32: RGB, squashed to ``size`` (bilinear),
    scaled to 0..1, then ``(x - mean) / std`` per channel. Training and both
    predictors use exactly this."""
    picture = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    scaled = np.asarray(picture, dtype=np.float32) / 255.0
    array = (scaled - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(array.astype(np.float32).transpose(2, 0, 1))


def write_arrays(folder: Path, arrays: dict[str, Any]) -> Path:
    """``predict.npz`` in ``folder`` (temporary name, then renamed)."""
    path = folder / ARRAYS_NAME
    partial = path.with_suffix(".npz.part")
    with partial.open("wb") as handle:
        np.savez(handle, **arrays)
    partial.replace(path)
    return path


def read_export(folder: Path) -> dict[str, np.ndarray]:
    """The arrays of the export in ``folder`` once it is checked: of this
    ``EXPORT_VERSION``, its ``predict.onnx`` hashing as recorded; ``ExportMissing``
    otherwise."""
    try:
        with np.load(folder / ARRAYS_NAME, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as exc:
        raise ExportMissing(f"no readable {ARRAYS_NAME} in {folder}") from exc
    if int(arrays.get("version", -1)) != EXPORT_VERSION:
        raise ExportMissing(f"{ARRAYS_NAME}: not export version {EXPORT_VERSION}")
    onnx_path = folder / ONNX_NAME
    if not onnx_path.is_file() or sha256_of(onnx_path) != str(arrays["onnx_sha256"]):
        raise ExportMissing(f"{ONNX_NAME} is missing or not the one recorded")
    return arrays


def is_exported(folder: Path) -> bool:
    try:
        read_export(folder)
    except ExportMissing:
        return False
    return True


@dataclass(frozen=True)
class OnnxPrediction:
    """``top``: ``(label, probability)`` best first; ``cam``: ``h x w`` float32 in
    0..1 over the whole (squashed) photo, for ``top[0]``'s class."""

    top: list[tuple[str, float]]
    cam: np.ndarray


class OnnxPredictor:
    """The exported run in ``folder``; ``ExportMissing`` when there is none, it
    is of another version or ``predict.onnx`` does not hash as recorded."""

    def __init__(self, folder: Path, threads: int = 1):
        from models_store.sessions import build_onnx_session

        arrays = read_export(folder)
        self.classes = [str(name) for name in arrays["classes"]]
        self.model = str(arrays["model"])
        self.size = int(arrays["size"])
        self.mean = arrays["mean"].astype(np.float32)
        self.std = arrays["std"].astype(np.float32)
        self.fc_weight = arrays["fc_weight"].astype(np.float32)
        self.session = build_onnx_session(folder / ONNX_NAME, threads)

    def probabilities(self, image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
        """(softmax over the classes, float64; the last feature map ``C x h x w``)."""
        inputs = preprocess(image, self.size, self.mean, self.std)[None]
        logits, features = self.session.run(list(OUTPUTS), {"input": inputs})
        values = logits[0].astype(np.float64)
        exp = np.exp(values - values.max())
        return exp / exp.sum(), features[0]

    def predict(self, image: Image.Image, k: int = 5) -> OnnxPrediction:
        probabilities, features = self.probabilities(image)
        order = np.argsort(-probabilities, kind="stable")[: min(k, len(self.classes))]
        top = [(self.classes[int(i)], float(probabilities[i])) for i in order]
        return OnnxPrediction(
            top, class_activation_map(features, self.fc_weight, int(order[0]))
        )


def class_activation_map(
    features: np.ndarray, fc_weight: np.ndarray, class_index: int
) -> np.ndarray:
    """Grad-CAM of ``class_index`` at the last feature map (``C x h x w``) in
    closed form (module docstring) → ``h x w`` float32 in 0..1."""
    maps = np.asarray(features, dtype=np.float32)
    area = maps.shape[1] * maps.shape[2]
    weights = fc_weight[class_index].astype(np.float32) / area
    cam = np.maximum(np.tensordot(weights, maps, axes=(0, 0)), 0.0)
    peak = float(cam.max())
    return (cam / peak if peak > 0 else cam).astype(np.float32)
