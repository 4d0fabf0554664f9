"""The arithmetic behind the lesson widgets: kernels, output sizes, pooling, IoU, NMS
(YOLOv1 by hand: ``yolo_by_hand.py``).

Pure module (numpy and OpenCV only; never Django, never torch): every function takes
arrays or plain numbers and returns the same, so the tests can hold each result
against the reference implementation (``cv2.filter2D``, ``torch.nn.Conv2d``,
``torch.nn.functional.max_pool2d``/``avg_pool2d``, ``torchvision.ops.box_iou``/``nms``).

Conventions: images are ``H x W`` (grey) or ``H x W x 3`` (RGB) ``uint8`` arrays;
boxes are ``(x1, y1, x2, y2)`` in pixels with ``x2 > x1`` and ``y2 > y1`` (the
torchvision convention: area is ``(x2 - x1) * (y2 - y1)``, no ``+ 1``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from portal.lib.errors import BadInput, TranslatedBadInput, gettext_noop
from portal.lib.numbers import InvalidNumber, parse_number

Box = tuple[float, float, float, float]


class InvalidKernel(TranslatedBadInput):
    """A typed kernel is not a square grid of numbers with an odd side (the
    message in the request's language when Django is loaded)."""


_ODD_SIDE = gettext_noop("A kernel's side must be odd: 1, 3, 5 or 7.")


class InvalidLayerShape(BadInput):
    """A layer's sizes give no output (the kernel does not fit the padded input)."""


# Kernels the playground offers; correlation kernels, as cv2.filter2D and
# torch.nn.Conv2d apply them (no flipping).
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    "box-blur": np.full((3, 3), 1 / 9, dtype=np.float32),
    "gaussian": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
    "sobel-x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "sobel-y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float32),
    "box-blur-5": np.full((5, 5), 1 / 25, dtype=np.float32),
    "gaussian-5": (np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float32) / 256),
}

MAX_KERNEL_SIDE = 7


def parse_kernel(text: str) -> np.ndarray:
    """Read a kernel typed by a student: one row per line (or ``;``), numbers
    separated by spaces or commas; fractions like ``1/9`` are allowed.

    Returns a float32 ``k x k`` array with odd ``k`` from 1 to 7.

    >>> parse_kernel("0 -1 0; -1 5 -1; 0 -1 0").shape
    (3, 3)
    """
    rows = [row for row in re.split(r"[;\n]+", text.strip()) if row.strip()]
    if len(rows) > MAX_KERNEL_SIDE:
        raise InvalidKernel(_ODD_SIDE)
    try:
        # The bounded parser, never Fraction(): "1e-99999999" would build a
        # 100-million-digit integer while holding the GIL.
        values = [
            [
                parse_number(cell, allow_fraction=True)
                for cell in re.split(r"[\s,]+", row.strip())[: MAX_KERNEL_SIDE + 1]
            ]
            for row in rows
        ]
    except InvalidNumber as exc:
        raise InvalidKernel(
            gettext_noop(
                "A kernel holds numbers only (like 1, -2, 0.25 or 1/9). %(reason)s"
            ),
            reason=str(exc),
        ) from exc
    side = len(values)
    if side == 0 or any(len(row) != side for row in values):
        raise InvalidKernel(
            gettext_noop("A kernel must be square: as many rows as columns.")
        )
    if side % 2 == 0 or side > MAX_KERNEL_SIDE:
        raise InvalidKernel(_ODD_SIDE)
    kernel = np.array(values, dtype=np.float32)
    if not np.isfinite(kernel).all() or np.abs(kernel).max() > 1e4:
        raise InvalidKernel(
            gettext_noop("Kernel values must be finite and at most 10000.")
        )
    return kernel


def correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Slide ``kernel`` over ``image`` and return the raw float32 response.

    Same size as the input (``H x W`` or ``H x W x 3``, each channel on its own);
    borders are reflected without repeating the edge pixel (OpenCV's
    ``BORDER_REFLECT_101``), so this equals ``cv2.filter2D(image, cv2.CV_32F, kernel)``.
    Written with numpy on purpose: it is the loop the lesson describes.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    k_h, k_w = kernel.shape
    if k_h % 2 == 0 or k_w % 2 == 0:
        raise InvalidKernel("A kernel's side must be odd: 1, 3, 5 or 7.")
    data = np.asarray(image, dtype=np.float64)
    pad_y, pad_x = k_h // 2, k_w // 2
    pad = [(pad_y, pad_y), (pad_x, pad_x)] + [(0, 0)] * (data.ndim - 2)
    padded = np.pad(data, pad, mode="reflect")  # numpy "reflect" == REFLECT_101
    height, width = data.shape[:2]
    out = np.zeros_like(data)
    for dy in range(k_h):
        for dx in range(k_w):
            weight = kernel[dy, dx]
            if weight:
                out += weight * padded[dy : dy + height, dx : dx + width]
    return out.astype(np.float32)


def apply_kernel(
    image: np.ndarray, kernel: np.ndarray, *, mode: str = "clip"
) -> np.ndarray:
    """Filter a ``uint8`` image and return a ``uint8`` image of the same shape.

    ``mode="clip"`` rounds and clips to 0..255 exactly as
    ``cv2.filter2D(image, -1, kernel)`` does: negative edge responses become black.
    ``mode="abs"`` shows the magnitude ``|response|`` instead, so edges of both
    signs are visible (what a student usually wants for Sobel and Laplacian).
    """
    response = correlate(image, kernel)
    if mode == "abs":
        response = np.abs(response)
    elif mode != "clip":
        raise BadInput(f"Unknown display mode {mode!r}: use 'clip' or 'abs'.")
    return np.clip(np.rint(response), 0, 255).astype(np.uint8)


