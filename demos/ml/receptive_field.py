"""Receptive fields: which input pixels one pixel of a feature map can see.

Pure module (never Django; torch only inside ``spatial_layers``). A network is read
as a chain of sliding windows (``Window``: convolutions and poolings along the main
path; 1 x 1 convolutions, batch norms and activations do not widen it). Residual
additions add a path that sees a subset of the main path's window (centred, same
padding), so the chain of the main path gives the whole field.

Coordinates: rows ``y`` and columns ``x`` from the top-left, 0-based; a ``Box`` is
``top, left`` inclusive and ``bottom, right`` exclusive, in pixels of the network's
input, clipped to it. Padding pixels are constants: a window that hangs over the
border sees fewer real pixels, so the field is clipped at every layer, not only at
the input (the brute-force gradient test checks exactly this).

Worked example: two 3 x 3 convolutions, stride 1 then 2, padding 1, on 8 x 8::

    receptive_field([Window(3, 1, 1), Window(3, 2, 1)], 1, 1, (8, 8))
    → Box(top=0, left=0, bottom=5, right=5)   # output (1, 1) sees rows/cols 0..4
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from torch import nn

SAME: Literal["same"] = (
    "same"  # TensorFlow's SAME: output ceil(in / stride), extra pixel bottom-right
)


@dataclass(frozen=True)
class Window:
    """One sliding window: ``kernel`` x ``kernel``, ``stride``, and ``padding`` (zero
    pixels added before the first row/column, or ``"same"``; the padding after does
    not move the field, it only decides the output size)."""

    kernel: int
    stride: int = 1
    padding: int | Literal["same"] = 0

    def pad_before(self, size: int) -> int:
        """Pixels of padding above/left of an input of ``size`` pixels."""
        if self.padding == SAME:
            total = max(
                (math.ceil(size / self.stride) - 1) * self.stride + self.kernel - size,
                0,
            )
            return total // 2
        return int(self.padding)

    def out_size(self, size: int) -> int:
        """Output pixels for ``size`` input pixels (floor, as PyTorch computes)."""
        if self.padding == SAME:
            return math.ceil(size / self.stride)
        return (size + 2 * int(self.padding) - self.kernel) // self.stride + 1


@dataclass(frozen=True)
class Box:
    """A rectangle of input pixels: ``top, left`` inclusive, ``bottom, right``
    exclusive (so ``bottom - top`` is its height)."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left


def sizes(layers: list[Window], input_size: tuple[int, int]) -> list[tuple[int, int]]:
    """Input (height, width) of every layer, then the output's: ``len(layers) + 1``."""
    shapes = [input_size]
    for layer in layers:
        height, width = shapes[-1]
        shapes.append((layer.out_size(height), layer.out_size(width)))
    return shapes


def _span(layers: list[Window], index: int, axis_sizes: list[int]) -> tuple[int, int]:
    """Inclusive range of input positions seen by output position ``index``."""
    first = last = index
    for layer, size in zip(reversed(layers), reversed(axis_sizes[:-1]), strict=True):
        pad = layer.pad_before(size)
        first = max(first * layer.stride - pad, 0)
        last = min(last * layer.stride - pad + layer.kernel - 1, size - 1)
    return first, last


def receptive_field(
    layers: list[Window], y: int, x: int, input_size: tuple[int, int]
) -> Box:
    """The input pixels that output pixel (``y``, ``x``) of the chain depends on.

    ``layers``: the windows in the order they run; ``input_size``: (height, width)
    of the network's input. Raises ``ValueError`` when (y, x) is outside the output.
    """
    shapes = sizes(layers, input_size)
    out_h, out_w = shapes[-1]
    if not (0 <= y < out_h and 0 <= x < out_w):
        raise ValueError(f"({y}, {x}) is outside the {out_h} x {out_w} map")
    top, bottom = _span(layers, y, [s[0] for s in shapes])
    left, right = _span(layers, x, [s[1] for s in shapes])
    return Box(top, left, bottom + 1, right + 1)


def field_size(layers: list[Window]) -> int:
    """Side of the full (unclipped) receptive field: 1 + sum (k - 1) * jump."""
    side, jump = 1, 1
    for layer in layers:
        side += (layer.kernel - 1) * jump
        jump *= layer.stride
    return side


def spatial_layers(module: nn.Module) -> list[Window]:
    """The windows of a torch module's convolutions and poolings, in module order.

    Module order is run order for the plain ``Sequential`` stacks of this project
    (digits CNN, EfficientNet-Lite0's ``features``); 1 x 1 stride-1 layers are left
    out (they do not change the field). Raises ``ValueError`` on dilation or
    non-square windows, which this module does not model.
    """
    from torch import nn

    from demos.ml.imagenet import SameConv2d

    windows = []
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
            kernel, stride, padding = (
                _square(layer.kernel_size),
                _square(layer.stride),
                _square(layer.padding),
            )
            if isinstance(layer, nn.Conv2d) and _square(layer.dilation) != 1:
                raise ValueError(f"{layer}: dilation is not modelled")
            if isinstance(layer, SameConv2d):
                window = Window(kernel, stride, SAME)
            else:
                window = Window(kernel, stride, padding)
            if (kernel, stride) != (1, 1):
                windows.append(window)
    return windows


def _square(value: object) -> int:
    if isinstance(value, tuple):
        if len(set(value)) != 1:
            raise ValueError(f"non-square window {value}")
        return int(value[0])
    return int(value)  # type: ignore[call-overload]
