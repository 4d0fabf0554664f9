"""Person detectors behind one interface, with each pipeline stage a plain function.

Pure module: numpy, OpenCV, onnxruntime and (lazily) torch, never ``django``.
``demos/ml/detection/detectors.py`` builds the detectors from what
``models_store/loading.py`` hands out; this module never touches the disk except to
open a path it is given.

Conventions: input images are ``H x W x 3`` ``uint8`` RGB arrays
(``imaging.decode_image`` output). Boxes are ``(x1, y1, x2, y2)`` in pixels of that
original image, integers after ``to_person_boxes``, ``x2``/``y2`` exclusive. Scores
are in 0..1. Every detector returns all boxes at or above the caller's
``floor_score`` (so a threshold slider can filter later without re-running the
model), after NMS, clipped to the image, without empty boxes, sorted left to right
(``x1``, then ``y1``).

Stages, each testable on its own: ``letterbox`` / ``resize_plain`` /
``resize_normalised`` (pre-process), ``decode_yolox`` / ``decode_fastestdet`` /
``decode_picodet`` / ``hog_margin_to_score`` (decode), ``nms``, ``clip_boxes``,
``sort_boxes``, and ``to_person_boxes`` which chains threshold → NMS → clip → round →
drop empty → sort. ``fuse_person_boxes`` merges several detectors' boxes with
weighted boxes fusion (the ``ensemble-boxes`` library, imported on first use).
"""

from __future__ import annotations

import inspect
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import cv2
import numpy as np

from models_store.sessions import build_onnx_session
from models_store.tracing import TRACING
from portal.lib.errors import ServiceUnavailable

if TYPE_CHECKING:  # torch is imported lazily: importing it costs about a second.
    import torch

# IoU above which the lower-scoring of two person boxes is dropped (YOLOX's default).
NMS_IOU = 0.45


@dataclass(frozen=True)
class PersonBox:
    """One detected person: integer pixel box in the original image and a 0..1 score."""

    x1: int
    y1: int
    x2: int
    y2: int
    score: float

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1


class PersonDetector(Protocol):
    """What the web layer calls; ``key`` is the registry key (e.g. ``yolox-nano``)."""

    key: str

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]: ...


# ---------------------------------------------------------------- post-processing


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one ``(4,)`` xyxy box with each row of an ``(N, 4)`` array → ``(N,)``."""
    inter_w = np.clip(
        np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None
    )
    inter_h = np.clip(
        np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None
    )
    inter = inter_w * inter_h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = NMS_IOU
) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, highest score first.

    ``boxes``: ``(N, 4)`` float xyxy; ``scores``: ``(N,)``. A box is dropped when its
    IoU with an already kept, higher-scoring box exceeds ``iou_threshold``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        order = rest[box_iou(boxes[best], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip ``(N, 4)`` xyxy boxes to ``[0, width] x [0, height]`` (a copy)."""
    clipped = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    clipped[:, [0, 2]] = np.clip(clipped[:, [0, 2]], 0, width)
    clipped[:, [1, 3]] = np.clip(clipped[:, [1, 3]], 0, height)
    return clipped


def sort_boxes(boxes: list[PersonBox]) -> list[PersonBox]:
    """Left to right by ``x1``, ties top to bottom by ``y1``, then by higher score."""
    return sorted(boxes, key=lambda b: (b.x1, b.y1, -b.score))


