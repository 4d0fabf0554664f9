"""Person demo API under /api/v1/: detectors, detections (runs), crops ZIP.

Same services and selectors as the HTML views. Input problems become
``{"detail": "..."}`` with 400 (``BadInput`` → portal/api.py's handler), a
missing detector file 503, another user's run 404. Uploads are throttled per
user (scope ``uploads``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from demos.common.limits import upload_slot
from demos.models import DemoRun
from demos.people import services
from demos.people.files import crops_zip_response
from demos.people.jobs.api import enqueue_detection_response
from demos.people.payloads import DemoRunOutputSerializer, run_payload
from demos.people.selectors import (
    detector_states,
    get_demo_run_for_user,
    is_available,
    list_demo_runs_for_user,
    truth_agreement,
    with_detections,
)
from portal.lib.api import BoundedFloatField, UploadRateThrottle, validated

THRESHOLD_PARAMETER = OpenApiParameter(
    "score_threshold",
    float,
    description="Show only persons scoring at least this (0-1); default: the run's.",
)

ASYNC_PARAMETER = OpenApiParameter(
    "async",
    str,
    description="1: queue the photo for a worker and answer 202 with a job URL.",
)
JOB_ACCEPTED = inline_serializer(
    "DetectionJobAccepted",
    fields={
        "id": serializers.UUIDField(),
        "state": serializers.CharField(),
        "job_url": serializers.URLField(),
    },
)


def threshold_param(request: Request, run: DemoRun) -> float:
    serializer = ThresholdSerializer(data=request.query_params)
    value = validated(serializer).get("score_threshold")
    return run.score_threshold if value is None else value


class ThresholdSerializer(serializers.Serializer):
    score_threshold = BoundedFloatField(required=False, min_value=0.0, max_value=1.0)


class DemoRunPageSerializer(serializers.Serializer):
    """DRF's PageNumberPagination envelope (for the schema)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DemoRunOutputSerializer(many=True)


class DetectorListApi(APIView):
    """The person detectors you can use; staff also get the unavailable ones, with
    the reason (which names the fixing command)."""

    class OutputSerializer(serializers.Serializer):
        key = serializers.CharField()
        name = serializers.CharField()
        available = serializers.BooleanField()
        reason = serializers.CharField(allow_blank=True)
        params = serializers.IntegerField(allow_null=True)
        gflops = serializers.FloatField(allow_null=True)
        box_ap = serializers.FloatField(allow_null=True)
        license = serializers.CharField(allow_blank=True)

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = [
            {
                "key": key,
                "name": str(state.spec.name),
                "available": is_available(state),
                "reason": str(state.reason or ""),
                "params": state.spec.params,
                "gflops": state.spec.gflops,
                "box_ap": state.spec.box_ap,
                "license": state.spec.license or "",
            }
            for key, state in detector_states().items()
            if request.user.is_staff or is_available(state)
        ]
        return Response(self.OutputSerializer(rows, many=True).data)


class DemoRunListCreateApi(APIView):
    """GET: your runs, newest first (paginated). POST: detect people in a photo."""

    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        image = serializers.FileField(allow_empty_file=True)
        detector = serializers.CharField(required=False, allow_blank=True)
        score_threshold = BoundedFloatField(
            required=False, allow_null=True, min_value=0.0, max_value=1.0
        )

        def validate_image(self, value: Any) -> Any:
            # A QueryDict hands over only the last of several files: refuse instead.
            getlist = getattr(self.initial_data, "getlist", None)
            if getlist is not None and len(getlist("image")) > 1:
                raise serializers.ValidationError(
                    gettext("Send one photo per request.")
                )
            return value

    def get_throttles(self) -> list[BaseThrottle]:
        # Only uploads cost a model run; listing stays unthrottled.
        return [UploadRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(operation_id="v1_detections_list", responses=DemoRunPageSerializer)
    def get(self, request: Request) -> Response:
        runs = with_detections(list_demo_runs_for_user(request.user))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(runs, request, view=self)
        return paginator.get_paginated_response(
            [run_payload(request, run) for run in page]
        )

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        parameters=[ASYNC_PARAMETER],
        responses={201: DemoRunOutputSerializer, 202: JOB_ACCEPTED},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.data))
        with upload_slot(request.user):  # one upload in flight (429 otherwise)
            if request.query_params.get("async", "").lower() in ("1", "true", "yes"):
                # Queued for a worker: 202 + job URL.
                return enqueue_detection_response(request, data)
            upload = data["image"]
            run = services.create_demo_run(
                owner=request.user,
                data=services.read_upload(upload),
                original_name=upload.name or "",
                detector_key=data.get("detector") or None,
                score_threshold=data.get("score_threshold"),
            )
        return Response(run_payload(request, run), status=status.HTTP_201_CREATED)


class DemoRunDetailApi(APIView):
    """GET one of your runs (``?score_threshold=`` re-filters); DELETE it (204)."""

    @extend_schema(parameters=[THRESHOLD_PARAMETER], responses=DemoRunOutputSerializer)
    def get(self, request: Request, public_id: uuid.UUID) -> Response:
        run = get_demo_run_for_user(request.user, public_id)
        return Response(run_payload(request, run, threshold_param(request, run)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, public_id: uuid.UUID) -> Response:
        run = get_demo_run_for_user(request.user, public_id)
        services.delete_demo_run(run=run)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DemoRunTruthApi(APIView):
    """PUT the people really in the photo: your own boxes, replacing earlier ones.

    The detections stay; the answer compares them (at the run's threshold, or
    ``?score_threshold=``) with your boxes: precision, recall and mean IoU.
    """

    class InputSerializer(serializers.Serializer):
        boxes = serializers.ListField(
            child=serializers.ListField(
                child=serializers.IntegerField(min_value=0), min_length=4, max_length=4
            ),
            allow_empty=True,
        )

    class OutputSerializer(serializers.Serializer):
        boxes = serializers.ListField(child=serializers.ListField())
        count = serializers.IntegerField()
        detected = serializers.IntegerField()
        matched = serializers.IntegerField()
        precision = serializers.FloatField()
        recall = serializers.FloatField()
        mean_iou = serializers.FloatField()

    @extend_schema(
        operation_id="v1_detections_truth_update",
        parameters=[THRESHOLD_PARAMETER],
        request=InputSerializer,
        responses=OutputSerializer,
    )
    def put(self, request: Request, public_id: uuid.UUID) -> Response:
        run = get_demo_run_for_user(request.user, public_id)
        data = validated(self.InputSerializer(data=request.data))
        run = services.set_run_truth(run=run, boxes=data["boxes"])
        scores = truth_agreement(run, threshold_param(request, run))
        assert scores is not None  # just stored
        return Response(
            self.OutputSerializer(
                {
                    "boxes": run.truth_boxes,
                    "count": scores.truth,
                    "detected": scores.found,
                    "matched": scores.matched,
                    "precision": scores.precision,
                    "recall": scores.recall,
                    "mean_iou": scores.mean_iou,
                }
            ).data
        )


class DemoRunCropsZipApi(APIView):
    """The crops shown at the threshold, with manifest.json and manifest.csv."""

    @extend_schema(
        operation_id="v1_detections_crops_zip_retrieve",
        parameters=[THRESHOLD_PARAMETER],
        responses={(200, "application/zip"): bytes},
    )
    def get(self, request: Request, public_id: uuid.UUID) -> Any:
        run = get_demo_run_for_user(request.user, public_id)
        return crops_zip_response(run, threshold_param(request, run))
