"""Widget ``pooling`` (lesson 3): max and average pooling on a feature map."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.lessons import services as services
from demos.ml import playgrounds
from demos.widgets.kit import SampleField, lesson_samples, load_sample_rgb
from portal.lib.api import BoundedIntegerField

FEATURE_MAP_SIDE = 96


@dataclass(frozen=True)
class PoolingResult:
    sample: str
    size: int
    stride: int
    feature_map: list[list[int]]  # ReLU(Sobel-x) of the shrunk photo, 0..255
    max_pooled: list[list[float]]
    avg_pooled: list[list[float]]


def pooling_demo(*, sample: str, size: int, stride: int) -> PoolingResult:
    """A real feature map of a sample photo, max- and average-pooled."""
    fmap = playgrounds.edge_feature_map(load_sample_rgb(sample), FEATURE_MAP_SIDE)
    max_pooled = playgrounds.pool(fmap, "max", size, stride)
    avg_pooled = playgrounds.pool(fmap, "avg", size, stride)
    return PoolingResult(
        sample=sample,
        size=size,
        stride=stride,
        feature_map=fmap.astype(int).tolist(),
        max_pooled=max_pooled.astype(int).tolist(),
        avg_pooled=[[round(float(v), 1) for v in row] for row in avg_pooled],
    )


class PoolingApi(APIView):
    """GET a sample → its Sobel-x + ReLU feature map and both pooled versions."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        sample = SampleField(default="cat")
        size = BoundedIntegerField(min_value=2, max_value=4, default=2)
        stride = BoundedIntegerField(min_value=1, max_value=4, required=False)

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = pooling_demo(
            sample=values["sample"],
            size=values["size"],
            stride=values.get("stride") or values["size"],
        )
        return Response(asdict(result))


def samples_context(request: HttpRequest) -> dict[str, Any]:
    return {"samples": lesson_samples()}


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path("playgrounds/pooling/", PoolingApi.as_view(), name="playground-pooling"),
]
