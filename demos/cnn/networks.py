"""The feature-map models of the CNN lessons: which exist, which are ready, and how
to run each on a photo.

Three families:

* ``digits-cnn`` — the LeNet-style network this project trains itself
  (``manage.py train_digits``; weights committed under ``demos/cnn/weights/``). Always
  available.
* ImageNet classifiers ``resnet18``, ``vgg16``, ``alexnet``, ``mobilenet_v3_large`` —
  torchvision definitions (``weights=None``) filled from files in models_store.
  Without their file they are listed as unavailable with the command that adds it.
* "The detector's own eyes": the person detectors ``yolox-nano`` and ``fastestdet``
  are ONNX files. Chosen intermediate tensors (found by inspecting the graph with
  ``onnx.shape_inference``; the file is pinned by its SHA-256, so the names are
  stable) are appended to ``graph.output`` and ONNX Runtime returns them.

Models are built once per process (dict + lock), in eval mode; torch inference runs
under ``torch.inference_mode()``. Layer shapes come from a dummy forward on PyTorch's
``meta`` device (no weights, no memory), cached per process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

import cv2
import numpy as np
import torch
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from torch import nn
from torchvision.models.feature_extraction import (
    create_feature_extractor,
    get_graph_node_names,
)

from demos.cnn import digits as digits_model
from demos.cnn.feature_maps import to_chw
from portal.errors import BadInput, ServiceUnavailable

Family = Literal["digits", "torchvision", "onnx"]

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
IMAGENET_RESIZE, IMAGENET_CROP = 256, 224


class UnknownCnnModel(BadInput):
    """No feature-map model has this key."""


class UnknownLayer(BadInput):
    """The model has no layer of this name."""


class CnnModelUnavailable(ServiceUnavailable):
    """The model's weights are not in the store (message: reason and fix)."""


@dataclass(frozen=True)
class LayerSpec:
    """One layer a student can look at.

    ``name``: the torchvision graph node (torch models) or our key for an ONNX
    tensor; ``tensor``: the ONNX tensor name; ``filters``: the parameter (torch) or
    initializer (ONNX) holding this layer's 1- or 3-channel filters, if shown;
    ``nhwc``: the ONNX tensor is laid out N x H x W x C; ``shape``: C x H x W as
    declared (ONNX fallback when the file is absent; tests check it).
    """

    name: str
    label: str | Promise
    tensor: str = ""
    filters: str = ""
    nhwc: bool = False
    shape: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class CnnModelSpec:
    """A feature-map model: where its weights come from and what it shows."""

    key: str
    name: str | Promise
    family: Family
    layers: tuple[LayerSpec, ...]
    input_shape: tuple[int, int, int]  # C x H x W the network sees
    input_note: str | Promise = ""
    store_key: str = ""  # models_store key of the weights file
    builder: str = ""  # torchvision.models.<builder>
    onnx_input: str = ""
    filters_bgr: bool = False  # first-layer filters expect BGR (OpenCV-style input)
    meta: dict[str, Any] = field(default_factory=dict)

    def layer(self, name: str) -> LayerSpec:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise UnknownLayer(
            gettext("%(model)s has no layer %(layer)r. Choose one of: %(names)s.")
            % {
                "model": self.key,
                "layer": name,
                "names": ", ".join(item.name for item in self.layers),
            }
        )


def _imagenet_layers(*items: tuple[str, str | Promise, str]) -> tuple[LayerSpec, ...]:
    return tuple(
        LayerSpec(name, label, filters=filters) for name, label, filters in items
    )


