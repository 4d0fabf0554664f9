"""Transfer learning by freezing: ResNet50 with a new head, frozen by strategy.

Pure module (torch/torchvision, never ``django``), imported by the transfer-learning
widget for its table and chart: how many parameters each strategy trains and
freezes (built on PyTorch's ``meta`` device, so counting costs no memory), and which
strategy fits which dataset (size x similarity to ImageNet). The runs that really
train a network are ``demos.ml.transfer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from portal.lib.errors import BadInput

if TYPE_CHECKING:
    from torch import nn

TRANSFER_NUM_CLASSES = 33
TRANSFER_STRATEGIES = ("feature-extractor", "fine-tune-last-stage", "fine-tune-all")


class UnknownStrategy(BadInput):
    """Not one of ``TRANSFER_STRATEGIES`` (→ 400)."""


@dataclass(frozen=True)
class TransferCounts:
    """Trainable vs frozen parameters of ResNet50 with a new head, for one strategy."""

    strategy: str
    num_classes: int
    trainable: int
    frozen: int
    trainable_blocks: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.trainable + self.frozen

    @property
    def trainable_share(self) -> float:
        return self.trainable / self.total


@dataclass(frozen=True)
class TransferCase:
    """One cell of the "dataset size x similarity to ImageNet" chart."""

    size: str  # "small" | "large"
    similarity: str  # "similar" | "different"
    strategy: str


TRANSFER_CASES = (
    # Few images of ImageNet-like things: pretrained features already fit; training
    # more than the head would overfit.
    TransferCase("small", "similar", "feature-extractor"),
    # Few images of another domain: still freeze (too little data to fine-tune), but
    # the last stage is the most ImageNet-specific, so take features from an
    # earlier stage and augment heavily.
    TransferCase("small", "different", "feature-extractor"),
    # Many images, similar domain: enough data to fine-tune everything safely with a
    # small learning rate (the last stage alone is a cheaper first try).
    TransferCase("large", "similar", "fine-tune-all"),
    # Many images of a different domain: adapt every layer.
    TransferCase("large", "different", "fine-tune-all"),
)


def normalise_strategy(strategy: str) -> str:
    """Accept ``"fine-tune last stage"`` as well as ``"fine-tune-last-stage"``."""
    key = "-".join(strategy.strip().lower().replace("_", " ").split())
    if key not in TRANSFER_STRATEGIES:
        raise UnknownStrategy(
            f"Unknown strategy {strategy!r}; choose one of "
            + ", ".join(TRANSFER_STRATEGIES)
            + "."
        )
    return key


def make_transfer_model(
    strategy: str, *, num_classes: int = TRANSFER_NUM_CLASSES, device: str = "meta"
) -> nn.Module:
    """ResNet50 with a new ``num_classes`` head, frozen according to ``strategy``.

    Frozen means ``requires_grad=False`` (batch-norm weights included). When training
    a frozen backbone, also keep its batch-norm layers in ``eval()`` so their running
    statistics stay ImageNet's.
    """
    import torch
    from torch import nn
    from torchvision import models as tv_models

    strategy = normalise_strategy(strategy)
    with torch.device(device):
        model = tv_models.resnet50(weights=None)
        model.fc = nn.Linear(model.fc.in_features, num_classes)
    train_prefixes = {
        "feature-extractor": ("fc",),
        "fine-tune-last-stage": ("layer4", "fc"),
        "fine-tune-all": ("",),
    }[strategy]
    for name, param in model.named_parameters():
        param.requires_grad = name.startswith(train_prefixes)
    return model


@lru_cache(maxsize=16)
def transfer_learning_counts(
    strategy: str, num_classes: int = TRANSFER_NUM_CLASSES
) -> TransferCounts:
    """Count ``requires_grad`` parameters of ``make_transfer_model(strategy)``."""
    strategy = normalise_strategy(strategy)
    model = make_transfer_model(strategy, num_classes=num_classes)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    blocks = tuple(
        name
        for name, child in model.named_children()
        if any(p.requires_grad for p in child.parameters())
    )
    return TransferCounts(
        strategy=strategy,
        num_classes=num_classes,
        trainable=trainable,
        frozen=frozen,
        trainable_blocks=blocks,
    )
