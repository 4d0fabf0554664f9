"""Widget ``output-size`` (lesson 2): the output-size formula, animated."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.lessons import selectors as selectors
from demos.lessons import services as services
from demos.ml import playgrounds
from portal.lib.api import BoundedIntegerField

ANIMATION_MAX_SIDE = 16  # larger inputs are animated on a 12x12 stand-in


ANIMATION_STAND_IN = 12


@dataclass(frozen=True)
class OutputSizeReport:
    n: int
    k: int
    stride: int
    padding: int
    dilation: int
    in_channels: int
    out_channels: int
    out: int
    span: int  # input pixels one dilated kernel covers
    params: int
    weights: int
    biases: int
    mult_adds: int
    flops: int
    guess: int | None
    is_guess_right: bool | None
    animation_n: int
    animation_out: int | None


def output_size_report(
    *,
    n: int,
    k: int,
    stride: int,
    padding: int,
    dilation: int,
    in_channels: int,
    out_channels: int,
    guess: int | None = None,
) -> OutputSizeReport:
    """Output size, parameters and multiply-adds of one square ``nn.Conv2d``."""
    out = playgrounds.conv_output_size(n, k, stride, padding, dilation)
    cost = playgrounds.conv_cost(in_channels, out_channels, k, out, out)
    animation_n = n if n <= ANIMATION_MAX_SIDE else ANIMATION_STAND_IN
    try:
        animation_out = playgrounds.conv_output_size(
            animation_n, k, stride, padding, dilation
        )
    except playgrounds.InvalidLayerShape:
        animation_out = None  # the stand-in grid is too small for this kernel
    return OutputSizeReport(
        n=n,
        k=k,
        stride=stride,
        padding=padding,
        dilation=dilation,
        in_channels=in_channels,
        out_channels=out_channels,
        out=out,
        span=dilation * (k - 1) + 1,
        params=cost.params,
        weights=cost.weights,
        biases=cost.biases,
        mult_adds=cost.mult_adds,
        flops=cost.flops,
        guess=guess,
        is_guess_right=None if guess is None else guess == out,
        animation_n=animation_n,
        animation_out=animation_out,
    )


class OutputSizeApi(APIView):
    """GET layer settings → output size, parameters, multiply-adds (PyTorch rules)."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        n = BoundedIntegerField(min_value=1, max_value=4096)
        k = BoundedIntegerField(min_value=1, max_value=15)
        stride = BoundedIntegerField(min_value=1, max_value=16, default=1)
        padding = BoundedIntegerField(min_value=0, max_value=32, default=0)
        dilation = BoundedIntegerField(min_value=1, max_value=8, default=1)
        in_channels = BoundedIntegerField(min_value=1, max_value=4096, default=3)
        out_channels = BoundedIntegerField(min_value=1, max_value=4096, default=16)
        guess = BoundedIntegerField(required=False, allow_null=True)

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        report = output_size_report(**data.validated_data)
        return Response(asdict(report))


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path(
        "playgrounds/output-size/",
        OutputSizeApi.as_view(),
        name="playground-output-size",
    ),
]