CNN_MODELS: dict[str, CnnModelSpec] = {
    spec.key: spec
    for spec in (
        CnnModelSpec(
            key="digits-cnn",
            name=_("Digits CNN (LeNet-style, trained here)"),
            family="digits",
            input_shape=(1, 32, 32),
            input_note=_("Grey 32x32 pixels: a photo is centre-cropped and shrunk."),
            layers=(
                LayerSpec(
                    "conv1",
                    _("conv1: 6 filters 5x5"),
                    filters="conv1.weight",
                    shape=(6, 32, 32),
                ),
                LayerSpec("bn1", _("bn1: batch norm"), shape=(6, 32, 32)),
                LayerSpec("relu1", _("relu1: ReLU"), shape=(6, 32, 32)),
                LayerSpec("pool1", _("pool1: 2x2 max pooling"), shape=(6, 16, 16)),
                LayerSpec("conv2", _("conv2: 16 filters 5x5"), shape=(16, 12, 12)),
                LayerSpec("bn2", _("bn2: batch norm"), shape=(16, 12, 12)),
                LayerSpec("relu2", _("relu2: ReLU"), shape=(16, 12, 12)),
                LayerSpec("pool2", _("pool2: 2x2 max pooling"), shape=(16, 6, 6)),
            ),
        ),
        CnnModelSpec(
            key="resnet18",
            name="ResNet18 (ImageNet)",
            family="torchvision",
            builder="resnet18",
            store_key="resnet18",
            input_shape=(3, 224, 224),
            input_note=_("RGB 224x224: resized to 256, centre crop, normalised."),
            layers=_imagenet_layers(
                ("conv1", _("conv1: 64 filters 7x7, stride 2"), "conv1.weight"),
                ("relu", _("after batch norm + ReLU"), ""),
                ("maxpool", _("3x3 max pooling, stride 2"), ""),
                ("layer1", _("layer1: 2 residual blocks"), ""),
                ("layer2", _("layer2: stride 2"), ""),
                ("layer3", _("layer3: stride 2"), ""),
                ("layer4", _("layer4: stride 2, last feature map"), ""),
            ),
        ),
        CnnModelSpec(
            key="vgg16",
            name="VGG16 (ImageNet)",
            family="torchvision",
            builder="vgg16",
            store_key="vgg16",
            input_shape=(3, 224, 224),
            input_note=_("RGB 224x224: resized to 256, centre crop, normalised."),
            layers=_imagenet_layers(
                ("features.0", _("conv1_1: 64 filters 3x3"), "features.0.weight"),
                ("features.3", _("conv1_2 + ReLU"), ""),
                ("features.8", _("conv2_2 + ReLU"), ""),
                ("features.15", _("conv3_3 + ReLU"), ""),
                ("features.22", _("conv4_3 + ReLU"), ""),
                ("features.29", _("conv5_3 + ReLU"), ""),
            ),
        ),
        CnnModelSpec(
            key="alexnet",
            name="AlexNet (ImageNet)",
            family="torchvision",
            builder="alexnet",
            store_key="alexnet",
            input_shape=(3, 224, 224),
            input_note=_("RGB 224x224: resized to 256, centre crop, normalised."),
            layers=_imagenet_layers(
                (
                    "features.0",
                    _("conv1: 64 filters 11x11, stride 4"),
                    "features.0.weight",
                ),
                ("features.1", _("conv1 + ReLU"), ""),
                ("features.4", _("conv2 + ReLU"), ""),
                ("features.7", _("conv3 + ReLU"), ""),
                ("features.9", _("conv4 + ReLU"), ""),
                ("features.11", _("conv5 + ReLU"), ""),
            ),
        ),
        CnnModelSpec(
            key="mobilenet_v3_large",
            name="MobileNetV3-Large (ImageNet)",
            family="torchvision",
            builder="mobilenet_v3_large",
            store_key="mobilenet_v3_large",
            input_shape=(3, 224, 224),
            input_note=_("RGB 224x224: resized to 256, centre crop, normalised."),
            layers=_imagenet_layers(
                (
                    "features.0",
                    _("stem: 16 filters 3x3, stride 2"),
                    "features.0.0.weight",
                ),
                ("features.1", _("block 1: depthwise separable"), ""),
                ("features.3", _("block 3: stride 4"), ""),
                ("features.6", _("block 6: stride 8, squeeze-excite"), ""),
                ("features.12", _("block 12: stride 16"), ""),
                ("features.16", _("last 1x1 conv: 960 channels"), ""),
            ),
        ),
        CnnModelSpec(
            key="yolox-nano",
            name=_("YOLOX-Nano person detector (the detector's own eyes)"),
            family="onnx",
            store_key="yolox-nano",
            onnx_input="images",
            input_shape=(3, 416, 416),
            input_note=_("416x416 letterbox, photo at the top left, grey padding."),
            layers=(
                LayerSpec(
                    "stem",
                    _("stem: Focus + 3x3 conv, stride 2"),
                    "687",
                    shape=(16, 208, 208),
                ),
                LayerSpec(
                    "dark2",
                    _("backbone stage 2, stride 4"),
                    "721",
                    shape=(32, 104, 104),
                ),
                LayerSpec(
                    "dark3", _("backbone stage 3, stride 8"), "781", shape=(64, 52, 52)
                ),
                LayerSpec(
                    "dark4",
                    _("backbone stage 4, stride 16"),
                    "841",
                    shape=(128, 26, 26),
                ),
                LayerSpec(
                    "dark5",
                    _("backbone stage 5 + SPP, stride 32"),
                    "886",
                    shape=(256, 13, 13),
                ),
                LayerSpec(
                    "neck-p3",
                    _("neck (PAN) output to the stride-8 head"),
                    "956",
                    shape=(64, 52, 52),
                ),
                LayerSpec(
                    "neck-p4",
                    _("neck (PAN) output to the stride-16 head"),
                    "990",
                    shape=(128, 26, 26),
                ),
                LayerSpec(
                    "neck-p5",
                    _("neck (PAN) output to the stride-32 head"),
                    "1024",
                    shape=(256, 13, 13),
                ),
                LayerSpec(
                    "objectness-p3",
                    _("head: objectness, stride 8"),
                    "1064",
                    shape=(1, 52, 52),
                ),
                LayerSpec(
                    "classes-p3",
                    _("head: 80 COCO class scores, stride 8 (channel 0 = person)"),
                    "1065",
                    shape=(80, 52, 52),
                ),
            ),
        ),
        CnnModelSpec(
            key="fastestdet",
            name=_("FastestDet person detector (the detector's own eyes)"),
            family="onnx",
            store_key="fastestdet",
            onnx_input="input.1",
            input_shape=(3, 352, 352),
            input_note=_("352x352, the photo stretched to a square."),
            filters_bgr=True,
            layers=(
                LayerSpec(
                    "stem",
                    _("stem: 24 filters 3x3, stride 2 + ReLU"),
                    "onnx::MaxPool_423",
                    filters="onnx::Conv_760",
                    shape=(24, 176, 176),
                ),
                LayerSpec(
                    "maxpool",
                    _("3x3 max pooling, stride 2"),
                    "input.8",
                    shape=(24, 88, 88),
                ),
                LayerSpec(
                    "stage2",
                    _("ShuffleNetV2 stage 2, stride 8"),
                    "input.136",
                    shape=(48, 44, 44),
                ),
                LayerSpec(
                    "stage3",
                    _("ShuffleNetV2 stage 3, stride 16"),
                    "input.376",
                    shape=(96, 22, 22),
                ),
                LayerSpec(
                    "stage4",
                    _("ShuffleNetV2 stage 4, stride 32"),
                    "input.504",
                    shape=(192, 11, 11),
                ),
                LayerSpec(
                    "neck",
                    _("neck: fused multi-scale features"),
                    "onnx::Conv_735",
                    shape=(96, 22, 22),
                ),
                LayerSpec(
                    "objectness",
                    _("head: objectness"),
                    "onnx::Concat_744",
                    shape=(1, 22, 22),
                ),
                LayerSpec(
                    "classes",
                    _("head: 80 COCO class scores (channel 0 = person)"),
                    "onnx::Transpose_756",
                    nhwc=True,
                    shape=(80, 22, 22),
                ),
            ),
        ),
    )
}
DEFAULT_MODEL = "digits-cnn"


