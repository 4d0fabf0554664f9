"""Architecture, transfer-learning and augmentation lesson endpoints.

``urlpatterns`` are included at /lessons/ (namespace "lessons"), ``api_urlpatterns``
at /api/v1/ (namespace "api"); every route name starts with "arch-". The lesson
widgets read their JSON from the API; the older ``/lessons/arch/*.json`` paths stay
as aliases of the same API views, answering plain JSON as they always did.
"""

from __future__ import annotations

from django.urls import path

from demos.architectures import api as arch_api
from demos.architectures import views as arch_views
from portal.lib.api import json_alias

urlpatterns = [
    path(
        "arch/models.json",
        json_alias(arch_api.ArchitectureCompareApi),
        name="arch-models",
    ),
    path(
        "arch/transfer-learning.json",
        json_alias(arch_api.TransferLearningApi),
        name="arch-transfer-learning",
    ),
    path(
        "arch/augment/samples.json",
        json_alias(arch_api.AugmentationSampleListApi),
        name="arch-augment-samples",
    ),
    path(
        "arch/augment/plan.json",
        json_alias(arch_api.AugmentationPlanApi),
        name="arch-augment-plan",
    ),
    path("arch/augment/", arch_views.augment, name="arch-augment"),
    path(
        "arch/augment/<slug:sample>.png",
        arch_views.augment_sample_png,
        name="arch-augment-sample",
    ),
]

api_urlpatterns = [
    path(
        "architectures/",
        arch_api.ArchitectureListApi.as_view(),
        name="arch-model-list",
    ),
    # Before "architectures/<slug:key>/", which would read "comparison" as a key.
    path(
        "architectures/comparison/",
        arch_api.ArchitectureCompareApi.as_view(),
        name="arch-comparison",
    ),
    path(
        "architectures/<slug:key>/",
        arch_api.ArchitectureDetailApi.as_view(),
        name="arch-model-detail",
    ),
    path(
        "transfer-learning/",
        arch_api.TransferLearningApi.as_view(),
        name="arch-transfer-learning",
    ),
    path(
        "augmentations/",
        arch_api.AugmentationCreateApi.as_view(),
        name="arch-augment",
    ),
    path(
        "augmentations/samples/",
        arch_api.AugmentationSampleListApi.as_view(),
        name="arch-augment-samples",
    ),
    path(
        "augmentations/plan/",
        arch_api.AugmentationPlanApi.as_view(),
        name="arch-augment-plan",
    ),
]
