"""EfficientNet-Lite0 for the lessons without torch: one ONNX file that returns the
logits and the output of every ``features[i]``, and the arithmetic around it in numpy.

Pure module (numpy, Pillow; onnx and onnxruntime are the caller's; torch only inside
``export``). A web worker that imports torch holds 670 MB before any model exists;
this path runs the feature-map lesson — every layer's maps, top 5, Grad-CAM of any
class, the linked view — on ONNX Runtime alone.

``export(folder)`` (run by ``manage.py models export-onnx``, which ``make run`` runs)
traces ``demos.ml.imagenet.EfficientNetLite0`` with its verified weights at the
lesson's fixed 224 x 224 input and writes three files:

* ``efficientnet-lite0-maps.onnx``: input ``input`` (``1 x 3 x 224 x 224``, the
  output of ``preprocess``), outputs ``logits`` then ``features.0`` ..
  ``features.8`` (``1 x C x H x W``);
* ``efficientnet-lite0-maps.npz``: the few weights the lessons show or compute with
  (``stem_weight``, the stem's raw 32 x 3 x 3 x 3 filters; ``stem_kernel`` and
  ``stem_bias``, the stem with its batch norm folded in; ``fc_weight``
  (1000 x 1280) and ``fc_bias``);
* ``efficientnet-lite0-maps.json``: the SHA-256 of both files and of the ``.pth``
  they came from. ``verified_files`` refuses files whose hashes differ (a damaged
  or hand-edited export), and the caller falls back to the torch model.

Grad-CAM in closed form: the head's output ``A`` (1280 x h x w, after ReLU6) goes
through global average pooling and one linear layer, so ``d logit_c / d A_k,ij =
W_c,k / (h w)`` for every pixel; Grad-CAM's channel weight (the mean gradient) is
``W_c,k / (h w)`` and the map is ``ReLU(sum_k W_c,k A_k) / (h w)`` — the class
activation map, with no autograd. It is divided by its maximum, as
``imagenet.grad_cam`` does.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
from PIL import Image

from demos.ml.receptive_field import SAME, Window
from models_store.download import sha256_of

INPUT_SIZE = 224
MEAN = 127.0
STD = 128.0
STAGE_COUNT = 9  # features.0 (stem) .. features.8 (head)
OUTPUTS = ("logits", *(f"features.{i}" for i in range(STAGE_COUNT)))
STEM_KERNEL, STEM_STRIDE = 3, 2
RELU6_MAX = 6.0
ONNX_NAME = "efficientnet-lite0-maps.onnx"
ARRAYS_NAME = "efficientnet-lite0-maps.npz"
MANIFEST_NAME = "efficientnet-lite0-maps.json"
EXPORT_VERSION = 1  # bump when the exported graph or arrays change
ARRAY_NAMES = ("stem_weight", "stem_kernel", "stem_bias", "fc_weight", "fc_bias")
# (repeats, kernel, stride) of the seven stages (demos.ml.imagenet.STAGES).
STAGE_WINDOWS = (
    (1, 3, 1),
    (2, 3, 2),
    (2, 5, 2),
    (3, 3, 2),
    (3, 5, 1),
    (4, 5, 2),
    (1, 3, 1),
)


class ExportMissing(RuntimeError):
    """No (intact) ONNX export: ``manage.py models export-onnx`` makes one."""


@dataclass(frozen=True)
class ExportedFiles:
    onnx: Path
    arrays: dict[str, np.ndarray]
    source_sha256: str


# ------------------------------------------------------------------ the files


def export(folder: Path, weights: Path | None = None) -> dict[str, object]:
    """Export the verified EfficientNet-Lite0 into ``folder``; returns the manifest.

    Imports torch (a management command's job, never a web request's). Files are
    written to temporary names and renamed, the manifest last.
    """
    import torch

    from demos.ml import imagenet

    weights = weights or imagenet.weights_path()
    model = imagenet.build_model(weights)
    folder.mkdir(parents=True, exist_ok=True)

    class EveryStage(torch.nn.Module):
        def __init__(self, network: imagenet.EfficientNetLite0) -> None:
            super().__init__()
            self.network = network

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            outputs = []
            for block in self.network.features:
                x = block(x)
                outputs.append(x)
            pooled = torch.flatten(self.network.avgpool(x), 1)
            return (self.network.classifier(pooled), *outputs)

    onnx_path = folder / ONNX_NAME
    partial = onnx_path.with_suffix(".onnx.part")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on constant folding
        torch.onnx.export(
            EveryStage(model).eval(),
            (torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE),),
            str(partial),
            dynamo=False,
            input_names=["input"],
            output_names=list(OUTPUTS),
            opset_version=17,
        )
    partial.replace(onnx_path)
    kernel, bias = imagenet.folded_stem(model)
    linear = cast(torch.nn.Linear, model.classifier[-1])
    stem = cast(torch.nn.Conv2d, model.get_submodule("features.0.0"))
    arrays = {
        "stem_weight": stem.weight.detach().numpy(),
        "stem_kernel": kernel.numpy(),
        "stem_bias": bias.numpy(),
        "fc_weight": linear.weight.detach().numpy(),
        "fc_bias": linear.bias.detach().numpy(),
    }
    arrays_path = folder / ARRAYS_NAME
    partial = arrays_path.with_suffix(".npz.part")
    with partial.open("wb") as handle:
        as_float32 = {k: v.astype(np.float32) for k, v in arrays.items()}
        np.savez(handle, **as_float32)  # type: ignore[arg-type]
    partial.replace(arrays_path)
    manifest: dict[str, object] = {
        "version": EXPORT_VERSION,
        "source": weights.name,
        "source_sha256": sha256_of(weights),
        "onnx_sha256": sha256_of(onnx_path),
        "arrays_sha256": sha256_of(arrays_path),
        "torch": torch.__version__,
        "outputs": list(OUTPUTS),
    }
    partial = folder / (MANIFEST_NAME + ".part")
    partial.write_text(json.dumps(manifest, indent=2))
    partial.replace(folder / MANIFEST_NAME)
    return manifest


def read_manifest(folder: Path) -> dict[str, object]:
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text())
    except (FileNotFoundError, ValueError) as exc:
        raise ExportMissing(f"no {MANIFEST_NAME} in {folder}") from exc
    if manifest.get("version") != EXPORT_VERSION:
        raise ExportMissing(
            f"{MANIFEST_NAME}: export version {manifest.get('version')}"
        )
    return manifest


def verified_files(folder: Path, source_sha256: str) -> ExportedFiles:
    """The export in ``folder`` if it came from the weights with ``source_sha256``
    and both files hash as recorded; ``ExportMissing`` otherwise."""
    manifest = read_manifest(folder)
    if manifest.get("source_sha256") != source_sha256:
        raise ExportMissing("the export came from other weights")
    onnx_path, arrays_path = folder / ONNX_NAME, folder / ARRAYS_NAME
    for path, key in ((onnx_path, "onnx_sha256"), (arrays_path, "arrays_sha256")):
        if not path.is_file():
            raise ExportMissing(f"{path.name} is missing")
        if sha256_of(path) != manifest.get(key):
            raise ExportMissing(f"{path.name}: SHA-256 differs from {MANIFEST_NAME}")
    with np.load(arrays_path) as data:
        arrays = {
            name: np.asarray(data[name], dtype=np.float32) for name in ARRAY_NAMES
        }
    return ExportedFiles(onnx_path, arrays, source_sha256)


# ------------------------------------------------------------------ inference


def preprocess(image: Image.Image | np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """An RGB photo → ``1 x 3 x size x size`` float32: squashed (bilinear), then
    ``(x - 127) / 128`` (exactly what ``imagenet.preprocess`` feeds torch)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    picture = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    array = (np.asarray(picture, dtype=np.float32) - MEAN) / STD
    return np.ascontiguousarray(array.transpose(2, 0, 1)[None])