def to_person_boxes(
    boxes: np.ndarray,
    scores: np.ndarray,
    width: int,
    height: int,
    floor_score: float,
    iou_threshold: float = NMS_IOU,
) -> list[PersonBox]:
    """Threshold at ``floor_score`` → NMS → clip → round to ints → drop empty → sort.

    ``boxes`` are float xyxy already in original-image pixels, ``scores`` in 0..1.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    mask = scores >= floor_score
    boxes, scores = boxes[mask], scores[mask]
    keep = nms(boxes, scores, iou_threshold)
    clipped = np.rint(clip_boxes(boxes[keep], width, height)).astype(np.int64)
    result = [
        PersonBox(int(x1), int(y1), int(x2), int(y2), round(float(score), 4))
        for (x1, y1, x2, y2), score in zip(clipped, scores[keep], strict=True)
        if x2 > x1 and y2 > y1
    ]
    return sort_boxes(result)


# ---------------------------------------------------------------- pre-processing


def letterbox(rgb: np.ndarray, size: int, fill: int = 114) -> tuple[np.ndarray, float]:
    """YOLOX pre-processing: scale to fit ``size x size``, paste top-left on grey.

    Returns ``(tensor, ratio)``: tensor ``(1, 3, size, size)`` float32 **BGR** with raw
    0..255 values (YOLOX's export expects no normalisation); divide boxes predicted on
    the canvas by ``ratio`` to get original pixels.
    """
    height, width = rgb.shape[:2]
    ratio = min(size / height, size / width)
    new_w, new_h = max(1, int(width * ratio)), max(1, int(height * ratio))
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), fill, dtype=np.uint8)
    canvas[:new_h, :new_w] = resized
    bgr = canvas[:, :, ::-1]
    tensor = np.ascontiguousarray(bgr.transpose(2, 0, 1)[None], dtype=np.float32)
    return tensor, ratio


def resize_plain(rgb: np.ndarray, size: int) -> np.ndarray:
    """FastestDet pre-processing: stretch to ``size``², BGR / 255, NCHW float32."""
    resized = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR)
    bgr = resized[:, :, ::-1].astype(np.float32) / 255.0
    return np.ascontiguousarray(bgr.transpose(2, 0, 1)[None])


# PicoDet (PaddleDetection) normalises RGB with the ImageNet mean and std, in 0..255.
PICODET_MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
PICODET_STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def resize_normalised(rgb: np.ndarray, size: int) -> np.ndarray:
    """PicoDet pre-processing: stretch to ``size``², RGB, ``(x - mean) / std``, NCHW.

    Returns ``(1, 3, size, size)`` float32; boxes come back on the ``size x size``
    canvas and scale to the photo by ``(W / size, H / size)``.
    """
    resized = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR)
    normalised = (resized.astype(np.float32) - PICODET_MEAN) / PICODET_STD
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None])


# ---------------------------------------------------------------- decoding


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


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


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


# HOG's linear SVM gives a margin (about -1..+2; 0 is the classic cut-off). A logistic
# maps it monotonically onto 0..1 so one threshold slider fits every detector:
# margin 0 → 0.29, 0.3 → 0.5, 0.5 → 0.65, 1.0 → 0.89.
HOG_MARGIN_CENTRE = 0.3
HOG_MARGIN_SLOPE = 3.0


def hog_margin_to_score(margin: np.ndarray) -> np.ndarray:
    """SVM margin → 0..1: ``1 / (1 + exp(-3 * (margin - 0.3)))`` (monotonic)."""
    margin = np.asarray(margin, dtype=np.float64)
    return _sigmoid(HOG_MARGIN_SLOPE * (margin - HOG_MARGIN_CENTRE))


def hog_score_to_margin(score: float) -> float:
    """Inverse of ``hog_margin_to_score``: the SVM ``hitThreshold`` for a score."""
    score = min(max(score, 1e-6), 1 - 1e-6)
    return HOG_MARGIN_CENTRE + math.log(score / (1 - score)) / HOG_MARGIN_SLOPE


# ---------------------------------------------------------------- detectors


def fits_hog_window(shape: tuple[int, ...], window: tuple[int, int]) -> bool:
    """Whether an ``H x W (x C)`` image can hold one ``(width, height)`` HOG window.

    ``detectMultiScale`` only ever shrinks the image, so a smaller image has no
    window to score; worse, OpenCV 4.x crashes the process (segfault or abort) on
    images 64-94 px tall. The guard refuses before the native call.
    """
    height, width = shape[:2]
    return width >= window[0] and height >= window[1]


class HogPersonDetector:
    """OpenCV's built-in HOG + linear SVM pedestrian detector (Dalal & Triggs, 2005).

    Needs no file. It finds upright, mostly full-body people at least 64x128 px
    (after the photo is scaled to at most ``max_side``); portraits and seated people
    are usually missed, which is the point of comparing it with YOLOX.
    """

    key = "opencv-hog"

    def __init__(self, max_side: int = 800, iou_threshold: float = 0.3) -> None:
        self.max_side = max_side
        # Raw HOG windows overlap more than CNN boxes, so NMS is stricter here.
        self.iou_threshold = iou_threshold
        self._local = threading.local()  # HOGDescriptor is not safe across threads

    def _hog(self) -> cv2.HOGDescriptor:
        hog = getattr(self._local, "hog", None)
        if hog is None:
            hog = cv2.HOGDescriptor()
            hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())  # type: ignore[attr-defined]
            self._local.hog = hog
        return hog

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]:
        height, width = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))
        small = (
            cv2.resize(
                rgb,
                (max(1, round(width * scale)), max(1, round(height * scale))),
                interpolation=cv2.INTER_AREA,
            )
            if scale < 1
            else rgb
        )
        if not fits_hog_window(small.shape, tuple(self._hog().winSize)):  # type: ignore[arg-type]
            return []
        # groupThreshold=0: keep raw windows with their margins; we run NMS ourselves.
        rects, margins = self._hog().detectMultiScale(
            small,
            hitThreshold=hog_score_to_margin(floor_score),
            winStride=(8, 8),
            padding=(16, 16),
            scale=1.05,
            groupThreshold=0,
        )
        if len(rects) == 0:
            return []
        corners = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        boxes = np.concatenate([corners[:, :2], corners[:, :2] + corners[:, 2:]], 1)
        boxes /= scale
        scores = hog_margin_to_score(np.asarray(margins).reshape(-1))
        return to_person_boxes(
            boxes, scores, width, height, floor_score, self.iou_threshold
        )


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


# ---------------------------------------------------------------- fusion

# Boxes of two detectors overlapping more than this are one person (WBF's usual 0.55).
FUSION_IOU = 0.55


def mirror_boxes(boxes: Sequence[PersonBox], width: int) -> list[PersonBox]:
    """Boxes found on a horizontally flipped photo, mapped back: ``x → width - x``."""
    return [PersonBox(width - b.x2, b.y1, width - b.x1, b.y2, b.score) for b in boxes]


def fuse_person_boxes(
    box_sets: Sequence[Sequence[PersonBox]],
    width: int,
    height: int,
    floor_score: float,
    weights: Sequence[float] | None = None,
    iou_threshold: float = FUSION_IOU,
) -> list[PersonBox]:
    """Merge several detectors' boxes of one photo with weighted boxes fusion.

    ``box_sets[i]`` are detector ``i``'s boxes (original pixels, 0..1 scores).
    Boxes (of any detector) overlapping by more than ``iou_threshold`` become
    one box: its corners are the score-weighted mean of theirs, its score their mean
    score times (number of detectors that found it) / (number of detectors), so a
    person every detector sees keeps its score and one only a single detector
    reports is halved (two detectors). Returns sorted boxes >= ``floor_score``.
    """
    from ensemble_boxes import weighted_boxes_fusion

    scale = np.array([width, height, width, height], dtype=np.float64)
    fused, scores, _labels = weighted_boxes_fusion(
        [
            np.array([b.box for b in s], dtype=np.float64).reshape(-1, 4) / scale
            for s in box_sets
        ],  # WBF wants 0..1 coordinates
        [[b.score for b in s] for s in box_sets],
        [[0] * len(s) for s in box_sets],  # one class: person
        weights=list(weights) if weights is not None else None,
        iou_thr=iou_threshold,
        skip_box_thr=floor_score,
    )
    return to_person_boxes(
        np.asarray(fused).reshape(-1, 4) * scale, scores, width, height, floor_score
    )


class FusedPersonDetector:
    """Several detectors on the same photo, their boxes merged by ``fuse_person_boxes``.

    With ``flip``, each part also runs on the mirrored photo (test-time
    augmentation): twice the time, one more vote per part.
    """

    def __init__(
        self,
        parts: Sequence[PersonDetector],
        key: str,
        *,
        flip: bool = False,
        iou_threshold: float = FUSION_IOU,
    ) -> None:
        self.parts = list(parts)
        self.key = key
        self.flip = flip
        self.iou_threshold = iou_threshold

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]:
        height, width = rgb.shape[:2]
        box_sets = [part.detect(rgb, floor_score) for part in self.parts]
        if self.flip:
            mirrored = np.ascontiguousarray(rgb[:, ::-1])
            box_sets += [
                mirror_boxes(part.detect(mirrored, floor_score), width)
                for part in self.parts
            ]
        return fuse_person_boxes(
            box_sets, width, height, floor_score, iou_threshold=self.iou_threshold
        )


def rgb_to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """``H x W x 3`` uint8 RGB → ``(3, H, W)`` float32 in 0..1 (torchvision's input)."""
    import torch

    array = np.require(rgb, np.uint8, requirements=["C", "W"])  # torch needs writable
    return torch.from_numpy(array).permute(2, 0, 1).float() / 255.0


class TorchDeviceUnavailable(ServiceUnavailable):
    """The configured torch device (e.g. ``cuda``) does not exist on this machine."""


def choose_torch_device(requested: str, cuda_available: bool | None = None) -> str:
    """The torch device to run on: ``cpu``, ``cuda`` or ``cuda:N``.

    ``auto`` picks ``cuda`` when CUDA is available, else ``cpu``. Asking for CUDA
    on a machine without it raises ``TorchDeviceUnavailable`` (→ 503) rather than
    silently running a GPU-sized model on the CPU. ``cuda_available`` defaults to
    ``torch.cuda.is_available()``.
    """
    value = requested.strip().lower() or "auto"
    is_cuda = value == "cuda" or (
        value.startswith("cuda:") and value.removeprefix("cuda:").isdigit()
    )
    if value not in {"auto", "cpu"} and not is_cuda:
        raise ValueError(
            f"torch device must be auto, cpu, cuda or cuda:N, got {requested!r}"
        )
    if value == "cpu":
        return "cpu"
    if cuda_available is None:
        import torch

        cuda_available = bool(torch.cuda.is_available())
    if value == "auto":
        return "cuda" if cuda_available else "cpu"
    if not cuda_available:
        raise TorchDeviceUnavailable(
            f"PORTAL_TORCH_DEVICE is {requested!r} but CUDA is not available on "
            "this machine (no GPU, or torch was built without CUDA). Set "
            "PORTAL_TORCH_DEVICE=auto or cpu, or run this worker on a GPU host."
        )
    return value


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


# The few real lines shown in the "how it works" panel, per detector family (ONNX
# detectors by decoder; "onnx" is YOLOX). The fusion panel is this module's own code.
HOW_IT_WORKS: dict[str, str] = {
    "opencv": """\
import cv2

hog = cv2.HOGDescriptor()  # 64x128 window, 9-bin gradient histograms
hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
# slide the window over an image pyramid; each hit has an SVM margin
rects, margins = hog.detectMultiScale(
    image, hitThreshold=-0.68, winStride=(8, 8), scale=1.05, groupThreshold=0
)
scores = 1 / (1 + np.exp(-3 * (margins - 0.3)))  # margin -> 0..1
keep = nms(rects, scores, iou=0.3)  # drop overlapping windows
""",
    "onnx": """\
import onnxruntime as ort

session = ort.InferenceSession("yolox_nano.onnx")
r = min(416 / h, 416 / w)  # letterbox: fit, paste top-left on grey
canvas = np.full((416, 416, 3), 114, np.uint8)
canvas[: int(h * r), : int(w * r)] = cv2.resize(image, (int(w * r), int(h * r)))
x = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)  # BGR, NCHW
(out,) = session.run(None, {"images": x})  # (1, 3549, 85): 52^2 + 26^2 + 13^2 cells
centres = (out[0, :, :2] + grid) * stride  # stride 8, 16 or 32 per cell
sizes = np.exp(out[0, :, 2:4]) * stride
scores = out[0, :, 4] * out[0, :, 5]  # objectness x P(person)
keep = nms(boxes / r, scores, iou=0.45)  # back to original pixels
""",
    "torchvision": """\
import torch
from torchvision.models.detection import fasterrcnn_resnet50_fpn_v2

model = fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None)
model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
model.eval()
x = torch.from_numpy(image).permute(2, 0, 1).float() / 255  # (3, H, W) in 0..1
with torch.inference_mode():
    (out,) = model([x])  # resizes, normalises and runs NMS inside
people = out["labels"] == 1  # COCO label 1 = person
boxes, scores = out["boxes"][people], out["scores"][people]
""",
}
HOW_IT_WORKS["picodet"] = """\
import onnxruntime as ort

session = ort.InferenceSession("picodet_s_416_coco.onnx")
x = cv2.resize(image, (416, 416)).astype(np.float32)  # RGB, stretched
x = (x - [123.675, 116.28, 103.53]) / [58.395, 57.12, 57.375]  # ImageNet mean/std
outputs = session.run(None, {"image": x.transpose(2, 0, 1)[None]})
for stride, cls, dist in zip((8, 16, 32, 64), outputs[:4], outputs[4:]):
    # cls: (1, cells, 80) P(class); dist: (1, cells, 4 sides x 8 bins)
    p = softmax(dist.reshape(-1, 4, 8), axis=-1)  # where is each side?
    left, top, right, bottom = (p * np.arange(8)).sum(-1).T * stride
    boxes = [cx - left, cy - top, cx + right, cy + bottom]  # cx = (col + .5) * stride
    scores = cls[0, :, 0]  # COCO class 0 = person
keep = nms(boxes * (w / 416, h / 416), scores, iou=0.45)
"""
HOW_IT_WORKS["fusion"] = inspect.getsource(fuse_person_boxes)


def how_it_works(family: str, decoder: str | None = None) -> str:
    """The panel's code for a detector: by ONNX decoder if there is one, else family."""
    return HOW_IT_WORKS.get(decoder or "", "") or HOW_IT_WORKS.get(family, "")
