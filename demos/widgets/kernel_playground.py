"""Widget ``kernel-playground`` (lesson 1): apply a typed kernel to a photo, step by
step."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import cv2
import numpy as np
from django.http import HttpRequest
from django.urls import path
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.common.limits import own_image_slot
from demos.common.samples import SAMPLES
from demos.ml import playgrounds
from demos.ml.playgrounds import KERNELS
from demos.widgets import kit as w_kit
from demos.widgets.kit import SampleField, lesson_samples, png_data_url
from portal.lib.api import UploadRateThrottle


@dataclass(frozen=True)
class KernelResult:
    input_url: str
    output_url: str
    width: int
    height: int
    kernel: list[list[float]]
    kernel_sum: float
    response_min: float
    response_max: float
    negative_share: float  # share of outputs below 0 (black in "clip" mode)
    saturated_share: float  # share of shown outputs above 255 (white: saturated)


def run_kernel(
    *, rgb: np.ndarray, kernel: np.ndarray, mode: str, grey: bool
) -> KernelResult:
    """Filter a photo with one kernel, exactly as ``cv2.filter2D`` would."""
    image = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if grey else rgb
    response = playgrounds.correlate(image, kernel)
    shown = np.abs(response) if mode == "abs" else response
    output = playgrounds.apply_kernel(image, kernel, mode=mode)
    return KernelResult(
        input_url=png_data_url(image),
        output_url=png_data_url(output),
        width=int(image.shape[1]),
        height=int(image.shape[0]),
        kernel=[[round(float(v), 6) for v in row] for row in kernel],
        kernel_sum=round(float(kernel.sum()), 6),
        response_min=round(float(response.min()), 2),
        response_max=round(float(response.max()), 2),
        negative_share=round(float((response < -0.5).mean()), 4),
        saturated_share=round(float((shown > 255.5).mean()), 4),
    )


class KernelPlaygroundApi(APIView):
    """POST a kernel and a sample name (or an ``image`` upload) → input and output PNGs.

    ``kernel`` is typed text ("0 -1 0; -1 5 -1; 0 -1 0", fractions allowed) or
    ``preset`` names one of the built-in kernels. ``mode`` "clip" matches
    ``cv2.filter2D``; "abs" shows negative responses too.
    """

    permission_classes = [AllowAny]
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        sample = SampleField(required=False)
        image = serializers.ImageField(required=False)
        preset = serializers.ChoiceField(
            choices=list(playgrounds.KERNELS), required=False
        )
        kernel = serializers.CharField(required=False, max_length=2000)
        mode = serializers.ChoiceField(choices=["clip", "abs"], default="clip")
        grey = serializers.BooleanField(default=False)

        def validate(self, attrs: dict) -> dict:
            if not attrs.get("sample") and not attrs.get("image"):
                attrs["sample"] = next(iter(SAMPLES))
            if not attrs.get("kernel") and not attrs.get("preset"):
                raise serializers.ValidationError(
                    {"kernel": gettext_lazy("Type a kernel or choose a preset.")}
                )
            return attrs

    class OutputSerializer(serializers.Serializer):
        input_url = serializers.CharField()
        output_url = serializers.CharField()
        width = serializers.IntegerField()
        height = serializers.IntegerField()
        kernel = serializers.ListField(child=serializers.ListField())
        kernel_sum = serializers.FloatField()
        response_min = serializers.FloatField()
        response_max = serializers.FloatField()
        negative_share = serializers.FloatField()
        saturated_share = serializers.FloatField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("kernel"):
            kernel = playgrounds.parse_kernel(values["kernel"])
        else:
            kernel = playgrounds.KERNELS[values["preset"]]
        upload = values.get("image")
        with own_image_slot(request.user, has_upload=upload is not None):
            if upload is not None:
                upload.seek(0)
                rgb = w_kit.decode_upload(upload.read())
            else:
                rgb = w_kit.load_sample_rgb(values["sample"])
            result = run_kernel(
                rgb=rgb, kernel=kernel, mode=values["mode"], grey=values["grey"]
            )
        return Response(self.OutputSerializer(asdict(result)).data)


class ConvStepsApi(APIView):
    """GET → the notes' convolution worked cell by cell: ``example=single`` (a 5x5
    input and a 3x3 filter) or ``rgb`` (three channels and a bias)."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        example = serializers.ChoiceField(choices=["single", "rgb"], default="single")

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        if data.validated_data["example"] == "rgb":
            image, kernels = playgrounds.STEP_RGB_INPUT, playgrounds.STEP_RGB_KERNELS
            bias = playgrounds.STEP_RGB_BIAS
        else:
            image, kernels = playgrounds.STEP_INPUT[None], playgrounds.STEP_KERNEL[None]
            bias = 0
        output, steps = playgrounds.conv_steps(image, kernels, bias)
        return Response(
            {
                "example": data.validated_data["example"],
                "input": image.tolist(),
                "kernels": kernels.tolist(),
                "bias": bias,
                "output": output.tolist(),
                "steps": [asdict(step) for step in steps],
            }
        )


KERNEL_LABELS = {
    "identity": gettext_lazy("Identity"),
    "box-blur": gettext_lazy("Box blur 3x3"),
    "gaussian": gettext_lazy("Gaussian blur 3x3"),
    "sharpen": gettext_lazy("Sharpen"),
    "sobel-x": gettext_lazy("Sobel x (vertical edges)"),
    "sobel-y": gettext_lazy("Sobel y (horizontal edges)"),
    "laplacian": gettext_lazy("Laplacian"),
    "emboss": gettext_lazy("Emboss"),
    "box-blur-5": gettext_lazy("Box blur 5x5"),
    "gaussian-5": gettext_lazy("Gaussian blur 5x5"),
}


def _kernel_text(name: str) -> str:
    """A preset as the student would type it: "1/9" rather than 0.1111."""

    def cell(value: float) -> str:
        return str(Fraction(float(value)).limit_denominator(256))

    return "\n".join(" ".join(cell(v) for v in row) for row in KERNELS[name])


def kernel_context(request: HttpRequest) -> dict[str, Any]:
    presets = [
        {"name": name, "label": str(KERNEL_LABELS[name]), "text": _kernel_text(name)}
        for name in KERNELS
    ]
    return {"samples": lesson_samples(), "kernel_presets": presets}


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path(
        "playgrounds/kernel/", KernelPlaygroundApi.as_view(), name="playground-kernel"
    ),
    path(
        "playgrounds/conv-steps/", ConvStepsApi.as_view(), name="playground-conv-steps"
    ),
]