def get_spec(key: str) -> CnnModelSpec:
    try:
        return CNN_MODELS[key]
    except KeyError:
        raise UnknownCnnModel(
            gettext("Unknown model %(key)r. Choose one of: %(keys)s.")
            % {"key": key, "keys": ", ".join(CNN_MODELS)}
        ) from None


# ------------------------------------------------------------------ availability


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str  # empty when available
    fix: str = ""  # the command that makes it available


def availability(key: str) -> Availability:
    """Whether the model can run here, and if not why and which command fixes it."""
    spec = get_spec(key)
    if spec.family == "digits":
        if digits_model.CNN_WEIGHTS.exists():
            return Availability(True, "")
        return Availability(
            False,
            gettext("The digits CNN has not been trained yet."),
            "python manage.py train_digits",
        )
    from models_store.store import model_state

    state = model_state(spec.store_key)
    if state.is_available:
        return Availability(True, "")
    return Availability(False, str(state.reason), state.fix)


def weights_path(spec: CnnModelSpec) -> Path:
    """The verified weights file; raises ``CnnModelUnavailable`` with reason + fix."""
    if spec.family == "digits":
        status = availability(spec.key)
        if not status.available:
            raise CnnModelUnavailable(f"{status.reason} Fix: `{status.fix}`.")
        return digits_model.CNN_WEIGHTS
    from models_store.download import WeightsUnavailable
    from models_store.store import ready_path

    try:
        return ready_path(spec.store_key)
    except WeightsUnavailable as exc:
        raise CnnModelUnavailable(str(exc)) from exc


