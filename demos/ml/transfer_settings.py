"""What a transfer run may be asked to do (pure: no torch, no Django).

The settings the student chooses, the networks offered, how many ``features``
children each has, their input normalisation and the StepLR timeline: the web
worker checks a run's settings with these before it queues the run, and
``demos.ml.transfer`` (torch) trains with them.
"""

from __future__ import annotations

from dataclasses import dataclass

MODELS = ("efficientnet_lite0", "mobilenet_v2")
DEFAULT_MODEL = "efficientnet_lite0"
OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class TransferSettings:
    """What the student chooses. ``freeze``: how many children of the network's
    ``features`` are frozen (``None``: all of them, only the head learns);
    ``pretrained=False`` is the "from scratch" comparison (nothing frozen)."""

    model: str = DEFAULT_MODEL
    freeze: int | None = None
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    step_size: int = 7
    gamma: float = 0.1
    epochs: int = 10
    batch_size: int = 16
    augment: bool = True
    pretrained: bool = True
    image_size: int = 224
    seed: int = 0

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        if not (0 < self.lr <= 1 and 0 < self.gamma <= 1 and self.step_size >= 1):
            raise ValueError("lr and gamma must be in (0, 1], step_size at least 1")
        if not 1 <= self.epochs <= 100 or not 1 <= self.batch_size <= 256:
            raise ValueError("epochs must be 1..100 and batch_size 1..256")
        if not 64 <= self.image_size <= 512:
            raise ValueError("image_size must be 64..512")

    def frozen_children(self, total: int) -> int:
        if not self.pretrained:
            return 0
        return total if self.freeze is None else max(0, min(self.freeze, total))


# torchvision's ImageNet statistics; EfficientNet-Lite0 takes (x - 127) / 128.
NORMALISATION = {
    "efficientnet_lite0": ((127 / 255,) * 3, (128 / 255,) * 3),
    "mobilenet_v2": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


def features_count(model: str) -> int:
    """Children of the model's ``features`` (the largest meaningful ``freeze``)."""
    return {"efficientnet_lite0": 9, "mobilenet_v2": 19}[model]


def lr_timeline(lr: float, step_size: int, gamma: float, epochs: int) -> list[float]:
    """The learning rate of each epoch under ``StepLR(step_size, gamma)``:
    ``lr * gamma ** (epoch // step_size)`` for epochs 0..epochs-1."""
    return [lr * gamma ** (epoch // step_size) for epoch in range(epochs)]
