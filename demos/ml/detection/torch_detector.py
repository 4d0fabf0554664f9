"""A torchvision COCO detector behind the ``PersonDetector`` interface.

Pure module: torch is imported lazily (it costs about a second), never
``django``. Input is an ``H x W x 3`` uint8 RGB photo, fed to the model as a
``(3, H, W)`` float32 tensor in 0..1; output is ``PersonBox`` in original pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from demos.ml.detection.boxes import PersonBox, to_person_boxes
from models_store.tracing import TRACING

if TYPE_CHECKING:  # torch is imported lazily: importing it costs about a second.
    import torch


def rgb_to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """``H x W x 3`` uint8 RGB → ``(3, H, W)`` float32 in 0..1 (torchvision's input)."""
    import torch

    array = np.require(rgb, np.uint8, requirements=["C", "W"])  # torch needs writable
    return torch.from_numpy(array).permute(2, 0, 1).float() / 255.0


class TorchvisionPersonDetector:
    """A torchvision COCO detector (Faster R-CNN, RetinaNet, SSDlite, FCOS).

    ``model`` is built and loaded by ``models_store.loading.torch_module``, already in
    ``eval()`` and on ``device``; torchvision resizes and normalises internally and
    applies its own per-class NMS, so only the person label is kept, re-thresholded,
    clipped, sorted. Inputs go to ``device``; outputs come back to the CPU.
    """

    def __init__(
        self, model: Any, key: str, person_label: int = 1, device: str = "cpu"
    ) -> None:
        self.key = key
        self.model = model
        self.person_label = person_label
        self.device = device

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]:
        import torch

        height, width = rgb.shape[:2]
        with TRACING, torch.inference_mode():
            (result,) = self.model([rgb_to_tensor(rgb).to(self.device)])
        is_person = result["labels"] == self.person_label
        boxes = result["boxes"][is_person].cpu().numpy()
        scores = result["scores"][is_person].cpu().numpy()
        return to_person_boxes(boxes, scores, width, height, floor_score)
