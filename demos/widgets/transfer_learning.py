"""Widget ``transfer-learning`` (lesson 8): what each strategy freezes and trains,
and real transfer-learning runs (``/api/v1/transfer-runs/``) on an ImageFolder ZIP,
an instructor's class dataset or the student's own photos per class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.ml import catalogues
from demos.ml.freezing import (
    TRANSFER_CASES,
    TRANSFER_NUM_CLASSES,
    TRANSFER_STRATEGIES,
)
from demos.widgets import transfer_datasets, transfer_runs
from demos.widgets.kit import gettext_label, read_upload
from portal.lib.api import UploadRateThrottle, validated
from portal.lib.errors import BadInput
from portal.lib.uploads import accepts_files

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
    # Counted with torch once per machine, read from disk here (demos.ml.catalogues).
    every = catalogues.load_or_compute(
        Path(settings.FEATURE_MAP_CACHE_DIR) / "catalogues",
        catalogues.TRANSFER_COUNTS,
        catalogues.transfer_counts_catalogue,
    )
    strategies = []
    for key in TRANSFER_STRATEGIES:
        counts = every[key]
        strategies.append(
            {
                "key": key,
                "label": gettext_label(STRATEGY_LABELS, key),
                "description": gettext_label(STRATEGY_DESCRIPTIONS, key),
                "trainable": counts["trainable"],
                "frozen": counts["frozen"],
                "total": counts["total"],
                "trainable_share": round(counts["trainable_share"], 4),
                "trainable_blocks": list(counts["trainable_blocks"]),
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


def transfer_context(request: HttpRequest) -> dict[str, Any]:
    """The class datasets the student may train on (their classes', shared ones)."""
    datasets = transfer_datasets.visible_class_datasets(request.user)
    return {"class_datasets": list(datasets)}


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


def _transfer_run_body(request: Request, run: Any) -> dict[str, Any]:
    curves = run.curves or []
    return {
        "id": str(run.public_id),
        "url": request.build_absolute_uri(
            reverse("api:transfer-run-detail", kwargs={"public_id": run.public_id})
        ),
        "state": run.state,
        "detail": run.detail,
        "settings": run.options,
        "classes": run.classes,
        "class_dataset": (
            {"id": str(run.class_dataset.public_id), "name": run.class_dataset.name}
            if run.class_dataset
            else None
        ),
        "epochs": [
            {
                key: row.get(key)
                for key in ("epoch", "lr", "train_loss", "val_loss", "val_accuracy")
            }
            for row in curves
        ],
        "train_loss": [row.get("train_loss") for row in curves],
        "val_loss": [row.get("val_loss") for row in curves],
        "val_accuracy": run.result.get("val_accuracy") if run.result else None,
        "result": run.result or None,
        "created": run.created.isoformat(),
        "finished": run.finished.isoformat() if run.finished else None,
    }


class TransferRunCreateApi(APIView):
    """POST the images and the settings → 202 and the run's URL; the network trains
    off the request (one run per student, 409 while one is active; every run stops
    at ``TRANSFER_RUN_SECONDS``). The images, exactly one of: ``dataset`` (an
    ImageFolder ZIP), ``class_dataset`` (the id of a class dataset shared with the
    student) or ``photos`` with ``labels`` (one class name per photo, in the same
    order). Data that cannot be used → 400 with the reason, and nothing is kept."""

    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        dataset = serializers.FileField(required=False)
        class_dataset = serializers.UUIDField(required=False)
        photos = serializers.ListField(
            child=serializers.FileField(), required=False, max_length=10_000
        )
        labels = serializers.ListField(
            child=serializers.CharField(max_length=200, trim_whitespace=False),
            required=False,
        )
        model = serializers.ChoiceField(
            choices=["efficientnet_lite0", "mobilenet_v2"], default="efficientnet_lite0"
        )
        freeze = serializers.IntegerField(
            min_value=0, max_value=19, required=False, allow_null=True, default=None
        )
        optimizer = serializers.ChoiceField(choices=["adam", "sgd"], default="adam")
        epochs = serializers.IntegerField(min_value=1, max_value=30, default=10)
        lr = serializers.FloatField(min_value=0.000001, max_value=1, default=0.001)
        step_size = serializers.IntegerField(min_value=1, max_value=100, default=7)
        gamma = serializers.FloatField(min_value=0.001, max_value=1, default=0.1)
        augment = serializers.BooleanField(default=True)
        pretrained = serializers.BooleanField(default=True)

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.data))
        upload = data.pop("dataset", None)
        class_dataset = data.pop("class_dataset", None)
        photos, labels = data.pop("photos", []), data.pop("labels", [])
        given = [upload is not None, class_dataset is not None, bool(photos or labels)]
        if sum(given) != 1:
            raise BadInput(
                gettext(
                    "Send exactly one source of images: a ZIP (dataset), a class "
                    "dataset (class_dataset) or photos with their class names "
                    "(photos and labels)."
                )
            )
        source: dict[str, Any] = {}
        if class_dataset is not None:
            source["class_dataset"] = transfer_datasets.get_class_dataset_for_user(
                request.user, class_dataset
            )
        elif upload is not None:
            source["dataset"] = transfer_datasets.read_zip_upload(upload)
        else:
            source["dataset"] = transfer_datasets.photos_zip(labels, photos)
        try:
            run = transfer_runs.start_transfer_run(
                owner=request.user, options=data, **source
            )
        except transfer_runs.TransferRunBusy as exc:
            return Response({"detail": str(exc)}, status=409)
        return Response(_transfer_run_body(request, run), status=202)


class TransferRunDetailApi(APIView):
    """GET → state, classes, per-epoch losses and accuracy, the final accuracy,
    confusion matrix, wrong validation images and the PyTorch code (owner or
    staff, else 404)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, public_id: Any) -> Response:
        run = transfer_runs.get_transfer_run_for_user(request.user, public_id)
        response = Response(_transfer_run_body(request, run))
        response["Cache-Control"] = "private, no-store"
        return response


class TransferRunPredictApi(APIView):
    """POST ``image`` → ``{"label", "probability", "top", "cam"}`` with the run's
    network (its ONNX export: no torch in the web worker); ``cam``: the class
    activation map of the top class over the photo."""

    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        image = serializers.FileField()

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, public_id: Any) -> Response:
        from demos.widgets.maps import decode_full_upload

        run = transfer_runs.get_transfer_run_for_user(request.user, public_id)
        data = validated(self.InputSerializer(data=request.data))
        decoded = decode_full_upload(read_upload(data["image"]))
        return Response(transfer_runs.predict_with_run(run, decoded.rgb))


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path(
        "transfer-runs/",
        # Photos per class: one file more than TRANSFER_MAX_PHOTOS still reaches
        # photos_zip, whose reason names the limit.
        accepts_files(lambda: settings.TRANSFER_MAX_PHOTOS + 1)(
            TransferRunCreateApi.as_view()
        ),
        name="transfer-run-create",
    ),
    path(
        "transfer-runs/<uuid:public_id>/",
        TransferRunDetailApi.as_view(),
        name="transfer-run-detail",
    ),
    path(
        "transfer-runs/<uuid:public_id>/predict/",
        TransferRunPredictApi.as_view(),
        name="transfer-run-predict",
    ),
    path(
        "transfer-learning/",
        TransferLearningApi.as_view(),
        name="arch-transfer-learning",
    ),
]
