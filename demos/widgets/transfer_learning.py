"""Widget ``transfer-learning`` (lesson 8): what each strategy freezes and trains."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.ml.profiling import (
    TRANSFER_CASES,
    TRANSFER_NUM_CLASSES,
    TRANSFER_STRATEGIES,
    transfer_learning_counts,
)
from demos.widgets.kit import gettext_label

STRATEGY_LABELS = {
    "feature-extractor": gettext_lazy("Feature extractor"),
    "fine-tune-last-stage": gettext_lazy("Fine-tune the last stage"),
    "fine-tune-all": gettext_lazy("Fine-tune everything"),
}


STRATEGY_DESCRIPTIONS = {
    "feature-extractor": gettext_lazy(
        "Freeze the whole pretrained backbone and train only the new 33-class "
        "layer. Fast and safe with little data, but the features cannot adapt."
    ),
    "fine-tune-last-stage": gettext_lazy(
        "Freeze conv1 to layer3 (generic edges, textures, parts) and train layer4 "
        "with the new head, using a small learning rate for layer4."
    ),
    "fine-tune-all": gettext_lazy(
        "Start from the pretrained weights and train every layer with a small "
        "learning rate. Needs the most data and compute; adapts the most."
    ),
}


SIZE_LABELS = {
    "small": gettext_lazy("Small dataset"),
    "large": gettext_lazy("Large dataset"),
}


SIMILARITY_LABELS = {
    "similar": gettext_lazy("Similar to ImageNet"),
    "different": gettext_lazy("Different from ImageNet"),
}


CASE_REASONS = {
    ("small", "similar"): gettext_lazy(
        "The pretrained features already describe your images; training more than "
        "the head would only overfit the few examples."
    ),
    ("small", "different"): gettext_lazy(
        "Too little data to fine-tune, and the last stage is the most "
        "ImageNet-specific: freeze, take features from an earlier stage such as "
        "layer3, train a small head and augment heavily."
    ),
    ("large", "similar"): gettext_lazy(
        "Enough data to fine-tune the whole network without overfitting; use a "
        "small learning rate. Fine-tuning only the last stage is a cheaper first try."
    ),
    ("large", "different"): gettext_lazy(
        "Enough data to adapt every layer: fine-tune everything. Pretrained "
        "weights are still a better start than random ones."
    ),
}


def transfer_payload() -> dict:
    """Trainable/frozen counts per strategy and the four dataset cases."""
    strategies = []
    for key in TRANSFER_STRATEGIES:
        counts = transfer_learning_counts(key)
        strategies.append(
            {
                "key": key,
                "label": gettext_label(STRATEGY_LABELS, key),
                "description": gettext_label(STRATEGY_DESCRIPTIONS, key),
                "trainable": counts.trainable,
                "frozen": counts.frozen,
                "total": counts.total,
                "trainable_share": round(counts.trainable_share, 4),
                "trainable_blocks": list(counts.trainable_blocks),
            }
        )
    cases = [
        {
            "size": case.size,
            "similarity": case.similarity,
            "size_label": gettext_label(SIZE_LABELS, case.size),
            "similarity_label": gettext_label(SIMILARITY_LABELS, case.similarity),
            "strategy": case.strategy,
            "strategy_label": gettext_label(STRATEGY_LABELS, case.strategy),
            "reason": gettext_label(CASE_REASONS, (case.size, case.similarity)),
        }
        for case in TRANSFER_CASES
    ]
    return {
        "model": "resnet50",
        "num_classes": TRANSFER_NUM_CLASSES,
        "blocks": ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"],
        "strategies": strategies,
        "cases": cases,
    }


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


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path(
        "transfer-learning/",
        TransferLearningApi.as_view(),
        name="arch-transfer-learning",
    ),
]
