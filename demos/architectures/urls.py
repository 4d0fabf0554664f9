"""Architecture, transfer-learning and augmentation lesson endpoints.

``urlpatterns`` are included at /lessons/ (namespace "lessons"), ``api_urlpatterns``
at /api/v1/ (namespace "api"); every route name starts with "arch-".
"""

from __future__ import annotations

from django.urls import path

from demos.architectures import views as arch_views

urlpatterns = [
    path(
        "arch/models.json",
        arch_views.architectures_json,
        name="arch-models",
    ),
    path(
        "arch/transfer-learning.json",
        arch_views.transfer_learning_json,
        name="arch-transfer-learning",
    ),
    path(
        "arch/augment/samples.json",
        arch_views.augment_samples_json,
        name="arch-augment-samples",
    ),
    path(
        "arch/augment/plan.json",
        arch_views.augment_plan_json,
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
        arch_views.ArchitectureListApi.as_view(),
        name="arch-model-list",
    ),
    path(
        "architectures/<slug:key>/",
        arch_views.ArchitectureDetailApi.as_view(),
        name="arch-model-detail",
    ),
    path(
        "transfer-learning/",
        arch_views.TransferLearningApi.as_view(),
        name="arch-transfer-learning",
    ),
    path(
        "augmentations/",
        arch_views.AugmentationCreateApi.as_view(),
        name="arch-augment",
    ),
]