def input_preview(inputs: np.ndarray) -> np.ndarray:
    """``preprocess``'s output → the 224 x 224 RGB uint8 picture the network sees."""
    picture = np.rint(inputs[0].transpose(1, 2, 0) * STD + MEAN)
    return np.clip(picture, 0, 255).astype(np.uint8)


def softmax(logits: np.ndarray) -> np.ndarray:
    values = np.asarray(logits, dtype=np.float64).reshape(-1)
    exp = np.exp(values - values.max())
    return exp / exp.sum()


def top_k(logits: np.ndarray, k: int = 5) -> list[tuple[int, float]]:
    """``(class index, probability)`` of the ``k`` most probable classes."""
    probabilities = softmax(logits)
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(int(i), float(probabilities[i])) for i in order]


def class_activation_map(
    head: np.ndarray, fc_weight: np.ndarray, class_index: int
) -> np.ndarray:
    """Grad-CAM of ``class_index`` at the head (``1280 x h x w`` or ``1 x 1280 x h
    x w``) in closed form (module docstring) → ``h x w`` float32 in 0..1."""
    maps = np.asarray(head, dtype=np.float32)
    if maps.ndim == 4:
        maps = maps[0]
    area = maps.shape[1] * maps.shape[2]
    weights = fc_weight[class_index].astype(np.float32) / area
    cam = np.maximum(np.tensordot(weights, maps, axes=(0, 0)), 0.0)
    peak = float(cam.max())
    if peak > 0:
        cam = cam / peak
    return cam.astype(np.float32)


def windows(stage: int) -> list[Window]:
    """The sliding windows of ``features[:stage + 1]`` (``receptive_field``'s chain):
    the stem's 3 x 3 / 2, then each block's depthwise k x k (1 x 1 layers do not
    widen the field). Equal to ``receptive_field.spatial_layers`` of the torch model."""
    chain = [Window(STEM_KERNEL, STEM_STRIDE, SAME)]
    for repeats, kernel, stride in STAGE_WINDOWS[: max(0, min(stage, 7))]:
        chain.extend(
            Window(kernel, stride if i == 0 else 1, SAME) for i in range(repeats)
        )
    return chain


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME padding (before, after) for one axis."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2