def conv_output_size(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Output side of a convolution or pooling window along one axis.

    ``n`` input size, ``k`` kernel size, ``s`` stride, ``p`` zero padding on each
    side, ``d`` dilation; PyTorch's formula (``floor`` division)::

        out = floor((n + 2p - d(k - 1) - 1) / s) + 1

    >>> conv_output_size(224, 7, s=2, p=3)
    112
    """
    if min(n, k, s, d) < 1 or p < 0:
        raise InvalidLayerShape(
            "Input, kernel, stride and dilation must be at least 1; padding at least 0."
        )
    span = d * (k - 1) + 1  # how many input pixels one dilated kernel covers
    if n + 2 * p < span:
        raise InvalidLayerShape(
            f"The kernel covers {span} pixels but the padded input has only "
            f"{n + 2 * p}: no output."
        )
    return (n + 2 * p - span) // s + 1


@dataclass(frozen=True)
class ConvCost:
    """What one ``nn.Conv2d`` layer costs: learnable numbers and work per image."""

    weights: int
    biases: int
    mult_adds: int

    @property
    def params(self) -> int:
        return self.weights + self.biases

    @property
    def flops(self) -> int:
        # One multiply-add is two floating-point operations.
        return 2 * self.mult_adds


def conv_cost(
    in_ch: int, out_ch: int, k: int, h_out: int, w_out: int, *, bias: bool = True
) -> ConvCost:
    """Parameters and multiply-adds of a ``k x k`` convolution producing
    ``out_ch x h_out x w_out`` from ``in_ch`` input channels (groups = 1)::

        params    = out_ch * in_ch * k * k (+ out_ch biases)
        mult_adds = out_ch * h_out * w_out * in_ch * k * k

    >>> conv_cost(3, 64, 3, 224, 224).params
    1792
    """
    if min(in_ch, out_ch, k, h_out, w_out) < 1:
        raise InvalidLayerShape("Channels, kernel and output size must be at least 1.")
    per_output = in_ch * k * k
    return ConvCost(
        weights=out_ch * per_output,
        biases=out_ch if bias else 0,
        mult_adds=out_ch * h_out * w_out * per_output,
    )


def pool(
    feature_map: np.ndarray, kind: str, size: int, stride: int | None = None
) -> np.ndarray:
    """Max or average pooling of one ``H x W`` map (no padding, floor mode).

    ``stride`` defaults to ``size`` as in PyTorch. Returns float32 of shape
    ``conv_output_size(H, size, stride) x conv_output_size(W, size, stride)``,
    equal to ``F.max_pool2d`` / ``F.avg_pool2d`` on the same numbers.
    """
    stride = stride or size
    data = np.asarray(feature_map, dtype=np.float32)
    if data.ndim != 2:
        raise BadInput("Pooling here takes one 2-D feature map.")
    out_h = conv_output_size(data.shape[0], size, stride)
    out_w = conv_output_size(data.shape[1], size, stride)
    windows = np.lib.stride_tricks.sliding_window_view(data, (size, size))
    windows = windows[::stride, ::stride][:out_h, :out_w]
    if kind == "max":
        return windows.max(axis=(2, 3))
    if kind == "avg":
        return windows.mean(axis=(2, 3), dtype=np.float64).astype(np.float32)
    raise BadInput(f"Unknown pooling {kind!r}: use 'max' or 'avg'.")


def edge_feature_map(rgb: np.ndarray, side: int = 96) -> np.ndarray:
    """A real first-layer feature map for the pooling lesson: the image shrunk to
    fit ``side x side``, greyscale, Sobel-x convolution, then ReLU, scaled to 0..255.

    Returns ``uint8`` ``h x w`` with ``max(h, w) == side``.
    """
    gray = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = side / max(gray.shape[:2])
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    response = np.maximum(correlate(small, KERNELS["sobel-x"]), 0)  # ReLU
    top = float(response.max()) or 1.0
    return np.rint(response * (255 / top)).astype(np.uint8)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x1, y1, x2, y2)`` boxes, 0..1.

    >>> iou((0, 0, 10, 10), (5, 0, 15, 10))
    0.3333333333333333
    """
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def inside_share(a: Sequence[float], b: Sequence[float]) -> float:
    """How much of the smaller of two ``(x1, y1, x2, y2)`` boxes lies inside the
    other: intersection over the smaller box's area, 0..1 (1 when nested).

    IoU divides by the union, so a small box wholly inside a big one scores low
    on IoU and 1 here.

    >>> inside_share((0, 0, 10, 10), (0, 0, 5, 5))
    1.0
    """
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return inter_w * inter_h / smaller if smaller > 0 else 0.0


@dataclass(frozen=True)
class NmsStep:
    """One round of non-maximum suppression, for the step-by-step animation.

    ``keep`` is the index (into the input) of the best box still in play;
    ``compared`` lists every other box still in play with its IoU to ``keep``;
    ``suppressed`` are those removed in this round: IoU above the threshold, or
    (with a nested rule) lying mostly inside ``keep``; ``nested`` the ones of
    them removed by the nested rule alone; ``inside`` the intersection over the
    smaller box of each compared box, in ``compared``'s order; ``remaining`` the
    ones that go on to the next round, best score first.
    """

    keep: int
    compared: tuple[tuple[int, float], ...]
    suppressed: tuple[int, ...]
    remaining: tuple[int, ...]
    nested: tuple[int, ...] = ()
    inside: tuple[float, ...] = ()


def nms_steps(
    boxes: Sequence[Sequence[float]],
    scores: Sequence[float],
    iou_threshold: float,
    nested_threshold: float | None = None,
) -> list[NmsStep]:
    """Greedy NMS, recorded round by round.

    Take the highest-scoring box left, keep it, drop every remaining box whose
    IoU with it is greater than ``iou_threshold``; repeat. The kept indices,
    ``[step.keep for step in steps]``, equal ``torchvision.ops.nms`` (ties in
    score go to the lower index). With ``nested_threshold`` a box is also
    dropped when more than that share of it lies inside the kept box
    (``inside_share``): the nested boxes IoU alone lets through.
    """
    if len(boxes) != len(scores):
        raise BadInput("Every box needs exactly one score.")
    order = [int(i) for i in np.argsort(-np.asarray(scores, float), kind="stable")]
    steps: list[NmsStep] = []
    while order:
        best, rest = order[0], order[1:]
        compared = tuple((i, iou(boxes[best], boxes[i])) for i in rest)
        inside = tuple(inside_share(boxes[best], boxes[i]) for i in rest)
        by_iou = {i for i, value in compared if value > iou_threshold}
        nested = tuple(
            i
            for (i, _), share in zip(compared, inside, strict=True)
            if i not in by_iou
            and nested_threshold is not None
            and share > nested_threshold
        )
        suppressed = tuple(i for i in rest if i in by_iou or i in nested)
        order = [i for i in rest if i not in suppressed]
        steps.append(NmsStep(best, compared, suppressed, tuple(order), nested, inside))
    return steps


def nms(
    boxes: Sequence[Sequence[float]], scores: Sequence[float], iou_threshold: float
) -> list[int]:
    """Indices of the boxes NMS keeps, best score first."""
    return [step.keep for step in nms_steps(boxes, scores, iou_threshold)]


@dataclass(frozen=True)
class Candidate:
    """A detector box in original-image pixels, and which view of the photo found it."""

    box: Box
    score: float
    view: str


# (name, x0, y0, x1, y1) as fractions of the image: what the detector is shown.
CANDIDATE_VIEWS: tuple[tuple[str, float, float, float, float], ...] = (
    ("original", 0.0, 0.0, 1.0, 1.0),
    ("mirrored", 0.0, 0.0, 1.0, 1.0),
    ("zoom-top-left", 0.0, 0.0, 0.85, 0.85),
    ("zoom-bottom-right", 0.15, 0.15, 1.0, 1.0),
)


# A box this close (in the view's pixels) to a zoomed view's cut edge was cut by it.
CUT_EDGE_MARGIN = 3


def _cut_by_crop(box: Box, crop: Box, width: int, height: int) -> bool:
    """Whether ``box`` (in the resized view's pixels, ``width x height``) touches
    an edge of the view where ``crop`` cut the photo (not the photo's own edge)."""
    bx1, by1, bx2, by2 = box
    x0, y0, x1, y1 = crop
    margin = CUT_EDGE_MARGIN
    return (
        (x0 > 0 and bx1 <= margin)
        or (y0 > 0 and by1 <= margin)
        or (x1 < width and bx2 >= width - margin)
        or (y1 < height and by2 >= height - margin)
    )


def candidate_boxes(
    rgb: np.ndarray, detect: Callable[[np.ndarray], Sequence[tuple[Box, float]]]
) -> list[Candidate]:
    """Collect overlapping candidate boxes for the NMS lesson from a real detector.

    A finished detector already ran NMS on its thousands of raw boxes; to give
    the student something to suppress, the detector looks at the photo several
    times (as is, mirrored, and two zoomed-in crops scaled back to full size) and
    every box is mapped back to the original image. Boxes of one person from
    different views overlap heavily, exactly like raw detector output. A box
    touching a zoomed view's cut edge (within ``CUT_EDGE_MARGIN`` pixels) is
    dropped: it is a person cut in half by the crop, not a look at a whole
    person (the tiled person counter, ``detection/tiling.py``, drops them too).
    ``detect(rgb)`` returns ``[((x1, y1, x2, y2), score), ...]`` in its input's pixels.
    """
    height, width = rgb.shape[:2]
    found: list[Candidate] = []
    for name, fx0, fy0, fx1, fy1 in CANDIDATE_VIEWS:
        x0, y0 = round(fx0 * width), round(fy0 * height)
        x1, y1 = round(fx1 * width), round(fy1 * height)
        view = rgb[y0:y1, x0:x1]
        if name == "mirrored":
            view = view[:, ::-1]
        scale_x, scale_y = (x1 - x0) / width, (y1 - y0) / height
        if (x1 - x0, y1 - y0) != (width, height):
            view = cv2.resize(view, (width, height), interpolation=cv2.INTER_LINEAR)
        for (bx1, by1, bx2, by2), score in detect(np.ascontiguousarray(view)):
            if _cut_by_crop((bx1, by1, bx2, by2), (x0, y0, x1, y1), width, height):
                continue
            if name == "mirrored":
                bx1, bx2 = width - bx2, width - bx1
            box = (
                x0 + bx1 * scale_x,
                y0 + by1 * scale_y,
                x0 + bx2 * scale_x,
                y0 + by2 * scale_y,
            )
            found.append(Candidate(tuple(round(v, 1) for v in box), float(score), name))
    return found


# --- Convolution step by step (lesson 1) -------------------------------------

# The notes' example: a 5x5 binary image and an "X" filter → a 3x3 feature map.
STEP_INPUT = np.array(
    [
        [1, 1, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 0, 1, 1, 1],
        [0, 0, 1, 1, 0],
        [0, 1, 1, 0, 0],
    ],
    dtype=np.int64,
)
STEP_KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.int64)
# Three channels plus a bias (CNN Explainer's view): one 3x3 kernel per channel,
# the three products summed with the bias into one output map.
STEP_RGB_INPUT = np.array(
    [
        [[0, 1, 2, 1, 0], [2, 2, 0, 0, 1], [1, 0, 1, 2, 2], [0, 2, 1, 1, 0],
         [1, 1, 0, 2, 1]],
        [[1, 0, 0, 2, 1], [0, 1, 2, 1, 0], [2, 1, 1, 0, 0], [1, 2, 0, 1, 2],
         [0, 0, 2, 1, 1]],
        [[2, 1, 0, 0, 2], [1, 0, 1, 2, 1], [0, 2, 2, 1, 0], [2, 1, 0, 0, 1],
         [1, 2, 1, 0, 0]],
    ],
    dtype=np.int64,
)  # fmt: skip
STEP_RGB_KERNELS = np.array(
    [
        [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
        [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
        [[-1, -1, 0], [-1, 0, 1], [0, 1, 1]],
    ],
    dtype=np.int64,
)  # fmt: skip
STEP_RGB_BIAS = 1


@dataclass(frozen=True)
class ConvStep:
    """One output cell: where the window is and every number that makes it.

    ``products[c]``: the k*k products ``kernel[c, i, j] * input[c, row + i,
    col + j]`` of channel ``c`` in reading order; ``channel_sums[c]``: their sum;
    ``total`` = sum of the channel sums + bias.
    """

    row: int
    col: int
    products: list[list[int]]
    channel_sums: list[int]
    total: int


def conv_steps(
    image: np.ndarray, kernels: np.ndarray, bias: int = 0
) -> tuple[np.ndarray, list[ConvStep]]:
    """A "valid" (no padding, stride 1) multi-channel convolution done cell by cell.

    ``image``: ``C x H x W`` (or ``H x W``) integers; ``kernels``: ``C x k x k``
    (or ``k x k``), one per channel, all summed into one output map
    (``nn.Conv2d(C, 1, k)``) → ``(output (H-k+1) x (W-k+1), steps)``.

    >>> out, steps = conv_steps(STEP_INPUT, STEP_KERNEL)
    >>> out.tolist(), steps[0].products[0]
    ([[4, 3, 4], [2, 4, 3], [2, 3, 4]], [1, 0, 1, 0, 1, 0, 0, 0, 1])
    """
    image = image[None] if image.ndim == 2 else image
    kernels = kernels[None] if kernels.ndim == 2 else kernels
    channels, height, width = image.shape
    k = kernels.shape[-1]
    if kernels.shape != (channels, k, k):
        raise InvalidKernel("One square kernel per input channel is needed.")
    out = np.zeros((height - k + 1, width - k + 1), dtype=np.int64)
    steps = []
    for row in range(out.shape[0]):
        for col in range(out.shape[1]):
            window = image[:, row : row + k, col : col + k]
            products = (window * kernels).reshape(channels, -1)
            sums = products.sum(axis=1)
            total = int(sums.sum()) + bias
            out[row, col] = total
            steps.append(ConvStep(row, col, products.tolist(), sums.tolist(), total))
    return out, steps
