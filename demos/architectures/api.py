"""Lessons 7-9 API under ``/api/v1/``: architectures, transfer learning, augmentation.

Thin DRF views over ``demos.architectures.payloads``. The data the lesson widgets
read (the comparison table, the transfer-learning counts, the augmentation samples
and plans) is public teaching material, like the lessons; the per-model list and
detail and augmenting an uploaded photo need a login. Bad input becomes 400
``{"detail": ...}`` through portal/api.py's exception handler.
"""

from __future__ import annotations

import base64

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.architectures.payloads import (
    DEFAULT_TILES,
    MAX_SEED,
    architecture_dict,
    architectures_payload,
    augment_png,
    augmentation_plan_payload,
    samples_payload,
    transfer_payload,
)
from demos.ml.augmentation import MAX_TILES
from demos.ml.profiling import UnknownArchitecture, all_architecture_summaries
from portal.lib.api import (
    BoundedIntegerField,
    UploadRateThrottle,
    validated,
)
from portal.lib.errors import BadInput


class PlanSerializer(serializers.Serializer):
    seed = serializers.IntegerField()
    count = serializers.IntegerField()
    columns = serializers.IntegerField()
    tile_size = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    tiles = serializers.JSONField()


class ArchitectureListApi(APIView):
    """Every classic architecture with totals (no layer table)."""

    class OutputSerializer(serializers.Serializer):
        key = serializers.CharField()
        name = serializers.CharField()
        year = serializers.IntegerField()
        input_shape = serializers.ListField(child=serializers.IntegerField())
        output_shape = serializers.ListField(child=serializers.IntegerField())
        params = serializers.IntegerField()
        macs = serializers.IntegerField()
        gmacs = serializers.FloatField()
        gflops = serializers.FloatField()
        published_params = serializers.IntegerField(allow_null=True)
        published_gmacs = serializers.FloatField(allow_null=True)
        params_match_published = serializers.BooleanField(allow_null=True)
        note = serializers.CharField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        summaries = all_architecture_summaries()
        data = [architecture_dict(s.key, with_layers=False) for s in summaries]
        return Response(self.OutputSerializer(data, many=True).data)


class ArchitectureDetailApi(APIView):
    """One architecture with its layer table (rows nest up to three levels)."""

    class OutputSerializer(ArchitectureListApi.OutputSerializer):
        layers = serializers.JSONField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, key: str) -> Response:
        try:
            data = architecture_dict(key, with_layers=True)
        except UnknownArchitecture:
            raise NotFound(_("Unknown architecture.")) from None
        return Response(self.OutputSerializer(data).data)


class ArchitectureCompareApi(APIView):
    """All architectures with their layer tables and the residual-block comparison."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        models = serializers.JSONField()
        blocks = serializers.JSONField()
        convention = serializers.CharField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(architectures_payload()).data)


class TransferLearningApi(APIView):
    """ResNet50 with a new 33-class head: trainable/frozen counts per strategy."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        model = serializers.CharField()
        num_classes = serializers.IntegerField()
        blocks = serializers.ListField(child=serializers.CharField())
        strategies = serializers.JSONField()
        cases = serializers.JSONField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(transfer_payload()).data)


class AugmentationSampleListApi(APIView):
    """The photos the augmentation widget offers, the digit, and the tile limits."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        samples = serializers.JSONField()
        max_count = serializers.IntegerField()
        default_count = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(samples_payload()).data)


class AugmentationPlanApi(APIView):
    """``?seed=&count=`` → what each tile gets (labels depend on nothing else)."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        seed = BoundedIntegerField(required=False, min_value=0, max_value=MAX_SEED)
        count = BoundedIntegerField(required=False, min_value=1, max_value=MAX_TILES)

    class OutputSerializer(PlanSerializer):
        pass

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.query_params))
        payload = augmentation_plan_payload(
            seed=data.get("seed", 0), count=data.get("count", DEFAULT_TILES)
        )
        return Response(self.OutputSerializer(payload).data)


class AugmentationCreateApi(APIView):
    """Multipart ``image`` (or ``sample``), ``seed``, ``count`` → grid PNG + labels."""

    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        sample = serializers.CharField(required=False, max_length=64)
        image = serializers.FileField(required=False)
        seed = BoundedIntegerField(required=False, min_value=0, max_value=MAX_SEED)
        count = BoundedIntegerField(required=False, min_value=1, max_value=MAX_TILES)

    class OutputSerializer(PlanSerializer):
        grid_png = serializers.CharField(help_text="data:image/png;base64,...")

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.data))
        if not data.get("image") and not data.get("sample"):
            raise BadInput(_("Choose a sample or upload a photo."))
        seed, count = data.get("seed", 0), data.get("count", DEFAULT_TILES)
        png = augment_png(
            sample=data.get("sample", ""),
            image=data.get("image"),
            seed=seed,
            count=count,
        )
        payload = augmentation_plan_payload(seed=seed, count=count)
        payload["grid_png"] = "data:image/png;base64," + base64.b64encode(png).decode()
        return Response(self.OutputSerializer(payload).data)
