"""The linked view of EfficientNet-Lite0 (CNN Explainer's idea): one pixel of one
feature map, followed back to the photo and forward to the classes.

Pure module (numpy; torch only in the functions that take the torch model; never
Django). The view is assembled from arrays (``linked_view_arrays``), so the ONNX
copy of the network (``demos.ml.efficientnet_onnx``) gives the same view without
torch. For a pixel (``y``, ``x``) of channel ``channel`` of ``features[stage]``:

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
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from demos.ml.efficientnet_onnx import (
    MEAN,
    RELU6_MAX,
    STD,
    STEM_KERNEL,
    STEM_STRIDE,
    same_padding,
    top_k,
)
from demos.ml.receptive_field import Box, Window, receptive_field
from models_store.tracing import TRACING

if TYPE_CHECKING:
    import torch

    from demos.ml.imagenet import EfficientNetLite0


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


# ------------------------------------------------------------------ arrays


def stem_dot_product_array(
    inputs: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    channel: int,
    y: int,
    x: int,
) -> DotProduct:
    """The stem's output at (``channel``, ``y``, ``x``) as one written-out sum.

    ``inputs``: ``3 x H x W`` (or ``1 x 3 x H x W``) network inputs; ``kernel`` and
    ``bias``: the stem with its batch norm folded in (``folded_stem``).
    """
    inputs = np.asarray(inputs, dtype=np.float32)
    if inputs.ndim == 4:
        inputs = inputs[0]
    k, s = STEM_KERNEL, STEM_STRIDE
    height, width = inputs.shape[-2:]
    pad_top, pad_bottom = same_padding(height, k, s)
    pad_left, pad_right = same_padding(width, k, s)
    padded = np.pad(inputs, ((0, 0), (pad_top, pad_bottom), (pad_left, pad_right)))
    patch = padded[:, y * s : y * s + k, x * s : x * s + k]
    weights = np.asarray(kernel[channel], dtype=np.float32)
    sums = (patch * weights).sum(axis=(1, 2))
    channel_bias = float(bias[channel])
    pre = float(sums.sum() + channel_bias)
    top, left = y * s - pad_top, x * s - pad_left
    pixels: list[list[list[int | None]]] = [
        [
            [
                int(round(float(patch[c, i, j]) * STD + MEAN))
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
        bias=channel_bias,
        sums=sums.tolist(),
        pre_activation=pre,
        value=min(max(pre, 0.0), RELU6_MAX),
    )


def linked_view_arrays(
    *,
    maps: np.ndarray,
    pooled: np.ndarray,
    logits: np.ndarray,
    fc_weight: np.ndarray,
    inputs: np.ndarray,
    stem: tuple[np.ndarray, np.ndarray],
    windows: list[Window],
    stage: int,
    stage_count: int,
    channel: int,
    y: int,
    x: int,
    k: int = 5,
) -> LinkedView:
    """The linked view from arrays: ``maps`` (``C x H x W``, the output of
    ``features[stage]``), ``pooled`` (the 1280 pooled head channels), ``logits``,
    the classifier's ``fc_weight``, the network's ``inputs`` and the folded
    ``stem``, ``windows`` of ``features[:stage + 1]``.

    Raises ``ValueError`` for a stage, channel or pixel outside the network.
    """
    if not 0 <= stage < stage_count:
        raise ValueError(f"no stage {stage}: 0..{stage_count - 1}")
    maps = np.asarray(maps, dtype=np.float32)
    channels, height, width = maps.shape
    if not 0 <= channel < channels:
        raise ValueError(f"no channel {channel}: 0..{channels - 1}")
    if not (0 <= y < height and 0 <= x < width):
        raise ValueError(f"({y}, {x}) is outside the {height} x {width} map")
    input_size = (int(inputs.shape[-2]), int(inputs.shape[-1]))
    is_head = stage == stage_count - 1
    logits = np.asarray(logits, dtype=np.float32).reshape(-1)
    top = []
    for index, probability in top_k(logits, k):
        row: dict[str, Any] = {
            "index": index,
            "probability": probability,
            "logit": float(logits[index]),
        }
        if is_head:
            # The classifier's logit is sum_c w[class, c] * pooled[c] + b.
            row["contribution"] = float(fc_weight[index, channel]) * float(
                pooled[channel]
            )
        top.append(row)
    dot = (
        stem_dot_product_array(inputs, stem[0], stem[1], channel, y, x)
        if stage == 0
        else None
    )
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


# ------------------------------------------------------------------ torch model


def folded_stem(model: EfficientNetLite0) -> tuple[torch.Tensor, torch.Tensor]:
    """The stem's kernel and bias with its batch norm folded in
    (``imagenet.folded_stem``)."""
    from demos.ml import imagenet

    return imagenet.folded_stem(model)


def stem_dot_product(
    model: EfficientNetLite0, tensor: torch.Tensor, channel: int, y: int, x: int
) -> DotProduct:
    """The stem's output at (``channel``, ``y``, ``x``) as one written-out sum."""
    kernel, bias = folded_stem(model)
    return stem_dot_product_array(
        tensor.detach().numpy(), kernel.numpy(), bias.numpy(), channel, y, x
    )


def stage_outputs(
    model: EfficientNetLite0, tensor: torch.Tensor
) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """(output of every ``features[i]``, pooled 1280 vector, logits) in one pass."""
    import torch

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
    from torch import nn

    from demos.ml.receptive_field import spatial_layers

    if not 0 <= stage < len(model.features):
        raise ValueError(f"no stage {stage}: 0..{len(model.features) - 1}")
    outputs, pooled, logits = stage_outputs(model, tensor)
    kernel, bias = folded_stem(model)
    return linked_view_arrays(
        maps=outputs[stage][0].numpy(),
        pooled=pooled.numpy(),
        logits=logits.numpy(),
        fc_weight=cast(nn.Linear, model.classifier[-1]).weight.detach().numpy(),
        inputs=tensor.detach().numpy(),
        stem=(kernel.numpy(), bias.numpy()),
        windows=spatial_layers(model.features[: stage + 1]),
        stage=stage,
        stage_count=len(model.features),
        channel=channel,
        y=y,
        x=x,
        k=k,
    )
