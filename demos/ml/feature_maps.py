"""Feature maps of CNNs as pictures (pure: torch, numpy and OpenCV, never Django).

One activation path for the whole site: "the outputs of these layers for this
input". Torch models go through ``TorchActivations`` (torchvision's
``create_feature_extractor`` rewrites the model's graph so it returns the named
nodes; the extractor is traced once, when the object is made, so callers keep it in
``models_store.loading``'s cache); ONNX models through ``OnnxActivations`` (the
tensors were appended to the graph's outputs by ``loading.onnx_session``). Forward
hooks that a context manager always removes (``forward_hooks``) serve callers that
watch every module, like the MAC counter of the architecture lessons.

Pictures are made channel by channel: each channel is normalised to 0..255 on its
own (so a weak channel is as visible as a strong one), put through a colour map and
tiled into a grid, optionally strongest channel first.

Grid layout, used by ``grid_layout`` and ``feature_map_grid``::

    columns = ceil(sqrt(C)), rows = ceil(C / columns)
    width  = columns * tile_w + (columns - 1) * gap
    height = rows * tile_h + (rows - 1) * gap

with ``tile_w = W * scale`` and ``tile_h = H * scale`` (nearest-neighbour upscaling).
torch and torchvision are imported when a torch model is first used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from models_store.tracing import TRACING

if TYPE_CHECKING:
    import torch
    from torch import nn

COLORMAPS = {
    "viridis": cv2.COLORMAP_VIRIDIS,
    "inferno": cv2.COLORMAP_INFERNO,
    "magma": cv2.COLORMAP_MAGMA,
    "gray": None,
}
DEFAULT_COLORMAP = "viridis"
GAP_COLOUR = (255, 255, 255)
# torch.fx patches nn.Module.__call__ for every thread while it traces: a module
# run by another thread meanwhile fails. Every run holds TRACING shared (``with
# TRACING:``, the training lesson's runs between steps), a trace exclusive.


@dataclass(frozen=True)
class ChannelStat:
    """Summary of one channel of a C x H x W feature map."""

    channel: int
    mean: float
    max: float
    min: float


class TorchActivations:
    """The outputs of named nodes of a torch model, from one traced extractor.

    ``layers`` are node names as torchvision's ``get_graph_node_names`` lists them
    (for plain modules, their dotted names: "layer1", "features.3"). With
    ``with_output`` the model's last node (a classifier's logits) is returned too,
    under ``output_node``. Nodes after the last one asked for are never run, so a
    classifier head does not constrain the input size. Tracing is not thread-safe
    and costs milliseconds to seconds: make one per (model, layers) and share it.
    """

    def __init__(
        self, model: nn.Module, layers: Sequence[str], *, with_output: bool = False
    ) -> None:
        from torchvision.models.feature_extraction import (
            create_feature_extractor,
            get_graph_node_names,
        )

        self.layers = tuple(layers)
        with TRACING.exclusive():
            names = get_graph_node_names(model)[1] if with_output else []
            self.output_node = names[-1] if with_output else None
            nodes = [*self.layers, *([self.output_node] if self.output_node else [])]
            self.extractor = create_feature_extractor(model, return_nodes=nodes).eval()

    def __call__(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """``inputs`` N x C x H x W → ``{node: N x C' x H' x W'}``, in order."""
        import torch

        with TRACING, torch.inference_mode():
            return dict(self.extractor(inputs))


class OnnxActivations:
    """The outputs of named tensors of an ONNX Runtime session.

    ``tensors`` maps our layer names to the graph's tensor names (each already a
    graph output); layers in ``nhwc`` are N x H x W x C in the graph and come back
    N x C x H x W like every other map.
    """

    def __init__(
        self,
        session: Any,
        input_name: str,
        tensors: Mapping[str, str],
        *,
        nhwc: Collection[str] = (),
    ) -> None:
        self.session = session
        self.input_name = input_name
        self.tensors = dict(tensors)
        self.nhwc = frozenset(nhwc)

    def __call__(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self.session.run(
            list(self.tensors.values()), {self.input_name: inputs}
        )
        return {
            name: output.transpose(0, 3, 1, 2) if name in self.nhwc else output
            for name, output in zip(self.tensors, outputs, strict=True)
        }


def extract_feature_maps(
    model: nn.Module, image_tensor: torch.Tensor, layers: Sequence[str]
) -> dict[str, torch.Tensor]:
    """Run ``model`` on ``image_tensor`` (N x C x H x W) and return the named layers.

    A one-off ``TorchActivations`` (traced for this call): ``{name: N x C' x H' x
    W' tensor}`` in the order asked.
    """
    outputs = TorchActivations(model, layers)(image_tensor)
    return {name: outputs[name] for name in layers}


@contextmanager
def forward_hooks(
    model: nn.Module,
    layers: Sequence[str] | None = None,
    on_output: Callable[[str, nn.Module, Any], None] | None = None,
) -> Iterator[dict[str, torch.Tensor]]:
    """Capture the outputs of the named submodules while the block runs.

    ``with forward_hooks(model, ["conv1"]) as maps: model(x)`` leaves
    ``maps["conv1"]`` filled; ``layers=None`` hooks every module (the root is
    ``""``), and ``on_output(name, module, output)`` sees every call (a module
    called twice is reported twice; ``maps`` keeps its last tensor output). The
    hooks are removed on exit, even after an error.
    """
    modules = dict(model.named_modules())
    names = list(modules) if layers is None else list(layers)
    missing = [name for name in names if name not in modules]
    if missing:
        raise KeyError(f"no such layer(s): {', '.join(missing)}")
    captured: dict[str, torch.Tensor] = {}
    handles = []

    def make_hook(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, _inputs: object, output: Any) -> None:
            if hasattr(output, "detach"):
                captured[name] = output.detach()
            if on_output is not None:
                on_output(name, module, output)

        return hook

    try:
        for name in names:
            handles.append(modules[name].register_forward_hook(make_hook(name)))
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def layer_shapes(
    model: nn.Module, input_shape: Sequence[int], layers: Sequence[str]
) -> dict[str, tuple[int, ...]]:
    """Output shape (without the batch axis) of each named layer for one dummy input.

    ``input_shape`` is C x H x W. The dummy lives on the model's device, so a model
    built on PyTorch's ``meta`` device gives shapes without allocating anything.
    """
    import torch

    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    maps = extract_feature_maps(
        model, torch.zeros(1, *input_shape, device=device), layers
    )
    return {name: tuple(maps[name].shape[1:]) for name in layers}


def to_chw(maps: torch.Tensor | np.ndarray) -> np.ndarray:
    """A 1 x C x H x W or C x H x W tensor/array → C x H x W float32 numpy array."""
    array = maps.detach().cpu().numpy() if hasattr(maps, "detach") else maps
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 4:
        if array.shape[0] != 1:
            raise ValueError("expected a single image (batch of 1)")
        array = array[0]
    if array.ndim != 3:
        raise ValueError(f"expected C x H x W, got shape {array.shape}")
    return array


def normalise_channels(maps: np.ndarray) -> np.ndarray:
    """C x H x W float → C x H x W uint8, each channel min-max scaled to 0..255.

    A constant channel (a "dead" map, e.g. all zeros after ReLU) becomes all 0.
    """
    maps = to_chw(maps)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    scaled = np.divide(maps - low, span, out=np.zeros_like(maps), where=span > 1e-12)
    return np.rint(scaled * 255).astype(np.uint8)


def colorize(grey: np.ndarray, colormap: str = DEFAULT_COLORMAP) -> np.ndarray:
    """H x W uint8 → H x W x 3 uint8 RGB through a named colour map."""
    if colormap not in COLORMAPS:
        raise ValueError(f"unknown colour map {colormap!r}; choose from {COLORMAPS}")
    code = COLORMAPS[colormap]
    if code is None:
        return np.repeat(grey[:, :, None], 3, axis=2)
    return cv2.cvtColor(cv2.applyColorMap(grey, code), cv2.COLOR_BGR2RGB)


def channel_stats(maps: torch.Tensor | np.ndarray) -> list[ChannelStat]:
    """Mean, max and min of every channel of a C x H x W map, in channel order."""
    maps = to_chw(maps)
    means = maps.mean(axis=(1, 2))
    maxima = maps.max(axis=(1, 2))
    minima = maps.min(axis=(1, 2))
    return [
        ChannelStat(
            index, float(means[index]), float(maxima[index]), float(minima[index])
        )
        for index in range(maps.shape[0])
    ]


def strongest_channels(maps: torch.Tensor | np.ndarray) -> list[int]:
    """Channel indices by mean activation, strongest first (ties: lower index)."""
    means = to_chw(maps).mean(axis=(1, 2))
    return sorted(range(len(means)), key=lambda index: (-means[index], index))


def grid_layout(count: int, columns: int | None = None) -> tuple[int, int]:
    """(rows, columns) of a grid holding ``count`` tiles: square-ish by default."""
    if count < 1:
        raise ValueError("a grid needs at least one tile")
    columns = columns or math.ceil(math.sqrt(count))
    return math.ceil(count / columns), columns


def tile_scale(height: int, width: int, min_tile: int = 48, max_scale: int = 8) -> int:
    """Integer upscaling so that small maps (7x7, 13x13) are visible as tiles."""
    return max(1, min(max_scale, math.ceil(min_tile / max(1, min(height, width)))))


def tile_grid(
    tiles: np.ndarray, *, columns: int | None = None, gap: int = 1
) -> np.ndarray:
    """N x h x w x 3 uint8 tiles → one RGB grid image (layout in the module docstring).

    Cells after the last tile and the gaps are white.
    """
    count, height, width = tiles.shape[:3]
    rows, columns = grid_layout(count, columns)
    grid = np.empty(
        (rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap, 3),
        dtype=np.uint8,
    )
    grid[:] = GAP_COLOUR
    for index in range(count):
        row, col = divmod(index, columns)
        top, left = row * (height + gap), col * (width + gap)
        grid[top : top + height, left : left + width] = tiles[index]
    return grid


def feature_map_grid(
    maps: torch.Tensor | np.ndarray,
    colormap: str = DEFAULT_COLORMAP,
    *,
    strongest_first: bool = False,
    columns: int | None = None,
    gap: int = 1,
    scale: int | None = None,
) -> np.ndarray:
    """Every channel of a C x H x W map as one RGB grid image with C tiles.

    Each channel is normalised on its own, coloured with ``colormap`` and upscaled
    by ``scale`` (default: ``tile_scale(H, W)``). Tiles are in channel order, or
    strongest (highest mean) first. Returns uint8 of shape (rows*H*scale + gaps,
    columns*W*scale + gaps, 3).
    """
    maps = to_chw(maps)
    _, height, width = maps.shape
    scale = scale or tile_scale(height, width)
    order = strongest_channels(maps) if strongest_first else range(maps.shape[0])
    grey = normalise_channels(maps)
    tiles = np.stack([colorize(grey[index], colormap) for index in order])
    if scale > 1:
        tiles = np.repeat(np.repeat(tiles, scale, axis=1), scale, axis=2)
    return tile_grid(tiles, columns=columns, gap=gap)


def filter_grid(
    weight: torch.Tensor | np.ndarray,
    *,
    scale: int = 8,
    gap: int = 1,
    bgr: bool = False,
) -> np.ndarray:
    """First-layer filters (C_out x C_in x k x k, C_in 3 or 1) → one RGB grid image.

    Each filter is min-max normalised over all its channels together (so its colour
    balance is kept) and shown as a k x k RGB (or grey) picture upscaled by ``scale``.
    ``bgr``: the filters expect BGR input (OpenCV-trained models); flipped to RGB.
    """
    array = weight.detach().cpu().numpy() if hasattr(weight, "detach") else weight
    array = np.asarray(array, dtype=np.float32)
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ValueError(
            f"expected C_out x (1 or 3) x k x k filters, got {array.shape}"
        )
    low = array.min(axis=(1, 2, 3), keepdims=True)
    span = array.max(axis=(1, 2, 3), keepdims=True) - low
    scaled = np.divide(array - low, span, out=np.zeros_like(array), where=span > 1e-12)
    tiles = np.rint(scaled * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    if tiles.shape[3] == 1:
        tiles = np.repeat(tiles, 3, axis=3)
    elif bgr:
        tiles = tiles[..., ::-1]
    tiles = np.repeat(np.repeat(tiles, scale, axis=1), scale, axis=2)
    return tile_grid(np.ascontiguousarray(tiles), gap=gap)


def signed_image(values: np.ndarray, limit: float | None = None) -> np.ndarray:
    """H x W floats → H x W x 3 RGB on a diverging scale: blue < 0 < red, white = 0.

    ``limit`` is the value shown fully saturated (default: max |value|); pass the
    same limit for several maps to compare them on one scale.
    """
    values = np.asarray(values, dtype=np.float32)
    limit = float(limit if limit is not None else np.abs(values).max())
    level = np.clip(values / limit, -1, 1) if limit > 1e-12 else np.zeros_like(values)
    positive, negative = np.clip(level, 0, 1), np.clip(-level, 0, 1)
    red = 1 - negative * 0.8
    green = 1 - (positive + negative) * 0.8
    blue = 1 - positive * 0.8
    return np.rint(np.stack([red, green, blue], axis=2) * 255).astype(np.uint8)


def histogram(values: np.ndarray, bins: int = 30) -> dict[str, list[float]]:
    """Histogram of all values: {"edges": bins+1 floats, "counts": bins ints}."""
    counts, edges = np.histogram(
        np.asarray(values, dtype=np.float64).ravel(), bins=bins
    )
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
