"""Decoders of raw ONNX outputs and the ONNX person detectors built on them.

Pure module: numpy, OpenCV and onnxruntime (through ``models_store.sessions``),
never ``django``; it opens only a path it is given. Each ``decode_*`` turns one
model's raw output into ``(boxes, scores)``: ``(N, 4)`` float xyxy boxes (on the
model's square canvas or already in original pixels, as each docstring says) and
``(N,)`` person scores in 0..1. The ``Onnx*Detector`` classes chain
``preprocess`` → ``session.run`` → decode → ``boxes.to_person_boxes``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from demos.ml.detection.boxes import PersonBox, to_person_boxes
from demos.ml.detection.preprocess import letterbox, resize_normalised, resize_plain
from models_store.sessions import build_onnx_session


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def yolox_grid(input_size: int, strides: tuple[int, ...] = (8, 16, 32)) -> np.ndarray:
    """``(N, 3)`` rows ``[grid_x, grid_y, stride]`` in YOLOX's output order."""
    rows = []
    for stride in strides:
        cells = input_size // stride
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel(), np.full(cells * cells, stride)], 1)
        rows.append(grid)
    return np.concatenate(rows).astype(np.float32)


def decode_yolox(
    output: np.ndarray, input_size: int, class_index: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """YOLOX raw output ``(N, 85)`` → (xyxy boxes on the canvas, person scores).

    Row = ``[x, y, w, h, objectness, 80 class scores]`` (already sigmoid-ed):
    ``cx, cy = ((x, y) + grid) * stride``, ``w, h = exp(w, h) * stride``,
    ``score = objectness * class_score``.
    """
    output = np.asarray(output, dtype=np.float32).reshape(-1, output.shape[-1])
    grid = yolox_grid(input_size)
    if grid.shape[0] != output.shape[0]:
        raise ValueError(f"expected {grid.shape[0]} rows, got {output.shape[0]}")
    strides = grid[:, 2:3]
    centres = (output[:, 0:2] + grid[:, 0:2]) * strides
    sizes = np.exp(np.clip(output[:, 2:4], -10, 10)) * strides
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    scores = output[:, 4] * output[:, 5 + class_index]
    return boxes, scores


def decode_fastestdet(
    output: np.ndarray, width: int, height: int, class_index: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """FastestDet raw output ``(85, G, G)`` → (xyxy boxes in original pixels, scores).

    Per cell ``(gx, gy)``: ``[obj, tx, ty, tw, th, 80 class scores]``;
    ``cx = (gx + tanh(tx)) / G * W``, ``w = sigmoid(tw) * W`` (same for y/h with H),
    ``score = obj ** 0.6 * class_score ** 0.4``.
    """
    output = np.asarray(output, dtype=np.float32)
    if output.ndim == 4:
        output = output[0]
    _, grid_h, grid_w = output.shape
    gy, gx = np.meshgrid(np.arange(grid_h), np.arange(grid_w), indexing="ij")
    obj, tx, ty, tw, th = (output[i] for i in range(5))
    cls = output[5 + class_index]
    cx = (gx + np.tanh(tx)) / grid_w * width
    cy = (gy + np.tanh(ty)) / grid_h * height
    bw = _sigmoid(tw) * width
    bh = _sigmoid(th) * height
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], -1)
    scores = np.power(np.clip(obj, 0, 1), 0.6) * np.power(np.clip(cls, 0, 1), 0.4)
    return boxes.reshape(-1, 4), scores.reshape(-1)


PICODET_STRIDES = (8, 16, 32, 64)
PICODET_REG_MAX = 7  # each side is a distribution over 0..7 strides (GFL)


