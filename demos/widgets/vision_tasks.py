"""Widget ``vision-tasks`` (lesson 14): classification, detection and segmentation of a
sample, and YOLOv1's grid."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
from django.http import HttpRequest
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.common.samples import all_samples, get_sample
from demos.ml import yolo_by_hand
from demos.widgets.kit import lesson_samples, load_sample_rgb


def vision_tasks_demo(*, sample: str, yolo: dict) -> dict:
    """One sample photo through each task (from its annotated people) and YOLOv1's
    arithmetic for ``yolo`` (the keyword arguments of ``yolo_by_hand.yolo_report``).

    ``people``: each annotated person's box in photo pixels and, with the photo
    stretched to the square YOLO input, its responsible cell and targets;
    ``localisation``: the index of the largest box (a one-object head's answer).
    """
    info = get_sample(sample)
    rgb = load_sample_rgb(sample)
    height, width = rgb.shape[:2]
    report = yolo_by_hand.yolo_report(**yolo)
    side = report.image_size
    people = []
    for box in info.people:
        x1, y1, x2, y2 = box
        centre = ((x1 + x2) / 2 * side / width, (y1 + y2) / 2 * side / height)
        size = ((x2 - x1) * side / width, (y2 - y1) * side / height)
        target = yolo_by_hand.yolo_report(
            grid=report.grid,
            boxes_per_cell=report.boxes_per_cell,
            classes=report.classes,
            image_size=side,
            centre=(min(centre[0], side - 1e-6), min(centre[1], side - 1e-6)),
            size=size,
        )
        people.append(
            {
                "box": list(box),
                "cell": [target.cell_row, target.cell_col],
                "targets": {
                    key: round(getattr(target, key), 4) for key in ("x", "y", "w", "h")
                },
            }
        )
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in info.people]
    return {
        "sample": sample,
        "image_url": info.url,
        "width": int(width),
        "height": int(height),
        "label": "person",
        "people": people,
        "localisation": int(np.argmax(areas)) if areas else None,
        "yolo": {
            key: (list(value) if isinstance(value, tuple) else value)
            for key, value in asdict(report).items()
        },
    }


class VisionTasksApi(APIView):
    """GET → a sample photo's people as each task would report them, and YOLOv1's
    output layout, responsible cell, targets and confidence = Pr(object) * IoU."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        sample = serializers.ChoiceField(
            choices=[s.key for s in all_samples(with_people=True)],
            default="cyclists",
        )
        grid = serializers.IntegerField(min_value=1, max_value=32, default=7)
        boxes_per_cell = serializers.IntegerField(min_value=1, max_value=9, default=2)
        classes = serializers.IntegerField(min_value=1, max_value=1000, default=20)
        image_size = serializers.IntegerField(min_value=32, max_value=1024, default=448)
        cx = serializers.FloatField(min_value=0, max_value=1024, default=200)
        cy = serializers.FloatField(min_value=0, max_value=1024, default=150)
        w = serializers.FloatField(min_value=1, max_value=2048, default=100)
        h = serializers.FloatField(min_value=1, max_value=2048, default=80)
        pred_cx = serializers.FloatField(min_value=0, max_value=1024, required=False)
        pred_cy = serializers.FloatField(min_value=0, max_value=1024, required=False)
        pred_w = serializers.FloatField(min_value=1, max_value=2048, required=False)
        pred_h = serializers.FloatField(min_value=1, max_value=2048, required=False)
        class_probability = serializers.FloatField(
            min_value=0, max_value=1, default=0.9
        )

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        yolo = {
            "grid": v["grid"],
            "boxes_per_cell": v["boxes_per_cell"],
            "classes": v["classes"],
            "image_size": v["image_size"],
            "centre": (v["cx"], v["cy"]),
            "size": (v["w"], v["h"]),
            "predicted_centre": (
                v.get("pred_cx", v["cx"] + 16),
                v.get("pred_cy", v["cy"] + 8),
            ),
            "predicted_size": (v.get("pred_w", v["w"]), v.get("pred_h", v["h"])),
            "class_probability": v["class_probability"],
        }
        return Response(vision_tasks_demo(sample=v["sample"], yolo=yolo))


# What one instance mask is, drawn as a table of 0/1 pixels: a small figure (head,
# body, legs). An illustration, not computed from any photo: no segmentation
# model runs on this server, so the widget draws no masks on the photo.
MASK_EXAMPLE = (
    (0, 0, 0, 1, 1, 0, 0, 0),
    (0, 0, 0, 1, 1, 0, 0, 0),
    (0, 0, 1, 1, 1, 1, 0, 0),
    (0, 1, 1, 1, 1, 1, 1, 0),
    (0, 0, 1, 1, 1, 1, 0, 0),
    (0, 0, 1, 1, 1, 1, 0, 0),
    (0, 0, 1, 0, 0, 1, 0, 0),
    (0, 0, 1, 0, 0, 1, 0, 0),
)


def people_samples_context(request: HttpRequest) -> dict[str, Any]:
    return {"samples": lesson_samples(with_people=True), "mask_example": MASK_EXAMPLE}


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path(
        "playgrounds/vision-tasks/",
        VisionTasksApi.as_view(),
        name="playground-vision-tasks",
    ),
]
