"""Widget ``stack-calculator`` (lesson 7, inside the architectures widget): build a
stack of layers and watch its shapes, parameters, MACs and receptive field.

The arithmetic has one home, ``demos.ml.stack_calculator`` (pure, checked against
torch by the tests); the page's script sends the stack the student built here and
shows the answer. Anyone may call both routes: they only do integer arithmetic on
bounded inputs (at most 16 layers).
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.ml import stack_calculator as calc
from demos.widgets.kit import gettext_label
from portal.lib.api import BoundedIntegerField, StrictSerializer
from portal.lib.errors import BadInput

PRESET_NAMES = {
    "two-3x3-for-one-5x5": gettext_lazy("Two 3×3 for one 5×5"),
    "reduce-before-5x5": gettext_lazy("1×1 reduction before a 5×5 (Inception)"),
    "reduce-before-3x3": gettext_lazy("1×1 reduction before a 3×3 (Inception)"),
    "vgg-block": gettext_lazy("VGG block"),
    "separable": gettext_lazy("Depthwise-separable 3×3 (MobileNet)"),
}
PRESET_NOTES = {
    "two-3x3-for-one-5x5": gettext_lazy(
        "Two 3×3 convolutions see the same 5×5 patch as one 5×5 convolution, with "
        "18·C² weights instead of 25·C² (here C = 64 channels in and out, no bias): "
        "0.72 times the parameters and MACs, and room for a second ReLU. The single "
        "5×5 is kept as the reference."
    ),
    "reduce-before-5x5": gettext_lazy(
        "GoogLeNet's inception (3a), 5×5 branch: a 1×1 convolution first reduces "
        "192 channels to 16, so the 5×5 works on 16 channels instead of 192: about "
        "10× fewer parameters and MACs than a 5×5 on all 192 channels (the "
        "reference)."
    ),
    "reduce-before-3x3": gettext_lazy(
        "Inception (3a), 3×3 branch: 192 → 96 channels by a 1×1, then a 3×3 to 128. "
        "The reduction only halves the channels, so the saving is smaller than in "
        "the 5×5 branch: compare the two ratios."
    ),
    "vgg-block": gettext_lazy(
        "VGG16's first block: two 3×3 convolutions with 64 channels and a 2×2 max "
        "pooling, the same numbers as torchvision's vgg16().features[0:5]. Pooling "
        "has no parameters but halves the map, so every layer after it costs a "
        "quarter of the MACs it would cost before."
    ),
    "separable": gettext_lazy(
        "MobileNet's depthwise-separable convolution: one 3×3 per channel (groups = "
        "channels), then a 1×1 that mixes the channels. From 64 to 128 channels it "
        "needs about 8× fewer parameters and MACs than a full 3×3 (the reference)."
    ),
}


def preset_dict(preset: calc.StackPreset) -> dict[str, Any]:
    return {
        "key": preset.key,
        "name": gettext_label(PRESET_NAMES, preset.key),
        "note": gettext_label(PRESET_NOTES, preset.key),
        "input_shape": list(preset.input_shape),
        "layers": [calc.spec_dict(spec) for spec in preset.layers],
        "reference": [calc.spec_dict(spec) for spec in preset.reference],
    }


class StackLayerSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=calc.LAYER_KINDS)
    kernel = BoundedIntegerField(min_value=1, max_value=calc.MAX_KERNEL)
    stride = BoundedIntegerField(min_value=1, max_value=calc.MAX_STRIDE, default=1)
    padding = BoundedIntegerField(min_value=0, max_value=calc.MAX_PADDING, default=0)
    out_channels = BoundedIntegerField(
        min_value=1, max_value=calc.MAX_CHANNELS, required=False, allow_null=True
    )
    bias = serializers.BooleanField(default=True)


class InputShapeSerializer(serializers.Serializer):
    channels = BoundedIntegerField(min_value=1, max_value=calc.MAX_CHANNELS)
    height = BoundedIntegerField(min_value=1, max_value=calc.MAX_SIDE)
    width = BoundedIntegerField(min_value=1, max_value=calc.MAX_SIDE)


FIELD_NAMES = {
    "input": gettext_lazy("Input"),
    "layers": gettext_lazy("Layers"),
    "reference": gettext_lazy("Reference"),
    "kind": gettext_lazy("kind"),
    "kernel": gettext_lazy("kernel"),
    "stride": gettext_lazy("stride"),
    "padding": gettext_lazy("padding"),
    "out_channels": gettext_lazy("output channels"),
    "bias": gettext_lazy("bias"),
    "channels": gettext_lazy("channels"),
    "height": gettext_lazy("height"),
    "width": gettext_lazy("width"),
}


def _first_error(errors: Any) -> str:
    """One readable sentence from DRF's nested errors: "Layer 2: kernel: ..."."""
    if isinstance(errors, list):
        return _first_error(next((item for item in errors if item), ""))
    if isinstance(errors, dict) and errors:
        key, value = next(iter(errors.items()))
        text = _first_error(value)
        if isinstance(key, int):  # a ListField's child, by index
            return _("Layer %(number)s: %(error)s") % {"number": key + 1, "error": text}
        if key == "non_field_errors" or (
            key in ("layers", "reference") and isinstance(value, dict)
        ):
            prefix = _("Reference: ") if key == "reference" else ""
            return f"{prefix}{text}"
        return f"{gettext_label(FIELD_NAMES, key)}: {text}"
    return str(errors)


def _measure(shape: dict[str, int], layers: list[dict[str, Any]]) -> calc.StackResult:
    specs = [
        calc.LayerSpec(
            kind=layer["kind"],
            kernel=layer["kernel"],
            stride=layer["stride"],
            padding=layer["padding"],
            out_channels=layer.get("out_channels"),
            bias=layer["bias"],
        )
        for layer in layers
    ]
    return calc.calculate_stack(
        (shape["channels"], shape["height"], shape["width"]), specs
    )


def _ratio(reference: int, value: int) -> float | None:
    return round(reference / value, 2) if value else None


class StackPresetListApi(APIView):
    """The calculator's presets: each a stack and the stack it is compared with."""

    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        presets = [preset_dict(preset) for preset in calc.PRESETS]
        return Response({"presets": presets, "max_layers": calc.MAX_LAYERS})


class StackCalculateApi(APIView):
    """POST a stack (and optionally a reference stack) → shapes, parameters, MACs
    and receptive field of every layer, totals, and the reference's ratios."""

    permission_classes = [AllowAny]

    class InputSerializer(StrictSerializer):
        input = InputShapeSerializer()
        layers = serializers.ListField(
            child=StackLayerSerializer(), max_length=calc.MAX_LAYERS
        )
        reference = serializers.ListField(
            child=StackLayerSerializer(), max_length=calc.MAX_LAYERS, required=False
        )

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            raise BadInput(_first_error(serializer.errors))
        data = serializer.validated_data
        stack = _measure(data["input"], data["layers"])
        answer: dict[str, Any] = {"stack": stack.as_dict(), "reference": None}
        if data.get("reference"):
            try:
                reference = _measure(data["input"], data["reference"])
            except calc.InvalidStack as exc:
                raise BadInput(_("Reference: ") + str(exc)) from exc
            answer["reference"] = reference.as_dict()
            answer["comparison"] = {
                "params_ratio": _ratio(reference.params, stack.params),
                "macs_ratio": _ratio(reference.macs, stack.macs),
            }
        return Response(answer)


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path(
        "stack-calculator/presets/",
        StackPresetListApi.as_view(),
        name="stack-presets",
    ),
    path("stack-calculator/", StackCalculateApi.as_view(), name="stack-calculate"),
]
