"""CNN visualisation files and API (feature maps, digits, activations, autoencoder).

``urlpatterns`` are included at /lessons/ (namespace "lessons"), ``api_urlpatterns``
at /api/v1/ (namespace "api"); route names are unique across the project. The
older ``/lessons/cnn/*.json`` paths stay as aliases of the API views (plain JSON).
"""

from __future__ import annotations

from django.urls import path

from demos.cnn import api as cnn_api
from demos.cnn import views as cnn_views
from portal.lib.api import json_alias

urlpatterns: list = [
    path(
        "cnn/maps/<str:scope>/<str:digest>/<str:filename>",
        cnn_views.map_file,
        name="cnn-map-file",
    ),
    path(
        "cnn/activations.json",
        json_alias(cnn_api.ActivationDetailApi),
        name="cnn-activations",
    ),
    path(
        "cnn/autoencoder.json",
        json_alias(cnn_api.AutoencoderDetailApi),
        name="cnn-autoencoder",
    ),
]

api_urlpatterns: list = [
    path("cnn-models/", cnn_api.CnnModelListApi.as_view(), name="cnn-model-list"),
    path(
        "feature-maps/",
        cnn_api.FeatureMapCreateApi.as_view(),
        name="feature-map-create",
    ),
    path("digits/predict/", cnn_api.DigitPredictApi.as_view(), name="digit-predict"),
    path(
        "digits/maps/<str:digest>/",
        cnn_api.DigitMapsApi.as_view(),
        name="cnn-digit-maps",
    ),
    path(
        "cnn/activations/",
        cnn_api.ActivationDetailApi.as_view(),
        name="cnn-activations",
    ),
    path(
        "cnn/autoencoder/",
        cnn_api.AutoencoderDetailApi.as_view(),
        name="cnn-autoencoder",
    ),
    path("cnn/lstm-gates/", cnn_api.LstmGatesApi.as_view(), name="cnn-lstm-gates"),
    path(
        "training-runs/",
        cnn_api.TrainingRunCreateApi.as_view(),
        name="training-run-create",
    ),
    path(
        "training-runs/<uuid:public_id>/",
        cnn_api.TrainingRunDetailApi.as_view(),
        name="training-run-detail",
    ),
]
