"""Grad-CAM ("why did it say 7?") for torch classifiers, and its arithmetic for the
numpy digits CNN (``weighted_map``) (pure: no Django, no matplotlib).

``class_activation_map`` runs the shared, cached model itself — no per-request copy
of it: a forward hook on the target module keeps the layer's output *of this
thread's call only* (another request running the same model meanwhile passes the
hook untouched) and is removed in ``finally``; ``torch.autograd.grad`` gives the
gradient of the class score with respect to that output without filling any
parameter's ``.grad``. Same arithmetic as the ``grad-cam`` library's ``GradCAM``
(the tests compare them), which is no longer imported on a request path: its image
helpers import matplotlib (about 10 s on a busy machine).
``cam_overlay`` blends the map over the input like the library's
``show_cam_on_image`` (JET colour map: red = the pixels that raised the class score
most), in OpenCV.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from models_store.tracing import TRACING

if TYPE_CHECKING:
    import torch
    from torch import nn


def class_activation_map(
    model: nn.Module, tensor: torch.Tensor, layer: str, class_index: int
) -> np.ndarray:
    """Grad-CAM of ``class_index`` at the module named ``layer`` for ``tensor``
    (``1 x C x H x W``, as the model takes it) → ``H x W`` float32 in 0..1.

    The gradient of the class score with respect to the layer's output, averaged
    over each channel, weighs that channel; the weighted sum goes through ReLU, is
    scaled bilinearly to ``H x W`` and min-max normalised.
    """
    # A run like any other (models_store.tracing): no trace may overlap it.
    with TRACING:
        activations, gradients = _activation_and_gradient(
            model, tensor, layer, class_index
        )
    return weighted_map(
        activations, gradients, int(tensor.shape[-2]), int(tensor.shape[-1])
    )


def weighted_map(
    activations: np.ndarray, gradients: np.ndarray, height: int, width: int
) -> np.ndarray:
    """Grad-CAM from a layer's ``C x h x w`` output and the class score's gradient
    with respect to it (from autograd, or by hand in ``digits_numpy``) →
    ``height x width`` float32 in 0..1."""
    weights = gradients.mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(weights, activations, axes=(0, 0)), 0.0)
    cam = cv2.resize(
        cam.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR
    )
    cam = cam - cam.min()
    cam = cam / (cam.max() + 1e-7)
    return np.clip(cam, 0.0, 1.0).astype(np.float32)


def _activation_and_gradient(
    model: nn.Module, tensor: torch.Tensor, layer: str, class_index: int
) -> tuple[np.ndarray, np.ndarray]:
    """(``C x h x w`` output of ``layer``, gradient of the class score w.r.t. it)."""
    import torch

    target = model.get_submodule(layer)
    me = threading.get_ident()
    kept: dict[str, Any] = {}

    def keep(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        if threading.get_ident() == me:
            kept["output"] = output

    handle = target.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            # The input asks for gradients so the graph exists even if the
            # parameters do not (a frozen model); the parameters' .grad stay None.
            inputs = tensor.detach().clone().requires_grad_(True)
            logits = model(inputs)
            output = kept["output"]
            (gradient,) = torch.autograd.grad(logits[0, class_index], output)
    finally:
        handle.remove()
    return output[0].detach().numpy(), gradient[0].detach().numpy()


def cam_overlay(rgb: np.ndarray, cam: np.ndarray, *, side: int = 160) -> np.ndarray:
    """``rgb`` (``H x W x 3`` uint8, the network's input as a picture) with ``cam``
    (``h x w`` in 0..1) blended over it, both scaled to ``side`` pixels on the
    longer side → ``uint8`` RGB (the library's ``show_cam_on_image``: half JET
    heat map, half picture, divided by its maximum)."""
    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_NEAREST if scale > 1 else cv2.INTER_AREA
    picture = cv2.resize(rgb, size, interpolation=interpolation)
    mask = cv2.resize(cam.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    grey = (255 * np.clip(mask, 0, 1)).astype(np.uint8)  # truncated, as the library
    heat = cv2.applyColorMap(grey, cv2.COLORMAP_JET)
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    blended = 0.5 * heat + 0.5 * (picture.astype(np.float32) / 255)
    blended = blended / np.max(blended)
    return (255 * blended).astype(np.uint8)
