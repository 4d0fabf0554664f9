"""Widget ``training-curves`` (lesson 12): start a training run and read its curves."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.ml.training_settings import (
    LEARNING_RATES,
    MAX_EPOCHS,
    MAX_SUBSET,
    MIN_SUBSET,
    OPTIMISERS,
    TrainingSettings,
)
from demos.widgets import training_runs
from portal.lib.api import StrictSerializer, validated


def _early_stopping(run: Any) -> dict[str, Any]:
    from demos.ml.schedules import early_stopping

    patience = int(run.options.get("patience", 5))
    marker = early_stopping([c["val_loss"] for c in run.curves], patience)
    return {
        "patience": patience,
        "best_epoch": marker.best_epoch,
        "stop_epoch": marker.stop_epoch,
    }


def _training_run_body(request: Request, run: Any) -> dict[str, Any]:
    return {
        "id": str(run.public_id),
        "url": request.build_absolute_uri(
            reverse("api:training-run-detail", kwargs={"public_id": run.public_id})
        ),
        "state": run.state,
        "detail": run.detail,
        "settings": run.options,
        "epochs": run.options.get("epochs"),
        "curves": run.curves,
        "early_stopping": _early_stopping(run),
        "created": run.created.isoformat(),
        "finished": run.finished.isoformat() if run.finished else None,
    }


class TrainingRunCreateApi(APIView):
    """POST the switches → 202 and the run's URL; the MLP trains off the request.

    One run per student at a time (409 while one is active); every run stops at
    ``TRAINING_RUN_SECONDS``. Poll the URL for the curves as they grow.
    """

    class InputSerializer(StrictSerializer):
        subset = serializers.IntegerField(
            min_value=MIN_SUBSET, max_value=MAX_SUBSET, default=100
        )
        epochs = serializers.IntegerField(min_value=1, max_value=MAX_EPOCHS, default=30)
        dropout = serializers.FloatField(min_value=0, max_value=0.9, default=0.0)
        weight_decay = serializers.FloatField(min_value=0, max_value=0.1, default=0.0)
        augment = serializers.BooleanField(default=False)
        learning_rate = serializers.FloatField(
            min_value=0.00001, max_value=2, default=0.01
        )
        optimizer = serializers.ChoiceField(choices=list(OPTIMISERS), default="adam")
        lr_step_size = serializers.IntegerField(min_value=0, max_value=60, default=0)
        lr_gamma = serializers.FloatField(min_value=0.01, max_value=1, default=0.1)
        patience = serializers.IntegerField(min_value=1, max_value=60, default=5)

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.data))
        try:
            run = training_runs.start_training_run(
                owner=request.user, options=TrainingSettings(**data)
            )
        except training_runs.TrainingRunBusy as exc:
            return Response({"detail": str(exc)}, status=409)
        return Response(_training_run_body(request, run), status=202)


class TrainingRunDetailApi(APIView):
    """GET → the run's state and the curves so far (owner or staff, else 404)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, public_id: Any) -> Response:
        run = training_runs.get_training_run_for_user(request.user, public_id)
        response = Response(_training_run_body(request, run))
        response["Cache-Control"] = "private, no-store"
        return response


def training_context(request: HttpRequest) -> dict[str, Any]:
    from demos.ml.schedules import momentum_iterates

    steps = momentum_iterates(w0=1.0, learning_rate=0.1, mu=0.9, steps=30)
    return {
        "training_subsets": [20, 50, 100, 200, 500, 1437],
        "training_epochs": [10, 20, 30, 40, 60],
        "training_rates": list(LEARNING_RATES),
        "training_step_sizes": [3, 5, 7, 10, 15],
        "training_gammas": [0.5, 0.1],
        "training_patiences": [2, 3, 5, 10],
        "momentum_steps": {
            "lr": 0.1,
            "mu": 0.9,
            "plain": [round(w, 6) for w in steps.plain],
            "momentum": [round(w, 6) for w in steps.momentum],
            "velocity": [round(v, 6) for v in steps.velocity],
        },
    }


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path("training-runs/", TrainingRunCreateApi.as_view(), name="training-run-create"),
    path(
        "training-runs/<uuid:public_id>/",
        TrainingRunDetailApi.as_view(),
        name="training-run-detail",
    ),
]
