"""YOLOv1 worked out by hand (lesson 14): the output layout and one object's targets.

Pure module (plain numbers; never Django, never torch). The grid cell that holds a
box's centre, the centre relative to that cell, the size relative to the image, and
the confidence and class score of a predicted box (its IoU with the true box, from
``demos.ml.playgrounds.iou``), as the vision-tasks widget shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from demos.ml.playgrounds import Box, InvalidLayerShape, iou


@dataclass(frozen=True)
class YoloReport:
    """YOLOv1's output layout and one object's targets, as the lesson works them out.

    ``cell_row``/``cell_col``: the grid cell holding the box centre (row from the
    top); ``x``, ``y``: the centre relative to that cell (0..1); ``w``, ``h``: the
    box size relative to the image (0..1); ``confidence`` = Pr(object) * IoU of
    the predicted box with the true box (Pr(object) = 1 in the responsible cell);
    ``class_score`` = Pr(class | object) * confidence.
    """

    grid: int
    boxes_per_cell: int
    classes: int
    image_size: int
    per_cell: int  # B * 5 + C
    total_outputs: int  # S * S * (B * 5 + C)
    candidate_boxes: int  # S * S * B
    cell_size: float  # pixels per cell side
    cell_row: int
    cell_col: int
    x: float
    y: float
    w: float
    h: float
    sqrt_w: float
    sqrt_h: float
    true_box: Box
    predicted_box: Box
    iou: float
    confidence: float
    class_probability: float
    class_score: float


def _centre_box(cx: float, cy: float, w: float, h: float) -> Box:
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def yolo_report(
    *,
    grid: int = 7,
    boxes_per_cell: int = 2,
    classes: int = 20,
    image_size: int = 448,
    centre: tuple[float, float] = (200, 150),
    size: tuple[float, float] = (100, 80),
    predicted_centre: tuple[float, float] | None = None,
    predicted_size: tuple[float, float] | None = None,
    class_probability: float = 0.9,
) -> YoloReport:
    """Work YOLOv1 out for one object (centre and size in pixels of the square
    ``image_size`` input) and one predicted box (the true box when not given).

    >>> r = yolo_report()
    >>> r.total_outputs, r.cell_row, r.cell_col, r.x, round(r.y, 3)
    (1470, 2, 3, 0.125, 0.344)
    """
    cx, cy = centre
    if not (0 <= cx < image_size and 0 <= cy < image_size):
        raise InvalidLayerShape("The object's centre must lie inside the image.")
    cell = image_size / grid
    col, row = int(cx // cell), int(cy // cell)
    true_box = _centre_box(cx, cy, *size)
    predicted = _centre_box(*(predicted_centre or centre), *(predicted_size or size))
    overlap = iou(true_box, predicted)
    per_cell = boxes_per_cell * 5 + classes
    w, h = size[0] / image_size, size[1] / image_size
    return YoloReport(
        grid=grid,
        boxes_per_cell=boxes_per_cell,
        classes=classes,
        image_size=image_size,
        per_cell=per_cell,
        total_outputs=grid * grid * per_cell,
        candidate_boxes=grid * grid * boxes_per_cell,
        cell_size=cell,
        cell_row=row,
        cell_col=col,
        x=(cx - col * cell) / cell,
        y=(cy - row * cell) / cell,
        w=w,
        h=h,
        sqrt_w=w**0.5,
        sqrt_h=h**0.5,
        true_box=true_box,
        predicted_box=predicted,
        iou=overlap,
        confidence=1.0 * overlap,
        class_probability=class_probability,
        class_score=class_probability * overlap,
    )