# ------------------------------------------------------------------ preprocessing


def imagenet_input(rgb: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """RGB uint8 → (1 x 3 x 224 x 224 normalised tensor, the 224x224 RGB crop).

    torchvision's ImageNet evaluation transform: shorter side to 256, centre crop
    224, scale to 0..1, subtract the mean and divide by the std per channel.
    """
    height, width = rgb.shape[:2]
    ratio = IMAGENET_RESIZE / min(height, width)
    size = (
        max(IMAGENET_CROP, round(width * ratio)),
        max(IMAGENET_CROP, round(height * ratio)),
    )
    interpolation = cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, size, interpolation=interpolation)
    top = (resized.shape[0] - IMAGENET_CROP) // 2
    left = (resized.shape[1] - IMAGENET_CROP) // 2
    crop = np.ascontiguousarray(
        resized[top : top + IMAGENET_CROP, left : left + IMAGENET_CROP]
    )
    normalised = (crop.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    tensor = torch.from_numpy(normalised.transpose(2, 0, 1).copy())[None]
    return tensor, crop


def digits_photo_input(rgb: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    tensor = digits_model.photo_to_digits_input(rgb)
    grey = np.rint(tensor[0, 0].numpy() * 255).astype(np.uint8)
    return tensor, np.repeat(grey[:, :, None], 3, axis=2)


def _onnx_input(spec: CnnModelSpec, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exactly the person demo's preprocessing (demos.people.detection), plus a preview."""
    from demos.people.detection import letterbox, resize_plain

    if spec.key == "yolox-nano":
        tensor, _ratio = letterbox(rgb, spec.input_shape[1])
        preview = tensor[0].transpose(1, 2, 0)[:, :, ::-1]  # raw 0..255 BGR
    else:
        tensor = resize_plain(rgb, spec.input_shape[1])
        preview = tensor[0].transpose(1, 2, 0)[:, :, ::-1] * 255.0  # BGR / 255
    return tensor, np.ascontiguousarray(
        np.clip(np.rint(preview), 0, 255).astype(np.uint8)
    )


# ------------------------------------------------------------------ running


@dataclass(frozen=True)
class CnnRun:
    """One photo through one model: what it saw, every layer, top-5 if a classifier.

    ``maps``: layer name → C x H x W float32; ``top5``: (class name, probability).
    """

    input_preview: np.ndarray
    maps: dict[str, np.ndarray]
    top5: list[tuple[str, float]] | None = None


class LoadedCnn(Protocol):
    spec: CnnModelSpec

    def run(self, rgb: np.ndarray) -> CnnRun: ...

    def filters(self, layer: str) -> np.ndarray | None: ...


class TorchCnn:
    """A torch model wrapped with one feature extractor returning every layer."""

    def __init__(
        self,
        spec: CnnModelSpec,
        model: nn.Module,
        prepare: Callable[[np.ndarray], tuple[torch.Tensor, np.ndarray]],
        categories: list[str] | None = None,
    ) -> None:
        self.spec = spec
        self.model = model.eval()
        self.prepare = prepare
        self.categories = categories
        nodes = [layer.name for layer in spec.layers]
        # The classifier's last node rides along so one forward pass gives both.
        self.output_node = get_graph_node_names(model)[1][-1] if categories else None
        if self.output_node:
            nodes.append(self.output_node)
        self.extractor = create_feature_extractor(model, return_nodes=nodes).eval()

    def forward(self, tensor: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer's output (and the logits, for classifiers) for one input."""
        with torch.inference_mode():
            return self.extractor(tensor)

    def run(self, rgb: np.ndarray) -> CnnRun:
        tensor, preview = self.prepare(rgb)
        outputs = self.forward(tensor)
        maps = {layer.name: to_chw(outputs[layer.name]) for layer in self.spec.layers}
        top5 = None
        if self.output_node and self.categories:
            probabilities = torch.softmax(outputs[self.output_node][0], dim=0)
            values, indices = probabilities.topk(5)
            top5 = [
                (self.categories[int(i)], float(v))
                for v, i in zip(values, indices, strict=True)
            ]
        return CnnRun(preview, maps, top5)

    def filters(self, layer: str) -> np.ndarray | None:
        name = self.spec.layer(layer).filters
        if not name:
            return None
        return dict(self.model.named_parameters())[name].detach().numpy()


class OnnxCnn:
    """An ONNX model whose chosen intermediate tensors were made graph outputs."""

    def __init__(self, spec: CnnModelSpec, path: Path) -> None:
        import onnx
        import onnxruntime

        self.spec = spec
        graph_model = onnx.load(str(path))
        produced = {name for node in graph_model.graph.node for name in node.output}
        missing = [
            layer.tensor for layer in spec.layers if layer.tensor not in produced
        ]
        if missing:
            raise CnnModelUnavailable(
                f"{path.name} has no tensor(s) {', '.join(missing)}: not the file "
                "these layers were picked from."
            )
        self._filters = {
            init.name: onnx.numpy_helper.to_array(init)
            for init in graph_model.graph.initializer
            if init.name in {layer.filters for layer in spec.layers if layer.filters}
        }
        graph_model.graph.output.extend(
            onnx.ValueInfoProto(name=layer.tensor) for layer in spec.layers
        )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = settings.TORCH_THREADS
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            graph_model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    def run(self, rgb: np.ndarray) -> CnnRun:
        tensor, preview = _onnx_input(self.spec, rgb)
        names = [layer.tensor for layer in self.spec.layers]
        outputs = self.session.run(names, {self.spec.onnx_input: tensor})
        maps = {}
        for layer, output in zip(self.spec.layers, outputs, strict=True):
            array = output.transpose(0, 3, 1, 2) if layer.nhwc else output
            maps[layer.name] = to_chw(array)
        return CnnRun(preview, maps)

    def filters(self, layer: str) -> np.ndarray | None:
        name = self.spec.layer(layer).filters
        return self._filters.get(name) if name else None


_loaded: dict[tuple[str, str], LoadedCnn] = {}
# Re-entrant: building the digits feature-map model loads the digits CNN inside.
_loaded_lock = threading.RLock()


def _imagenet_categories() -> list[str]:
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    return list(_IMAGENET_CATEGORIES)


def build_torchvision_classifier(spec: CnnModelSpec, path: Path) -> TorchCnn:
    """``torchvision.models.<builder>(weights=None)`` + the state dict at ``path``."""
    import torchvision

    model = getattr(torchvision.models, spec.builder)(weights=None)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return TorchCnn(spec, model, imagenet_input, _imagenet_categories())


def _build(spec: CnnModelSpec, path: Path) -> LoadedCnn:
    torch.set_num_threads(settings.TORCH_THREADS)
    if spec.family == "digits":
        return TorchCnn(spec, get_digits_cnn(), digits_photo_input)
    if spec.family == "torchvision":
        return build_torchvision_classifier(spec, path)
    return OnnxCnn(spec, path)


def get_cnn_model(key: str) -> LoadedCnn:
    """The model ready to run, built once per process and weights file."""
    spec = get_spec(key)
    path = weights_path(spec)
    cache_key = (key, str(path))
    with _loaded_lock:
        model = _loaded.get(cache_key)
        if model is None:
            model = _build(spec, path)
            _loaded[cache_key] = model
    return model


_digits: dict[str, nn.Module] = {}


def get_digits_cnn() -> digits_model.DigitsCNN:
    """The committed digits CNN (eval mode), loaded once per process."""
    return _get_digits("cnn")  # type: ignore[return-value]


def get_digits_autoencoder() -> digits_model.DigitsAutoencoder:
    """The committed digits autoencoder (eval mode), loaded once per process."""
    return _get_digits("autoencoder")  # type: ignore[return-value]


def _get_digits(which: str) -> nn.Module:
    with _loaded_lock:
        if which not in _digits:
            if which == "cnn":
                model, weights, meta = (
                    digits_model.DigitsCNN(),
                    digits_model.CNN_WEIGHTS,
                    digits_model.CNN_META,
                )
            else:
                model, weights, meta = (
                    digits_model.DigitsAutoencoder(),
                    digits_model.AUTOENCODER_WEIGHTS,
                    digits_model.AUTOENCODER_META,
                )
            try:
                _digits[which] = digits_model.load_state(model, weights, meta)
            except (FileNotFoundError, ValueError) as exc:
                raise CnnModelUnavailable(
                    gettext(
                        "The digits models are missing or damaged (%(error)s). "
                        "Fix: `python manage.py train_digits`."
                    )
                    % {"error": exc}
                ) from exc
        return _digits[which]


def clear_cache() -> None:
    """Forget built models (tests that swap weight files)."""
    with _loaded_lock:
        _loaded.clear()
        _digits.clear()
    _onnx_shapes.cache_clear()


# ------------------------------------------------------------------ layer shapes


@cache
def _torch_shapes(key: str) -> dict[str, tuple[int, ...]]:
    spec = CNN_MODELS[key]
    # The meta device builds the architecture without allocating or loading weights.
    with torch.device("meta"):
        if spec.family == "digits":
            model: nn.Module = digits_model.DigitsCNN()
        else:
            import torchvision

            model = getattr(torchvision.models, spec.builder)(weights=None)
    extractor = create_feature_extractor(
        model.eval(), return_nodes=[layer.name for layer in spec.layers]
    )
    with torch.inference_mode():
        outputs = extractor(torch.zeros(1, *spec.input_shape, device="meta"))
    return {name: tuple(output.shape[1:]) for name, output in outputs.items()}


@cache
def _onnx_shapes(key: str, path: str) -> dict[str, tuple[int, ...]]:
    import onnx

    spec = CNN_MODELS[key]
    inferred = onnx.shape_inference.infer_shapes(onnx.load(path))
    dims = {
        info.name: tuple(d.dim_value for d in info.type.tensor_type.shape.dim)
        for info in inferred.graph.value_info
    }
    shapes = {}
    for layer in spec.layers:
        shape = dims.get(layer.tensor)
        if not shape:
            shapes[layer.name] = layer.shape
            continue
        n, *rest = shape
        shapes[layer.name] = (rest[2], rest[0], rest[1]) if layer.nhwc else tuple(rest)
    return shapes


def layer_shapes(key: str) -> dict[str, tuple[int, ...]]:
    """C x H x W of every layer of a model for its standard input, computed once.

    Torch models: a dummy forward on the meta device. ONNX models: ONNX shape
    inference on the file when it is present, else the declared shapes.
    """
    spec = get_spec(key)
    if spec.family != "onnx":
        return _torch_shapes(key)
    try:
        path = weights_path(spec)
    except CnnModelUnavailable:
        return {layer.name: layer.shape for layer in spec.layers}
    return _onnx_shapes(key, str(path))


def list_models() -> list[dict[str, Any]]:
    """Every feature-map model with availability and layers, for the API and pages."""
    rows = []
    for spec in CNN_MODELS.values():
        status = availability(spec.key)
        shapes = layer_shapes(spec.key)
        rows.append(
            {
                "key": spec.key,
                "name": str(spec.name),
                "family": spec.family,
                "available": status.available,
                "reason": status.reason,
                "fix": status.fix,
                "input": str(spec.input_note),
                "layers": [
                    {
                        "name": layer.name,
                        "label": str(layer.label),
                        "shape": list(shapes[layer.name]),
                        "has_filters": bool(layer.filters),
                    }
                    for layer in spec.layers
                ],
            }
        )
    return rows
