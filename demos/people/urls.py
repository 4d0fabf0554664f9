"""The person demo's pages under /demos/ and its API (mounted by portal/api_urls.py)."""

from django.urls import path

from demos.people import api, files, views
from demos.people.jobs import api as jobs_api
from demos.people.jobs import views as jobs_views

urlpatterns: list = [
    path("people/", views.people_upload, name="people-upload"),
    path("people/history/", views.people_history, name="people-history"),
    path("people/jobs/", jobs_views.people_jobs, name="people-jobs"),
    path(
        "people/jobs/status/",
        jobs_views.people_jobs_status,
        name="people-jobs-status",
    ),
    path("people/<uuid:public_id>/", views.people_detail, name="people-detail"),
    path("people/<uuid:public_id>/delete/", views.people_delete, name="people-delete"),
    path(
        "people/<uuid:public_id>/compare/",
        views.people_compare,
        name="people-compare",
    ),
    path(
        "people/<uuid:public_id>/compare/<uuid:other_id>/",
        views.people_compare_result,
        name="people-compare-result",
    ),
    path("people/<uuid:public_id>/image.jpg", files.run_image, name="people-image"),
    path(
        "people/<uuid:public_id>/annotated.jpg",
        files.run_annotated,
        name="people-annotated",
    ),
    path("people/<uuid:public_id>/thumb.jpg", files.run_thumbnail, name="people-thumb"),
    path(
        "people/<uuid:public_id>/crops/<int:rank>.jpg",
        files.run_crop,
        name="people-crop",
    ),
    path(
        "people/<uuid:public_id>/crops.zip",
        files.run_crops_zip,
        name="people-crops-zip",
    ),
]

# Mounted under the "api" namespace: names are unique across apps.
api_urlpatterns: list = [
    path("detectors/", api.DetectorListApi.as_view(), name="detector-list"),
    path("detections/", api.DemoRunListCreateApi.as_view(), name="detection-list"),
    path(
        "detections/<uuid:public_id>/",
        api.DemoRunDetailApi.as_view(),
        name="detection-detail",
    ),
    path(
        "detections/<uuid:public_id>/truth/",
        api.DemoRunTruthApi.as_view(),
        name="detection-truth",
    ),
    path(
        "detections/<uuid:public_id>/crops.zip",
        api.DemoRunCropsZipApi.as_view(),
        name="detection-crops-zip",
    ),
    path("jobs/", jobs_api.DetectionJobListApi.as_view(), name="job-list"),
    path(
        "jobs/<uuid:public_id>/",
        jobs_api.DetectionJobDetailApi.as_view(),
        name="job-detail",
    ),
]
