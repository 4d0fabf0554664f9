"""The instructor's class pages at /teach/ (namespace "teach") and the class API,
``api_urlpatterns``, mounted under /api/v1/ by portal/api_urls.py."""

from __future__ import annotations

from django.urls import path

from demos.teach import api, views

app_name = "teach"

urlpatterns: list = [
    path("", views.class_list, name="class-list"),
    path("classes/<uuid:public_id>/", views.class_detail, name="class-detail"),
    path(
        "classes/<uuid:public_id>/students/add/",
        views.class_add_students,
        name="class-add-students",
    ),
    path(
        "classes/<uuid:public_id>/this-week/",
        views.class_this_week,
        name="class-this-week",
    ),
    path(
        "classes/<uuid:public_id>/export.csv",
        views.class_export,
        name="class-export",
    ),
    path(
        "classes/<uuid:public_id>/export.xlsx",
        views.class_export_xlsx,
        name="class-export-xlsx",
    ),
    path(
        "classes/<uuid:public_id>/students/<str:username>/",
        views.student_detail,
        name="student-detail",
    ),
    path(
        "classes/<uuid:public_id>/students/<str:username>/remove/",
        views.class_remove_student,
        name="student-remove",
    ),
]

api_urlpatterns: list = [
    path("classes/", api.ClassListCreateApi.as_view(), name="class-list"),
    path(
        "classes/<uuid:public_id>/progress/",
        api.ClassProgressApi.as_view(),
        name="class-progress",
    ),
    path(
        "classes/<uuid:public_id>/quiz-items/",
        api.ClassQuizItemsApi.as_view(),
        name="class-quiz-items",
    ),
    path(
        "classes/<uuid:public_id>/detector-quality/",
        api.ClassDetectorQualityApi.as_view(),
        name="class-detector-quality",
    ),
]
