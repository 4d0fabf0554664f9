"""Widget ``architectures`` (lesson 7): classic CNNs compared by parameters and MACs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.ml import catalogues
from demos.ml.profiling import ARCHITECTURES, UnknownArchitecture
from demos.widgets.kit import gettext_label

MODEL_NOTES = {
    "lenet5": gettext_lazy(
        "Two 5×5 convolutions with average pooling and tanh read 32×32 handwritten "
        "digits: the template of every CNN since."
    ),
    "alexnet": gettext_lazy(
        "ReLU, dropout and overlapping max pooling won ImageNet 2012; most of its "
        "parameters sit in the fully connected classifier."
    ),
    "vgg16": gettext_lazy(
        "Only 3×3 convolutions, stacked in five stages: simple and heavy. Nine "
        "tenths of its 138 M parameters sit in the classifier, most MACs in the "
        "convolutions."
    ),
    "googlenet": gettext_lazy(
        "Inception modules run 1×1, 3×3 and 5×5 convolutions and pooling side by "
        "side, with 1×1 reductions first: about 9× fewer parameters than AlexNet."
    ),
    "resnet18": gettext_lazy(
        "Skip connections let the signal and the gradient bypass each pair of 3×3 "
        "convolutions (basic blocks), so 18 layers train easily."
    ),
    "resnet50": gettext_lazy(
        "50 layers built from 1×1 bottleneck blocks (256 → 64 → 256): much deeper, "
        "yet only about twice ResNet18's parameters."
    ),
}


OP_LABELS = {
    "resized-crop": gettext_lazy("Random resized crop"),
    "hflip": gettext_lazy("Horizontal flip"),
    "vflip": gettext_lazy("Vertical flip"),
    "rotate": gettext_lazy("Small rotation"),
    "rotate-large": gettext_lazy("Large rotation"),
    "color-jitter": gettext_lazy("Colour jitter"),
    "grayscale": gettext_lazy("Greyscale"),
    "blur": gettext_lazy("Gaussian blur"),
    "erase": gettext_lazy("Random erasing"),
}


def _catalogue() -> dict[str, Any]:
    """Every architecture's numbers and the residual blocks' (``demos.ml.catalogues``:
    computed with torch once per machine, read from disk by web workers)."""
    folder = Path(settings.FEATURE_MAP_CACHE_DIR) / "catalogues"
    return catalogues.load_or_compute(
        folder, catalogues.ARCHITECTURES, catalogues.architectures_catalogue
    )


def architecture_dict(key: str, *, with_layers: bool) -> dict:
    if key not in ARCHITECTURES:
        raise UnknownArchitecture(key)
    model = next(row for row in _catalogue()["models"] if row["key"] == key)
    data = {k: v for k, v in model.items() if with_layers or k != "layers"}
    data["note"] = gettext_label(MODEL_NOTES, key)
    return data


def architectures_payload() -> dict:
    """Every architecture with its layer table, plus the residual-block comparison."""
    blocks = _catalogue()["blocks"]
    return {
        "models": [architecture_dict(key, with_layers=True) for key in ARCHITECTURES],
        "blocks": {
            "basic": blocks["basic"],
            "bottleneck": blocks["bottleneck"],
            "params_ratio": round(blocks["params_ratio"], 1),
        },
        "convention": _(
            "MACs count one multiply-add of a Conv2d or Linear layer per image; "
            "GFLOPs = 2 × GMACs. torchvision's published “GFLOPS” (the weights' "
            "_ops metadata) count one multiply-add as one operation, so compare "
            "them with the GMACs column."
        ),
    }


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
        data = [architecture_dict(key, with_layers=False) for key in ARCHITECTURES]
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


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path("architectures/", ArchitectureListApi.as_view(), name="arch-model-list"),
    path(
        "architectures/comparison/",
        ArchitectureCompareApi.as_view(),
        name="arch-comparison",
    ),
    path(
        "architectures/<slug:key>/",
        ArchitectureDetailApi.as_view(),
        name="arch-model-detail",
    ),
]
