"""Grad-CAM ("why did it say 7?") with the ``grad-cam`` library (pure: no Django).

``class_activation_map`` runs ``pytorch_grad_cam.GradCAM`` on a private copy of the
model (its hooks never touch the shared, cached module, which other requests may be
using) inside the library's context manager, so the hooks are always removed. The
map has the size of the model's input, values 0..1, rows from the top.
``cam_overlay`` blends it over the input with the library's ``show_cam_on_image``
(JET colour map: red = the pixels that raised the class score most).
"""

from __future__ import annotations

import copy

import cv2
import numpy as np
import torch
from torch import nn

from models_store.tracing import TRACING


def class_activation_map(
    model: nn.Module, tensor: torch.Tensor, layer: str, class_index: int
) -> np.ndarray:
    """Grad-CAM of ``class_index`` at the module named ``layer`` for ``tensor``
    (``1 x C x H x W``, as the model takes it) → ``H x W`` float32 in 0..1.

    The gradient of the class score with respect to the layer's output, averaged
    over each channel, weighs that channel; the weighted sum goes through ReLU, is
    scaled bilinearly to ``H x W`` and min-max normalised by the library.
    """
    # A run like any other (models_store.tracing): no trace may overlap it.
    with TRACING:
        return _grad_cam(model, tensor, layer, class_index)


def _grad_cam(
    model: nn.Module, tensor: torch.Tensor, layer: str, class_index: int
) -> np.ndarray:
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    private = copy.deepcopy(model).eval()
    target = private.get_submodule(layer)
    with GradCAM(model=private, target_layers=[target]) as cam:
        maps = cam(
            input_tensor=tensor.detach().clone(),
            targets=[ClassifierOutputTarget(class_index)],
        )
    return np.clip(maps[0], 0.0, 1.0).astype(np.float32)


def cam_overlay(rgb: np.ndarray, cam: np.ndarray, *, side: int = 160) -> np.ndarray:
    """``rgb`` (``H x W x 3`` uint8, the network's input as a picture) with ``cam``
    (``h x w`` in 0..1) blended over it, both scaled to ``side`` pixels on the
    longer side → ``uint8`` RGB."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_NEAREST if scale > 1 else cv2.INTER_AREA
    picture = cv2.resize(rgb, size, interpolation=interpolation)
    mask = cv2.resize(cam.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    return show_cam_on_image(
        picture.astype(np.float32) / 255.0, np.clip(mask, 0, 1), use_rgb=True
    )
