"""A ResNet's two residual blocks side by side: BasicBlock vs Bottleneck.

Pure module (torch/torchvision, never ``django``): both blocks are built on
PyTorch's ``meta`` device and measured with ``demos.ml.profiling.profile_model``
(parameters with batch-norm weights, multiply-accumulates per image), for the
architectures widget's comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from demos.ml.profiling import LayerRow, profile_model

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class BlockCost:
    """A residual block at ``channels`` in/out channels on a ``size`` x ``size`` map."""

    name: str
    channels: int
    size: int
    params: int
    macs: int
    layers: tuple[LayerRow, ...]


@dataclass(frozen=True)
class BlockComparison:
    basic: BlockCost
    bottleneck: BlockCost

    @property
    def params_ratio(self) -> float:
        return self.basic.params / self.bottleneck.params


def _block_cost(name: str, block: nn.Module, channels: int, size: int) -> BlockCost:
    profile = profile_model(block, (channels, size, size))
    return BlockCost(
        name=name,
        channels=channels,
        size=size,
        params=profile.total_params,
        macs=profile.macs,
        layers=profile.layers,
    )


@lru_cache(maxsize=8)
def compare_residual_blocks(channels: int = 256, size: int = 56) -> BlockComparison:
    """torchvision's BasicBlock vs Bottleneck, both ``channels`` in and out.

    The bottleneck squeezes to ``channels / 4`` with a 1x1 conv, runs the 3x3 conv
    there, and expands back with another 1x1 (ResNet50 ``layer1``: 256 → 64 → 256).
    Parameters include batch-norm weights; MACs are per image.
    """
    import torch
    from torchvision.models.resnet import BasicBlock, Bottleneck

    with torch.device("meta"):
        basic = BasicBlock(channels, channels)
        bottleneck = Bottleneck(channels, channels // Bottleneck.expansion)
    return BlockComparison(
        basic=_block_cost("basic", basic, channels, size),
        bottleneck=_block_cost("bottleneck", bottleneck, channels, size),
    )
