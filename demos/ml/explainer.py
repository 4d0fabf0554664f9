"""The linked view of EfficientNet-Lite0 (CNN Explainer's idea): one pixel of one
feature map, followed back to the photo and forward to the classes.

Pure module (torch, numpy; never Django). For a pixel (``y``, ``x``) of channel
``channel`` of ``features[stage]``:

* its receptive field on the 224 x 224 input (``demos.ml.receptive_field``);
* for the stem (``stage == 0``) the arithmetic written out: the 3 x 3 input patch
  of each colour channel, the kernel slice that multiplies it (batch norm folded
  in: in ``eval()`` it is a per-channel ``* scale + shift``), the dot product plus
  bias, and ReLU6 of it, which is the map's value;
* the global average pooling of that channel (for the head, ``features.8``, the
  very number the classifier reads) and the classifier's top classes, with the
  channel's share of each top class's logit when it feeds the classifier.

Inputs are ``imagenet.preprocess`` tensors (``1 x 3 x 224 x 224``); every number
returned is a plain float or list, ready for JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from demos.ml.imagenet import EfficientNetLite0, pad_same, top_k
from demos.ml.receptive_field import Box, receptive_field, spatial_layers
from models_store.tracing import TRACING

RELU6_MAX = 6.0


@dataclass(frozen=True)
class DotProduct:
    """The stem's arithmetic for one output pixel.

    ``origin``: input (row, column) of the patch's top-left (negative in padding);
    ``pixels``: 3 x k x k photo values 0..255, ``None`` where the patch hangs over
    the border (zero padding); ``inputs``: the network's inputs ``(p - 127) / 128``
    (0 in padding); ``kernel``: 3 x k x k weights with batch norm folded in;
    ``sums``: the dot product of each colour channel; ``pre_activation``: the sum of
    ``sums`` plus ``bias``; ``value``: ReLU6 of it, the map's value.
    """

    origin: tuple[int, int]
    pixels: list[list[list[int | None]]]
    inputs: list[list[list[float]]]
    kernel: list[list[list[float]]]
    bias: float
    sums: list[float]
    pre_activation: float
    value: float


@dataclass(frozen=True)
class LinkedView:
    """Everything the linked view shows for one feature-map pixel."""

    stage: int
    channel: int
    y: int
    x: int
    shape: tuple[int, int, int]  # C x H x W of the map
    value: float  # the map's value at (channel, y, x)
    field: Box  # in pixels of the network's input
    input_size: tuple[int, int]
    dot: DotProduct | None  # the stem only
    channel_mean: float  # global average pooling of this channel
    top: list[dict[str, Any]]  # index, probability, logit, contribution (head only)


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


def stem_dot_product(
    model: EfficientNetLite0, tensor: torch.Tensor, channel: int, y: int, x: int
) -> DotProduct:
    """The stem's output at (``channel``, ``y``, ``x``) as one written-out sum."""
    conv = cast(nn.Conv2d, cast(nn.Sequential, model.features[0])[0])
    k, s = conv.kernel_size[0], conv.stride[0]
    height, width = tensor.shape[-2:]
    padded = pad_same(tensor, k, s)
    pad_top = (padded.shape[-2] - height) // 2
    pad_left = (padded.shape[-1] - width) // 2
    patch = padded[0, :, y * s : y * s + k, x * s : x * s + k]
    kernel, bias = folded_stem(model)
    weights = kernel[channel]
    sums = (patch * weights).sum(dim=(1, 2))
    pre = float(sums.sum() + bias[channel])
    top, left = y * s - pad_top, x * s - pad_left
    pixels: list[list[list[int | None]]] = [
        [
            [
                int(round(float(patch[c, i, j]) * 128 + 127))
                if 0 <= top + i < height and 0 <= left + j < width
                else None
                for j in range(k)
            ]
            for i in range(k)
        ]
        for c in range(patch.shape[0])
    ]
    return DotProduct(
        origin=(top, left),
        pixels=pixels,
        inputs=patch.tolist(),
        kernel=weights.tolist(),
        bias=float(bias[channel]),
        sums=sums.tolist(),
        pre_activation=pre,
        value=min(max(pre, 0.0), RELU6_MAX),
    )


def stage_outputs(
    model: EfficientNetLite0, tensor: torch.Tensor
) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """(output of every ``features[i]``, pooled 1280 vector, logits) in one pass."""
    outputs = []
    with TRACING, torch.inference_mode():
        x = tensor
        for block in model.features:
            x = block(x)
            outputs.append(x)
        pooled = torch.flatten(model.avgpool(x), 1)
        logits = model.classifier(pooled)
    return outputs, pooled[0], logits[0]


def linked_view(
    model: EfficientNetLite0,
    tensor: torch.Tensor,
    stage: int,
    channel: int,
    y: int,
    x: int,
    k: int = 5,
) -> LinkedView:
    """The linked view of pixel (``y``, ``x``) of ``channel`` of ``features[stage]``.

    Raises ``ValueError`` for a stage, channel or pixel outside the network.
    """
    if not 0 <= stage < len(model.features):
        raise ValueError(f"no stage {stage}: 0..{len(model.features) - 1}")
    outputs, pooled, logits = stage_outputs(model, tensor)
    maps = outputs[stage][0]
    channels, height, width = maps.shape
    if not 0 <= channel < channels:
        raise ValueError(f"no channel {channel}: 0..{channels - 1}")
    if not (0 <= y < height and 0 <= x < width):
        raise ValueError(f"({y}, {x}) is outside the {height} x {width} map")
    input_size = (int(tensor.shape[-2]), int(tensor.shape[-1]))
    windows = spatial_layers(model.features[: stage + 1])
    is_head = stage == len(model.features) - 1
    weights = cast(nn.Linear, model.classifier[-1]).weight
    top = []
    for prediction in top_k(logits[None], k):
        row: dict[str, Any] = {
            "index": prediction.index,
            "probability": prediction.probability,
            "logit": float(logits[prediction.index]),
        }
        if is_head:
            # The classifier's logit is sum_c w[class, c] * pooled[c] + b.
            weight = float(weights[prediction.index, channel].detach())
            row["contribution"] = weight * float(pooled[channel])
        top.append(row)
    with torch.inference_mode():
        dot = stem_dot_product(model, tensor, channel, y, x) if stage == 0 else None
    return LinkedView(
        stage=stage,
        channel=channel,
        y=y,
        x=x,
        shape=(channels, height, width),
        value=float(maps[channel, y, x]),
        field=receptive_field(windows, y, x, input_size),
        input_size=input_size,
        dot=dot,
        channel_mean=float(maps[channel].mean()),
        top=top,
    )
