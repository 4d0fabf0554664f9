"""Widget ``iou-nms`` (lesson 10): IoU and NMS on a real detector's candidate boxes."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.common.samples import Sample, get_sample
from demos.ml import playgrounds
from demos.people.selectors import (
    list_demo_runs_for_user,
)
from demos.widgets.kit import SampleField, lesson_samples, load_sample_rgb
from portal.lib.api import BoundedFloatField
from portal.lib.errors import BadInput, ServiceUnavailable

logger = logging.getLogger(__name__)

NMS_FALLBACK_NOTE = "fallback"
# The nested rule: a box lying more than this share inside a kept box goes too.
# Two riders side by side on the default photo share at most 0.44 of the
# smaller one; a half-body box inside a whole-body box, 0.9 to 1.
NESTED_SHARE = 0.8


@dataclass(frozen=True)
class NmsDemo:
    sample: str
    image_url: str
    width: int
    height: int
    detector: str  # registry key, or NMS_FALLBACK_NOTE when no detector could run
    note: str  # why the fallback was used; empty otherwise
    iou_threshold: float
    score_threshold: float
    nested_threshold: float | None  # the nested rule's share; None when it is off
    candidates: list[dict]  # {"box": [x1, y1, x2, y2], "score", "view"}
    # {"keep", "compared": [[i, iou, inside]], "suppressed", "nested", "remaining"}
    steps: list[dict]
    kept: list[int]
    # Kept pairs where one lies mostly inside the other: [[outer, inner, iou, inside]]
    nested_kept: list[list] = field(default_factory=list)
    truth: list[list[int]] = field(default_factory=list)  # annotated people


def _detector_candidates(sample: str, rgb: np.ndarray) -> tuple[str, float, list[dict]]:
    """Candidates from the portal's person detector, cached per (sample, detector),
    with the detector's own default score threshold.

    Raises ``ServiceUnavailable`` when no detector can be loaded.
    """
    try:
        from demos.ml.detection.detectors import default_detector_key, get_detector
        from models_store.registry import get_spec
    except ImportError as exc:  # the model store is not installed
        raise ServiceUnavailable(str(exc)) from exc
    key = default_detector_key()
    default = get_spec(key).default_threshold
    cache_key = f"lesson-nms-candidates:v2:{sample}:{key}"
    found = cache.get(cache_key)
    if found is None:
        detector = get_detector(key)
        floor = settings.DETECTION_FLOOR_SCORE

        def detect(view: np.ndarray) -> list[tuple[playgrounds.Box, float]]:
            return [
                ((b.x1, b.y1, b.x2, b.y2), b.score)
                for b in detector.detect(view, floor)
            ]

        found = [
            {"box": list(c.box), "score": round(c.score, 4), "view": c.view}
            for c in playgrounds.candidate_boxes(rgb, detect)
        ]
        cache.set(cache_key, found, 60 * 60 * 24)
    return key, default, found


def _fallback_candidates(sample: Sample) -> list[dict]:
    """Made-up duplicates around the annotated people, so the lesson still works."""
    rng = np.random.default_rng(len(sample.key))
    found = []
    for person in sample.people:
        x1, y1, x2, y2 = person
        w, h = x2 - x1, y2 - y1
        for view, score in zip(
            ("original", "mirrored", "zoom-top-left"), (0.9, 0.75, 0.6), strict=True
        ):
            jitter = rng.uniform(-0.08, 0.08, size=4) * (w, h, w, h)
            box = [round(float(v), 1) for v in np.add(person, jitter)]
            found.append(
                {
                    "box": box,
                    "score": round(score - rng.uniform(0, 0.1), 4),
                    "view": view,
                }
            )
    return found


MIN_CANDIDATES = 4


def suggested_score_threshold(scores: list[float], default: float) -> float:
    """The detector's default threshold, lowered in 0.05 steps when fewer than
    ``MIN_CANDIDATES`` boxes pass it (HOG scores small photos low), so the
    lesson always has boxes to suppress."""
    ranked = sorted(scores, reverse=True)
    if not ranked or sum(score >= default for score in ranked) >= MIN_CANDIDATES:
        return default
    pick = ranked[min(len(ranked), 2 * MIN_CANDIDATES) - 1]
    return float(max(0.05, min(default, np.floor(pick / 0.05) * 0.05)))


def nested_pairs(boxes: list[list[float]], kept: list[int]) -> list[list]:
    """Pairs of kept boxes where the smaller lies more than ``NESTED_SHARE``
    inside the larger: ``[outer, inner, iou, inside share]``, what IoU-only NMS
    lets through."""
    pairs = []
    for n, a in enumerate(kept):
        for b in kept[n + 1 :]:
            share = playgrounds.inside_share(boxes[a], boxes[b])
            if share > NESTED_SHARE:
                area = [
                    (x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in (boxes[a], boxes[b])
                ]
                outer, inner = (a, b) if area[0] >= area[1] else (b, a)
                value = playgrounds.iou(boxes[a], boxes[b])
                pairs.append([outer, inner, round(value, 3), round(share, 3)])
    return pairs


def nms_demo(
    *,
    sample: str,
    iou_threshold: float,
    score_threshold: float | None = None,
    drop_nested: bool = True,
) -> NmsDemo:
    """NMS step by step on the person detector's boxes for a sample photo.

    Without ``score_threshold`` the detector's default is used (see
    ``suggested_score_threshold``). ``drop_nested`` adds the nested rule (a box
    lying more than ``NESTED_SHARE`` inside a kept box goes too); without it
    the steps are plain IoU NMS, as ``torchvision.ops.nms``.
    """
    info = get_sample(sample)
    rgb = load_sample_rgb(sample)
    note = ""
    try:
        detector, default, candidates = _detector_candidates(sample, rgb)
    except (RuntimeError, BadInput) as exc:  # missing/corrupt model, bad setting
        logger.info("NMS lesson without a detector: %s", exc)
        detector, candidates = NMS_FALLBACK_NOTE, _fallback_candidates(info)
        default = settings.DEFAULT_SCORE_THRESHOLD
        note = str(exc)
    if score_threshold is None:
        score_threshold = suggested_score_threshold(
            [c["score"] for c in candidates], default
        )
    score_threshold = round(float(score_threshold), 2)
    shown = [c for c in candidates if c["score"] >= score_threshold]
    shown.sort(key=lambda c: -c["score"])
    nested_threshold = NESTED_SHARE if drop_nested else None
    boxes = [c["box"] for c in shown]
    steps = playgrounds.nms_steps(
        boxes, [c["score"] for c in shown], iou_threshold, nested_threshold
    )
    kept = [step.keep for step in steps]
    return NmsDemo(
        sample=sample,
        image_url=info.url,
        width=int(rgb.shape[1]),
        height=int(rgb.shape[0]),
        detector=detector,
        note=note,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        nested_threshold=nested_threshold,
        candidates=shown,
        steps=[
            {
                "keep": step.keep,
                "compared": [
                    [i, round(value, 3), round(share, 3)]
                    for (i, value), share in zip(
                        step.compared, step.inside, strict=True
                    )
                ],
                "suppressed": list(step.suppressed),
                "nested": list(step.nested),
                "remaining": list(step.remaining),
            }
            for step in steps
        ],
        kept=kept,
        nested_kept=nested_pairs(boxes, kept),
        truth=[list(box) for box in info.people],
    )


class NmsApi(APIView):
    """GET a sample → candidate person boxes and NMS recorded step by step."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        sample = SampleField(default="cyclists")
        iou_threshold = BoundedFloatField(min_value=0.0, max_value=1.0, default=0.5)
        # Left out: the detector's own default (see suggested_score_threshold).
        score_threshold = BoundedFloatField(
            min_value=0.0, max_value=1.0, required=False
        )
        # The nested rule (see NESTED_SHARE); false: plain IoU NMS.
        drop_nested = serializers.BooleanField(default=True)

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        result = nms_demo(**data.validated_data)
        return Response(asdict(result))


EXERCISE_RUNS = 10


def detection_context(request: HttpRequest) -> dict[str, Any]:
    """Photos with people for NMS, and the student's latest person-demo runs for
    the "every person one by one" exercise."""
    runs = []
    if request.user.is_authenticated:
        runs = list(list_demo_runs_for_user(request.user)[:EXERCISE_RUNS])
    return {
        "samples": lesson_samples(with_people=True),
        "exercise_runs": runs,
        "nested_share": NESTED_SHARE,
        "nested_percent": f"{round(NESTED_SHARE * 100)} %",
    }


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path("playgrounds/nms/", NmsApi.as_view(), name="playground-nms"),
]
