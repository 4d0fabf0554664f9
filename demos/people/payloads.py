"""The API's view of a run: the 201 body of ``POST /api/v1/detections/``.

Shared by the synchronous API (``demos/people/api.py``) and the job API, whose
``detection`` field is the same body once the job is done.
"""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers
from rest_framework.request import Request

from demos.models import DemoRun
from demos.people.selectors import detector_description, persons_above


class ImageSizeSerializer(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class PersonSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    box = serializers.ListField(child=serializers.IntegerField())
    score = serializers.FloatField()
    crop_url = serializers.URLField()


class UnsureSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    box = serializers.ListField(child=serializers.IntegerField())
    score = serializers.FloatField()


class DemoRunOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    created = serializers.DateTimeField()
    detector = serializers.CharField()
    detector_name = serializers.CharField()
    detector_parts = serializers.ListField(child=serializers.CharField())
    score_threshold = serializers.FloatField()
    image = ImageSizeSerializer()
    count = serializers.IntegerField()
    count_low = serializers.IntegerField()
    count_high = serializers.IntegerField()
    persons = PersonSerializer(many=True)
    unsure = UnsureSerializer(many=True)
    annotated_url = serializers.URLField()
    elapsed_ms = serializers.FloatField()


def run_payload(request: Request, run: DemoRun, threshold: float | None = None) -> dict:
    """The API's view of a run at ``threshold``.

    Each person's ``index`` is its box's rank among every stored box (stable when
    the threshold moves; the crop's file name carries it). ``count`` is the
    number of ``persons``; ``count_low``..``count_high`` is the calibrated doubt
    range (both equal ``count`` for detectors without one) and ``unsure`` the
    boxes between the two.
    """
    limit = run.score_threshold if threshold is None else threshold
    persons = [
        {
            "index": detection.rank,
            "box": detection.box,
            "score": detection.score,
            "crop_url": request.build_absolute_uri(
                reverse(
                    "demos:people-crop",
                    kwargs={"public_id": run.public_id, "rank": detection.rank},
                )
            ),
        }
        for detection in persons_above(run, limit)
    ]
    has_range = run.count_low is not None and run.count_high is not None
    annotated = reverse("demos:people-annotated", kwargs={"public_id": run.public_id})
    if limit != run.score_threshold:
        annotated += f"?score_threshold={limit}"
    described = detector_description(run.detector)
    payload = {
        "id": run.public_id,
        "created": run.created,
        "detector": run.detector,
        "detector_name": described.name,
        "detector_parts": described.parts,
        "score_threshold": limit,
        "image": {"width": run.image_width, "height": run.image_height},
        "count": len(persons),
        "count_low": run.count_low if has_range else len(persons),
        "count_high": run.count_high if has_range else len(persons),
        "persons": persons,
        "unsure": [
            {"index": d.rank, "box": d.box, "score": d.score}
            for d in run.detections.all()
            if d.is_unsure
        ],
        "annotated_url": request.build_absolute_uri(annotated),
        "elapsed_ms": run.elapsed_ms,
    }
    return DemoRunOutputSerializer(payload).data