def decode_picodet(
    class_scores: Sequence[np.ndarray],
    distributions: Sequence[np.ndarray],
    input_size: int,
    width: int,
    height: int,
    class_index: int = 0,
    floor_score: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """PicoDet's eight outputs → (xyxy boxes in original pixels, person scores).

    ``class_scores[k]``: ``(1, N_k, 80)`` already sigmoid-ed; ``distributions[k]``:
    ``(1, N_k, 32)`` = 4 sides (left, top, right, bottom) x 8 bins, for strides 8,
    16, 32, 64; ``N_k = ceil(S / stride)²`` cells in row-major order. A cell's centre
    is ``((col + 0.5) * stride, (row + 0.5) * stride)``; each side's distance is the
    expectation of the softmax over its bins, times the stride. Boxes on the
    ``S x S`` canvas are scaled by ``(W / S, H / S)``. Only cells scoring at least
    ``floor_score`` are decoded (the softmax is most of the cost).
    """
    bins = np.arange(PICODET_REG_MAX + 1, dtype=np.float32)
    all_boxes, all_scores = [], []
    for stride, scores, dist in zip(
        PICODET_STRIDES, class_scores, distributions, strict=True
    ):
        cells = math.ceil(input_size / stride)
        scores = np.asarray(scores, dtype=np.float32).reshape(-1, scores.shape[-1])
        if scores.shape[0] != cells * cells:
            raise ValueError(
                f"stride {stride}: expected {cells * cells} cells, "
                f"got {scores.shape[0]}"
            )
        person = scores[:, class_index]
        keep = np.flatnonzero(person >= floor_score)
        rows, cols = np.divmod(keep, cells)
        centre_x = (cols + 0.5) * stride
        centre_y = (rows + 0.5) * stride
        logits = np.asarray(dist, dtype=np.float32).reshape(-1, 4, bins.size)[keep]
        weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        left, top, right, bottom = ((weights * bins).sum(axis=-1) * stride).T
        all_boxes.append(
            np.stack(
                [centre_x - left, centre_y - top, centre_x + right, centre_y + bottom],
                axis=1,
            )
        )
        all_scores.append(person[keep])
    boxes = np.concatenate(all_boxes).reshape(-1, 4).astype(np.float64)
    boxes *= np.array([width, height, width, height]) / input_size
    return boxes, np.concatenate(all_scores).astype(np.float64)


class _OnnxDetector:
    # Subclasses define ``detect`` (the PersonDetector protocol).
    """An onnxruntime session with one image input; subclasses pre/post-process.

    The portal passes the ``session`` that ``models_store.loading`` built; a
    ``path`` (scripts, tests of this module) opens the file directly.
    """

    key = ""
    input_size = 0

    def __init__(
        self,
        path: Path | None = None,
        key: str | None = None,
        input_size: int | None = None,
        threads: int = 1,
        person_class: int = 0,
        *,
        session: Any = None,
    ) -> None:
        if (path is None) == (session is None):
            raise TypeError("pass either a path or a session")
        self.key = key or self.key
        self.input_size = input_size or self.input_size
        self.person_class = person_class
        if session is None:
            assert path is not None  # checked above: exactly one of the two
            session = build_onnx_session(path, threads)
        self.session = session
        self.input_name = self.session.get_inputs()[0].name


class OnnxYoloxDetector(_OnnxDetector):
    """YOLOX-Nano (Megvii, 2021) exported to ONNX, run with onnxruntime on the CPU."""

    key = "yolox-nano"
    input_size = 416

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]:
        height, width = rgb.shape[:2]
        tensor, ratio = letterbox(rgb, self.input_size)
        (output,) = self.session.run(None, {self.input_name: tensor})
        boxes, scores = decode_yolox(output[0], self.input_size, self.person_class)
        return to_person_boxes(boxes / ratio, scores, width, height, floor_score)


class OnnxFastestDetDetector(_OnnxDetector):
    """FastestDet (dog-qiuqiu, 2022): a 0.24 M-parameter anchor-free ONNX detector."""

    key = "fastestdet"
    input_size = 352

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]:
        height, width = rgb.shape[:2]
        tensor = resize_plain(rgb, self.input_size)
        (output,) = self.session.run(None, {self.input_name: tensor})
        boxes, scores = decode_fastestdet(output, width, height, self.person_class)
        return to_person_boxes(boxes, scores, width, height, floor_score)


class OnnxPicoDetDetector(_OnnxDetector):
    """PicoDet-S (PaddleDetection, 2021): an anchor-free GFL head on a small ESNet."""

    key = "picodet-s-416"
    input_size = 416

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]:
        height, width = rgb.shape[:2]
        tensor = resize_normalised(rgb, self.input_size)
        outputs = self.session.run(None, {self.input_name: tensor})
        boxes, scores = decode_picodet(
            outputs[:4],
            outputs[4:],
            self.input_size,
            width,
            height,
            self.person_class,
            floor_score,
        )
        return to_person_boxes(boxes, scores, width, height, floor_score)
