"""Widget ``autoencoder-tsne`` (lesson 11): reconstructions and three t-SNE maps,
at the perplexity the student picks (maps precomputed by ``train_digits``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.http import HttpRequest
from django.urls import path
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.ml import catalogues, tsne_maps
from demos.ml import networks as cnn_models
from demos.ml.bundled import WEIGHTS_DIR
from demos.ml.feature_maps import (
    TRACING,
)
from demos.widgets.kit import public_for_an_hour


class AutoencoderDetailApi(APIView):
    """Test digits, their reconstructions and the t-SNE maps (one fixed document)."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        labels = serializers.ListField(child=serializers.IntegerField())
        digits = serializers.JSONField()
        reconstructions = serializers.JSONField()
        errors = serializers.ListField(child=serializers.FloatField())
        tsne = serializers.JSONField()
        tsne_params = serializers.JSONField()
        code_size = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        payload = autoencoder_demo()
        return public_for_an_hour(Response(self.OutputSerializer(payload).data))


@cache
def autoencoder_demo() -> dict[str, Any]:
    """The test digits, their reconstructions and the precomputed t-SNE maps.

    ``digits``: N x 64 ints 0..16; ``reconstructions``: N x 64 ints; ``labels``: N;
    ``errors``: per-digit mean squared error (pixels scaled to 0..1); ``tsne``:
    ``{view: N x 2 points in -1..1}`` for views "pixels", "autoencoder" and "cnn".
    One fixed document: computed with torch and scikit-learn once per machine and
    weights (``manage.py fill_catalogues``), read from disk by web workers.
    """
    files = [WEIGHTS_DIR / name for name in AUTOENCODER_FILES]
    missing = [path for path in files if not path.is_file()]
    if missing:
        return _autoencoder_demo()  # says which command makes them
    return catalogues.load_or_compute(
        Path(settings.FEATURE_MAP_CACHE_DIR) / "catalogues",
        catalogues.AUTOENCODER,
        _autoencoder_demo,
        depends=files,
    )


def _autoencoder_demo() -> dict[str, Any]:
    from demos.ml import digits as digits_model

    data = digits_model.load_digits_split()
    autoencoder = cnn_models.get_digits_autoencoder()
    with TRACING:
        rebuilt = digits_model.reconstruct(autoencoder, data.test_images)
    errors = ((rebuilt - data.test_images) / digits_model.DATA_MAX) ** 2
    try:
        tsne = digits_model.read_meta(digits_model.TSNE_FILE)
    except FileNotFoundError as exc:
        raise cnn_models.CnnModelUnavailable(
            gettext("The t-SNE map has not been computed. Fix: `%(fix)s`.")
            % {"fix": "python manage.py train_digits"}
        ) from exc
    return {
        "labels": data.test_labels.tolist(),
        "digits": np.rint(data.test_images).astype(int).reshape(-1, 64).tolist(),
        "reconstructions": np.clip(np.rint(rebuilt), 0, 16)
        .astype(int)
        .reshape(-1, 64)
        .tolist(),
        "errors": [round(float(e), 4) for e in errors.mean(axis=(1, 2))],
        "code_size": autoencoder.encoder[-1].out_features,
        "tsne": tsne["views"],
        "tsne_params": {k: v for k, v in tsne.items() if k != "views"},
    }


# What the document is computed from (demos.ml.digits' file names).
AUTOENCODER_FILES = ("digits_autoencoder.pth", "digits_tsne.json")


def tsne_context(request: HttpRequest) -> dict[str, Any]:
    return {"tsne_perplexities": tsne_maps.TSNE_PERPLEXITIES}


@cache
def tsne_map(perplexity: int) -> dict[str, Any]:
    """The three t-SNE maps at ``perplexity`` (one of ``TSNE_PERPLEXITIES``), read
    from the committed file, and how many of each point's 5 nearest map
    neighbours are the same digit (``agreement``, per view, 0..1). No torch: the
    labels are the autoencoder document's (the same test digits, in order)."""
    try:
        views = tsne_maps.tsne_views(tsne_maps.read_maps(), perplexity)
    except (FileNotFoundError, KeyError) as exc:
        raise cnn_models.CnnModelUnavailable(
            gettext("The t-SNE map has not been computed. Fix: `%(fix)s`.")
            % {"fix": "python manage.py train_digits"}
        ) from exc
    labels = np.asarray(autoencoder_demo()["labels"])
    return {
        "perplexity": perplexity,
        "perplexities": list(tsne_maps.TSNE_PERPLEXITIES),
        "views": views,
        "agreement": {
            name: round(tsne_maps.neighbour_agreement(np.array(points), labels), 3)
            for name, points in views.items()
        },
    }


class TsneMapApi(APIView):
    """GET ?perplexity=5|15|30|50 → the three t-SNE maps at that perplexity."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        perplexity = serializers.ChoiceField(
            choices=list(tsne_maps.TSNE_PERPLEXITIES),
            default=tsne_maps.TSNE_PERPLEXITY,
        )

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        payload = tsne_map(int(data.validated_data["perplexity"]))
        return public_for_an_hour(Response(payload))


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path("cnn/autoencoder/", AutoencoderDetailApi.as_view(), name="cnn-autoencoder"),
    path("cnn/tsne/", TsneMapApi.as_view(), name="cnn-tsne"),
]
